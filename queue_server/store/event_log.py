"""The append-only event log and the rows projected from it, written in one transaction.

`append` inserts a batch of events (from one command or from many, for group commit) and
updates the `tickets`, `presence` and `ratings` tables from those same events. Projections are
computed from the events alone, never from the live state, so a batch that spans a day change
(whose tickets the state has already forgotten) is still written right.

`load_latest_day` reads back the events of the last service day in the log, which is what the
server replays at start to rebuild its state. Every read of the log goes through `_rows`, which
reads warnings logged under their earlier names with the protocol's names (`_contract_warning`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, String, Text, cast, func, insert, literal, select, type_coerce, update

from queue_server import events as ev
from queue_server.events import D, Event
from queue_server.store.schema import EventRow, PresenceRow, RatingRow, TicketRow


def append(conn: Connection, hall_id: int, events: Sequence[Event]) -> None:
    """Write events and their projections; the caller commits (and only then replies)."""
    if not events:
        return
    rows = []
    for e in events:
        ticket, window, clerk = STORED[type(e.data)](e.data)
        rows.append({"hall_id": hall_id, "seq": e.seq, "day": e.day, "at": e.at, "kind": e.kind,
                     "ticket": ticket, "window": window, "clerk": clerk, "data": e.data.fields()})
    conn.execute(insert(EventRow), rows)
    issued = [e for e in events if e.kind == "ticket_issued"]
    if issued:
        conn.execute(insert(TicketRow), [_new_ticket(hall_id, e) for e in issued])
    for event in events:
        project = _PROJECTIONS.get(event.kind)
        if project is not None:
            project(conn, hall_id, event)


def _new_ticket(hall_id: int, e: Event) -> dict[str, Any]:
    d = e.data.fields()
    return {"hall_id": hall_id, "day": e.day, "number": d["number"], "category": d["category"],
            "kind": d["kind"], "priority": d["priority"], "service": d["service"],
            "status": "waiting", "issued_at": e.at}


def _ticket(conn: Connection, hall_id: int, e: Event, **values: Any) -> None:
    conn.execute(update(TicketRow).where(
        TicketRow.hall_id == hall_id, TicketRow.day == e.day,
        TicketRow.number == e.data.number).values(**values))


def _called(conn: Connection, hall_id: int, e: Event) -> None:
    d = e.data.fields()
    if d["via"] == "recall":
        _ticket(conn, hall_id, e, recalls=TicketRow.recalls + 1, called_at=e.at)
        return
    _ticket(conn, hall_id, e, status="called", window=d["window"], clerk=d["clerk"],
            post=d["post"], calls=TicketRow.calls + 1, called_at=e.at, target_window=None,
            # The moment goes in as the column's own type, so that it is stored in UTC as
            # every other time is (a bare parameter inside coalesce skipped that on SQLite).
            first_called_at=func.coalesce(TicketRow.first_called_at,
                                          literal(e.at, TicketRow.first_called_at.type)),
            first_clerk=func.coalesce(TicketRow.first_clerk, d["clerk"]),
            first_window=func.coalesce(TicketRow.first_window, d["window"]))


def _transferred(conn: Connection, hall_id: int, e: Event) -> None:
    d = e.data.fields()
    values: dict[str, Any] = {"status": "waiting", "transfers": TicketRow.transfers + 1,
                              "target_window": d["to_window"]}
    if d["to_category"] is not None:
        values["category"] = d["to_category"]
    _ticket(conn, hall_id, e, **values)


def _rated(conn: Connection, hall_id: int, e: Event) -> None:
    d = e.data.fields()
    if d["score"] is not None:
        _ticket(conn, hall_id, e, score=d["score"])
    conn.execute(insert(RatingRow).values(
        hall_id=hall_id, day=e.day, ticket=d["number"], score=d["score"], reasons=d["reasons"],
        channel=d["channel"], window=d["window"], clerk=d["clerk"], post=d["post"],
        department=d["department"], service=d["service"], at=e.at))


def _presence(state: str | None) -> Callable[[Connection, int, Event], None]:
    """Close the window's open interval and, unless `state` is None, open a new one."""

    def project(conn: Connection, hall_id: int, e: Event) -> None:
        d = e.data.fields()
        conn.execute(update(PresenceRow).where(
            PresenceRow.hall_id == hall_id, PresenceRow.window == d["window"],
            PresenceRow.ended_at.is_(None)).values(ended_at=e.at))
        opened = state
        if e.kind == "clerk_signed_out" and d["reason"] == "day_end":
            opened = None
        if opened is not None:
            conn.execute(insert(PresenceRow).values(
                hall_id=hall_id, day=e.day, window=d["window"], clerk=d["clerk"],
                post=d.get("post"), state=opened, reason=d.get("reason", ""), started_at=e.at))

    return project


