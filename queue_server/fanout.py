"""Who is connected, and sending each wire message to exactly the sessions that may see it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol

from websockets.asyncio.server import broadcast

from hall.protocol import encode
from queue_server import views
from queue_server.events import Event
from queue_server.hall_state import HallState


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

    def publish(self, deliveries: Iterable[views.Delivery]) -> None:
        """Called after the commit: send each message once encoded, to its audience."""
        for delivery in deliveries:
            if delivery.roles:
                targets = [s.connection for role in delivery.roles for s in self.by_role[role]]
            elif delivery.pad_window is not None:
                targets = [s.connection for s in self.pads.get(delivery.pad_window, ())]
            else:
                targets = [s.connection for s in self.citizens.get(delivery.citizen, ())]
            if targets:
                broadcast(targets, encode(delivery.message))
