"""The town's end of the village points' sync (queue_server.points.sync has the wire and the
point's end): `TownPoints` answers the points of one hall at `/h/<hall>/point/ws`, storing what
they send in the town's database (queue_server.store.point_logs) and sending the town's entries
and catalogue down.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from websockets.asyncio.connection import Connection
from websockets.exceptions import ConnectionClosed

from queue_server.hall_definition import ServiceItem
from queue_server.points.enrolment import CatalogueItem
from queue_server.points.sync import (
    CLOSE_REFUSED,
    HELLO_SECONDS,
    POLL_SECONDS,
    SyncRefused,
    batches,
    entries_of,
    frame,
    frame_text,
    log_digest,
    moment_of,
    proof,
)
from queue_server.store import point_logs

log = logging.getLogger("queue_server.points.town_link")


def catalogue_items(items: Iterable[ServiceItem]) -> tuple[CatalogueItem, ...]:
    """A hall's 代办类 items (`handling = "proxy"` in the hall file: an agent may do them
    without the applicant at the hall) as a point's catalogue: code, name and the names of
    the materials. 直办类 and 咨询类 items are not a point's to take."""
    return tuple(CatalogueItem(i.code, i.name, tuple(m.name for m in i.materials))
                 for i in items if i.handling == "proxy")



async def _refuse(connection: Connection, message: str) -> None:
    with contextlib.suppress(ConnectionClosed):
        await connection.send(frame_text("error", message=message))
        await connection.close(CLOSE_REFUSED, "refused")


