"""Appointments (预约): a category's slots and what is kept of the citizen who books one.

The rules are the hall file's `[categories.booking]` (`hall_definition.BookingRules`,
docs/appointments.md). The core (`HallState`) decides every booking, cancellation, check-in and
release against its state, one command at a time (the single writer), so a slot is never
booked beyond its places however many ask at once.

Nothing personal is kept: the phone number is a keyed hash under the hall's secret (stable
across days, unlike the `/take` page's daily salt: a booking is for a later day, and the
no-show rule counts a phone's no-shows over `booking_no_show_days`), the ID card's last four
digits a keyed hash with the booking's code (they only prove, with the code, that a
cancellation is the booker's). The code is 8 random digits.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from typing import Any

from hall import service_calendar as cal
from hall.protocol import BAD_BOOKING_CODE, BOOKING_CODE_DIGITS
from queue_server.hall_definition import BookingRules, HallInfo
from queue_server.ticket_tokens import mac, typed

BAD_ID_DIGITS = "请输入身份证号码的后四位（数字或 X）"


def slot_starts(rules: BookingRules) -> list[time]:
    """Every slot's start on a working day, in order: each booking session cut into slots of
    `slot_minutes` (a remainder shorter than a slot is none)."""
    starts = []
    length = timedelta(minutes=rules.slot_minutes)
    for span in rules.sessions:
        at = datetime.combine(date.min, span.start)
        end = datetime.combine(date.min, span.end) if span.end != time.max else \
            datetime.combine(date.min + timedelta(days=1), time(0))
        while at + length <= end:
            starts.append(at.time())
            at += length
    return starts


def slot_end(rules: BookingRules, start: time) -> time:
    return (datetime.combine(date.min, start) + timedelta(minutes=rules.slot_minutes)).time()


def slot_moment(hall: HallInfo, day: date, start: time) -> datetime:
    """The slot's start as an aware moment in the hall's zone."""
    return datetime.combine(day, start, hall.zone)


def bookable_day(hall: HallInfo, day: date) -> bool:
    """Whether the service calendar opens the hall on `day` (holidays closed, make-up working
    days open)."""
    return cal.is_working_day(hall, day)


def slot_label(rules: BookingRules, start: time) -> str:
    """"09:00–09:30"."""
    return f"{cal.clock_text(start)}–{cal.clock_text(slot_end(rules, start))}"


def day_label(day: date) -> str:
    """"12月8日（周二）"."""
    return f"{day.month}月{day.day}日（周{cal.WEEKDAY_NAMES[day.weekday()]}）"


def new_code() -> str:
    return f"{secrets.randbelow(10 ** BOOKING_CODE_DIGITS):0{BOOKING_CODE_DIGITS}d}"


def checked_code(text: Any) -> str:
    """The 8 digits of a booking code as typed (full-width digits and spaces allowed), or
    ValueError."""
    code = typed(str(text or ""))
    if len(code) != BOOKING_CODE_DIGITS or not code.isascii() or not code.isdigit():
        raise ValueError(BAD_BOOKING_CODE)
    return code


def checked_id_digits(text: Any) -> str:
    """The last four characters of an ID card number (digits, the last may be X), or
    ValueError."""
    digits = typed(str(text or "")).upper()
    if len(digits) != 4 or not digits[:3].isdigit() or not (digits[3].isdigit() or digits[3] == "X") \
            or not digits.isascii():
        raise ValueError(BAD_ID_DIGITS)
    return digits


def phone_key(secret: str, phone: str) -> str:
    """What is kept of a booker's phone number: a keyed hash under the hall's secret."""
    return mac(secret, f"booking-phone:{phone}")


def id_key(secret: str, code: str, digits: str) -> str:
    """What is kept of the ID card's last four digits: a keyed hash with the booking's code."""
    return mac(secret, f"booking-id:{code}:{digits}")
