"""Ending the sessions whose credentials were revoked or changed, while they are open.

Credentials change in another process (`queue-server device revoke`, `clerk set-pin`,
`manager add|remove`, `import-hall`), which raises the hall's `credentials_version` in the same
transaction. The server reads that one number:

- in the statement of every commit of the single writer, which writes nothing if the number
  moved since the sessions were checked against it (queue_server.writer runs the check then),
  so a revoked kiosk's `take_ticket`, even one already queued, is refused rather than issued;
- before every op that reads without writing (`catalogue`, `stats`, `export`);
- every `INTERVAL_SECONDS` otherwise, for sessions that only listen (a display, an idle console).

When the number moved, every session is checked against what is stored now: a device whose
token was revoked, a clerk whose PIN was reset or who is gone from the roster, a manager whose
account was changed or removed. Each such session ends at once: it receives nothing more, its
queued commands are refused, and its connection is closed with `CLOSE_REVOKED` and the reason
in Chinese, which the clients show instead of trying the old credentials again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from sqlalchemy import Engine

from queue_server.store import accounts, devices

INTERVAL_SECONDS = 0.5
log = logging.getLogger("queue_server.revocation")

REASONS = {"kiosk": "设备令牌已被吊销", "display": "设备令牌已被吊销", "pad": "设备令牌已被吊销",
           "clerk": "您的密码已被重置或账号已停用，请重新登录",
           "manager": "管理账号已被更改或删除，请重新登录"}


class Holder(Protocol):
    role: str | None
    credential: tuple | None

    def end(self, reason: str) -> None: ...


class Revocation:
    """`epoch`: the fencing epoch this server took the hall with (queue_server.leadership),
    read with the credentials' version: when it moved, another server took the hall, and
    `on_fenced` is called at once, without waiting for a commit to find out (a quiet hall
    might not commit for minutes, showing its displays a state that is no longer true)."""

    def __init__(self, engine: Engine, hall_id: int, sessions: Callable[[], Iterable[Holder]],
                 epoch: int | None = None, on_fenced: Callable[[], None] = lambda: None):
        self.engine = engine
        self.hall_id = hall_id
        self.sessions = sessions
        self.epoch, self.on_fenced = epoch, on_fenced
        self.read_version = _VersionReader(engine, hall_id)
        self.version, _ = self.read_version()
        self.ended = 0      # for /healthz

    def check(self) -> None:
        """One read; when the credentials changed, end the sessions they no longer allow."""
        version, epoch = self.read_version()
        if self.epoch is not None and epoch != self.epoch:
            self.epoch = None        # told once
            self.on_fenced()
            return
        if version == self.version:
            return
        self._end_invalid(list(self.sessions()))
        self.version = version       # only once every session was checked against it

    def admit(self, session: Holder, seen: int) -> None:
        """A session that just said hello, with credentials read while the version was `seen`:
        had a change been handled meanwhile (a PIN is checked on another thread), that check
        did not see this session yet, so it is checked now."""
        if self.version != seen:
            self._end_invalid([session])

    def _end_invalid(self, sessions: list[Holder]) -> None:
        with self.engine.connect() as conn:
            live_devices = devices.live_device_ids(conn, self.hall_id)
            stamps = accounts.current_stamps(conn, self.hall_id)
        for session in sessions:
            if not _still_valid(session.credential, live_devices, stamps):
                log.info("ending a %s session: its credentials were revoked or changed",
                         session.role)
                self.ended += 1
                assert session.role is not None   # it had credentials: it said hello
                session.end(REASONS[session.role])

    def close(self) -> None:
        self.read_version.close()

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(INTERVAL_SECONDS)
            try:
                self.check()
            except Exception:   # the database is away: the next round looks again
                log.exception("checking for revoked credentials failed")


class _VersionReader:
    """Reads the hall's `credentials_version` (and `epoch`) as cheaply as the driver allows, for it is read
    twice a second and before every op that reads: on a connection of its own, kept, in plain
    SQL (through SQLAlchemy's statement machinery one read cost 170–260 µs on SQLite, 6 µs like
    this). The
    connection is in autocommit mode, so each read is a transaction of its own and sees what
    other processes committed since, in one round trip to PostgreSQL (a read and then a
    ROLLBACK were two)."""

    def __init__(self, engine: Engine, hall_id: int):
        self.engine = engine
        self.hall_id = hall_id
        mark = "?" if engine.dialect.paramstyle == "qmark" else "%s"
        self.sql = f"SELECT credentials_version, epoch FROM halls WHERE id = {mark}"
        self.connection: Any = None
        self.closed = False

    def __call__(self) -> tuple[int, int]:
        """The hall's credentials version and fencing epoch."""
        if self.closed:   # the hall is no longer served here: no connection is opened again
            raise RuntimeError("the hall is no longer served here")
        try:
            if self.connection is None:
                self.connection = self.engine.raw_connection()
                _autocommit(self.connection.driver_connection)
            cursor = self.connection.cursor()
            cursor.execute(self.sql, (self.hall_id,))
            version, epoch = cursor.fetchone()
            cursor.close()
            return version, epoch
        except Exception:     # a lost connection: a fresh one next time
            with contextlib.suppress(Exception):
                self.connection.invalidate()
            self.connection = None
            raise

    def close(self) -> None:
        self.closed = True
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _autocommit(driver_connection: Any) -> None:
    if isinstance(driver_connection, sqlite3.Connection):
        driver_connection.isolation_level = None
    else:                          # psycopg
        driver_connection.autocommit = True


def _still_valid(credential: Any, live_devices: set[int], stamps: set[tuple]) -> bool:
    if credential is None:          # a citizen: a signed ticket token, nothing to revoke
        return True
    if credential[0] == "device":
        return credential[1] in live_devices
    return credential in stamps
