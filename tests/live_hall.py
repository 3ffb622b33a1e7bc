"""A real hall server in a subprocess, on 127.0.0.1 with a real SQLite file, for the live tests.

The hall is the small test hall opened round the clock (so the tests pass at any hour), with
a kiosk, a display and the pad of window 1 registered and a manager account.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from websockets.sync.client import ClientConnection, connect

from queue_server.hall_toml import parse_hall
from queue_server.store import accounts, devices, hall_records
from queue_server.store.database import migrate, open_engine

SMALL = (Path(__file__).parent / "data" / "small-hall.toml").read_text(encoding="utf-8")
MANAGER = ("zhuren", "hall-manager-1")


def round_the_clock(hall_text: str) -> str:
    """A hall file opened every hour of every day, so that tests pass at any time."""
    hall_text = re.sub(r"sessions = \[.*?\]\]", 'sessions = [["00:00", "24:00"]]', hall_text, count=1)
    hall_text = re.sub(r"working_weekdays = \[.*?\]", "working_weekdays = [1, 2, 3, 4, 5, 6, 7]",
                       hall_text, count=1)
    hall_text = re.sub(r"issue_cutoff_minutes = \d+", "issue_cutoff_minutes = 0", hall_text, count=1)
    return re.sub(r"holidays = \[.*?\]", "holidays = []", hall_text, count=1, flags=re.S)


ROUND_THE_CLOCK = round_the_clock(SMALL)


def _add_hall(conn, hall_text: str) -> dict[str, str]:
    """The hall with a kiosk, a display, the pad of window 1 and a manager; the devices' tokens."""
    now = datetime.now(UTC)
    hall_id, _ = hall_records.save_definition(conn, parse_hall(hall_text), now)
    windows = {1, 2, 3, 4}
    tokens = {
        "kiosk": devices.add_device(conn, hall_id, "kiosk", "kiosk-1", None, windows, now),
        "display": devices.add_device(conn, hall_id, "display", "board-1", None, windows, now),
        "pad": devices.add_device(conn, hall_id, "pad", "pad-1", 1, windows, now),
    }
    accounts.add_manager(conn, hall_id, MANAGER[0], "主任", MANAGER[1])
    return tokens


