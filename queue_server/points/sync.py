"""The sync between a village point and its town's hall server: the wire, and the point's end (docs/points.md,
docs/protocol.md "Village points").

The point connects to `<town>/h/<hall>/point/ws` whenever it can (`PointLink`, here); the
town (`queue_server.points.town_link.TownPoints`, one per hall served) answers. This module is
the wire both ends share and the point's end, so that a point's server loads nothing of the
town's (its hall files, its storage). JSON text frames, each with its type in `t`:

    point → town   hello {point, installation, nonce, now, up_last, down_have, catalogue}
    town → point   challenge {nonce}
    point → town   proof {mac}                      HMAC-SHA256 over the town's nonce
    town → point   welcome {up_have, now, clock_offset_seconds, mac}   … and the town's over
                                                                          the point's nonce
    point → town   restore {after, digest}   only when up_have > its last: its log holds 1..after,
                                         `digest` their `log_digest`; asks for the rest
    town → point   up_back {entries}   the point's own entries after `after`, up to up_have, ≤ BATCH
                                       a frame, once the digest equals the town's of its copy
    point → town   up {entries}        its entries after up_have, ≤ BATCH a frame
    town → point   up_ack {last}       once the batch is durable at the town
    town → point   down {entries}      the town's entries for the point after down_have
    point → town   down_ack {last}     once stored at the point
    town → point   catalogue {version, items}   when the point's version is older
    either         error {message}     (Chinese), then the connection is closed

Neither side trusts the other's clock: the proofs answer random nonces, and the order of the
ledger is the logs' numbers (queue_server.points.ledger). The town measures the offset (its
clock minus the point's `now` in the hello) and both sides show it. Each entry is checked
(`ledger.entry_from_wire`) and the point's must name its own cases. Either log arrives once
and in order: the receiver stores only entries after its last, refuses a gap, and says how far
it holds; after any cut the next session starts from there. A malformed frame ends the session
with a Chinese error and stores nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any, Protocol

from websockets.asyncio.client import connect
from websockets.asyncio.connection import Connection
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from hall.protocol import MAX_FRAME_BYTES
from queue_server.points import ledger
from queue_server.points.enrolment import CatalogueItem
from queue_server.points.point_store import PointStore

SYNC_PATH = "/point/ws"
"""The sync's WebSocket under a hall's path (`/h/<hall>/point/ws`)."""
BATCH = 200
"""Entries in one frame at most…"""
BATCH_BYTES = MAX_FRAME_BYTES - 8 * 1024
"""…and bytes: the town takes no frame over MAX_FRAME_BYTES."""
HELLO_SECONDS = 10.0
POLL_SECONDS = 2.0
"""How often a session looks for town entries written elsewhere (another process)."""
BACKOFF = (1.0, 60.0)
"""The point's first wait after a failed session, and its longest (doubling in between)."""
CLOSE_REFUSED = 4403
log = logging.getLogger("queue_server.points.sync")


class SyncRefused(Exception):
    """The other side broke the protocol or refused us; said in Chinese."""


# --- frames ---------------------------------------------------------------------------------

_FIELDS: Mapping[str, Mapping[str, type]] = {
    "hello": {"point": str, "installation": str, "nonce": str, "now": str, "up_last": int,
              "down_have": int, "catalogue": int},
    "challenge": {"nonce": str},
    "proof": {"mac": str},
    "welcome": {"up_have": int, "now": str, "clock_offset_seconds": int, "mac": str},
    "restore": {"after": int, "digest": str},
    "up_back": {"entries": list},
    "up": {"entries": list},
    "up_ack": {"last": int},
    "down": {"entries": list},
    "down_ack": {"last": int},
    "catalogue": {"version": int, "items": list},
    "error": {"message": str},
}


