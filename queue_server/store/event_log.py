"""The append-only event log.

`append` inserts a batch of events (from one command or from many, for group commit) in one
statement. Nothing else is written with them: the facts reports need are folded from the log
(`kpis.fold`), and kept per closed day by `store.day_facts`.

`load_latest_day` reads back the events of the last service day in the log, which is what the
server replays at start to rebuild its state. Every read of the log goes through `_rows`, which
reads warnings logged under their earlier names with the protocol's names (`_contract_warning`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, String, Text, cast, func, select, type_coerce

from queue_server import events as ev
from queue_server.events import D, Event
from queue_server.store.schema import EventRow


def append(conn: Connection, hall_id: int, events: Sequence[Event],
           credentials: int | None = None, epoch: int | None = None) -> bool:
    """Write events in one statement, or nothing and return False when `credentials` is given
    and the hall's `credentials_version` is no longer it (the sessions that sent the commands
    were checked against that version: queue_server.revocation), or when `epoch` is given and
    the hall's fencing epoch is no longer it (another server took the hall:
    queue_server.leadership; on PostgreSQL the hall's row is held FOR SHARE, which a server
    raising the epoch waits for). The caller commits, and only then replies; on a connection
    in autocommit mode the statement is the transaction.

    The log is all that is written: reports fold it (`kpis.fold`), and the facts of closed
    days are kept apart (`store.day_facts`). The rows go to the database as one JSON text, so
    the statement is the same whatever the number of rows: PostgreSQL prepares it once, and
    the work per row is `json.dumps` in C rather than SQLAlchemy's processing of each value.
    On PostgreSQL a commit on an autocommit connection is then one round trip, the check of
    the credentials included."""
    if not events:
        return True
    rows = []
    for e in events:
        ticket, window, clerk = STORED[type(e.data)](e.data)
        at = e.at.astimezone(UTC).isoformat(" ", "microseconds")[:26]   # without "+00:00"
        rows.append((e.seq, e.day.isoformat(), at, e.kind, ticket,
                     window, clerk, e.data.fields()))
    inserted = conn.exec_driver_sql(_APPEND[conn.dialect.name],
                                    (hall_id, json.dumps(rows), hall_id, credentials,
                                     epoch)).rowcount
    return inserted == len(rows)


_APPEND = {
    "sqlite": """INSERT INTO events (hall_id, seq, day, at, kind, ticket, "window", clerk, data)
        SELECT ?, json_extract(r.value, '$[0]'), json_extract(r.value, '$[1]'),
               json_extract(r.value, '$[2]'), json_extract(r.value, '$[3]'),
               json_extract(r.value, '$[4]'), json_extract(r.value, '$[5]'),
               json_extract(r.value, '$[6]'), json_extract(r.value, '$[7]')
        FROM json_each(?) AS r
        WHERE EXISTS (SELECT 1 FROM halls WHERE id = ?
                      AND credentials_version = coalesce(?, credentials_version)
                      AND epoch = coalesce(?, epoch))
        ORDER BY r.key""",
    "postgresql": """INSERT INTO events (hall_id, seq, day, at, kind, ticket, "window", clerk, data)
        SELECT %s, (r.value->>0)::integer, (r.value->>1)::date,
               (r.value->>2)::timestamp AT TIME ZONE 'UTC', r.value->>3, r.value->>4,
               (r.value->>5)::integer, r.value->>6, r.value->7
        FROM json_array_elements(%s::json) WITH ORDINALITY AS r(value, n)
        WHERE EXISTS (SELECT 1 FROM halls WHERE id = %s
                      AND credentials_version = coalesce(%s, credentials_version)
                      AND epoch = coalesce(%s, epoch) FOR SHARE)
        ORDER BY r.n""",
}
"""Each row as the columns' types store it: on SQLite the day and the time (naive UTC, to the
microsecond) as the text SQLAlchemy writes for them, which the readers here parse; `data` is
kept as the JSON text it arrives in. The rows are inserted in the batch's order, so their ids
follow `seq`. SQLite's `json_extract`, not its `->>`, which needs SQLite 3.38. What it saved
against SQLAlchemy's multi-row INSERT is in docs/performance.md (`bench/ticket_cost.py`)."""


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
    _columns(ev.CaseOpened, lambda d: (d.ticket, d.window, d.clerk)),
    _columns(ev.CaseHandled, _hall_wide),
    _columns(ev.CaseRectified, _hall_wide),
    _columns(ev.CaseFollowedUp, _hall_wide),
    _columns(ev.CaseAppealed, lambda d: (None, None, d.clerk)),
    _columns(ev.CaseAppealDecided, _hall_wide),
    _columns(ev.CaseOverdue, _hall_wide),
    _columns(ev.ComplaintRegistered, lambda d: (d.ticket, d.window, d.clerk)),
    *(_columns(kind, _hall_wide) for kind in ev.COMPLAINT_KINDS[1:]),
    _columns(ev.CaseAppealWithdrawn, lambda d: (None, None, d.clerk)),
    *(_columns(kind, _hall_wide) for kind in ev.BOOKING_KINDS if kind is not ev.BookingCheckedIn),
    _columns(ev.BookingCheckedIn, lambda d: (d.ticket, None, None)),
])
"""What each kind stores beyond its data in the log: the columns its row is found by."""


