"""Which server leads which hall, when several `serve` processes share one PostgreSQL.

A hall has a single writer: exactly one server may decide and commit its commands. Any number
of servers, on any machines, may run against the county's database; each hall is led by one of
them, chosen through PostgreSQL itself (we write no consensus of our own):

- **The lock.** A server leads a hall while it holds the session advisory lock
  (`LOCK_SPACE`, hall id) on a connection of its own, kept open for that purpose alone. Such a
  lock lives exactly as long as the database session: never reach PostgreSQL through a
  transaction-mode pooler, which would hand the session to someone else.
- **The fencing epoch.** Taking a hall raises `halls.epoch`, and every commit of the hall's
  events checks, in its own transaction and holding the hall's row, that the epoch is still
  the one its server took (`hall_records.check_epoch`). A leader that was paused (a frozen VM,
  SIGSTOP) and comes back finds the epoch moved, writes nothing, and steps down. This, not the
  lock, is what makes two writers impossible; the lock only decides who should write.
- **Heartbeats and the lease.** Every `ROUND_SECONDS` a server writes that it is alive
  (`servers.seen_at`), and from which database session. A server is live while that session
  exists and it was heard of within `LEASE_SECONDS`: a killed process's session ends at once,
  so its halls are taken in the next round; a paused or cut-off one keeps its session (and its
  locks) until the lease runs out, then the others end that session (`pg_terminate_backend`)
  and take its halls.
- **Spreading.** Each server leads at most its fair share, ceil(halls / live servers); it
  takes free halls up to that share and hands one back per round while it has more (a new
  server joining gets halls within seconds). Handing a hall over stops it for the moment the
  next leader takes to rebuild its day (the takeover figures are in docs/performance.md). A
  hall nobody takes for `OVERDUE_ROUNDS` rounds (the others serve other halls, `--halls`) is
  taken beyond the share, and kept.
- Who leads is decided by the locks alone: a hall is free when no session holds its lock, or
  when the session that holds it is no live server's. `halls.leader` only tells the other
  servers where to send the hall's devices.

`plan` is the pure part (what to take, hand back and fence off, from what the database says);
`Leadership` runs it on a thread with the dedicated connection, and tells the server through
`on_lead(hall id, epoch)` and `on_lose(hall id)`. On SQLite there is one server:
`sole_leadership` takes every hall it serves, raising the epochs, so that a second server
started on the same file by mistake fences the first off instead of writing beside it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, text, update

from queue_server.store.schema import HallRow, ServerRow

LOCK_SPACE = 0x48414C4C    # "HALL": the first key of the advisory locks, the hall's id the second
ROUND_SECONDS = 0.5
LEASE_SECONDS = 4.0
# The servers that are live: heard of within the lease, with their session still there.
LIVE_SERVERS = ("FROM servers s JOIN pg_stat_activity a ON a.pid = s.backend "
                f"WHERE s.seen_at > now() - interval '{LEASE_SECONDS} seconds'")
OVERDUE_ROUNDS = 4   # a hall free for this many rounds in a row is taken beyond the fair share
FORGET_SERVERS = "1 day"   # a server's row is removed when it has not been heard of for this long
log = logging.getLogger("queue_server.leadership")


@dataclass(frozen=True, slots=True)
class HallSeen:
    """A hall as the database shows it: whether some session holds its lock, and whether that
    session is a live server's (the one it says it leads from, heard of within the lease)."""

    hall_id: int
    locked: bool
    holder_live: bool = False


@dataclass(frozen=True, slots=True)
class Moves:
    take: list[int]        # try to take, in this order
    hand_back: list[int]   # stop leading
    fence_off: list[int]   # their leader is gone: end its session first (its lock may be held)


