"""The thin shell around the core: one hall's state, fed commands in order, committed to the store.

`HallService` is the single writer of a hall. `execute_batch` runs several commands through
the core one after another and writes all their events in one transaction (group commit): the
fsync is shared, durability is not given up, and nobody is told "done" before the commit. If
the commit fails, the in-memory state is rebuilt from the store, so it never runs ahead of
what is on disk. Its two halves, `decide` and `commit`, are also callable apart: the server's
writer decides on the event loop and commits on a thread of its own (queue_server.writer).
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine

from hall import service_calendar as cal
from queue_server import bookings, catalogue
from queue_server import commands as cmd
from queue_server.domain_errors import DomainError
from queue_server.events import BOOKING_KINDS, OUTLIVING_KINDS, Event
from queue_server.hall_definition import HORIZON_MAX_DAYS, HallDefinition
from queue_server.hall_state import HallState
from queue_server.store import (
    accounts,
    booking_salts,
    county_catalogue,
    devices,
    event_log,
    hall_records,
    phone_salts,
)

log = logging.getLogger("queue_server.hall_service")


class Outcome(NamedTuple):
    """What one command of a batch came to: its events, or the refusal, and what `observe`
    made of the state right after the command (e.g. the wire messages to send once committed).
    A named tuple: one is made per command, for a third of a frozen dataclass's cost."""

    events: list[Event]
    error: DomainError | None = None
    observed: Any = None


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Replaying a day allocates ~100,000 objects that all stay alive; the cyclic GC would
    walk them again and again for nothing, which more than doubles the rebuild time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def rebuild(engine: Engine, hall_id: int, definition: HallDefinition, now: datetime,
            catalogue_version: int | None = None) -> HallState:
    """Today's state from the log: the last logged day's events, replayed in order.
    `catalogue_version`: the version of `definition`'s items, which new tickets record."""
    with _no_gc_pauses():
        return _replay(engine, hall_id, definition, now, catalogue_version)


def _replay(engine: Engine, hall_id: int, definition: HallDefinition, now: datetime,
            catalogue_version: int | None) -> HallState:
    with engine.connect() as conn:
        day, events = event_log.load_latest_day(conn, hall_id, definition.hall.zone)
        seq = event_log.last_seq(conn, hall_id)
        # The 差评 cases and the complaints outlive their day: their events of every day before
        # are replayed first. So do the bookings, of the days that still matter
        # (`bookings.kept_since`), which were made at most the longest horizon allowed before.
        earlier = [] if day is None else list(heapq.merge(
            event_log.load_days(conn, hall_id, definition.hall.zone, date.min, day - timedelta(days=1),
                                [kind.tag for kind in OUTLIVING_KINDS if kind not in BOOKING_KINDS]),
            event_log.load_days(conn, hall_id, definition.hall.zone,
                                bookings.kept_since(definition.hall, day)
                                - timedelta(days=HORIZON_MAX_DAYS),
                                day - timedelta(days=1), [kind.tag for kind in BOOKING_KINDS]),
            key=lambda e: e.seq))
    if day is None:
        return HallState(definition, cal.service_day(definition.hall, now), seq,
                         catalogue_version)
    state = HallState(definition, day, events[0].seq - 1, catalogue_version)
    for event in (*earlier, *events):
        state.apply(event)
    return state


