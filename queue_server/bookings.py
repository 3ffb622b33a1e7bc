"""Appointments (预约): a category's slots and what is kept of the citizen who books one.

The rules are the hall file's `[categories.booking]` (`hall_definition.BookingRules`,
docs/appointments.md). The core (`HallState`) decides every booking, cancellation, check-in and
release against its state, one command at a time (the single writer), so a slot is never
booked beyond its places however many ask at once.

Nothing personal is kept: the phone number is a keyed hash under a random salt of the period
(`SALT_DAYS`) the booking was made in, the ID card's last four digits a keyed hash with the
booking's code under the same salt (they only prove, with the code, that a cancellation is the
booker's). The salts are kept apart from the log (queue_server.store.booking_salts) and deleted
once nothing needs their keys (`salts_needed_since`); a phone is matched by its keys under every
salt still kept. The code is 8 random digits.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from typing import Any

from hall import service_calendar as cal
from hall.protocol import BAD_BOOKING_CODE, BOOKING_CODE_DIGITS
from hall.vocabulary import BOOKING_COUNTED
from queue_server.hall_definition import BookingRules, HallDefinition, HallInfo
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
    return span_end(start, rules.slot_minutes)


def span_end(start: time, minutes: int) -> time:
    return (datetime.combine(date.min, start) + timedelta(minutes=minutes)).time()


def slot_moment(hall: HallInfo, day: date, start: time) -> datetime:
    """The slot's start as an aware moment in the hall's zone."""
    return datetime.combine(day, start, hall.zone)


def bookable_day(hall: HallInfo, day: date) -> bool:
    """Whether the service calendar opens the hall on `day` (holidays closed, make-up working
    days open)."""
    return cal.is_working_day(hall, day)


def slot_label(rules: BookingRules, start: time) -> str:
    """"09:00–09:30"."""
    return span_label(start, rules.slot_minutes)


def span_label(start: time, minutes: int) -> str:
    """"09:00–09:30" for 30 minutes from 09:00; "09:00" when the length is not known."""
    if not minutes:
        return cal.clock_text(start)
    return f"{cal.clock_text(start)}–{cal.clock_text(span_end(start, minutes))}"


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


SALT_DAYS = 30
"""The length of a booking salt's period: the bookings made in it share its salt."""


def salt_period(day: date) -> date:
    """The first day of the salt period holding `day`."""
    return date.fromordinal(day.toordinal() - day.toordinal() % SALT_DAYS)


def salts_needed_since(definition: HallDefinition, today: date, earliest_made: date | None) -> date:
    """The salts of periods that began before this day can be deleted: a booking made in such
    a period was for a day at most the longest horizon after it, and its no-show, counted over
    `booking_no_show_days`, can block the phone for `booking_block_days` after that, all
    before today. `earliest_made`: the day the oldest booking the core still keeps was made (a
    horizon since shortened can leave one made earlier than that): its salt stays too."""
    since = kept_since(definition.hall, today) - timedelta(days=SALT_DAYS - 1 + longest_horizon(definition))
    return since if earliest_made is None else min(since, salt_period(earliest_made))


def kept_since(hall: HallInfo, today: date) -> date:
    """The first day whose bookings still matter today: a no-show counts over
    `booking_no_show_days`, and a block it raises lasts `booking_block_days`. The core keeps
    the bookings from this day on (a restart replays them, a new day drops the older ones)."""
    return today - timedelta(days=hall.booking_no_show_days + hall.booking_block_days)


def longest_horizon(definition: HallDefinition) -> int:
    """How many days ahead the hall's categories can be booked at most."""
    return max((c.booking.horizon_days for c in definition.categories if c.booking), default=0)


def phone_key(salt: str, phone: str) -> str:
    """What is kept of a booker's phone number: a keyed hash under a booking salt."""
    return mac(salt, f"booking-phone:{phone}")


def id_key(salt: str, code: str, digits: str) -> str:
    """What is kept of the ID card's last four digits: a keyed hash with the booking's code,
    under a booking salt."""
    return mac(salt, f"booking-id:{code}:{digits}")


def withdrawal(definition: HallDefinition, category: str, day: date) -> str | None:
    """Why the hall, as `definition` has it, can no longer honour a booking of `category` on
    `day` (in words), or None: the category removed or no longer taking bookings, or the day
    no longer a working day."""
    found = definition.category_by_prefix.get(category)
    if found is None:
        return f"业务类别 {category} 已取消"
    if found.booking is None:
        return f"{found.name}已停止预约"
    if not bookable_day(definition.hall, day):
        return f"{day_label(day)}大厅不办公"
    return None


def counted_as(status: str, no_show_counted: bool) -> str:
    """Which of the appointments' counts (`vocabulary.BOOKING_METRICS`) a booking is in: by its
    status (`BOOKING_COUNTED`), except a no-show released while the hall's server was down,
    which the phone is not charged with, and which the KPIs count as the hall's (withdrawn)."""
    if status == "no_show" and not no_show_counted:
        return "withdrawn"
    return BOOKING_COUNTED[status]