def load_latest_day(conn: Connection, hall_id: int, zone: ZoneInfo) -> tuple[date | None, list[Event]]:
    """The last service day in the log and its events in order (None, [] for an empty log)."""
    day = conn.execute(select(func.max(EventRow.day)).where(EventRow.hall_id == hall_id)).scalar()
    if day is None:
        return None, []
    return day, load_days(conn, hall_id, zone, day, day)


def load_days(conn: Connection, hall_id: int, zone: ZoneInfo, first: date, last: date,
              rare: Sequence[str] | None = None) -> list[Event]:
    """The events of the service days `first` to `last` (inclusive) in order, times in the
    hall's `zone`: for rebuilding a day. With `rare`, only the events of those kinds, which
    are few among all (the 差评 cases of the days before): they are found by the index on
    kinds (migration 0011) and sorted, not read in order along every event of the hall."""
    zones: dict[date, tzinfo] = {}
    events = []
    for seq, kind, at, day, data in _rows(conn, hall_id, first, last, rare, rare is not None):
        local = zones.get(day) or zones.setdefault(day, _day_zone(zone, day))
        events.append(Event(seq, at.astimezone(local), day, ev.record(kind, data)))
    return events


def report_events(conn: Connection, hall_id: int, first: date, last: date,
                  kinds: Sequence[str], rare: bool = False) -> list[Event]:
    """The events of some kinds of the service days `first` to `last`, in order, times in UTC;
    `rare`: kinds that are few among all, found by the index on kinds (`load_days`)."""
    return [Event(seq, at, day, ev.record(kind, data))
            for seq, kind, at, day, data in _rows(conn, hall_id, first, last, kinds, rare)]


def _rows(conn: Connection, hall_id: int, first: date, last: date, kinds: Sequence[str] | None,
          rare: bool = False) -> Iterator[tuple[int, str, datetime, date, dict[str, Any]]]:
    # The time is read as the stored text where the database keeps text (SQLite: naive UTC)
    # and parsed here, several times faster than the column type's own conversion; PostgreSQL
    # hands over aware datetimes.
    query = (select(EventRow.seq, EventRow.kind, type_coerce(EventRow.at, String), EventRow.day,
                    cast(EventRow.data, Text))
             .where(EventRow.hall_id == hall_id, EventRow.day >= first, EventRow.day <= last))
    if kinds is not None:
        query = query.where(EventRow.kind.in_(kinds))
    # `seq + 0` is not the column its unique index orders: SQLite then finds rare kinds by the
    # kinds' index and sorts the few it found, instead of walking the hall's events in order.
    rows = conn.execute(query.order_by(EventRow.seq + 0 if rare else EventRow.seq)).all()
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