def plan(halls: Iterable[HallSeen], mine: frozenset[int], servers: int,
         overdue: frozenset[int] = frozenset(), kept: frozenset[int] = frozenset()) -> Moves:
    """What a server leading `mine` should do, with `servers` live servers (itself included).
    `overdue`: halls free for several rounds (no other server took them: none could, say, for
    they serve other halls); taken whatever the share, and then `kept` (never handed back, or
    they would go round between being handed back and taken again)."""
    halls = list(halls)
    fair = math.ceil(len(halls) / max(1, servers)) if halls else 0
    # Free: nobody holds its lock (its leader died, or handed it back), or a session that is
    # no live server's does (a paused or cut-off process, whose lease ran out).
    orphans = [h for h in halls if h.hall_id not in mine and not (h.locked and h.holder_live)]
    room = max(0, fair - len(mine))
    take = [h.hall_id for h in orphans][:room]
    take += [h.hall_id for h in orphans if h.hall_id in overdue and h.hall_id not in take]
    fence_off = [h.hall_id for h in orphans if h.hall_id in take and h.locked]
    spare = sorted(mine - kept, reverse=True)
    hand_back = spare[:1] if len(mine) > fair else []
    return Moves(take, hand_back, fence_off)


class Leadership:
    """The rounds of `plan` for one server, on a thread of its own, with its own connection."""

    def __init__(self, engine: Engine, name: str, url: str, halls: dict[int, str],
                 on_lead: Callable[[int, int], None], on_lose: Callable[[int], None],
                 after_first_round: Callable[[], None] = lambda: None):
        self.engine = engine
        self.name, self.url = name, url
        self.halls = halls                  # id → code: the halls this server may lead
        self.on_lead, self.on_lose = on_lead, on_lose
        self.after_first_round = after_first_round
        self.mine: set[int] = set()
        self.live_urls: list[str] = []      # every live server's address, as of the last round
        self.given_up: set[int] = set()     # fenced off by a commit: let go in the next round
        self.free_rounds: dict[int, int] = {}   # hall → rounds in a row no session held it
        self.kept: set[int] = set()         # taken when overdue: not handed back
        self.connection: Any = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="hall-leadership", daemon=True)
        self.rounds = 0

    def start(self) -> None:
        self.thread.start()

    def give_up(self, hall_id: int) -> None:
        """A commit found the hall taken by another server (any thread): let it go."""
        self.given_up.add(hall_id)

    def stop(self) -> None:
        """Hand every hall back and end the session (its locks go with it)."""
        self.stopping.set()
        self.thread.join(timeout=10)
        self._drop_connection()

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._round()
            except Exception:
                log.exception("a leadership round failed: every hall is handed back")
                self._lose_all()
                self._drop_connection()
            self.rounds += 1
            if self.rounds == 1:
                self.after_first_round()
            self.stopping.wait(ROUND_SECONDS)
        self._lose_all()

    def _sql(self, sql: str, *params: Any) -> list[tuple]:
        if self.connection is None:
            self.connection = self.engine.raw_connection()
            driver = self.connection.driver_connection
            driver.autocommit = True
            for setting in ("tcp_keepalives_idle = 5", "tcp_keepalives_interval = 1",
                            "tcp_keepalives_count = 3"):
                driver.execute(f"SET {setting}")   # a dead machine's session ends in ~8 s
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []
        finally:
            cursor.close()

    def _round(self) -> None:
        self._sql("INSERT INTO servers (name, url, seen_at, backend) "
                  "VALUES (%s, %s, now(), pg_backend_pid()) ON CONFLICT (name) DO UPDATE "
                  "SET url = excluded.url, seen_at = now(), backend = pg_backend_pid()",
                  self.name, self.url)
        if self.rounds % 1000 == 0:
            self._sql(f"DELETE FROM servers WHERE seen_at < now() - interval '{FORGET_SERVERS}'")
        given_up, self.given_up = self.given_up, set()   # `give_up` adds from other threads
        for hall_id in sorted(given_up & self.mine):
            self._lose(hall_id)
        locks = self._sql("SELECT objid, pid FROM pg_locks WHERE locktype = 'advisory' AND "
                          "classid = %s AND objsubid = 2 AND granted", LOCK_SPACE)
        (me,), = self._sql("SELECT pg_backend_pid()")
        held = {hall_id for hall_id, pid in locks if pid == me}
        for hall_id in sorted(self.mine - held):   # the session was ended: they are not ours
            log.warning("the lock of hall %s was lost", self.halls[hall_id])
            self._lose(hall_id)
        servers = self._sql(f"SELECT s.name, s.url, s.backend {LIVE_SERVERS} ORDER BY s.name")
        self.live_urls = [url for _, url, _ in servers]
        backends = {backend for _, _, backend in servers}
        holders = {hall_id: pid for hall_id, pid in locks}
        halls = [HallSeen(hall_id, hall_id in holders, holders.get(hall_id) in backends)
                 for hall_id in sorted(self.halls)]
        free = {h.hall_id for h in halls if not h.locked}
        self.free_rounds = {h: self.free_rounds.get(h, 0) + 1 for h in free}
        overdue = frozenset(h for h, rounds in self.free_rounds.items() if rounds > OVERDUE_ROUNDS)
        live = len({name for name, _, _ in servers} | {self.name})
        moves = plan(halls, frozenset(self.mine), live, overdue, frozenset(self.kept))
        for hall_id in moves.hand_back:
            self._lose(hall_id)
        for hall_id in moves.fence_off:
            self._sql("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = "
                      "'advisory' AND classid = %s AND objid = %s AND objsubid = 2 AND granted "
                      "AND pid <> pg_backend_pid()", LOCK_SPACE, hall_id)
        for hall_id in moves.take:
            (got,), = self._sql("SELECT pg_try_advisory_lock(%s, %s)", LOCK_SPACE, hall_id)
            if not got:
                continue
            (epoch,), = self._sql("UPDATE halls SET epoch = epoch + 1, leader = %s "
                                  "WHERE id = %s RETURNING epoch", self.name, hall_id)
            self.mine.add(hall_id)
            if hall_id in overdue:
                self.kept.add(hall_id)
            log.info("leading hall %s from epoch %s", self.halls[hall_id], epoch)
            self.on_lead(hall_id, epoch)

    def _lose(self, hall_id: int) -> None:
        """Stop leading: the server stops the hall first; then its lock is let go and the hall
        marked as led by nobody, so that another server takes it in its next round."""
        self.mine.discard(hall_id)
        self.kept.discard(hall_id)
        self.on_lose(hall_id)
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self._sql("SELECT pg_advisory_unlock(%s, %s)", LOCK_SPACE, hall_id)
                self._sql("UPDATE halls SET leader = NULL WHERE id = %s AND leader = %s",
                          hall_id, self.name)

    def _lose_all(self) -> None:
        for hall_id in sorted(self.mine):
            self._lose(hall_id)

    def _drop_connection(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.invalidate()
            self.connection = None


def leader_url(conn: Connection, hall_id: int) -> str | None:
    """The address of the server that leads the hall, if it is live."""
    if conn.dialect.name == "sqlite":    # one server: no heartbeats
        return conn.execute(select(ServerRow.url).join(
            HallRow, HallRow.leader == ServerRow.name).where(HallRow.id == hall_id)).scalar()
    return conn.execute(text(f"SELECT s.url {LIVE_SERVERS} AND s.name = "
                             "(SELECT leader FROM halls WHERE id = :hall)"),
                        {"hall": hall_id}).scalar()


def sole_leadership(engine: Engine, name: str, url: str, halls: Iterable[int]) -> dict[int, int]:
    """The one server of a SQLite database takes its halls: each one's new epoch."""
    epochs = {}
    with engine.begin() as conn:
        conn.execute(delete(ServerRow))
        conn.execute(insert(ServerRow).values(name=name, url=url, seen_at=datetime.now(UTC)))
        for hall_id in halls:
            epochs[hall_id] = conn.execute(
                update(HallRow).where(HallRow.id == hall_id)
                .values(epoch=HallRow.epoch + 1, leader=name).returning(HallRow.epoch)).scalar_one()
    return epochs
