"""Who is connected, and sending each wire message to exactly the sessions that may see it.

The writer hands over all the messages of one group commit at once. Events (a call, a finish)
go out at once. State views (a window, a queue, a citizen's ticket) go out at once too, unless
views were sent less than `VIEW_INTERVAL_SECONDS` ago: then they are held, a newer view of the
same thing replaces the held one, and all are sent when the interval is over. So a quiet hall
sees every change immediately, and at peak a board gets at most ten updates a second per queue
(more than anyone can read) instead of one per ticket. Each message is encoded once, and each
connection gets its share in one write: one system call per connection, not one per message. A
connection whose hello said `bundle` gets that share as one frame, a JSON array of the messages
in order (a call's `ticket_called`, `window` and `queue` together): a frame costs its reader
more than its bytes do, and a display parses one where it parsed three.

Those writes skip the connection's back-pressure (waiting for one slow reader would hold up the
whole hall), so each connection has a bound instead: when more than `MAX_BACKLOG_BYTES` wait in
its send buffer, it is closed with `CLOSE_TOO_SLOW` and leaves the fan-out at once; the client
reconnects and its hello brings the true state. A message that cannot be encoded is logged and
skipped; the rest of its batch, and every later batch, still go out.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from websockets.frames import Opcode
from websockets.protocol import State

from hall.protocol import CLOSE_TOO_SLOW, encode_bytes
from hall.vocabulary import DEVICE_ROLES
from queue_server import views
from queue_server.events import Event
from queue_server.hall_state import HallState

VIEW_INTERVAL_SECONDS = 0.1
MAX_BACKLOG_BYTES = 1024 * 1024   # what may wait for one connection: ~5,000 call events
CLOSE_GRACE_SECONDS = 2.0         # for a close frame to get through, before the TCP is cut
log = logging.getLogger("queue_server.fanout")


MANAGERS = frozenset({"manager"})


class Subscriber(Protocol):
    role: str | None
    name: str
    window: int | None
    ticket: str | None
    badge: str | None
    bundle: bool          # said in its hello: its share of each fan-out comes as one frame
    connection: Any


S = TypeVar("S", bound=Subscriber)
"""The sessions a hub holds (`sessions.Session` in the server), handed back as that type."""


def _call_later(delay: float, callback: Callable[[], None]) -> None:
    asyncio.get_running_loop().call_later(delay, callback)


class Hub(Generic[S]):
    def __init__(self, view_interval: float = VIEW_INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 call_later: Callable[[float, Callable[[], None]], None] = _call_later,
                 max_backlog: int = MAX_BACKLOG_BYTES,
                 close: Callable[[Any, int, str], None] | None = None) -> None:
        self.by_role: dict[str, set[S]] = defaultdict(set)
        self.pads: dict[int, set[S]] = defaultdict(set)
        self.clerks: dict[str, set[S]] = defaultdict(set)
        self.citizens: dict[str, set[S]] = defaultdict(set)
        self.voice: dict[str, dict[str, Any]] = {}   # each board's last voice backlog, by device
        self.view_interval = view_interval
        self.clock = clock
        self.call_later = call_later
        self._held: dict[tuple[str, Any], views.Delivery] = {}   # views waiting for the interval
        self._views_sent_at = float("-inf")
        self._flush_due = False
        self.max_backlog = max_backlog
        self.close = close or close_soon
        self.frames_sent = 0          # for /healthz: how much fan-out, its last and slowest burst
        self.dropped_slow = 0         # connections closed for not reading
        self.last_send_ms = 0.0
        self.slowest_send_ms = 0.0

    def join(self, session: S) -> None:
        # Sessions join after their hello: each has its role by then, a pad its window, a
        # clerk its badge, a citizen its ticket.
        assert session.role is not None
        self.by_role[session.role].add(session)
        if session.role == "pad":
            assert session.window is not None
            self.pads[session.window].add(session)
        if session.role == "clerk":
            assert session.badge is not None
            self.clerks[session.badge].add(session)
        if session.role == "citizen":
            assert session.ticket is not None
            self.citizens[session.ticket].add(session)

    def leave(self, session: S) -> None:
        assert session.role is not None   # only a session that joined leaves
        self.by_role[session.role].discard(session)
        if session.role == "pad":
            self._discard(self.pads, session.window, session)
        if session.role == "clerk":
            self._discard(self.clerks, session.badge, session)
        if session.role == "citizen":
            self._discard(self.citizens, session.ticket, session)
        if not any(s.name == session.name for s in self.by_role[session.role]):
            self.voice.pop(session.name, None)   # gone: its backlog is not known any more

    @staticmethod
    def _discard(index: dict, key: Any, session: Subscriber) -> None:
        members = index.get(key)
        if members is not None:
            members.discard(session)
            if not members:
                del index[key]

    def members(self) -> list[S]:
        return [s for members in self.by_role.values() for s in members]

    def online_devices(self) -> list[dict[str, Any]]:
        """The devices connected now, by name (a device may hold more than one connection)."""
        seen: dict[str, dict[str, Any]] = {}
        for role in DEVICE_ROLES:
            for s in self.by_role[role]:
                entry = seen.setdefault(s.name, {"device": s.name, "role": role,
                                                 "window": s.window, "connections": 0})
                entry["connections"] += 1
                if s.name in self.voice:
                    entry["voice"] = self.voice[s.name]
        return sorted(seen.values(), key=lambda d: d["device"])

    def presence(self, session: S, seq: int, at: str) -> None:
        """Tell the managers a device came or went: not a logged event (the log holds what
        happened in the hall; who is connected is the server's own knowledge), so its `seq` is
        only the log's position at the time and it is never part of a snapshot's seq."""
        if session.role not in DEVICE_ROLES:
            return
        connections = sum(1 for s in self.by_role[session.role] if s.name == session.name)
        self._send([views.Delivery({"ev": "presence", "seq": seq, "at": at,
                                    "device": session.name, "role": session.role,
                                    "window": session.window, "connections": connections,
                                    "online": connections > 0}, MANAGERS)])

    def report_voice(self, session: S, voice: dict[str, Any], seq: int, at: str) -> None:
        """Keep a board's voice backlog (`views.voice_view`) and tell the managers: not a
        logged event either (like `presence`), and only when it changed."""
        voice = {**voice, "at": at}
        last = self.voice.get(session.name)
        self.voice[session.name] = voice
        if last is not None and {**last, "at": at} == voice:
            return
        self._send([views.Delivery({"ev": "voice", "seq": seq, "device": session.name,
                                    "role": session.role, **voice}, MANAGERS)])

    def point_cases(self, state: HallState, point: str, items: set[str], at: str) -> None:
        """Tell the managers, and the clerks signed in at windows that serve an item of the
        cases concerned (`views.serving_clerks`), that a village point's cases changed (its
        entries arrived by sync, or the town answered one): each lists its 代办 inbox or the
        points anew. Not logged (the points' logs are not the hall's), so without `seq`."""
        message = {"ev": "point_cases", "point": point, "at": at}
        self._send([views.Delivery(message, MANAGERS)]
                   + [views.Delivery(message, clerk=badge)
                      for badge in views.serving_clerks(state, items)])

    def counts(self) -> dict[str, int]:
        return {role: len(members) for role, members in self.by_role.items() if members}

    def observe(self, state: HallState, events: list[Event]) -> list[views.Delivery]:
        """Called right after a command's events were applied, before the commit."""
        deliveries = [d for e in events for d in views.wire(state, e)]
        if self.citizens:
            deliveries += views.citizen_updates(state, events, list(self.citizens))
        if self.clerks:
            deliveries += views.clerk_updates(state, events, list(self.clerks))
        return deliveries

    def publish(self, deliveries: Sequence[views.Delivery]) -> None:
        """Called after the commit with the messages of the whole batch, in event order."""
        if not self._flush_due and self.clock() - self._views_sent_at >= self.view_interval:
            self._send(deliveries)
            return
        for delivery in deliveries:
            if delivery.view is not None:
                self._held.pop(delivery.view, None)   # the newest goes last
                self._held[delivery.view] = delivery
        self._send([d for d in deliveries if d.view is None])
        if not self._flush_due and self._held:
            self._flush_due = True
            self.call_later(self._views_sent_at + self.view_interval - self.clock(), self._flush)

    def _flush(self) -> None:
        held, self._held, self._flush_due = list(self._held.values()), {}, False
        self._send(held)

    def _send(self, deliveries: Sequence[views.Delivery]) -> None:
        started = time.perf_counter()
        last = {d.view: i for i, d in enumerate(deliveries) if d.view is not None}
        if last:
            self._views_sent_at = self.clock()
        outbox: dict[S, list[tuple[bytes, bytes]]] = defaultdict(list)
        for i, delivery in enumerate(deliveries):
            if delivery.view is not None and last[delivery.view] != i:
                continue
            targets = self._audience(delivery)
            if targets:
                try:
                    payload = encode_bytes(delivery.message)
                except Exception:   # a bug in one message must not cost the others theirs
                    log.exception("skipped a message that could not be encoded: %.200r",
                                  delivery.message)
                    continue
                pair = (payload, _text_frame(payload))
                for session in targets:
                    outbox[session].append(pair)
        bundles: dict[tuple[int, ...], list[tuple[bytes, bytes]]] = {}
        for session, frames in outbox.items():
            if session.bundle and len(frames) > 1:
                frames = _bundle(frames, bundles)
            if not _send_all(session.connection, frames, self.max_backlog):
                self.drop_slow(session)
            self.frames_sent += len(frames)
        self.last_send_ms = (time.perf_counter() - started) * 1000
        self.slowest_send_ms = max(self.slowest_send_ms, self.last_send_ms)

    def drop_slow(self, session: S) -> None:
        """A connection that lets more than the bound pile up is not reading: it gets no more
        fan-out from now on, and is closed with a code that tells its client to reconnect."""
        log.warning("closing %s %s: over %d bytes waiting to be sent", session.role, session.name,
                    self.max_backlog)
        self.dropped_slow += 1
        self.leave(session)
        self.close(session.connection, CLOSE_TOO_SLOW, "接收太慢，已断开，请重新连接 / too slow")

    def _audience(self, delivery: views.Delivery) -> list[S]:
        if delivery.roles:
            return [s for role in delivery.roles for s in self.by_role[role]]
        if delivery.pad_window is not None:
            return list(self.pads.get(delivery.pad_window, ()))
        if delivery.clerk is not None:
            return list(self.clerks.get(delivery.clerk, ()))
        return list(self.citizens.get(delivery.citizen, ())) if delivery.citizen is not None else []