class LiveHall:
    """`more_halls`: further hall files in the same database, served by the same process (the
    first hall's devices are `tokens`, each further hall's `more_tokens[code]`)."""

    def __init__(self, folder: Path, *serve_args: str, port: int = 0,
                 hall_text: str = ROUND_THE_CLOCK, more_halls: tuple[str, ...] = ()):
        self.db = folder / "hall.db"
        self.clients = contextlib.ExitStack()
        engine = open_engine(f"sqlite:///{self.db}")
        migrate(engine)
        with engine.begin() as conn:
            self.tokens = _add_hall(conn, hall_text)
            self.more_tokens = {parse_hall(text).hall.code: _add_hall(conn, text)
                                for text in more_halls}
        engine.dispose()
        self.serve_args = ["--port", str(port), *serve_args]
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "queue_server.cli", "serve", *self.serve_args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "QUEUE_DB": f"sqlite:///{self.db}"})
        line = self.process.stdout.readline()
        if "serving at" not in line:
            raise RuntimeError(line + self.process.stderr.read())
        self.http = line.split("serving at ")[1].split()[0]
        self.ws = self.http.replace("http", "ws", 1) + "/ws"

    def secret(self) -> str:
        """The hall's secret, as its database holds it (the keys and codes derived from it)."""
        connection = sqlite3.connect(self.db)
        try:
            return connection.execute("select secret from halls").fetchone()[0]
        finally:
            connection.close()

    def cli(self, *args: str) -> str:
        """Run `queue-server ARGS` on this hall's database, as an administrator would beside the
        running server; its standard output (a failure fails the test)."""
        done = subprocess.run([sys.executable, "-m", "queue_server.cli", *args],
                              capture_output=True, text=True, timeout=60,
                              env={**os.environ, "QUEUE_DB": f"sqlite:///{self.db}"})
        assert done.returncode == 0, done.stderr
        return done.stdout

    def kill(self) -> None:
        """Stop the server the hard way, as a power cut would."""
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self) -> int:
        self.clients.close()
        self.process.terminate()
        return self.process.wait(timeout=10)

    def log_earlier(self, day, at: datetime, records: list) -> None:
        """Write `records` as the first events of the log, of service day `day` at `at` (the
        server stopped): the cases and complaints of an earlier day, for a server to start with."""
        from queue_server.events import Event
        from queue_server.store import event_log

        engine = open_engine(f"sqlite:///{self.db}")
        with engine.begin() as conn:
            event_log.append(conn, 1, [Event(seq, at, day, record)
                                       for seq, record in enumerate(records, 1)])
        engine.dispose()

    def health(self, hall_path: str = "") -> dict:
        with urllib.request.urlopen(f"{self.http}{hall_path}/healthz", timeout=5) as reply:
            return json.load(reply)

    def ratings(self) -> list:
        """The ratings as the reports read them from the log (`kpis.fold`), in their order, each
        with the ticket's number as `ticket` and every field of its event."""
        from datetime import date
        from types import SimpleNamespace

        from queue_server import kpis
        from queue_server.store import event_log

        engine = open_engine(f"sqlite:///{self.db}")
        try:
            with engine.connect() as conn:
                hall_id = hall_records.hall_id_for(conn, None)
                events = event_log.report_events(conn, hall_id, date.min, date.max,
                                                 kpis.FOLDED_KINDS)
        finally:
            engine.dispose()
        return [SimpleNamespace(ticket=r["number"], **r) for r in kpis.fold(events).ratings]

    def client(self, hall_path: str = "") -> Client:
        """A connection to the hall at `hall_path` (`/h/<code>`), or to the bare `/ws`."""
        url = self.ws.removesuffix("/ws") + hall_path + "/ws"
        # Every frame taken in as it comes (max_queue=None): a test reads only the replies and
        # events it looks at, and with websockets' default of 16 queued frames the reading
        # stops, so that closing waits its 10 s for a close frame queued behind the rest.
        connection = connect(url, open_timeout=5, max_size=None, max_queue=None)
        return Client(self.clients.enter_context(connection))

    def hello(self, role: str, hall_path: str = "", **params) -> Client:
        client = self.client(hall_path)
        if role in self.tokens and "token" not in params:
            params["token"] = self.tokens[role]
        if role == "manager" and not params:
            params = {"user": MANAGER[0], "password": MANAGER[1]}
        reply = client.request("hello", role=role, **params)
        assert reply["ok"], reply
        client.hello = reply
        return client


class Client:
    """A test's view of one connection: requests get their reply; events are kept."""

    def __init__(self, connection: ClientConnection):
        self.connection = connection
        self.events: list[dict] = []
        self.next_id = 0
        self.hello: dict = {}

    def request(self, op: str, **params) -> dict:
        self.next_id += 1
        self.send({"id": self.next_id, "op": op, **params})
        return self.reply()

    def send(self, message: dict | str) -> None:
        self.connection.send(message if isinstance(message, str) else json.dumps(message))

    def reply(self) -> dict:
        while True:
            message = json.loads(self.connection.recv(timeout=5))
            if "re" in message:
                return message
            self.events.append(message)

    def wait_event(self, kind: str, timeout: float = 5, **match) -> dict:
        for event in self.events:
            if event["ev"] == kind and all(event.get(k) == v for k, v in match.items()):
                self.events.remove(event)
                return event
        while True:
            message = json.loads(self.connection.recv(timeout=timeout))
            if message.get("ev") == kind and all(message.get(k) == v for k, v in match.items()):
                return message
            self.events.append(message)

    def close(self) -> None:
        self.connection.close()