_PROJECTIONS: dict[str, Callable[[Connection, int, Event], None]] = {
    "ticket_called": _called,
    "ticket_no_show": lambda c, h, e: _ticket(c, h, e, status="no_show", ended_at=e.at),
    "ticket_held": lambda c, h, e: _ticket(c, h, e, status="held",
                                           hold_reason=e.data.reason),
    "ticket_transferred": _transferred,
    "ticket_returned": lambda c, h, e: _ticket(c, h, e, target_window=None),
    "ticket_finished": lambda c, h, e: _ticket(
        c, h, e, status="finished", ended_at=e.at, outcome=e.data.outcome,
        note=e.data.note, clerk=e.data.clerk, post=e.data.post),
    "ticket_cancelled": lambda c, h, e: _ticket(c, h, e, status="cancelled", ended_at=e.at,
                                                end_reason=e.data.reason),
    "ticket_priority_set": lambda c, h, e: _ticket(c, h, e, priority=e.data.priority),
    "ticket_rated": _rated,
    "clerk_signed_in": _presence("present"),
    "clerk_signed_out": _presence("absent"),
    "window_paused": _presence("paused"),
    "window_resumed": _presence("present"),
}


Columns = tuple[str | None, int | None, str | None]
"""What a row of `events` is found by beside its kind and day: the ticket's number, the
window and the clerk (indexed, for looking up one ticket's, window's or clerk's history)."""


def _columns(kind: type[D], columns: Callable[[D], Columns]) -> tuple[type[ev.Record], Callable[[Any], Columns]]:
    return kind, columns


def _ticket_window_clerk(d: Any) -> Columns:
    return d.number, d.window, d.clerk


def _window_clerk(d: Any) -> Columns:
    return None, d.window, d.clerk


def _hall_wide(d: Any) -> Columns:
    return None, None, None


STORED: dict[type[ev.Record], Callable[[Any], Columns]] = dict([
    _columns(ev.TicketIssued, lambda d: (d.number, None, None)),
    _columns(ev.TicketCalled, _ticket_window_clerk),
    _columns(ev.TicketNoShow, _ticket_window_clerk),
    _columns(ev.TicketHeld, _ticket_window_clerk),
    _columns(ev.TicketTransferred, _ticket_window_clerk),
    _columns(ev.TicketReturned, lambda d: (d.number, d.window, None)),
    _columns(ev.TicketFinished, _ticket_window_clerk),
    _columns(ev.TicketCancelled, lambda d: (d.number, None, None)),
    _columns(ev.TicketPrioritySet, lambda d: (d.number, None, None)),
    _columns(ev.TicketRated, _ticket_window_clerk),
    _columns(ev.ClerkSignedIn, _window_clerk),
    _columns(ev.ClerkSignedOut, _window_clerk),
    _columns(ev.WindowPaused, _window_clerk),
    _columns(ev.WindowResumed, _window_clerk),
    _columns(ev.WarningRaised, lambda d: (d.ticket, d.window, d.clerk)),
    _columns(ev.WarningAcknowledged, _hall_wide),
    _columns(ev.NoticeSet, _hall_wide),
    _columns(ev.DeviceReported, _hall_wide),
    _columns(ev.DayStarted, _hall_wide),
])
"""What each kind stores beyond its data in the log: the columns its row is found by."""


