"""The server process: one port for the WebSocket protocol and the web pages of every hall it
serves (a county's halls share one database and may share one process).

Each hall is a `HallHost` (queue_server.hall_host): its own single writer, connections and
pages, under `/h/<hall code>/`. This module wires them to the `websockets` asyncio server: the
routing of a path to its hall, HTTP GET for `/healthz` and static files, the 64 KiB frame limit,
pings, TLS when given a certificate, and what the halls share: the login gate with its hashing
threads, and the garbage collector's planned pauses. With one hall the bare paths (`/ws`,
`/clerk/`, `/t/<token>` …) are that hall's too; with several, `/` lists them.

Which halls it serves at a given moment is up to queue_server.leadership: on SQLite all it is
given, from the start; on PostgreSQL, shared with other servers, those it leads, taken and
handed back as servers come and go (`lead`, `lose`). For a hall it does not lead, it sends the
devices (`moved`) and the pages (a redirect) to the server that does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import json
import logging
import os
import signal
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, text
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from hall.look import FONT
from hall.protocol import (
    CLOSE_MOVED,
    CLOSE_REVOKED,
    HALL_PATH,
    HALL_PATH_PREFIX,
    MAX_FRAME_BYTES,
    encode_bytes,
    error_reply,
)
from queue_server import __version__, county, views, web_pages
from queue_server.fanout import close_soon
from queue_server.hall_host import HALL_PAGES, HELLO_SECONDS, HallHost
from queue_server.hall_service import HallService
from queue_server.http_replies import file, is_page, json_reply, page, reply, text_reply
from queue_server.leadership import Leadership, leader_url, sole_leadership
from queue_server.login_gate import LoginGate
from queue_server.points.sync import SYNC_PATH
from queue_server.rate_limits import BOOK_DAY_LIMIT, BOOK_LIMIT, LOGIN_LIMIT, MOBILE_TAKE_LIMIT, TAKE_LIMIT, RateLimit
from queue_server.store import hall_records

FRONT = ("/", "/index.html")   # a hall's front page (web_pages.front_html), or the server's
COUNTY_PATH = "/county"   # the county's page (queue_server.county), on every server
SHUTDOWN_GRACE_SECONDS = 2.0
PING_SECONDS = 20.0
WEB_ROOT = Path(__file__).resolve().parent / "web"
FONTS = FONT.parent.resolve()   # the web pages' fallback font: the one the kivy devices use
log = logging.getLogger("queue_server.server")


class Server:
    """`codes`: the halls this server may lead (every one it is given, on SQLite; on
    PostgreSQL those that queue_server.leadership gives it). `name` and `url`: how the other
    servers know this one, and where they send the devices of a hall it leads."""

    def __init__(self, engine: Engine, codes: Sequence[str], take_limit: RateLimit = TAKE_LIMIT,
                 web_root: Path = WEB_ROOT, tls: ssl.SSLContext | None = None,
                 clock: Callable[[], datetime] | None = None, speed: float = 1.0,
                 login_limit: RateLimit = LOGIN_LIMIT, name: str | None = None,
                 url: str | None = None, mobile_limit: RateLimit = MOBILE_TAKE_LIMIT,
                 book_limit: RateLimit = BOOK_LIMIT, book_day_limit: int = BOOK_DAY_LIMIT):
        if not codes:
            raise ValueError("a server serves at least one hall")
        self.engine = engine
        self.web_root = web_root.resolve()
        self.tls = tls
        self.clock = clock
        self.speed = speed
        self.take_limit = take_limit
        self.mobile_limit = mobile_limit
        self.book_limit = book_limit
        self.book_day_limit = book_day_limit
        self.name, self.url = name, url      # set from the bound address in `run` when None
        self.started = time.monotonic()
        self.login_gate = LoginGate(login_limit)
        self.garbage = GarbageCollection()
        with engine.connect() as conn:
            self.known = {code: hall_records.hall_id_for(conn, code) for code in codes}
            self.names = {code: hall_records.hall_name(conn, code) for code in codes}
        self.codes = {hall_id: code for code, hall_id in self.known.items()}
        self.halls: dict[str, HallHost] = {}          # the halls led here now
        self.tasks: dict[str, list[asyncio.Task]] = {}
        self.taking: dict[str, int] = {}              # hall → the epoch being taken
        self.leadership: Leadership | None = None
        self.closing: set[asyncio.Future] = set()     # halls given up, giving back connections
        self.definitions = county.Definitions(engine)   # for the county's KPIs
        self.publisher = county.Publisher(engine, lambda: self.name, self.live_figures)

    async def unknown_hall(self, code: str, path: str, query: str) -> Response:
        """A page of a hall this server was not started with (`--halls`, or imported since):
        the leader's if another server leads it, else the list of this server's halls."""
        def read() -> str | None:
            with self.engine.connect() as conn:
                try:
                    hall_id = hall_records.hall_id_for(conn, code)
                except hall_records.HallNotFound:
                    return None
                return leader_url(conn, hall_id)
        leader = await asyncio.to_thread(read) if is_page(path) else None
        if leader is None or leader == self.url:
            return self.hall_list(HTTPStatus.NOT_FOUND, f"本服务器没有编码为 {code} 的大厅")
        return reply(HTTPStatus.TEMPORARY_REDIRECT, b"", "text/plain; charset=utf-8",
                     [("Location", leader + HALL_PATH.format(code=code) + path
                       + (f"?{query}" if query else "")), ("Cache-Control", "no-store")])

    def route(self, path: str) -> tuple[str | None, str] | Response:
        """The hall a path is for (its code) and the path within it: `/h/<code>/…`, or a bare
        path, which is the hall's when this server serves only one (else the process's own)."""
        if path.startswith(HALL_PATH_PREFIX):
            code, _, rest = path.removeprefix(HALL_PATH_PREFIX).partition("/")
            if code not in self.known:
                return self.hall_list(HTTPStatus.NOT_FOUND, f"本服务器没有编码为 {code} 的大厅")
            return code, "/" + rest
        only = next(iter(self.known)) if len(self.known) == 1 else None
        return only, path

    def hall_list(self, status: HTTPStatus, problem: str = "", county: bool = False) -> Response:
        halls = [{"name": self.names[code], "path": HALL_PATH.format(code=code)} | (
            self.halls[code].context.hall_view | {"items": self.items_of(code)}
            if code in self.halls else {})
            for code in self.known]
        return page(status, web_pages.halls_html(halls, problem, county))

    def items_of(self, code: str) -> list[dict[str, Any]]:
        """The item views of a hall led here, as it serves them now (its guides)."""
        return [views.item_view(i) for i in self.halls[code].service.definition.items]

    async def has_county(self) -> bool:
        """Whether the database has a county hall, whose page (`/county/`) a front page links."""
        def read() -> bool:
            with self.engine.connect() as conn:
                return hall_records.county_hall(conn) is not None
        return await asyncio.to_thread(read)

    async def front(self, code: str) -> Response:
        """A hall's front page (`/`): its staff pages, the county's, its guides."""
        host = self.halls[code]
        return page(HTTPStatus.OK, web_pages.front_html(host.context.hall_view, self.items_of(code),
                                                        await self.has_county()))

    # --- leading halls ---------------------------------------------------------------------

    async def lead(self, hall_id: int, epoch: int) -> None:
        """Serve the hall from now on, with the epoch it was taken with: its day rebuilt from
        the log, on a thread (the other halls go on meanwhile). If that fails (the database
        went away), the hall is let go, for this or another server to take again."""
        code = self.codes[hall_id]
        self.taking[code] = epoch
        now = self.clock() if self.clock else datetime.now(UTC)
        try:
            host = await asyncio.to_thread(self._host, hall_id, epoch, now)
        except Exception:
            log.exception("taking hall %s failed: it is let go", code)
            if self.taking.get(code) == epoch:
                del self.taking[code]
                if self.leadership is not None:
                    self.leadership.give_up(hall_id)
            return
        if self.taking.get(code) != epoch:     # handed back while its day was being rebuilt
            await asyncio.to_thread(host.close)
            return
        del self.taking[code]
        self._serve(code, host)

    def _serve(self, code: str, host: HallHost) -> None:
        self.halls[code] = host
        self.tasks[code] = host.start(self.garbage.collect_everything,
                                      self.garbage.freeze_survivors)
        log.info("serving hall %s (epoch %s)", code, host.service.epoch)

    def _host(self, hall_id: int, epoch: int, now: datetime) -> HallHost:
        """Blocking: the hall's day rebuilt and its host made (both read the database)."""
        service = HallService(self.engine, self.codes[hall_id], now, epoch)
        return HallHost(service, self.login_gate, self.take_limit, self.tls, self.clock,
                        self.speed, on_fenced=lambda: self.fenced(hall_id),
                        servers=self.live_servers, mobile_limit=self.mobile_limit,
                        book_limit=self.book_limit, book_day_limit=self.book_day_limit)

    def lose(self, hall_id: int) -> None:
        """Stop serving the hall: its connections are closed with CLOSE_MOVED (the devices
        reconnect, and are sent to the new leader), its tasks stopped."""
        code = self.codes[hall_id]
        self.taking.pop(code, None)
        host = self.halls.pop(code, None)
        if host is None:
            return
        for task in self.tasks.pop(code):
            task.cancel()
        host.step_down()
        closing = asyncio.get_running_loop().run_in_executor(None, host.close)
        self.closing.add(closing)
        closing.add_done_callback(self.closing.discard)
        # Its day's state was frozen out of the collector's walks: collect it now, not at night.
        closing.add_done_callback(lambda _: self.garbage.collect_everything())
        log.info("no longer serving hall %s", code)

    def live_servers(self) -> list[str]:
        """The base URLs of the servers that are live now, this one first (the pages keep the
        list, to find the hall's new leader when theirs goes away)."""
        others = self.leadership.live_urls if self.leadership is not None else []
        assert self.url is not None    # set in `run`, before any hall is served
        return [self.url, *(url for url in others if url != self.url)]

    def fenced(self, hall_id: int) -> None:
        """A commit found the hall taken by another server: stop at once, and let the
        leadership know, so that it does not count the hall as its own."""
        self.lose(hall_id)
        if self.leadership is not None:
            self.leadership.give_up(hall_id)

    async def leader_url(self, code: str) -> str | None:
        """The base URL of the server that leads the hall now, if another one does."""
        def read() -> str | None:
            with self.engine.connect() as conn:
                return leader_url(conn, self.known[code])
        try:
            url = await asyncio.to_thread(read)
        except Exception:   # the database is away: no leader to name (devices retry)
            log.exception("looking up the leader of hall %s failed", code)
            return None
        return url if url != self.url else None

    async def live_figures(self) -> dict[int, tuple[int, dict]]:
        """The figures of every hall led here, with the epoch it is led with, for the county's
        view (`county.Publisher`), each read as committed. A hall whose commit hangs is left
        out this round rather than holding up the others; one lost meanwhile too."""
        figures = {}
        for code, host in list(self.halls.items()):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(host.writer.settled(), county.LIVE_SECONDS)
                if self.halls.get(code) is host:   # no await from `settled` to the reading
                    now = self.clock() if self.clock else datetime.now(UTC)
                    figures[self.known[code]] = (host.service.epoch or 0,
                                                 views.hall_summary(host.service.state, now))
        return figures

    # --- HTTP ------------------------------------------------------------------------------

    def database_answers(self) -> str:
        """Blocking (a round trip to PostgreSQL): called on a thread."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return "ok"
        except Exception as error:  # reported, not raised: this is the health page
            return f"error: {error.__class__.__name__}"

    async def health(self, code: str | None) -> Response:
        """One hall's health with the process's (a hall's `/healthz`, or a single-hall
        server's), or the process's with every hall's."""
        database = await asyncio.to_thread(self.database_answers)
        host = self.halls.get(code) if code is not None else None
        if host is not None:
            if not host.service.ahead:   # else its state waits for a rebuild: not waited for
                await host.writer.settled()   # no await from here on: the seq shown is committed
            health = self.process_health(database) | host.health(database)
        else:
            halls = []
            for each in list(self.halls.values()):
                if not each.service.ahead:
                    await each.writer.settled()   # each hall's figures are read as committed
                halls.append(each.health(database))
            health = self.process_health(database) | {"halls": halls}
            if any(h["database"] != "ok" for h in halls):
                health["database"] = next(h["database"] for h in halls if h["database"] != "ok")
        ok = health["database"] == "ok"
        return json_reply(HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE, health)

    def process_health(self, database: str) -> dict:
        return {"version": __version__, "server": self.name, "database": database,
                "uptime_s": round(time.monotonic() - self.started, 1),
                "leads": sorted(self.halls), "logins": self.login_gate.figures(),
                "gc": self.garbage.figures()}

    async def elsewhere(self, code: str, path: str) -> Response:
        """A hall this server does not lead now: to its leader, or a page that says to wait."""
        leader = await self.leader_url(code)
        if leader is None:
            return text_reply(HTTPStatus.SERVICE_UNAVAILABLE,
                              "大厅正在切换服务器，请几秒后刷新 / the hall is changing servers")
        target = leader + HALL_PATH.format(code=code) + path
        return reply(HTTPStatus.TEMPORARY_REDIRECT, b"", "text/plain; charset=utf-8",
                     [("Location", target), ("Cache-Control", "no-store")])

    async def process_request(self, connection: ServerConnection,
                              request: Request) -> Response | None:
        address = urlsplit(request.path)
        if address.path == COUNTY_PATH:
            return reply(HTTPStatus.MOVED_PERMANENTLY, b"", "text/plain; charset=utf-8",
                         [("Location", COUNTY_PATH + "/")])
        if address.path.startswith(COUNTY_PATH + "/"):   # the county's page, on every server
            if address.path == COUNTY_PATH + "/ws":
                return None
            return file(self.web_root, address.path, request.headers)
        routed = self.route(address.path)
        if isinstance(routed, Response):   # a hall this server does not know
            unknown, _, rest = address.path.removeprefix(HALL_PATH_PREFIX).partition("/")
            return await self.unknown_hall(unknown, "/" + rest, address.query)
        code, path = routed
        if path in ("/ws", SYNC_PATH):   # a village point's sync is a hall's WebSocket too
            if code is None:
                return self.hall_list(HTTPStatus.NOT_FOUND,
                                      f"本服务器服务多个大厅，请连接 {HALL_PATH_PREFIX}<大厅编码>/ws")
            return None   # the WebSocket handshake goes on (`handle` sends it on if need be)
        if path == "/common/vocabulary.js":
            return reply(HTTPStatus.OK, web_pages.vocabulary_js().encode(),
                         "text/javascript; charset=utf-8", [("Cache-Control", "no-cache")])
        if path.startswith("/fonts/"):
            return file(FONTS, path.removeprefix("/fonts/"), request.headers)
        if code is None:
            if path == "/healthz":
                return await self.health(None)
            if path in FRONT:    # the server's front page: its halls
                return self.hall_list(HTTPStatus.OK, county=await self.has_county())
            if is_page(path):   # a hall's page, asked without its hall
                return self.hall_list(HTTPStatus.NOT_FOUND)
            return file(self.web_root, path, request.headers)
        host = self.halls.get(code)
        if path == "/healthz":    # this server's own health, wherever the hall is led
            return await self.health(code if host is not None else None)
        if host is None:
            if not (path == "/" or is_page(path) or path.startswith(HALL_PAGES)):
                return file(self.web_root, path, request.headers)   # the pages' files
            return await self.elsewhere(code, path + (f"?{address.query}" if address.query else ""))
        if path in FRONT:
            return await self.front(code)
        answer = await host.page(path, address.query, _address(connection))
        if answer is not None:
            return answer
        if path.startswith("/t/"):    # a ticket of today: its live page
            return file(self.web_root, "ticket/index.html", request.headers)
        return file(self.web_root, path, request.headers)

    # --- WebSocket -------------------------------------------------------------------------------

    async def handle(self, connection: ServerConnection) -> None:
        assert connection.request is not None   # process_request let only a /ws through
        path = urlsplit(connection.request.path).path
        if path == COUNTY_PATH + "/ws":
            await self.county(connection)
            return
        routed = self.route(path)
        assert isinstance(routed, tuple) and routed[0] is not None
        code = routed[0]
        host = self.halls.get(code)
        if host is not None and routed[1] == SYNC_PATH:
            await host.handle_point(connection)
            return
        if host is not None:
            await host.handle(connection)
            return
        if routed[1] == SYNC_PATH:   # a point retries later, and finds the hall's leader then
            await connection.close(CLOSE_MOVED, "moved")
            return
        # Not led here: the first request is answered with the leader's address, which the
        # clients follow (hall/client.py, hall-socket.js), and the connection closed.
        leader = await self.leader_url(code)
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            frame = await asyncio.wait_for(connection.recv(), HELLO_SECONDS)
            await connection.send(encode_bytes(moved_reply(frame, code, leader, self.tls)),
                                  text=True)
            await connection.close(CLOSE_MOVED, "moved")

    async def county(self, connection: ServerConnection) -> None:
        """One connection of the county's page: answered in turn (its ops only read), closed
        when it has not logged in within HELLO_SECONDS."""
        session = county.CountySession(
            self.engine, self.login_gate, self.definitions, _address(connection),
            lambda: [url.replace("http", "ws", 1) + COUNTY_PATH + "/ws"
                     for url in self.live_servers()],
            lambda reason: close_soon(connection, CLOSE_REVOKED, reason), self.clock)

        def expired() -> None:
            if session.account_id is None and not session.greeting:
                close_soon(connection, 1008, "hello expected within 10 s")
            elif session.account_id is None:    # its password is being checked: look again
                deadline[0] = loop.call_later(1.0, expired)

        loop = asyncio.get_running_loop()
        deadline = [loop.call_later(HELLO_SECONDS, expired)]
        try:
            async for frame in connection:
                await connection.send(encode_bytes(await session.handle(frame)), text=True)
        except ConnectionClosed:
            pass
        finally:
            deadline[0].cancel()

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
        scheme = "https" if self.tls else "http"
        self.url = self.url or f"{scheme}://{_reachable(host, bound[0])}:{bound[1]}"
        self.name = self.name or f"{socket.gethostname()}:{bound[1]}:{os.getpid()}"
        await self._take_halls(loop)
        publishing = asyncio.create_task(self.publisher.run())
        ready(f"{scheme}://{bound[0]}:{bound[1]}")
        self.garbage.collect_everything()   # the days' state was just rebuilt: all long-lived
        try:
            await stop
        except asyncio.CancelledError:
            pass
        finally:
            publishing.cancel()
            if self.leadership is not None:
                await asyncio.to_thread(self.leadership.stop)
            for code in list(self.halls):
                self.lose(self.known[code])
            await asyncio.gather(*self.closing)
            server.close()
            # A client holding an idle connection must not keep the server from stopping:
            # give connections a moment, then go.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), SHUTDOWN_GRACE_SECONDS)
            self.close()

    async def _take_halls(self, loop: asyncio.AbstractEventLoop) -> None:
        """On SQLite, every hall at once; on PostgreSQL, those the first round of the
        leadership gives this server, each served before `run` says it is ready."""
        assert self.name is not None and self.url is not None
        if self.engine.dialect.name != "postgresql":
            epochs = await asyncio.to_thread(sole_leadership, self.engine, self.name, self.url,
                                             list(self.codes))
            now = self.clock() if self.clock else datetime.now(UTC)
            for hall_id, epoch in epochs.items():   # a failure stops the start, as it says why
                self._serve(self.codes[hall_id],
                            await asyncio.to_thread(self._host, hall_id, epoch, now))
            return
        first_round = asyncio.Event()
        taking: list[concurrent.futures.Future] = []

        def led(hall_id: int, epoch: int) -> None:
            taking.append(asyncio.run_coroutine_threadsafe(self.lead(hall_id, epoch), loop))

        def lost(hall_id: int) -> None:
            loop.call_soon_threadsafe(self.lose, hall_id)

        def round_done() -> None:
            loop.call_soon_threadsafe(first_round.set)

        self.leadership = Leadership(
            self.engine, self.name, self.url, dict(self.codes), on_lead=led,
            on_lose=lost,
            after_first_round=round_done)
        self.leadership.start()
        await first_round.wait()
        await asyncio.gather(*(asyncio.wrap_future(f) for f in taking))

    def close(self) -> None:
        self.login_gate.close()
        for hall in self.halls.values():
            hall.close()
        self.garbage.close()


def moved_reply(frame: str | bytes, code: str, leader: str | None, tls: object) -> dict:
    """The answer of a server that does not lead the hall to the first request it gets."""
    try:
        request_id = json.loads(frame).get("id")
    except (ValueError, AttributeError):
        request_id = None
    if leader is None:
        return error_reply(request_id, "unavailable", "大厅正在切换服务器，请稍候，正在重新连接")
    ws = leader.replace("http", "ws", 1) + HALL_PATH.format(code=code) + "/ws"
    answer = error_reply(request_id, "moved", "本大厅现由另一台服务器服务，正在转接")
    answer["error"]["leader"] = ws
    return answer


def _address(connection: ServerConnection | None) -> str:
    """The client's address (for limits per address), or "" when unknown (a test's request)."""
    remote = connection.remote_address if connection is not None else None
    return str(remote[0]) if remote else ""


def _reachable(host: str, bound: str) -> str:
    """The address other machines reach this server at: the one it listens on, or for a
    server listening on every address (0.0.0.0, ::) the machine's name."""
    return socket.getfqdn() if host in ("", "0.0.0.0", "::") else bound


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
