"""The server process: one port for the WebSocket protocol and the web pages of every hall it
serves (a county's halls share one database and may share one process).

Each hall is a `HallHost` (queue_server.hall_host): its own single writer, connections and
pages, under `/h/<hall code>/`. This module wires them to the `websockets` asyncio server: the
routing of a path to its hall, HTTP GET for `/healthz` and static files, the 64 KiB frame limit,
pings, TLS when given a certificate, and what the halls share: the login gate with its hashing
threads, and the garbage collector's planned pauses. With one hall the bare paths (`/ws`,
`/clerk/`, `/t/<token>` …) are that hall's too; with several, `/` lists them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import ssl
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import text
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from hall.look import FONT
from hall.protocol import HALL_PATH_PREFIX, MAX_FRAME_BYTES
from queue_server import __version__, web_pages
from queue_server.hall_host import HallHost
from queue_server.hall_service import HallService
from queue_server.http_replies import file, is_page, json_reply, page, reply
from queue_server.login_gate import LoginGate
from queue_server.rate_limits import LOGIN_LIMIT, TAKE_LIMIT, RateLimit

SHUTDOWN_GRACE_SECONDS = 2.0
PING_SECONDS = 20.0
WEB_ROOT = Path(__file__).resolve().parent / "web"
FONTS = FONT.parent.resolve()   # the web pages' fallback font: the one the kivy devices use
log = logging.getLogger("queue_server.server")


class Server:
    def __init__(self, services: Sequence[HallService], take_limit: RateLimit = TAKE_LIMIT,
                 web_root: Path = WEB_ROOT, tls: ssl.SSLContext | None = None,
                 clock: Callable[[], datetime] | None = None, speed: float = 1.0,
                 login_limit: RateLimit = LOGIN_LIMIT):
        if not services:
            raise ValueError("a server serves at least one hall")
        self.engine = services[0].engine
        self.web_root = web_root.resolve()
        self.tls = tls
        self.started = time.monotonic()
        self.login_gate = LoginGate(login_limit)
        self.garbage = GarbageCollection()
        self.halls = {service.definition.hall.code: HallHost(service, self.login_gate, take_limit,
                                                             tls, clock, speed)
                      for service in services}

    def route(self, path: str) -> tuple[HallHost | None, str] | Response:
        """The hall a path is for and the path within it: `/h/<code>/…`, or a bare path, which
        is the hall's when this server serves only one (else no hall's: the process's own)."""
        if path.startswith(HALL_PATH_PREFIX):
            code, _, rest = path.removeprefix(HALL_PATH_PREFIX).partition("/")
            host = self.halls.get(code)
            if host is None:
                return self.hall_list(HTTPStatus.NOT_FOUND, f"本服务器没有编码为 {code} 的大厅")
            return host, "/" + rest
        only = next(iter(self.halls.values())) if len(self.halls) == 1 else None
        return only, path

    def hall_list(self, status: HTTPStatus, problem: str = "") -> Response:
        return page(status, web_pages.halls_html(
            [host.context.hall_view | {"path": host.path} for host in self.halls.values()],
            problem))

    # --- HTTP ------------------------------------------------------------------------------

    def database_answers(self) -> str:
        """Blocking (a round trip to PostgreSQL): called on a thread."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return "ok"
        except Exception as error:  # reported, not raised: this is the health page
            return f"error: {error.__class__.__name__}"

    def process_health(self, database: str) -> dict:
        return {"version": __version__, "database": database,
                "uptime_s": round(time.monotonic() - self.started, 1),
                "logins": self.login_gate.figures(), "gc": self.garbage.figures()}

    async def health(self, host: HallHost | None) -> Response:
        """One hall's health with the process's (a hall's `/healthz`, or a single-hall
        server's), or the process's with every hall's."""
        database = await asyncio.to_thread(self.database_answers)
        if host is not None:
            await host.writer.settled()   # no await from here on: the seq shown is committed
            health = self.process_health(database) | host.health(database)
        else:
            halls = []
            for each in self.halls.values():
                await each.writer.settled()   # each hall's figures are read as committed
                halls.append(each.health(database))
            health = self.process_health(database) | {"halls": halls}
            if any(h["database"] != "ok" for h in halls):
                health["database"] = next(h["database"] for h in halls if h["database"] != "ok")
        ok = health["database"] == "ok"
        return json_reply(HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE, health)

    async def process_request(self, connection: ServerConnection,
                              request: Request) -> Response | None:
        routed = self.route(urlsplit(request.path).path)
        if isinstance(routed, Response):
            return routed
        host, path = routed
        if path == "/ws":
            if host is None:
                return self.hall_list(HTTPStatus.NOT_FOUND,
                                      f"本服务器服务多个大厅，请连接 {HALL_PATH_PREFIX}<大厅编码>/ws")
            return None   # the WebSocket handshake goes on
        if path == "/healthz":
            return await self.health(host)
        if path == "/common/vocabulary.js":
            return reply(HTTPStatus.OK, web_pages.vocabulary_js().encode(),
                         "text/javascript; charset=utf-8", [("Cache-Control", "no-cache")])
        if path.startswith("/fonts/"):
            return file(FONTS, path.removeprefix("/fonts/"), request.headers)
        if host is not None:
            answer = await host.page(path)
            if answer is not None:
                return answer
            if path.startswith("/t/"):    # a ticket of today: its live page
                return file(self.web_root, "ticket/index.html", request.headers)
        elif is_page(path):   # a hall's page, asked without its hall
            return self.hall_list(HTTPStatus.OK if path == "/" else HTTPStatus.NOT_FOUND)
        return file(self.web_root, path, request.headers)

    # --- WebSocket -------------------------------------------------------------------------------

    async def handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None   # process_request let only a hall's /ws through
        routed = self.route(urlsplit(connection.request.path).path)
        assert isinstance(routed, tuple) and routed[0] is not None
        await routed[0].handle(connection)

    async def run(self, host: str, port: int, ready: Callable[[str], None]) -> None:
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.cancel)
        server = await serve(self.handle, host, port, process_request=self.process_request,
                             max_size=MAX_FRAME_BYTES, ping_interval=PING_SECONDS,
                             ping_timeout=PING_SECONDS, close_timeout=SHUTDOWN_GRACE_SECONDS,
                             ssl=self.tls, server_header=None,
                             compression=None)   # small frames on a LAN: deflate only costs CPU
        bound = server.sockets[0].getsockname()
        ready(f"{'https' if self.tls else 'http'}://{bound[0]}:{bound[1]}")
        self.garbage.collect_everything()   # the days' state was just rebuilt: all long-lived
        tasks = [task for hall in self.halls.values() for task in hall.start(
            self.garbage.collect_everything, self.garbage.freeze_survivors)]
        try:
            await stop
        except asyncio.CancelledError:
            pass
        finally:
            for task in tasks:
                task.cancel()
            server.close()
            # A client holding an idle connection must not keep the server from stopping:
            # give connections a moment, then go.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), SHUTDOWN_GRACE_SECONDS)
            self.close()

    def close(self) -> None:
        self.login_gate.close()
        for hall in self.halls.values():
            hall.close()
        self.garbage.close()