def load_latest_day(conn: Connection, hall_id: int, zone: ZoneInfo) -> tuple[date | None, list[Event]]:
    """The last service day in the log and its events in order (None, [] for an empty log)."""
    day = conn.execute(select(func.max(EventRow.day)).where(EventRow.hall_id == hall_id)).scalar()
    if day is None:
        return None, []
    return day, load_days(conn, hall_id, zone, day, day)


def load_days(conn: Connection, hall_id: int, zone: ZoneInfo, first: date, last: date) -> list[Event]:
    """The events of the service days `first` to `last` (inclusive) in order, times in the
    hall's `zone`: for rebuilding a day."""
    zones: dict[date, tzinfo] = {}
    events = []
    for seq, kind, at, day, data in _rows(conn, hall_id, first, last, None):
        local = zones.get(day) or zones.setdefault(day, _day_zone(zone, day))
        events.append(Event(seq, at.astimezone(local), day, ev.record(kind, data)))
    return events


def report_events(conn: Connection, hall_id: int, first: date, last: date,
                  kinds: Sequence[str]) -> list[Event]:
    """The events of some kinds of the service days `first` to `last`, in order, times in UTC."""
    return [Event(seq, at, day, ev.record(kind, data))
            for seq, kind, at, day, data in _rows(conn, hall_id, first, last, kinds)]


def _rows(conn: Connection, hall_id: int, first: date, last: date,
          kinds: Sequence[str] | None) -> Iterator[tuple[int, str, datetime, date, dict[str, Any]]]:
    # The time is read as the stored text where the database keeps text (SQLite: naive UTC)
    # and parsed here, several times faster than the column type's own conversion; PostgreSQL
    # hands over aware datetimes.
    query = (select(EventRow.seq, EventRow.kind, type_coerce(EventRow.at, String), EventRow.day,
                    cast(EventRow.data, Text))
             .where(EventRow.hall_id == hall_id, EventRow.day >= first, EventRow.day <= last))
    if kinds is not None:
        query = query.where(EventRow.kind.in_(kinds))
    rows = conn.execute(query.order_by(EventRow.seq)).all()
    # One json.loads over the whole run is several times faster than one per row.
    datas = json.loads("[" + ",".join(row[4] for row in rows) + "]")
    for (seq, kind, at, day, _), data in zip(rows, datas, strict=True):
        if isinstance(at, str):
            at = datetime.fromisoformat(at + "+00:00")
        if kind == "warning":
            data = _contract_warning(data)
        yield seq, kind, at, day, data


# From commit ffa882c until the protocol's names were restored, warnings were logged with these
# kind names, with the ticket's number as `number` and `since` with microseconds. The log cannot
# be rewritten (it is append-only), so it is read with the protocol's names instead.
_OLD_WARNING_KINDS = {"waiting": "long_wait", "service": "long_service",
                      "rating": "negative_rating"}


def _contract_warning(data: dict[str, Any]) -> dict[str, Any]:
    """A logged warning's data as the protocol names it, whenever it was written."""
    kind = _OLD_WARNING_KINDS.get(data["kind"])
    since = data.get("since")
    if kind is None and "number" not in data and (since is None or "." not in since):
        return data
    out = {("ticket" if k == "number" else k): v for k, v in data.items()}
    if kind is not None:
        out["kind"] = kind
    if since is not None:
        out["since"] = datetime.fromisoformat(since).isoformat(timespec="seconds")
    return out


def _day_zone(zone: ZoneInfo, day: date) -> tzinfo:
    """The zone's fixed offset for a day without a clock change (converting to it is much
    faster than to the ZoneInfo), else the zone itself."""
    start = datetime.combine(day, time(0), zone)
    offset = start.utcoffset()
    assert offset is not None   # `start` is aware
    if (start + timedelta(days=2)).utcoffset() == offset:
        return timezone(offset)
    return zone


def last_seq(conn: Connection, hall_id: int) -> int:
    return conn.execute(select(func.coalesce(func.max(EventRow.seq), 0))
                        .where(EventRow.hall_id == hall_id)).scalar_one()
