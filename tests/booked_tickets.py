"""A booked ticket and a walk-in's, made over the real server on its simulated clock, for the
tests of where the 预约 mark shows (the board, the clerk console, the citizen page, the
dashboard): a booking made on the Friday before for Monday's 08:00 slot of category A (in the
log, keyed under the period's salt, as the booking page's `book` leaves it) is checked in at the
kiosk at 08:00 (on time, its slot begun: called before the walk-ins), then a walk-in takes a
number of A."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from bench.booking_race import BOOKING_HALL, START
from queue_server import bookings
from queue_server import events as ev
from queue_server.store import booking_salts
from queue_server.store.database import open_engine
from tests.live_hall import LiveHall

SLOT_TEXT = "08:00–08:30"
CODE = "80000001"


def booking_hall(folder: Path) -> LiveHall:
    """The live tests' hall taking bookings for A, its clock at 08:00 on a Monday, with a
    booking of the Friday before for 08:00 (`CODE`)."""
    hall = LiveHall(folder, "--simulate-from", START, hall_text=BOOKING_HALL)
    assert hall.stop() == 0
    friday = date(2026, 11, 20)
    engine = open_engine(f"sqlite:///{hall.db}")
    with engine.begin() as conn:
        salt, _ = booking_salts.salts(conn, 1, bookings.salt_period(friday))
    engine.dispose()
    hall.log_earlier(friday, datetime.fromisoformat("2026-11-20T15:00:00+08:00"), [
        ev.BookingMade(CODE, "A", None, "2026-11-23", "08:00",
                       bookings.phone_key(salt, "13900000001"),
                       bookings.id_key(salt, CODE, "1234"), 30)])
    hall.start()
    return hall


def booked_and_walk_in(hall: LiveHall) -> tuple[dict, dict]:
    """The kiosk's views of a checked-in booking's ticket (A001) and a walk-in's (A002)."""
    kiosk = hall.hello("kiosk")
    checked_in = kiosk.request("check_in", code=CODE)
    assert checked_in["outcome"] == "on_time", checked_in
    walk_in = kiosk.request("take_ticket", category="A")
    assert walk_in["ok"], walk_in
    booked, walked = checked_in["ticket"], walk_in["ticket"]
    assert (booked["number"], booked["booked"], walked["number"], walked["booked"]) == (
        "A001", True, "A002", False)
    return booked, walked