def frame(raw: str | bytes, *allowed: str) -> dict[str, Any]:
    """A frame of one of the `allowed` types, every field of it checked. An error frame from the
    other side is raised as SyncRefused with its message; so is anything malformed."""
    try:
        data = json.loads(raw)
    except ValueError:
        raise SyncRefused("收到的消息不是 JSON") from None
    if not isinstance(data, dict):
        raise SyncRefused("收到的消息应为 JSON 对象")
    kind = data.get("t")
    if kind == "error" and isinstance(data.get("message"), str):
        raise SyncRefused(data["message"][:200])
    if kind not in allowed:
        raise SyncRefused(f"此时不应收到此类消息：{str(kind)[:40]}")
    for name, kind_of in _FIELDS[kind].items():
        value = data.get(name)
        if not isinstance(value, kind_of) or isinstance(value, bool) or (
                isinstance(value, int) and value < 0 and name != "clock_offset_seconds") or (
                isinstance(value, str) and len(value) > 200):
            raise SyncRefused(f"消息 {kind} 的字段 {name} 缺失或类型不对")
    return data


def entries_of(data: Mapping[str, Any], side: str, point: str,
               after: int) -> list[ledger.Entry]:
    """The entries of an `up` or `down` frame: each checked, of `side`, naming `point`'s cases,
    numbered on from at most `after` + 1 without a gap."""
    try:
        entries = [ledger.entry_from_wire(e) for e in data["entries"]]
    except ledger.BadEntry as bad:
        raise SyncRefused(str(bad)) from None
    for expected, entry in enumerate(entries, entries[0].seq if entries else 0):
        if entry.side != side:
            raise SyncRefused(f"此方向不应有此类台账记录：{entry.record.tag}")
        if not entry.record.case.startswith(point + "-"):
            raise SyncRefused(f"件号 {entry.record.case[:40]} 不属于代办点 {point}")
        if entry.seq != expected:
            raise SyncRefused("台账记录的序号不连续")
    if entries and entries[0].seq > after + 1:
        raise SyncRefused(f"台账记录不连续：已有第 {after} 条，收到第 {entries[0].seq} 条")
    return entries


def frame_text(kind: str, **fields: Any) -> str:
    return json.dumps({"t": kind, **fields}, ensure_ascii=False, separators=(",", ":"))


def batches(kind: str, entries: Sequence[ledger.Entry]) -> Iterable[tuple[str, int]]:
    """The frames that carry `entries`, each ≤ BATCH entries and ≤ BATCH_BYTES; with the last
    number each carries."""
    chunk: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        wire = entry.wire()
        length = len(json.dumps(wire, ensure_ascii=False).encode())
        if chunk and (len(chunk) == BATCH or size + length > BATCH_BYTES):
            yield frame_text(kind, entries=chunk), chunk[-1]["seq"]
            chunk, size = [], 0
        chunk.append(wire)
        size += length + 1
    if chunk:
        yield frame_text(kind, entries=chunk), chunk[-1]["seq"]


