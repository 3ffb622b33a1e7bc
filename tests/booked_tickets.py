"""A booked ticket and a walk-in's, made over the real server on its simulated clock, for the
tests of where the 预约 mark shows (the board, the clerk console, the citizen page, the
dashboard): a citizen books the 08:30 slot of category A at 08:00 and checks in at the kiosk
(on time), then a walk-in takes a number of A."""

from __future__ import annotations

from pathlib import Path

from bench.booking_race import BOOKING_HALL, START
from tests.live_hall import LiveHall

SLOT_TEXT = "08:30–09:00"


def booking_hall(folder: Path) -> LiveHall:
    """The live tests' hall taking bookings for A, its clock at 08:00 on a Monday."""
    return LiveHall(folder, "--simulate-from", START, hall_text=BOOKING_HALL)


def booked_and_walk_in(hall: LiveHall) -> tuple[dict, dict]:
    """The kiosk's views of a checked-in booking's ticket (A001) and a walk-in's (A002)."""
    page = hall.hello("booking")
    made = page.request("book", category="A", day="2026-11-23", slot="08:30",
                        phone="13900000001", id_digits="1234")
    assert made["ok"], made
    kiosk = hall.hello("kiosk")
    checked_in = kiosk.request("check_in", code=made["booking"]["booking"])
    assert checked_in["outcome"] == "on_time", checked_in
    walk_in = kiosk.request("take_ticket", category="A")
    assert walk_in["ok"], walk_in
    booked, walked = checked_in["ticket"], walk_in["ticket"]
    assert (booked["number"], booked["booked"], walked["number"], walked["booked"]) == (
        "A001", True, "A002", False)
    return booked, walked