class Replies:
    """The replies to pipelined requests, written to each connection together.

    The replies a commit answers are all built in one turn of the event loop (by the callbacks
    of one batch's outcomes, `HallHost._answered`); each connection's go out in one write at the
    end of that turn instead of one write each: a kiosk with 8 requests in flight gets several
    answered by each commit, and a write on a socket costs the server far more than building
    the frame (see docs/performance.md). The writer calls `flush` right after those callbacks,
    in their turn (`Writer.answered`); a reply made outside a batch (a refusal) is written at
    the next turn. Their order is kept, and they never overtake events, which the writer hands
    to the hub before it wakes the submitters."""

    def __init__(self) -> None:
        self.waiting: dict[Any, list[tuple[bytes, bytes]]] = {}

    def add(self, connection: Any, payload: bytes) -> None:
        """Queue a reply; the first of a turn for its connection schedules the write. A
        connection that is closing meanwhile gets none (as `send` would refuse them). The
        caller awaits the connection's drain before it takes up another request, for the same
        back-pressure as `send`."""
        frames = self.waiting.get(connection)
        if frames is None:
            frames = self.waiting[connection] = []
            asyncio.get_running_loop().call_soon(self._write, connection)
        frames.append((payload, _text_frame(payload)))

    def flush(self) -> None:
        """Write every reply queued so far (the writer's `answered`, once a batch is told)."""
        waiting, self.waiting = self.waiting, {}
        for connection, frames in waiting.items():
            _send_all(connection, frames, max_backlog=sys.maxsize)

    def _write(self, connection: Any) -> None:
        frames = self.waiting.pop(connection, None)
        if frames:   # else written already by `flush`
            _send_all(connection, frames, max_backlog=sys.maxsize)