class HallService:
    """`epoch`: the fencing epoch this server took the hall with (queue_server.leadership);
    every commit checks it, and a server leading the hall applies a county catalogue version
    that is due when it takes the hall (`county_version_due`). None for tools and tests that
    write without a server."""

    def __init__(self, engine: Engine, hall_code: str | None, now: datetime,
                 epoch: int | None = None):
        self.engine = engine
        self.epoch = epoch
        self._noticed: dict[int, date] = {}   # county version → the day it was first pending
        with engine.connect() as conn:
            self.hall_id = hall_records.hall_id_for(conn, hall_code)
            self.definition = hall_records.load_definition(conn, self.hall_id)
        self.county_version = 0   # what is served: read below
        if epoch is not None:
            try:
                with engine.connect() as conn:
                    self.county_version = county_catalogue.applied(conn, self.hall_id)
                due = self.county_version_due(now)
                if due is not None:
                    self.apply_county_version(due, now)
            except hall_records.Fenced:
                raise
            except Exception:   # served with what it has; the next tick tries again
                log.exception("applying the county catalogue at the start failed")
        with engine.connect() as conn:
            self.definition = hall_records.load_definition(conn, self.hall_id)
            self.catalogue_version = hall_records.catalogue_version(conn, self.hall_id)
            self.county_version = county_catalogue.applied(conn, self.hall_id)
        self.state = rebuild(engine, self.hall_id, self.definition, now, self.catalogue_version)
        # Tickets per item over recent closed days, for the kiosk's 常办事项, and the day they
        # were read on (`sessions.Session._issued_lately`).
        self.issued_lately: tuple[date, dict[str, int]] | None = None
        self._salt: tuple[date, str] | None = None   # the day's phone salt, once read
        self._booking_salts: tuple[date, tuple[str, tuple[str, ...]]] | None = None
        if epoch is not None:   # a server taking the hall: the salts of days gone are dropped
            self.forget_phone_salts()
        # Commits use a connection of their own, kept: taking one from the pool costs a
        # round trip on PostgreSQL (the pool's liveness ping) besides the pool's own work. It
        # is in autocommit mode: a batch is one statement (`event_log.append`), which is then
        # its own transaction, with no BEGIN or COMMIT to wait for.
        self._writing: Connection | None = None
        self._ahead = False   # a revert failed: the state may hold what the disk does not

    @property
    def ahead(self) -> bool:
        """Whether the state may hold what the disk does not (a revert failed, the database
        being away): no reader may see it, and it is rebuilt before the next decision."""
        return self._ahead

    # --- who may connect: blocking reads, which the sessions run on threads ------------------
    # The session layer holds no database connection of its own: it talks to the state, the
    # writer and these. Reports (`stats`, exports) read through queue_server.reports, on threads.

    def device_for_token(self, token: str) -> devices.Device | None:
        with self.engine.connect() as conn:
            return devices.device_for_token(conn, self.hall_id, token)

    def login(self, kind: accounts.AccountKind, account: str, secret: str,
              now: datetime) -> accounts.Login:
        """A clerk's or manager's login: the slow hash, and the lockout's count of tries."""
        return accounts.login(self.engine, self.hall_id, kind, account, secret, now)

    def phone_salt(self, day: date) -> str:
        """The salt of `day`'s phone keys (queue_server.store.phone_salts): read or made once
        a day, blocking (call it on a thread)."""
        if self._salt is None or self._salt[0] != day:
            with self.engine.begin() as conn:
                self._salt = (day, phone_salts.salt_for(conn, self.hall_id, day))
        return self._salt[1]

    def booking_salts(self, day: date) -> tuple[str, tuple[str, ...]]:
        """The booking salt of `day`'s period, which new keys are made with, and every booking
        salt kept, which a phone is matched with (queue_server.store.booking_salts): read or
        made once a day, blocking (call it on a thread)."""
        if self._booking_salts is None or self._booking_salts[0] != day:
            with self.engine.begin() as conn:
                self._booking_salts = (day, booking_salts.salts(conn, self.hall_id,
                                                                bookings.salt_period(day)))
        return self._booking_salts[1]

    def forget_phone_salts(self) -> None:
        """Delete the phone salts of the days before the hall's day, and the booking salts no
        booking needs any more (`bookings.salts_needed_since`), blocking."""
        with self.engine.begin() as conn:
            phone_salts.forget_before(conn, self.hall_id, self.state.day)
            booking_salts.forget_before(conn, self.hall_id,
                                        bookings.salts_needed_since(
                                            self.definition, self.state.day,
                                            min((b.made_at.date() for b in
                                                 self.state.bookings.values()), default=None)))
        self._booking_salts = None   # read again: the one cached may have been among those gone

    def registered_devices(self) -> list[devices.Device]:
        """The hall's devices whose tokens are not revoked."""
        with self.engine.connect() as conn:
            return [d for d in devices.list_devices(conn, self.hall_id) if d.revoked_at is None]

    def execute(self, command: cmd.Command, now: datetime) -> list[Event]:
        """Run one command and commit; raise its DomainError if refused."""
        outcome = self.execute_batch([(command, now)])[0]
        if outcome.error is not None:
            raise outcome.error
        return outcome.events

    def execute_batch(self, batch: Sequence[tuple[cmd.Command, datetime]],
                      observe: Callable[[HallState, list[Event]], Any] | None = None,
                      ) -> list[Outcome]:
        """Run the commands in order and commit all their events in one transaction."""
        outcomes, to_write = self.decide(batch, observe)
        self.commit(to_write, batch[-1][1])
        return outcomes

    def decide(self, batch: Sequence[tuple[cmd.Command, datetime]],
               observe: Callable[[HallState, list[Event]], Any] | None = None,
               ) -> tuple[list[Outcome], list[Event]]:
        """Run the commands in order through the core: each one's outcome, and the events to
        commit. From here until `commit` returns, the state is ahead of the disk: whoever calls
        the two apart (the writer, queue_server.writer) keeps readers away in between.

        If the core fails (a bug), the state is rebuilt from the store and the error raised.
        A state left ahead of the disk by a failed revert is rebuilt first (or the batch fails).
        """
        if self._ahead:
            self.revert(batch[-1][1])
        try:
            return self._decide(batch, observe)
        except Exception:
            self.revert(batch[-1][1])
            raise

    def commit(self, events: list[Event], now: datetime, credentials: int | None = None) -> bool:
        """Write a decided batch's events in one transaction (one fsync for all of them).

        With `credentials` (the `credentials_version` the sessions that sent the commands were
        checked against, queue_server.revocation), nothing is written and False is returned
        if the version has moved since: the state is still ahead of the disk, and the caller
        either commits the same events again, against the new version, or calls `revert`.
        If anything fails before the commit returns, the state is reverted, so that memory
        never runs ahead of disk, and the error is raised: none of the batch happened; so also
        when the hall was taken by another server (its epoch moved: `hall_records.Fenced`),
        after which this server stops serving it. Safe to call on another thread than
        `decide`'s, as long as nobody reads the state meanwhile.
        """
        if not events:
            return True
        try:
            if self._writing is None:
                self._writing = self.engine.connect().execution_options(
                    isolation_level="AUTOCOMMIT")
            if event_log.append(self._writing, self.hall_id, events, credentials, self.epoch):
                return True
            if self.epoch is not None:   # which check refused it: the epoch is fatal
                hall_records.check_epoch(self._writing, self.hall_id, self.epoch)
            return False
        except Exception:
            self._forget_writing_connection()
            self.revert(now)
            raise

    def revert(self, now: datetime) -> None:
        """Throw away what was decided but not committed: the state is rebuilt from the store.
        If the store cannot be read (the database is away, a primary failing over), the state
        stays marked as `ahead` of the disk: readers wait, and the writer rebuilds it before
        its next batch (`decide` would too): a command decided on it could reuse a number
        whose ticket was never stored."""
        self._ahead = True
        self.state = rebuild(self.engine, self.hall_id, self.definition, now,
                             self.catalogue_version)
        self._ahead = False

    # --- the county catalogue (queue_server.catalogue) -----------------------------------------

    def county_version_due(self, now: datetime) -> int | None:
        """Blocking, one small read: the latest county catalogue version, when the hall has not
        applied it and its `catalogue_updates` mode says it is due at `now`; else None."""
        with self.engine.connect() as conn:
            latest = county_catalogue.latest(conn)
            applied = county_catalogue.applied(conn, self.hall_id)
        if latest is None or latest[0] <= self.county_version:   # what is served, not stored
            return None
        version, published_at = latest
        if applied >= version:   # written, not served (its apply failed after the commit)
            return version
        hall = self.definition.hall
        today = cal.service_day(hall, now)
        noticed = self._noticed.setdefault(version, min(cal.service_day(hall, published_at),
                                                        today))
        return version if catalogue.due(hall.catalogue_updates, noticed, today) else None

    def apply_county_version(self, version: int, now: datetime) -> tuple[HallDefinition, int]:
        """Blocking: apply a county catalogue version to the hall in the database (checked
        against this server's epoch: `hall_records.Fenced` if another server leads it now);
        the definition the hall is to serve then, with its catalogue version. The live state is
        not touched: `take_catalogue` does that, between two batches of the writer."""
        with self.engine.begin() as conn:
            catalogue_version = hall_records.apply_county_version(
                conn, self.hall_id, version, self.epoch, now)
            county = county_catalogue.items_of(conn, version)
        self._noticed.clear()
        # The items served now with the version's county fields: a hall file imported since
        # takes effect at the next start (docs/hall-config.md), not with a county version.
        items = catalogue.adopt(self.definition.items, county)
        return replace(self.definition, items=items), catalogue_version

    def take_catalogue(self, definition: HallDefinition, catalogue_version: int,
                       county_version: int) -> None:
        """Serve `definition`'s items from the next command on. Call it while no batch is
        between decision and commit (after `Writer.settled`, in the same step)."""
        self.definition = definition
        self.catalogue_version = catalogue_version
        self.county_version = county_version
        self.state.take_items(definition, catalogue_version)

    def close(self) -> None:
        """The hall is no longer served here: its kept connection goes back."""
        if self._writing is not None:
            self._writing.close()
            self._writing = None

    def _forget_writing_connection(self) -> None:
        """A failed commit may have lost its connection (a database restart): the next
        commit opens a fresh one."""
        if self._writing is not None:
            with contextlib.suppress(Exception):
                self._writing.invalidate()
                self._writing.close()
            self._writing = None

    def _decide(self, batch: Sequence[tuple[cmd.Command, datetime]],
                observe: Callable[[HallState, list[Event]], Any] | None,
                ) -> tuple[list[Outcome], list[Event]]:
        outcomes: list[Outcome] = []
        to_write: list[Event] = []
        for command, now in batch:
            rolled = self.state.roll_to(now)
            to_write += rolled
            try:
                events = rolled + self.state.handle(command, now)
            except DomainError as error:
                seen = observe(self.state, rolled) if observe and rolled else None
                outcomes.append(Outcome(rolled, error, seen))
                continue
            to_write += events[len(rolled):]
            outcomes.append(Outcome(events, None, observe(self.state, events) if observe else None))
        return outcomes, to_write
