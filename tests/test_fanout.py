"""The hub's fan-out: who gets what, superseded state views dropped, one write per connection.

The connections are real `websockets` protocol objects (sans I/O) with a recording transport;
what the hub writes is parsed back by a client protocol, so the frames are checked as sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Opcode
from websockets.protocol import Protocol, Side, State

from hall.protocol import CLOSE_TOO_SLOW
from queue_server.fanout import Hub
from queue_server.views import DEVICES, Delivery


class Transport:
    """A client that never reads: everything written stays in the send buffer."""

    def __init__(self):
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def get_write_buffer_size(self) -> int:
        return sum(map(len, self.writes))


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
    name: str = "board-1"
    bundle: bool = False


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


def test_a_connection_that_does_not_read_is_dropped_at_its_bound_and_the_others_go_on():
    closed = []
    hub = Hub(max_backlog=4000, close=lambda connection, code, reason: closed.append(
        (connection, code)))
    stuck, reading = subscriber("display"), subscriber("display")
    for s in (stuck, reading):
        hub.join(s)
    for seq in range(1, 101):   # ~60 bytes a frame: the bound is passed after ~66 frames
        hub.publish([Delivery(event("ticket_called", seq, number=f"A{seq:03}", window=1),
                              frozenset({"display"}))])
        reading.connection.transport.writes.clear()      # this one reads
    assert closed == [(stuck.connection, CLOSE_TOO_SLOW)]
    assert hub.dropped_slow == 1 and hub.counts() == {"display": 1}
    assert 4000 < stuck.connection.transport.get_write_buffer_size() < 4000 + 200
    hub.publish([Delivery(event("notice", 101, text="通知"), DEVICES)])
    assert received(reading) == [event("notice", 101, text="通知")]


def test_a_message_that_cannot_be_encoded_costs_no_other_message():
    hub = Hub()
    board = subscriber("display")
    hub.join(board)
    hub.publish([Delivery(event("notice", 1, text="坏\ud800字"), DEVICES),
                 Delivery(event("notice", 2, text=object()), DEVICES),   # a bug: not JSON
                 Delivery(event("ticket_called", 3, number="A001", window=1), DEVICES)])
    hub.publish([Delivery(event("ticket_called", 4, number="A002", window=1), DEVICES)])
    assert [(m["ev"], m["seq"]) for m in received(board)] == [
        ("notice", 1), ("ticket_called", 3), ("ticket_called", 4)]
    assert received(board)[0]["text"] == "坏\ud800字"   # escaped on the wire, still valid UTF-8


def test_a_session_that_said_bundle_gets_its_share_as_one_frame():
    """A call's messages to a board whose hello said `bundle`: one frame, a JSON array of them in
    order; the same messages as they are to a board that did not. A lone message stays itself."""
    hub = Hub()
    bundled, other_bundled, plain = subscriber("display"), subscriber("display"), subscriber("display")
    bundled.bundle = other_bundled.bundle = True
    for s in (bundled, other_bundled, plain):
        hub.join(s)
    call = [event("ticket_called", 3, number="A001", window=1),
            event("window", 3, window=1, current="A001"),
            event("queue", 3, category="A", waiting=0)]
    hub.publish([Delivery(call[0], frozenset({"display"})),
                 Delivery(call[1], DEVICES, view=("window", 1)),
                 Delivery(call[2], DEVICES, view=("queue", "A"))])
    assert received(bundled) == received(other_bundled) == [call]
    assert received(plain) == call
    assert bundled.connection.transport.writes == other_bundled.connection.transport.writes
    hub.publish([Delivery(event("notice", 4, text="通知"), DEVICES)])
    assert received(bundled)[-1] == event("notice", 4, text="通知")
    assert hub.frames_sent == 2 + 2 + 4   # frames written: one bundle or one notice each, 3 + 1


class FakeTime:
    def __init__(self):
        self.now = 100.0
        self.timers: list[tuple[float, object]] = []

    def call_later(self, delay, callback):
        self.timers.append((self.now + delay, callback))

    def advance(self, seconds):
        self.now += seconds
        due = [t for t in self.timers if t[0] <= self.now]
        self.timers = [t for t in self.timers if t[0] > self.now]
        for _, callback in due:
            callback()


def test_views_are_sent_at_most_once_an_interval_events_at_once():
    clock = FakeTime()
    hub = Hub(view_interval=0.1, clock=lambda: clock.now, call_later=clock.call_later)
    board = subscriber("display")
    hub.join(board)

    def queue(seq, waiting):
        return Delivery(event("queue", seq, category="A", waiting=waiting), DEVICES,
                        view=("queue", "A"))

    def called(seq):
        return Delivery(event("ticket_called", seq, number=f"A{seq:03d}"), DEVICES)

    hub.publish([queue(1, 1)])                  # a quiet hall: sent at once
    assert [m["seq"] for m in received(board)] == [1]
    clock.advance(0.03)
    hub.publish([queue(2, 2)])                  # within the interval: held
    clock.advance(0.03)
    hub.publish([called(3), queue(3, 1)])       # the call goes now; the newer view replaces
    assert [m["seq"] for m in received(board)] == [1, 3]
    assert len(clock.timers) == 1               # one flush planned, at the interval's end
    clock.advance(0.03)
    assert [m["ev"] for m in received(board)] == ["queue", "ticket_called"]
    clock.advance(0.02)                         # past 0.1 s after the first view
    assert received(board)[-1] == event("queue", 3, category="A", waiting=1)
    assert len(received(board)) == 3 and clock.timers == []
    clock.advance(1)
    hub.publish([queue(4, 0)])                  # quiet again: at once
    assert received(board)[-1]["seq"] == 4


def test_a_connection_with_compression_gets_frames_made_by_its_protocol():
    hub = Hub()
    board = subscriber("display")
    board.connection.protocol.extensions = [PerMessageDeflate(False, False, 15, 15)]
    hub.join(board)
    hub.publish([Delivery(event("notice", 1, text="今天下午停电"), DEVICES)])
    assert board.connection.transport.writes[0][0] & 0x40     # RSV1: compressed by the protocol
    reader = Protocol(Side.CLIENT, state=State.OPEN)
    reader.extensions = [PerMessageDeflate(False, False, 15, 15)]
    reader.receive_data(board.connection.transport.writes[0])
    assert [json.loads(f.data) for f in reader.events_received()] == [
        event("notice", 1, text="今天下午停电")]


def test_the_replies_of_one_turn_go_to_their_connection_in_one_write_in_order():
    """Replies built in the same turn of the event loop (those a commit answers) are written
    together at its end, one write per connection; a closing connection gets none."""
    import asyncio

    from queue_server.fanout import Replies

    kiosk, other, closing = subscriber("kiosk"), subscriber("kiosk"), subscriber("kiosk")
    closing.connection.protocol.state = State.CLOSING

    async def turn() -> list[int]:
        replies = Replies()
        for n in range(3):
            replies.add(kiosk.connection, json.dumps({"re": n}).encode())
        replies.add(other.connection, b'{"re": 9}')
        replies.add(closing.connection, b'{"re": 7}')
        written = [len(kiosk.connection.transport.writes)]    # nothing yet within the turn
        await asyncio.sleep(0)
        return written

    assert asyncio.run(turn()) == [0]
    assert len(kiosk.connection.transport.writes) == 1
    assert received(kiosk) == [{"re": 0}, {"re": 1}, {"re": 2}]
    assert received(other) == [{"re": 9}]
    assert closing.connection.transport.writes == []


def test_the_frames_written_are_those_websockets_makes_for_every_length_form():
    """The fan-out and the replies write frames made by `fanout._text_frame` (RFC 6455's
    header: a length in 7 bits, in 16, in 64): byte for byte what `websockets` makes."""
    from websockets.frames import Frame

    from queue_server.fanout import _text_frame

    for size in (0, 1, 125, 126, 127, 65535, 65536, 70000):
        payload = b"x" * size
        assert _text_frame(payload) == Frame(Opcode.TEXT, payload).serialize(
            mask=False, extensions=[]), size