class GarbageCollection:
    """When the cyclic garbage collector walks the hall's objects, and its pauses for /healthz.

    The hall's day state and its connections are ~100,000 long-lived objects. Left to the
    collector, each of its full collections walks them all: 100 ms and more on this machine,
    landing now and then in the middle of a call's fan-out (one call in 30 reached the displays
    130–163 ms late). Frozen (`gc.freeze`), they are no longer walked; only what is new since
    is. So the server collects everything and freezes what is alive at its start (after the
    rebuild) and when the service day changes (at night in most halls), and freezes again after
    every tick (an O(1) move of a list, no pause) what survived since.

    The price: a cycle that becomes garbage after it was frozen (a connection that closed, say)
    stays until the next day's collection; a day of a busy hall's connections is a few MB.
    """

    def __init__(self) -> None:
        self.full = 0               # automatic collections of the oldest generation
        self.slowest_full_ms = 0.0
        self.slowest_young_ms = 0.0
        self.everything_ms = 0.0    # the last `collect_everything`: a planned pause
        self.started = 0.0
        self.planned = False
        gc.callbacks.append(self._timed)

    def collect_everything(self) -> None:
        started = time.perf_counter()
        self.planned = True
        try:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
        finally:
            self.planned = False
        self.everything_ms = (time.perf_counter() - started) * 1000

    @staticmethod
    def freeze_survivors() -> None:
        gc.freeze()

    def close(self) -> None:
        gc.callbacks.remove(self._timed)

    def _timed(self, phase: str, info: dict) -> None:
        if self.planned:
            return
        if phase == "start":
            self.started = time.perf_counter()
            return
        ms = (time.perf_counter() - self.started) * 1000
        if info["generation"] == 2:
            self.full += 1
            self.slowest_full_ms = max(self.slowest_full_ms, ms)
        else:
            self.slowest_young_ms = max(self.slowest_young_ms, ms)

    def figures(self) -> dict:
        return {"full": self.full, "slowest_full_ms": round(self.slowest_full_ms, 1),
                "slowest_young_ms": round(self.slowest_young_ms, 1),
                "collect_everything_ms": round(self.everything_ms, 1),
                "frozen": gc.get_freeze_count()}

def tls_context(cert: str, key: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context