def _text_frame(payload: bytes) -> bytes:
    """A whole server-to-client text frame. Servers do not mask, so without compression (the
    server turns it off) the bytes are the same for every connection: made once, written to all.
    The header is RFC 6455's, written here (FIN and the text opcode, then the length in 7 bits,
    or 126 and 16 bits, or 127 and 64 bits): a third of what `websockets`' `Frame.serialize`
    costs, for the same bytes (tests/test_fanout.py compares them)."""
    size = len(payload)
    if size < 126:
        return _SHORT.pack(_FIN_TEXT, size) + payload
    if size < 65536:
        return _MEDIUM.pack(_FIN_TEXT, 126, size) + payload
    return _LONG.pack(_FIN_TEXT, 127, size) + payload


def _bundle(frames: list[tuple[bytes, bytes]],
            made: dict[tuple[int, ...], list[tuple[bytes, bytes]]]) -> list[tuple[bytes, bytes]]:
    """Messages as one frame, a JSON array of them in order; made once for every connection that
    gets the same messages in one fan-out (`made`, by the identity of their pairs, which live
    as long as the fan-out)."""
    key = tuple(map(id, frames))
    bundle = made.get(key)
    if bundle is None:
        payload = b"[" + b",".join(payload for payload, _ in frames) + b"]"
        bundle = made[key] = [(payload, _text_frame(payload))]
    return bundle


