"""Who is connected, and sending each wire message to exactly the sessions that may see it.

The writer hands over all the messages of one group commit at once. Events (a call, a finish)
go out at once. State views (a window, a queue, a citizen's ticket) go out at once too, unless
views were sent less than `VIEW_INTERVAL_SECONDS` ago: then they are held, a newer view of the
same thing replaces the held one, and all are sent when the interval is over. So a quiet hall
sees every change immediately, and at peak a board gets at most ten updates a second per queue
(more than anyone can read) instead of one per ticket. Each message is encoded once, and each
connection gets its share in one write: one system call per connection, not one per message.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from websockets.frames import Frame, Opcode
from websockets.protocol import State

from hall.protocol import encode
from queue_server import views
from queue_server.events import Event
from queue_server.hall_state import HallState

VIEW_INTERVAL_SECONDS = 0.1
log = logging.getLogger("queue_server.fanout")


DEVICE_ROLES = ("kiosk", "display", "pad")
MANAGERS = frozenset({"manager"})


class Subscriber(Protocol):
    role: str | None
    name: str
    window: int | None
    ticket: str | None
    badge: str | None
    connection: Any


def _call_later(delay: float, callback: Callable[[], None]) -> None:
    asyncio.get_running_loop().call_later(delay, callback)


class Hub:
    def __init__(self, view_interval: float = VIEW_INTERVAL_SECONDS,
                 clock: Callable[[], float] = time.monotonic,
                 call_later: Callable[[float, Callable[[], None]], None] = _call_later) -> None:
        self.by_role: dict[str, set[Subscriber]] = defaultdict(set)
        self.pads: dict[int, set[Subscriber]] = defaultdict(set)
        self.clerks: dict[str, set[Subscriber]] = defaultdict(set)
        self.citizens: dict[str, set[Subscriber]] = defaultdict(set)
        self.view_interval = view_interval
        self.clock = clock
        self.call_later = call_later
        self._held: dict[tuple[str, Any], views.Delivery] = {}   # views waiting for the interval
        self._views_sent_at = float("-inf")
        self._flush_due = False
        self.frames_sent = 0          # for /healthz: how much fan-out, its last and slowest burst
        self.last_send_ms = 0.0
        self.slowest_send_ms = 0.0

    def join(self, session: Subscriber) -> None:
        self.by_role[session.role].add(session)
        if session.role == "pad":
            self.pads[session.window].add(session)
        if session.role == "clerk":
            self.clerks[session.badge].add(session)
        if session.role == "citizen":
            self.citizens[session.ticket].add(session)

    def leave(self, session: Subscriber) -> None:
        self.by_role[session.role].discard(session)
        if session.role == "pad":
            self._discard(self.pads, session.window, session)
        if session.role == "clerk":
            self._discard(self.clerks, session.badge, session)
        if session.role == "citizen":
            self._discard(self.citizens, session.ticket, session)

    @staticmethod
    def _discard(index: dict, key: Any, session: Subscriber) -> None:
        members = index.get(key)
        if members is not None:
            members.discard(session)
            if not members:
                del index[key]

    def online_devices(self) -> list[dict[str, Any]]:
        """The devices connected now, by name (a device may hold more than one connection)."""
        seen: dict[str, dict[str, Any]] = {}
        for role in DEVICE_ROLES:
            for s in self.by_role[role]:
                entry = seen.setdefault(s.name, {"device": s.name, "role": role,
                                                 "window": s.window, "connections": 0})
                entry["connections"] += 1
        return sorted(seen.values(), key=lambda d: d["device"])

    def presence(self, session: Subscriber, seq: int, at: str) -> None:
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
        outbox: dict[Any, list[tuple[bytes, bytes]]] = defaultdict(list)
        for i, delivery in enumerate(deliveries):
            if delivery.view is not None and last[delivery.view] != i:
                continue
            targets = self._audience(delivery)
            if targets:
                payload = encode(delivery.message).encode()
                pair = (payload, _text_frame(payload))
                for session in targets:
                    outbox[session.connection].append(pair)
        for connection, frames in outbox.items():
            _send_all(connection, frames)
            self.frames_sent += len(frames)
        self.last_send_ms = (time.perf_counter() - started) * 1000
        self.slowest_send_ms = max(self.slowest_send_ms, self.last_send_ms)

    def _audience(self, delivery: views.Delivery) -> list[Subscriber]:
        if delivery.roles:
            return [s for role in delivery.roles for s in self.by_role[role]]
        if delivery.pad_window is not None:
            return list(self.pads.get(delivery.pad_window, ()))
        if delivery.clerk is not None:
            return list(self.clerks.get(delivery.clerk, ()))
        return list(self.citizens.get(delivery.citizen, ()))


def _text_frame(payload: bytes) -> bytes:
    """A whole server-to-client text frame. Servers do not mask, so without compression (the
    server turns it off) the bytes are the same for every connection: made once, written to all."""
    return Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])


def _send_all(connection: Any, frames: list[tuple[bytes, bytes]]) -> None:
    """Write (payload, ready-made frame) pairs to a `websockets` connection in one go.

    Like `websockets.broadcast` (no back-pressure: a connection too slow to read is dropped by
    its ping timeout; closing connections are skipped), but with each frame serialised once for
    all connections and one transport write per connection rather than one per frame. A data
    frame changes nothing in the connection's protocol state, so the ready-made frame may go past
    the protocol object; only were an extension (compression) negotiated must the protocol make
    the frames itself.
    """
    protocol = connection.protocol
    if protocol.state is not State.OPEN or connection.send_in_progress is not None:
        return
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
