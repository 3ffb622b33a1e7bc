"""Who is connected, and sending each wire message to exactly the sessions that may see it.

The writer hands over all the messages of one group commit at once. State views superseded
within it are dropped (only a queue's last count is worth sending), each message is encoded
once, and each connection gets its share in one write: under load that is one system call per
connection per commit instead of one per message.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

from websockets.protocol import State

from hall.protocol import encode
from queue_server import views
from queue_server.events import Event
from queue_server.hall_state import HallState

log = logging.getLogger("queue_server.fanout")


class Subscriber(Protocol):
    role: str | None
    window: int | None
    ticket: str | None
    connection: Any


class Hub:
    def __init__(self) -> None:
        self.by_role: dict[str, set[Subscriber]] = defaultdict(set)
        self.pads: dict[int, set[Subscriber]] = defaultdict(set)
        self.citizens: dict[str, set[Subscriber]] = defaultdict(set)

    def join(self, session: Subscriber) -> None:
        self.by_role[session.role].add(session)
        if session.role == "pad":
            self.pads[session.window].add(session)
        if session.role == "citizen":
            self.citizens[session.ticket].add(session)

    def leave(self, session: Subscriber) -> None:
        if session.role is None:
            return
        self.by_role[session.role].discard(session)
        if session.role == "pad":
            self._discard(self.pads, session.window, session)
        if session.role == "citizen":
            self._discard(self.citizens, session.ticket, session)

    @staticmethod
    def _discard(index: dict, key: Any, session: Subscriber) -> None:
        members = index.get(key)
        if members is not None:
            members.discard(session)
            if not members:
                del index[key]

    def counts(self) -> dict[str, int]:
        return {role: len(members) for role, members in self.by_role.items() if members}

    def observe(self, state: HallState, events: list[Event]) -> list[views.Delivery]:
        """Called right after a command's events were applied, before the commit."""
        deliveries = [d for e in events for d in views.wire(state, e)]
        if self.citizens:
            deliveries += views.citizen_updates(state, events, list(self.citizens))
        return deliveries

    def publish(self, deliveries: Sequence[views.Delivery]) -> None:
        """Called after the commit with the messages of the whole batch, in event order."""
        last = {d.view: i for i, d in enumerate(deliveries) if d.view is not None}
        outbox: dict[Any, list[bytes]] = defaultdict(list)
        for i, delivery in enumerate(deliveries):
            if delivery.view is not None and last[delivery.view] != i:
                continue
            targets = self._audience(delivery)
            if targets:
                data = encode(delivery.message).encode()
                for session in targets:
                    outbox[session.connection].append(data)
        for connection, frames in outbox.items():
            _send_all(connection, frames)

    def _audience(self, delivery: views.Delivery) -> list[Subscriber]:
        if delivery.roles:
            return [s for role in delivery.roles for s in self.by_role[role]]
        if delivery.pad_window is not None:
            return list(self.pads.get(delivery.pad_window, ()))
        return list(self.citizens.get(delivery.citizen, ()))


def _send_all(connection: Any, frames: list[bytes]) -> None:
    """Queue text frames on a `websockets` connection and write them in one go.

    Like `websockets.broadcast` (no back-pressure: a connection too slow to read is dropped by
    its ping timeout), but one transport write per connection rather than one per frame.
    """
    protocol = connection.protocol
    if protocol.state is not State.OPEN or connection.send_in_progress is not None:
        return
    try:
        for frame in frames:
            protocol.send_text(frame)
        data = protocol.data_to_send()
        connection.transport.write(b"".join(data))
    except Exception as error:   # one broken connection must not keep the others waiting
        log.debug("skipped a fan-out to a closing connection: %s", error)