_FIN_TEXT = 0x80 | Opcode.TEXT
_SHORT, _MEDIUM, _LONG = struct.Struct("!BB"), struct.Struct("!BBH"), struct.Struct("!BBQ")


def _send_all(connection: Any, frames: list[tuple[bytes, bytes]], max_backlog: int) -> bool:
    """Write (payload, ready-made frame) pairs to a `websockets` connection in one go; False
    when the connection has more than `max_backlog` bytes waiting (it is not reading).

    Like `websockets.broadcast` (no back-pressure; closing connections are skipped), but with
    each frame serialised once for all connections and one transport write per connection rather
    than one per frame. A data frame changes nothing in the connection's protocol state, so the
    ready-made frame may go past the protocol object; only were an extension (compression)
    negotiated must the protocol make the frames itself.
    """
    protocol = connection.protocol
    if protocol.state is not State.OPEN or connection.send_in_progress is not None:
        return True
    if connection.transport.get_write_buffer_size() > max_backlog:
        return False
    try:
        if protocol.extensions:
            for payload, _ in frames:
                protocol.send_text(payload)
            data = b"".join(protocol.data_to_send())
        else:
            data = b"".join(frame for _, frame in frames)
        connection.transport.write(data)
    except Exception as error:   # one broken connection must not keep the others waiting
        log.debug("skipped a fan-out to a closing connection: %s", error)
    return connection.transport.get_write_buffer_size() <= max_backlog


_closing: set[asyncio.Task] = set()


def close_soon(connection: Any, code: int, reason: str) -> None:
    """Close a connection with a code its client can act on. A client that does not read never
    sees the close frame behind its backlog; after `CLOSE_GRACE_SECONDS` the TCP connection is
    cut, so what waited for it is freed either way."""
    async def close() -> None:
        try:
            await asyncio.wait_for(connection.close(code, reason), CLOSE_GRACE_SECONDS)
        except Exception:       # timed out (not reading), or already broken
            connection.transport.abort()

    task = asyncio.get_running_loop().create_task(close())
    _closing.add(task)
    task.add_done_callback(_closing.discard)
