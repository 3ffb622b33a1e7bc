"""The server's own sessions, writer and hub in the test's process, without sockets.

For tests that need to hold the writer between its decision and its commit, or to see the
command a session made of a request, which a server in a subprocess does not let them do.
Frames are the protocol's, as a device sends them; the hall is the small round-the-clock one
of tests/live_hall.py, with a kiosk, a display, the pad of window 1 and a manager.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

from websockets.protocol import State

from queue_server.fanout import Hub
from queue_server.hall_service import HallService
from queue_server.hall_toml import parse_hall
from queue_server.revocation import Revocation
from queue_server.sessions import Context, Session
from queue_server.store import accounts, devices, hall_records
from queue_server.store.database import migrate, open_engine
from tests.live_hall import MANAGER, ROUND_THE_CLOCK

SECRET = "in-process-secret"


def make_hall(path) -> tuple:
    """A hall database at `path`: (engine, hall_id, the devices' tokens by role)."""
    engine = open_engine(f"sqlite:///{path}")
    migrate(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        hall_id, _ = hall_records.save_definition(conn, parse_hall(ROUND_THE_CLOCK), now)
        tokens = {role: devices.add_device(conn, hall_id, role, f"{role}-1",
                                           1 if role == "pad" else None, {1, 2, 3, 4}, now)
                  for role in ("kiosk", "display", "pad")}
        accounts.add_manager(conn, hall_id, MANAGER[0], "主任", MANAGER[1])
    return engine, hall_id, tokens


class InProcessHall:
    def __init__(self, engine, tokens: dict[str, str]):
        from queue_server.writer import Writer

        self.service = HallService(engine, None, datetime.now(UTC))
        self.hub: Hub[Session] = Hub()
        self.published: list = []     # what the writer handed to the fan-out, batch by batch
        self.writer = Writer(self.service, self.hub.observe, self.published.append)
        self.context = Context(self.service, self.writer, self.hub, SECRET,
                               Revocation(engine, self.service.hall_id, self.hub.members))
        self.tokens = tokens
        self.ids = iter(range(1, 1_000_000))

    def session(self) -> Session:
        return Session(self.context, _Connection())

    async def hello(self, role: str, **params) -> tuple[Session, dict]:
        if role in self.tokens:
            params = {"token": self.tokens[role], **params}
        session = self.session()
        return session, await self.request(session, "hello", role=role, **params)

    async def request(self, session: Session, op: str, **params) -> dict:
        return await session.handle(json.dumps({"id": next(self.ids), "op": op, **params}))


class _Connection:
    """What a session and the hub ask of a connection: the peer's address (the login gate's
    limit is per address) and its protocol's state, which says closed, so that the hub sends
    nothing (the tests read the replies, and the writer's batches in `published`)."""

    remote_address = ("127.0.0.1", 0)
    protocol = SimpleNamespace(state=State.CLOSED)