def log_digest(entries: Iterable[ledger.Entry]) -> str:
    """SHA-256 over a log's entries in order, each as its wire's JSON with sorted keys: both
    sides compute it of entries 1..n (the point of its own log, the town of its copy) to know
    whether the point's log is the beginning of the town's copy."""
    digest = hashlib.sha256()
    for entry in entries:
        digest.update(json.dumps(entry.wire(), ensure_ascii=False, sort_keys=True,
                                 separators=(",", ":")).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def proof(secret: str, side: str, point: str, installation: str, nonce: str) -> str:
    """The HMAC with which `side` ("point" or "town") answers the other's nonce."""
    message = f"dbj-sync|{side}|{point}|{installation}|{nonce}".encode()
    return hmac.new(bytes.fromhex(secret), message, hashlib.sha256).hexdigest()


def _items_of(data: Mapping[str, Any]) -> tuple[CatalogueItem, ...]:
    items = []
    for item in data["items"]:
        if not (isinstance(item, dict) and isinstance(item.get("code"), str)
                and isinstance(item.get("name"), str) and isinstance(item.get("materials"), list)
                and all(isinstance(m, str) for m in item["materials"])):
            raise SyncRefused("事项目录的格式不对")
        items.append(CatalogueItem(item["code"], item["name"], tuple(item["materials"])))
    return tuple(items)


def moment_of(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise SyncRefused("时间应为带时区的 ISO 时间")
    return moment


# --- the point's end ------------------------------------------------------------------------

class LinkHub(Protocol):
    """What the point's server is told by its link (queue_server.points.point_server)."""

    wake: asyncio.Event
    """Set when the point wrote an entry: the link sends it now (or reconnects now)."""

    def town_entries(self, entries: list[ledger.Entry]) -> None:
        """The town's new entries, stored already."""

    def link_state(self, state: Mapping[str, Any]) -> None:
        """connected, last_contact (ISO or None), pending, clock_offset_seconds, error."""

    def catalogue(self, version: int, items: tuple[CatalogueItem, ...]) -> None:
        """A newer catalogue, stored already."""

    def restored(self) -> None:
        """Entries of the point's own log given back by the town, stored already: the ledger
        is folded anew and the next case numbers follow them."""


def _now() -> datetime:
    return datetime.now(UTC).astimezone()


class PointLink:
    """The point's link to its town: connects, syncs both logs, stays to push new entries, and
    reconnects after any cut (at once when the point writes an entry, else after a wait that
    doubles up to BACKOFF's longest). `url`: instead of the enrolment's town address;
    `clock`: the point's own (a test's clock that is wrong)."""

    def __init__(self, store: PointStore, hub: LinkHub, url: str | None = None,
                 clock: Callable[[], datetime] = _now, backoff: tuple[float, float] = BACKOFF):
        self.store = store
        self.hub = hub
        self.enrolment = store.enrolment()
        self.url = url or self.enrolment.town_url
        self.clock = clock
        self.backoff = backoff
        self.state: dict[str, Any] = {"connected": False, "error": None, "refused": False,
                                      "last_contact": None,
                                      "town_has": 0, "clock_offset_seconds": None} | (
            store.get("sync") or {})
        self.sessions = 0

    def installation(self) -> str:
        """This PC's installation id: random, made at the first start, kept in the store."""
        made = self.store.get("installation")
        if made is None:
            made = secrets.token_hex(16)
            self.store.put("installation", made)
        return str(made)

    async def run(self) -> None:
        """Forever (until cancelled)."""
        delay = self.backoff[0]
        while True:
            self.sessions += 1
            try:
                await self.session()
            except (OSError, ConnectionClosed, InvalidHandshake, InvalidURI, TimeoutError) as cut:
                self._tell(connected=False, error=f"与乡镇的连接中断：{_reason(cut)}", refused=False)
            except SyncRefused as refused:
                self._tell(connected=False, error=str(refused), refused=True)
            else:
                self._tell(connected=False, refused=False)
            self.hub.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.hub.wake.wait(), delay * random.uniform(0.5, 1.0))
            delay = min(self.backoff[1], delay * 2)

    async def session(self) -> None:
        """One session, until the link is cut (raises) or the town closes it."""
        enrolment = self.enrolment
        installation = self.installation()
        up_last, down_have = await asyncio.to_thread(self.store.last)
        version, _ = await asyncio.to_thread(self.store.catalogue)
        nonce = secrets.token_hex(32)
        async with connect(self.url, open_timeout=HELLO_SECONDS, max_size=None,
                           close_timeout=2, compression=None) as connection:
            await connection.send(frame_text(
                "hello", point=enrolment.point, installation=installation, nonce=nonce,
                now=self.clock().isoformat(timespec="seconds"), up_last=up_last,
                down_have=down_have, catalogue=version))
            challenge = frame(await asyncio.wait_for(connection.recv(), HELLO_SECONDS),
                              "challenge")
            await connection.send(frame_text("proof", mac=proof(
                enrolment.secret, "point", enrolment.point, installation, challenge["nonce"])))
            welcome = frame(await asyncio.wait_for(connection.recv(), HELLO_SECONDS), "welcome")
            if not hmac.compare_digest(welcome["mac"].encode(), proof(
                    enrolment.secret, "town", enrolment.point, installation, nonce).encode()):
                raise SyncRefused("乡镇服务器身份验证失败：连接的可能不是本乡镇的服务器")
            town_has = welcome["up_have"]
            self._tell(connected=True, error=None, refused=False,
                       last_contact=self.clock().isoformat(timespec="seconds"),
                       clock_offset_seconds=welcome["clock_offset_seconds"], town_has=town_has)
            if town_has > up_last:
                await self._restore(connection, town_has)
            sending = asyncio.create_task(self._send(connection, town_has))
            try:
                await self._receive(connection)
            finally:
                sending.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await sending

    async def _restore(self, connection: Connection, town_has: int) -> None:
        """The town holds more of this point's log than this database (a PC re-enrolled with an
        empty log, a backup older than what the town received): ask for the rest with the
        digest of what is here, and store what comes back, batch by batch, until the log is
        the town's. The town refuses (an error frame) when this log is not the beginning of its
        copy. A cut leaves what was stored; the next session asks from there."""
        have = await asyncio.to_thread(lambda: self.store.last()[0])
        digest = await asyncio.to_thread(lambda: log_digest(self.store.up(0, have)))
        await connection.send(frame_text("restore", after=have, digest=digest))
        while have < town_has:
            data = frame(await connection.recv(), "up_back")
            entries = entries_of(data, "up", self.enrolment.point, have)
            if entries and entries[-1].seq > town_has:
                raise SyncRefused(f"乡镇给回的台账记录超过其所称的 {town_has} 条")
            try:
                await asyncio.to_thread(self.store.restore, entries)
            except ValueError as gap:
                raise SyncRefused(str(gap)) from None
            have = await asyncio.to_thread(lambda: self.store.last()[0])
            self.hub.restored()
            self._tell()

    async def _send(self, connection: Connection, sent: int) -> None:
        while True:
            self.hub.wake.clear()
            entries = await asyncio.to_thread(self.store.up, sent, BATCH)
            for text, last in batches("up", entries):
                await connection.send(text)
                sent = last
            if not entries:
                await self.hub.wake.wait()

    async def _receive(self, connection: Connection) -> None:
        point = self.enrolment.point
        async for raw in connection:
            data = frame(raw, "up_ack", "down", "catalogue")
            if data["t"] == "up_ack":
                self._tell(town_has=max(self.state["town_has"], data["last"]),
                           last_contact=self.clock().isoformat(timespec="seconds"))
            elif data["t"] == "down":
                _, have = await asyncio.to_thread(self.store.last)
                new = await asyncio.to_thread(self.store.receive,
                                              entries_of(data, "down", point, have))
                if new:
                    self.hub.town_entries(new)
                _, have = await asyncio.to_thread(self.store.last)
                await connection.send(frame_text("down_ack", last=have))
            else:
                items = _items_of(data)
                await asyncio.to_thread(self.store.put, "catalogue", {
                    "version": data["version"], "items": [asdict(i) for i in items]})
                self.hub.catalogue(data["version"], items)

    def _tell(self, **changes: Any) -> None:
        """Keep the sync's state (stored, so that the pending count survives a restart) and
        tell the hub."""
        kept = ("last_contact", "town_has", "clock_offset_seconds")
        before = {k: self.state[k] for k in kept}
        self.state.update(changes)
        if {k: self.state[k] for k in kept} != before:
            self.store.put("sync", {k: self.state[k] for k in kept})
        up_last, _ = self.store.last()
        self.hub.link_state({
            "connected": self.state["connected"], "last_contact": self.state["last_contact"],
            "pending": max(0, up_last - self.state["town_has"]),
            "clock_offset_seconds": self.state["clock_offset_seconds"],
            "error": self.state["error"], "refused": self.state["refused"]})


def _reason(cut: BaseException) -> str:
    if isinstance(cut, TimeoutError):
        return "超时"
    if isinstance(cut, ConnectionClosed):
        return "连接被关闭"
    if isinstance(cut, InvalidURI):
        return "乡镇地址不对"
    if isinstance(cut, InvalidHandshake):
        return "乡镇服务器拒绝连接"
    return "无法连接乡镇服务器（网络不通或服务器未启动）"