class TownPoints:
    """The sessions of one hall's points: at most one per point at a time (a new one ends the
    one before, which may be a link that died unnoticed)."""

    def __init__(self, engine: Engine, hall_id: int, clock: Callable[[], datetime],
                 catalogue_version: Callable[[], int],
                 catalogue: Callable[[], tuple[CatalogueItem, ...]],
                 changed: Callable[[str, set[str]], None] = lambda point, items: None):
        self.engine = engine
        self.changed = changed   # told the point's code and the items of the cases concerned
        #                          when new entries of its log are stored
        self.hall_id = hall_id
        self.clock = clock
        self.catalogue_version = catalogue_version
        self.catalogue = catalogue
        self.sessions: dict[str, Connection] = {}
        self.locks: dict[str, asyncio.Lock] = {}

    async def serve(self, connection: Connection) -> None:
        try:
            await self._serve(connection)
        except SyncRefused as refused:
            log.info("a point's sync refused: %s", refused)
            await _refuse(connection, str(refused))
        except point_logs.PointError as refused:
            await _refuse(connection, str(refused))
        except TimeoutError:
            await _refuse(connection, f"{HELLO_SECONDS:g} 秒内未完成身份验证")
        except ConnectionClosed:
            pass

    async def _serve(self, connection: Connection) -> None:
        hello = frame(await asyncio.wait_for(connection.recv(), HELLO_SECONDS), "hello")
        now = self.clock()
        offset = round((now - moment_of(hello["now"])).total_seconds())
        code, installation = hello["point"], hello["installation"]
        enrolments = await asyncio.to_thread(self._read, point_logs.enrolments, code)
        if not enrolments:
            raise SyncRefused(f"本大厅没有编号为 {code[:40]} 的代办点")
        nonce = secrets.token_hex(32)
        await connection.send(frame_text("challenge", nonce=nonce))
        answer = frame(await asyncio.wait_for(connection.recv(), HELLO_SECONDS), "proof")["mac"]
        point = next((p for p in enrolments if hmac.compare_digest(
            answer.encode(), proof(p.secret, "point", code, installation, nonce).encode())), None)
        if point is None:
            raise SyncRefused("代办点身份验证失败：登记码的密钥不对")
        if point.revoked_at is not None:
            raise SyncRefused("此代办点的登记已被乡镇注销（已重新生成登记码），本机不能再同步")
        await asyncio.to_thread(self._write, point_logs.bind_installation, code, installation)
        previous = self.sessions.get(code)
        self.sessions[code] = connection
        if previous is not None:
            await previous.close(1012, "本代办点已从新的连接接入")
        lock = self.locks.setdefault(code, asyncio.Lock())
        try:
            async with lock:     # the session before has finished its last write
                if self.sessions.get(code) is connection:
                    await self._session(connection, point, hello, offset, now)
        finally:
            if self.sessions.get(code) is connection:
                del self.sessions[code]

    async def _session(self, connection: Connection, point: point_logs.Point,
                       hello: Mapping[str, Any], offset: int, now: datetime) -> None:
        code = point.code
        up_have, _ = await asyncio.to_thread(self._write, point_logs.contact, code, now, offset)
        await connection.send(frame_text(
            "welcome", up_have=up_have, now=now.isoformat(timespec="seconds"),
            clock_offset_seconds=offset,
            mac=proof(point.secret, "town", code, hello["installation"], hello["nonce"])))
        if up_have > hello["up_last"]:
            await self._give_back(connection, code, up_have)
        pushing = asyncio.create_task(self._push(connection, code, hello["down_have"],
                                                 hello["catalogue"]))
        try:
            async for raw in connection:
                data = frame(raw, "up", "down_ack")
                if data["t"] == "down_ack":
                    await asyncio.to_thread(self._write, point_logs.down_acked, code,
                                            data["last"])
                    continue
                entries = entries_of(data, "up", code, up_have)
                held = await asyncio.to_thread(self._write, point_logs.store_up, code,
                                               entries, self.clock(), offset)
                if held != up_have:
                    cases = {e.record.case for e in entries if up_have < e.seq <= held}
                    self.changed(code, await asyncio.to_thread(
                        self._read, point_logs.items_of, code, cases))
                up_have = held
                await connection.send(frame_text("up_ack", last=up_have))
        finally:
            pushing.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await pushing

    async def _give_back(self, connection: Connection, code: str, up_have: int) -> None:
        """The point (authenticated: only its own log) has less of its log than the town: its
        `restore` says how much and the digest of it. When that is the beginning of the town's
        copy, the rest goes back to it in batches; else it is refused, and told what to do."""
        data = frame(await asyncio.wait_for(connection.recv(), HELLO_SECONDS), "restore")
        after = data["after"]
        if after >= up_have:
            raise SyncRefused(f"乡镇只有本点 {up_have} 条记录，本机已有 {after} 条，无需取回")
        held = await asyncio.to_thread(self._read, point_logs.up_entries, code)
        if not hmac.compare_digest(data["digest"].encode(),
                                   log_digest(held[:after]).encode()):
            raise SyncRefused(
                f"本机台账的前 {after} 条与乡镇收到的本点记录不一致（本机恢复或重装后、取回乡镇记录前"
                "又登记了新件），不能同步。请勿在本机继续登记；请乡镇重新生成登记码（point enrol "
                "--again），在本机用新的数据库文件 point init 后连上乡镇，本点记录会自动取回，"
                "再把取回的台账里没有的件重新登记")
        for text, _ in batches("up_back", held[after:]):
            await connection.send(text)

    async def _push(self, connection: Connection, code: str, sent: int, version: int) -> None:
        """The town's entries after `sent`, and the catalogue when newer, as they come (looked
        for every POLL_SECONDS: they may be written by another process)."""
        while True:
            if (current := self.catalogue_version()) > version:
                await connection.send(frame_text("catalogue", version=current,
                                            items=[asdict(i) for i in self.catalogue()]))
                version = current
            entries = await asyncio.to_thread(self._read, point_logs.down_entries, code, sent)
            for text, last in batches("down", entries):
                await connection.send(text)
                sent = last
            if not entries:
                await asyncio.sleep(POLL_SECONDS)

    def _read(self, reader: Callable[..., Any], *args: Any) -> Any:
        with self.engine.connect() as conn:
            return reader(conn, self.hall_id, *args)

    def _write(self, writer: Callable[..., Any], *args: Any) -> Any:
        with self.engine.begin() as conn:
            return writer(conn, self.hall_id, *args)
