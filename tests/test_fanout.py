"""The hub's fan-out: who gets what, superseded state views dropped, one write per connection.

The connections are real `websockets` protocol objects (sans I/O) with a recording transport;
what the hub writes is parsed back by a client protocol, so the frames are checked as sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from websockets.frames import Opcode
from websockets.protocol import Protocol, Side, State

from queue_server.fanout import Hub
from queue_server.views import DEVICES, Delivery


class Transport:
    def __init__(self):
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)


@dataclass(eq=False)
class Connection:
    protocol: Protocol = field(default_factory=lambda: Protocol(Side.SERVER, state=State.OPEN))
    transport: Transport = field(default_factory=Transport)
    send_in_progress: Any = None


@dataclass(eq=False)
class Session:
    role: str
    window: int | None = None
    ticket: str | None = None
    connection: Connection = field(default_factory=Connection)


def subscriber(role: str, window: int | None = None, ticket: str | None = None) -> Session:
    return Session(role, window, ticket)


def received(session) -> list[dict]:
    reader = Protocol(Side.CLIENT, state=State.OPEN)
    for data in session.connection.transport.writes:
        reader.receive_data(data)
    frames = reader.events_received()
    assert all(f.opcode is Opcode.TEXT for f in frames)
    return [json.loads(f.data) for f in frames]


def event(name: str, seq: int, **data) -> dict:
    return {"ev": name, "seq": seq, **data}


def test_superseded_views_are_dropped_and_each_connection_gets_one_write():
    hub = Hub()
    board, kiosk, pad1, pad2 = (subscriber("display"), subscriber("kiosk"), subscriber("pad", 1),
                                subscriber("pad", 2))
    citizen = subscriber("citizen", ticket="A002")
    for s in (board, kiosk, pad1, pad2, citizen):
        hub.join(s)
    hub.publish([
        Delivery(event("queue", 1, category="A", waiting=1), DEVICES, view=("queue", "A")),
        Delivery(event("queue", 2, category="B", waiting=1), DEVICES, view=("queue", "B")),
        Delivery(event("ticket_called", 3, number="A001", window=1), frozenset({"display"})),
        Delivery(event("window", 3, window=1, current="A001"), DEVICES, view=("window", 1)),
        Delivery(event("window", 3, window=1, current="A001"), pad_window=1, view=("pad", 1)),
        Delivery(event("ticket", 3, number="A002", ahead=0), citizen="A002", view=("ticket", "A002")),
        Delivery(event("queue", 4, category="A", waiting=2), DEVICES, view=("queue", "A")),
        Delivery(event("ticket", 4, number="A002", ahead=1), citizen="A002", view=("ticket", "A002")),
    ])
    assert received(board) == [
        event("queue", 2, category="B", waiting=1),
        event("ticket_called", 3, number="A001", window=1),
        event("window", 3, window=1, current="A001"),
        event("queue", 4, category="A", waiting=2)]
    assert [m["ev"] for m in received(kiosk)] == ["queue", "window", "queue"]
    assert received(pad1) == [event("window", 3, window=1, current="A001")]
    assert received(pad2) == []
    assert received(citizen) == [event("ticket", 4, number="A002", ahead=1)]
    for s in (board, kiosk, pad1, citizen):
        assert len(s.connection.transport.writes) == 1
    assert pad2.connection.transport.writes == []


def test_closed_connections_and_departed_sessions_are_skipped():
    hub = Hub()
    closing, gone, open_ = subscriber("display"), subscriber("display"), subscriber("display")
    for s in (closing, gone, open_):
        hub.join(s)
    closing.connection.protocol.state = State.CLOSING
    hub.leave(gone)
    hub.publish([Delivery(event("notice", 1, text="通知"), DEVICES)])
    assert closing.connection.transport.writes == [] and gone.connection.transport.writes == []
    assert received(open_) == [event("notice", 1, text="通知")]
    assert hub.counts() == {"display": 2}
