"""The hall server process: one port for the WebSocket protocol (`/ws`) and the web pages.

Around the pure core sit three small pieces: the single `Writer` (group commit), the `Hub`
(who is connected, fan-out by role) and a `Session` per connection. This module wires them to
the `websockets` asyncio server: HTTP GET for `/healthz` and static files, the 64 KiB frame
limit, pings, a deadline for `hello`, TLS when given a certificate, and a tick every few seconds
that lets time-based rules (脱岗 warnings, returns, the day's close) run through the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import gc
import hashlib
import json
import logging
import mimetypes
import signal
import ssl
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from http import HTTPStatus
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sqlalchemy import select, text
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from hall.look import FONT
from hall.protocol import MAX_FRAME_BYTES, encode_bytes
from hall.vocabulary import REPORTS
from queue_server import __version__, reports, views, web_pages
from queue_server import commands as cmd
from queue_server.export_links import LinkRefused, read_link
from queue_server.fanout import Hub, Replies
from queue_server.hall_service import HallService
from queue_server.login_gate import LoginGate
from queue_server.rate_limits import LOGIN_LIMIT, TAKE_LIMIT, RateLimit
from queue_server.revocation import Revocation
from queue_server.sessions import Context, Session
from queue_server.store import accounts, hall_records
from queue_server.store.schema import HallRow
from queue_server.ticket_tokens import TokenExpired, ticket_for
from queue_server.writer import Writer

TICK_SECONDS = 5.0
SHUTDOWN_GRACE_SECONDS = 2.0
HELLO_SECONDS = 10.0
PING_SECONDS = 20.0
MAX_IN_FLIGHT = 32      # requests of one pipelining connection being answered at once
WEB_ROOT = Path(__file__).resolve().parent / "web"
FONTS = FONT.parent.resolve()   # the web pages' fallback font: the one the kivy devices use
log = logging.getLogger("queue_server.server")


def _response(status: HTTPStatus, body: bytes, content_type: str,
              extra: Sequence[tuple[str, str]] = ()) -> Response:
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body))),
                       ("X-Content-Type-Options", "nosniff"), *extra])
    return Response(status.value, status.phrase, headers, body)


def _text(status: HTTPStatus, message: str) -> Response:
    return _response(status, (message + "\n").encode(), "text/plain; charset=utf-8",
                     [("Cache-Control", "no-store")])


class HallServer:
    def __init__(self, service: HallService, take_limit: RateLimit = TAKE_LIMIT,
                 web_root: Path = WEB_ROOT, tls: ssl.SSLContext | None = None,
                 clock: Callable[[], datetime] | None = None, speed: float = 1.0,
                 login_limit: RateLimit = LOGIN_LIMIT):
        self.service = service
        self.web_root = web_root.resolve()
        self.tls = tls
        self.started = time.monotonic()
        self.hub: Hub[Session] = Hub()
        self.replies = Replies()
        self.closing: set[asyncio.Task] = set()   # connections being closed for want of hello
        self.revocation = Revocation(service.engine, service.hall_id, self.hub.members)
        self.writer = Writer(service, self.hub.observe, self.hub.publish,
                             credentials=self.revocation)
        if clock is not None:
            self.writer.clock = clock   # a simulation's clock (`serve --simulate-from`)
        self.tick_seconds = TICK_SECONDS / speed
        with service.engine.begin() as conn:
            secret = conn.execute(select(HallRow.secret).where(
                HallRow.id == service.hall_id)).scalar_one()
            version = hall_records.catalogue_version(conn, service.hall_id)
            accounts.forget_old_tries(conn, service.hall_id, datetime.now(UTC))
        self.login_gate = LoginGate(login_limit)
        self.garbage = GarbageCollection()
        self.context = Context(service, self.writer, self.hub, secret, version, self.revocation,
                               self.login_gate, take_limit, self.public_url)

    def public_url(self, connection: ServerConnection) -> str:
        host = connection.request.headers.get("Host", "") if connection.request else ""
        return f"{'https' if self.tls else 'http'}://{host}"

    # --- HTTP ------------------------------------------------------------------------------

    def database_answers(self) -> str:
        """Blocking (a round trip to PostgreSQL): called on a thread."""
        try:
            with self.service.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return "ok"
        except Exception as error:  # reported, not raised: this is the health page
            return f"error: {error.__class__.__name__}"

    def health(self, database: str) -> dict:
        """`database`: what `database_answers` said. Reads the hall state: call it in the step
        in which `Writer.settled` returned."""
        if database == "ok" and self.writer.failed:   # it answers, but the last write failed
            database = f"error: writes fail ({self.writer.failed})"
        return {"version": __version__, "hall": self.service.definition.hall.code,
                "database": database, "uptime_s": round(time.monotonic() - self.started, 1),
                "service_day": self.service.state.day.isoformat(), "seq": self.service.state.seq,
                "connections": self.hub.counts(),
                "writer": {"batches": self.writer.batches, "commands": self.writer.commands},
                "fanout": {"frames": self.hub.frames_sent,
                           "last_ms": round(self.hub.last_send_ms, 1),
                           "slowest_ms": round(self.hub.slowest_send_ms, 1),
                           "dropped_slow": self.hub.dropped_slow},
                "logins": self.login_gate.figures(),
                "gc": self.garbage.figures(),
                "sessions_revoked": self.revocation.ended}

    async def process_request(self, connection: ServerConnection,
                              request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path == "/ws":
            return None   # the WebSocket handshake goes on
        if path == "/healthz":
            database = await asyncio.to_thread(self.database_answers)
            await self.writer.settled()   # no await from here on: the seq shown is committed
            health = self.health(database)
            status = HTTPStatus.OK if health["database"] == "ok" else HTTPStatus.SERVICE_UNAVAILABLE
            return _response(status, json.dumps(health, ensure_ascii=False).encode(),
                             "application/json; charset=utf-8", [("Cache-Control", "no-store")])
        await self.writer.settled()   # the pages show only what is committed
        if path.startswith("/export/"):
            return await self.export(path.removeprefix("/export/"))
        if path.startswith("/guide/"):
            return self.guide(unquote(path.removeprefix("/guide/")))
        if path.startswith("/t/"):
            return self.ticket_page(unquote(path.removeprefix("/t/")), request.headers)
        if path == "/common/vocabulary.js":
            return _response(HTTPStatus.OK, web_pages.vocabulary_js().encode(),
                             "text/javascript; charset=utf-8", [("Cache-Control", "no-cache")])
        if path.startswith("/fonts/"):
            return self.file(FONTS, path.removeprefix("/fonts/"), request.headers)
        return self.file(self.web_root, path, request.headers)

    def guide(self, code: str) -> Response:
        hall = self.context.hall_view
        item = self.service.definition.item_by_code.get(code)
        if item is None:
            return self._page(HTTPStatus.NOT_FOUND, web_pages.missing_html(hall))
        return self._page(HTTPStatus.OK, web_pages.guide_html(views.item_view(item), hall))

    async def export(self, token: str) -> Response:
        """A report file for a link the manager's `export` op made (see export_links)."""
        try:
            asked = read_link(self.context.secret, token, time.time())
        except LinkRefused as refused:
            return _text(HTTPStatus.FORBIDDEN, str(refused))
        service = self.service
        definition = service.definition
        tables = list(REPORTS) if asked["what"] == "all" else [asked["what"]]

        def make() -> bytes:   # a thread: a year of data must not stop the hall
            facts = reports.load_facts(service.engine, service.hall_id, definition,
                                       date.fromisoformat(asked["from"]),
                                       date.fromisoformat(asked["to"]))
            return reports.export(facts, definition, asked["format"], tables,
                                  asked.get("by", "hall"), asked.get("period", "month"))

        try:
            body = await asyncio.to_thread(make)
        except ValueError as error:
            return _text(HTTPStatus.BAD_REQUEST, str(error))
        name = f"{definition.hall.code}-{asked['what']}-{asked['from']}-{asked['to']}.{asked['format']}"
        return _response(HTTPStatus.OK, body, reports.CONTENT_TYPES[asked["format"]],
                         [("Cache-Control", "no-store"),
                          ("Content-Disposition", f'attachment; filename="{name}"')])

    def ticket_page(self, token: str, headers: Headers) -> Response:
        """The citizen's live ticket page, for a token of today's ticket; else a page that says
        what is wrong. The page itself connects as `citizen` with the token in its address."""
        state = self.service.state
        try:
            number = ticket_for(self.context.secret, token, state.day, state.tickets)
        except TokenExpired:
            return self._page(HTTPStatus.GONE, web_pages.ticket_problem_html(
                self.context.hall_view, expired=True))
        if number is None:
            return self._page(HTTPStatus.NOT_FOUND, web_pages.ticket_problem_html(
                self.context.hall_view, expired=False))
        return self.file(self.web_root, "ticket/index.html", headers)

    @staticmethod
    def _page(status: HTTPStatus, html: str) -> Response:
        return _response(status, html.encode(), "text/html; charset=utf-8",
                         [("Cache-Control", "no-cache")])

    @staticmethod
    def file(root: Path, path: str, headers: Headers) -> Response:
        """A file under `root`; nothing outside it, no hidden files, no listings."""
        relative = unquote(path).lstrip("/")
        parts = [p for p in relative.split("/") if p]
        if any(p.startswith(".") or "\\" in p or "\0" in p for p in parts):
            return _text(HTTPStatus.NOT_FOUND, "未找到 / not found")
        target = root.joinpath(*parts)
        if target.is_dir():
            target = target / "index.html"
        try:
            target = target.resolve(strict=True)
        except (FileNotFoundError, OSError):
            return _text(HTTPStatus.NOT_FOUND, "未找到 / not found")
        if not target.is_relative_to(root) or not target.is_file():
            return _text(HTTPStatus.NOT_FOUND, "未找到 / not found")
        stat = target.stat()
        etag = '"' + hashlib.sha1(f"{stat.st_mtime_ns}-{stat.st_size}".encode()).hexdigest()[:16] + '"'
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
            kind += "; charset=utf-8"
        cache = "no-cache" if target.suffix == ".html" else "public, max-age=3600"
        extra = [("Cache-Control", cache), ("ETag", etag),
                 ("Last-Modified", email.utils.formatdate(stat.st_mtime, usegmt=True))]
        if headers.get("If-None-Match") == etag:
            return Response(304, "Not Modified", Headers(extra), b"")
        return _response(HTTPStatus.OK, target.read_bytes(), kind, extra)

    # --- WebSocket -------------------------------------------------------------------------------

    async def handle(self, connection: ServerConnection) -> None:
        session = Session(self.context, connection)
        deadline = asyncio.get_running_loop().call_later(HELLO_SECONDS, self._hello_expired,
                                                         connection, session)
        in_flight: set[asyncio.Task] = set()
        try:
            async for frame in connection:
                if not session.pipelined:
                    await connection.send(encode_bytes(await session.handle(frame)), text=True)
                    continue
                # Each request's checks and its place in the writer's queue happen now, in frame
                # order (a task runs up to its first wait in creation order); the replies go out
                # as their commits land, so a kiosk's requests share group commits.
                if len(in_flight) >= MAX_IN_FLIGHT:
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                task = asyncio.create_task(self._answer(session, connection, frame))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
        except ConnectionClosed:
            pass
        finally:
            deadline.cancel()
            session.leave()

    async def _answer(self, session: Session, connection: ServerConnection,
                      frame: str | bytes) -> None:
        try:
            self.replies.add(connection, encode_bytes(await session.handle(frame)))
            await connection.drain()   # websockets' own flow control, as `send` waits for it
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("answering a %s failed", session.role)
            await connection.close(1011, "internal error")

    def _hello_expired(self, connection: ServerConnection, session: Session) -> None:
        if session.role is None and session.greeting:
            # The hello came in time; its password hash is still being checked (many consoles
            # logging in at once after a restart queue for the hashing threads): look again.
            asyncio.get_running_loop().call_later(1.0, self._hello_expired, connection, session)
        elif session.role is None:
            closing = asyncio.create_task(connection.close(1008, "hello expected within 10 s"))
            self.closing.add(closing)
            closing.add_done_callback(self.closing.discard)

    async def tick_forever(self) -> None:
        day = self.service.state.day
        while True:
            await asyncio.sleep(self.tick_seconds)
            with contextlib.suppress(Exception):   # logged by the writer; the next tick retries
                await self.writer.submit(cmd.Tick())
            if self.service.state.day != day:    # read as the tick's reply is: committed
                day = self.service.state.day
                self.garbage.collect_everything()
            else:
                self.garbage.freeze_survivors()

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
        self.garbage.collect_everything()   # the day's state was just rebuilt: all long-lived
        tasks = [asyncio.create_task(self.writer.run()), asyncio.create_task(self.tick_forever()),
                 asyncio.create_task(self.revocation.watch())]
        try:
            await stop
        except asyncio.CancelledError:
            pass
        finally:
            for task in tasks:
                task.cancel()
            server.close()
            # A client holding an idle connection must not keep the hall server from
            # stopping: give connections a moment, then go.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), SHUTDOWN_GRACE_SECONDS)
            self.login_gate.close()
            self.writer.close()
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
