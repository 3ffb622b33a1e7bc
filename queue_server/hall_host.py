"""One hall as the server process serves it: its single writer, its connections, its pages.

A process may serve many halls of one database (a county's, `queue-server serve`); each is a
`HallHost` of its own, with its own `HallService` (state and day), `Writer` (group commit on a
thread of its own), `Hub` (who is connected, fan-out) and revocation watch, so that halls never
wait for one another's commits. What the halls share belongs to the process
(queue_server.server): the port, the login gate and its hashing threads, the garbage collector.

Every hall's pages and its WebSocket live under its own path, `/h/<hall code>/` (HALL_PATH):
`/h/<code>/ws`, `/h/<code>/clerk/`, `/h/<code>/t/<ticket token>` … A process that serves one
hall also answers the same paths without the prefix, as a single-hall server always did. The
addresses the server hands out (a ticket's QR, an export link) keep the form the device used.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import ssl
import time
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from http import HTTPStatus
from urllib.parse import parse_qs

from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response

from hall.protocol import CLOSE_MOVED, HALL_PATH, encode_bytes
from hall.vocabulary import REPORTS
from queue_server import __version__, complaint_contacts, reports, take_page, views, web_pages
from queue_server import commands as cmd
from queue_server.export_links import LinkRefused, read_link
from queue_server.fanout import Hub, Replies, close_soon
from queue_server.hall_definition import ServiceItem
from queue_server.hall_service import HallService
from queue_server.http_replies import page, reply, text_reply
from queue_server.login_gate import LoginGate
from queue_server.points import ledger
from queue_server.points.town_link import TownPoints, catalogue_items
from queue_server.qr import qr_svg
from queue_server.rate_limits import (
    BOOK_DAY_LIMIT,
    BOOK_LIMIT,
    MOBILE_TAKE_LIMIT,
    STATUS_LIMIT,
    TAKE_LIMIT,
    PerAddress,
    PerAddressDay,
    RateLimit,
)
from queue_server.revocation import Revocation
from queue_server.sessions import Context, Session
from queue_server.store import accounts, hall_records, point_logs
from queue_server.ticket_tokens import (
    TokenExpired,
    complaint_code,
    make_token,
    short_code,
    ticket_for,
)
from queue_server.writer import Writer

TICK_SECONDS = 5.0
HALL_PAGES = ("/export/", "/guide/", "/t/", "/q", "/poster/", "/ts", "/p/")   # the pages a hall makes itself
LOOKUP_LIMIT = RateLimit(10, 60)   # 查询码 tries per address: then one every 6 s
STEPPED_DOWN = "本大厅已转由另一台服务器服务，正在重新连接"
HELLO_SECONDS = 10.0
KEPT_EDITIONS = 8   # earlier catalogue versions kept in memory for their guides (`?v=`)
MAX_IN_FLIGHT = 32      # requests of one pipelining connection being answered at once
log = logging.getLogger("queue_server.hall_host")


class HallHost:
    def __init__(self, service: HallService, login_gate: LoginGate,
                 take_limit: RateLimit = TAKE_LIMIT, tls: ssl.SSLContext | None = None,
                 clock: Callable[[], datetime] | None = None, speed: float = 1.0,
                 on_fenced: Callable[[], None] = lambda: None,
                 servers: Callable[[], list[str]] = list,
                 mobile_limit: RateLimit = MOBILE_TAKE_LIMIT, book_limit: RateLimit = BOOK_LIMIT,
                 book_day_limit: int = BOOK_DAY_LIMIT):
        self.service = service
        self.on_fenced = on_fenced
        self.code = service.definition.hall.code
        self.path = HALL_PATH.format(code=self.code)
        self.tls = tls
        self.hub: Hub[Session] = Hub()
        self.closing: set[asyncio.Task] = set()   # connections being closed for want of hello
        self.revocation = Revocation(service.engine, service.hall_id, self.hub.members,
                                     service.epoch, on_fenced)
        self.replies = Replies()
        self.connections: set[ServerConnection] = set()
        self.stopped = False    # stepped down: no new connection is served
        self.lookups = PerAddress(LOOKUP_LIMIT)   # `/q` tries, per address
        self.status_tries = PerAddress(STATUS_LIMIT)   # `/ts` tries (a complaint's), per address
        self.follow_tries = PerAddress(STATUS_LIMIT)   # `/p/<case>` (a 代办 case's), per address
        self.purged_on: date | None = None   # the hall day complaint contacts were last purged on
        self.salts_forgotten_on: date | None = None   # … and the old phone and booking salts
        self.salts_failed_on: date | None = None
        self.editions: dict[int, tuple[ServiceItem, ...] | None] = {}   # earlier catalogues
        self.writer = Writer(service, self.hub.observe, self.hub.publish,
                             credentials=self.revocation, on_fenced=on_fenced,
                             answered=self.replies.flush)
        if clock is not None:
            self.writer.clock = clock   # a simulation's clock (`serve --simulate-from`)
        self.tick_seconds = TICK_SECONDS / speed
        self.points = TownPoints(   # its village points' sync (`/h/<code>/point/ws`)
            service.engine, service.hall_id, lambda: self.writer.clock(),
            lambda: service.catalogue_version,
            lambda: catalogue_items(service.definition.items),
            lambda point, items: self.hub.point_cases(service.state, point, items,
                                                      views.iso(self.writer.clock())))
        with service.engine.begin() as conn:
            secret = hall_records.secret_of(conn, service.hall_id)
            accounts.forget_old_tries(conn, service.hall_id, datetime.now(UTC))
        self.login_gate = login_gate
        self.context = Context(service, self.writer, self.hub, secret, self.revocation,
                               login_gate, take_limit, self.public_url, self.base_path,
                               lambda: [url.replace("http", "ws", 1) + self.path + "/ws"
                                        for url in servers()],
                               mobile_takes=PerAddress(mobile_limit), clock_speed=speed,
                               bookings=PerAddress(book_limit),
                               booked_today=PerAddressDay(book_day_limit))

    def base_path(self, connection: ServerConnection) -> str:
        """The hall's path as this connection reached it: `/h/<code>`, or nothing when it came
        to a single-hall server's bare `/ws`."""
        request = connection.request
        return self.path if request is not None and request.path.startswith(self.path + "/") else ""

    def public_url(self, connection: ServerConnection) -> str:
        """The hall's address for citizens' phones: the hall file's `public_url`, or else the
        one this connection used (a kiosk on the hall's own network)."""
        if self.service.definition.hall.public_url:
            return self.service.definition.hall.public_url
        host = connection.request.headers.get("Host", "") if connection.request else ""
        return f"{'https' if self.tls else 'http'}://{host}{self.base_path(connection)}"

    # --- HTTP ------------------------------------------------------------------------------

    def health(self, database: str) -> dict:
        """`database`: what the process's check said. Reads the hall state: call it in the
        step in which `Writer.settled` returned (or when the state awaits a rebuild, which
        it then says)."""
        if database == "ok" and self.writer.failed:   # it answers, but the last write failed
            database = f"error: writes fail ({self.writer.failed})"
        if self.service.ahead:    # nor could the state be read back from it since
            database = f"error: the day's state awaits a rebuild ({self.writer.failed})"
        return {"version": __version__, "hall": self.code, "path": self.path,
                "database": database, "service_day": self.service.state.day.isoformat(),
                "seq": self.writer.committed_seq, "connections": self.hub.counts(),
                "writer": {"batches": self.writer.batches, "commands": self.writer.commands},
                "fanout": {"frames": self.hub.frames_sent,
                           "last_ms": round(self.hub.last_send_ms, 1),
                           "slowest_ms": round(self.hub.slowest_send_ms, 1),
                           "dropped_slow": self.hub.dropped_slow},
                "sessions_revoked": self.revocation.ended}

    async def page(self, path: str, query: str = "", address: str = "") -> Response | None:
        """The hall's own pages (`path` without the hall's prefix), once every batch in flight
        has landed: the pages show only what is committed. None when `path` is no such page."""
        if not path.startswith(HALL_PAGES):
            return None
        if path == "/q":
            await self.writer.settled()
            return self.lookup(parse_qs(query), address)
        if path == "/ts":
            await self.writer.settled()
            return self.complaint_status(parse_qs(query), address)
        if path.startswith("/p/"):
            return await self.point_follow(path.removeprefix("/p/"), parse_qs(query), address)
        await self.writer.settled()
        if path.startswith("/export/"):
            return await self.export(path.removeprefix("/export/"))
        if path.startswith("/guide/"):
            return await self.guide(path.removeprefix("/guide/"), parse_qs(query))
        if path.startswith("/poster/"):
            return self.poster(path.removeprefix("/poster/"))
        return self.ticket_problem(path.removeprefix("/t/"))

    def poster(self, token: str) -> Response:
        """The entrance's poster of the mobile 取号 page, for a link a manager's `take_poster`
        made: the QR of `/take` and the code of the hall's day now."""
        try:
            take_url = take_page.poster_url(self.context.secret, token, time.time())
        except ValueError as refused:
            return text_reply(HTTPStatus.FORBIDDEN, str(refused))
        day = self.service.state.day
        local = not self.service.definition.hall.public_url and take_page.local_address(take_url)
        return page(HTTPStatus.OK, web_pages.poster_html(
            self.context.hall_view, day, take_page.hall_code(self.context.secret, day), take_url,
            qr_svg(take_url), local))

    async def guide(self, code: str, asked: dict[str, list[str]]) -> Response:
        """The item's guide as the hall serves it now, or (`?v=N`) as it was at the hall's
        catalogue version N: the guide a ticket was issued with."""
        hall = self.context.hall_view
        service = self.service
        current = service.catalogue_version
        wanted = asked.get("v", [str(current)])[0]
        if not (wanted.isascii() and wanted.isdigit() and len(wanted) <= 9):
            return page(HTTPStatus.NOT_FOUND, web_pages.missing_html(hall))
        version = int(wanted)
        if version > current:    # not served yet (or no such version): nothing to show
            return page(HTTPStatus.NOT_FOUND, web_pages.missing_html(hall))
        if version == current:
            items: tuple[ServiceItem, ...] | None = service.definition.items
        elif version in self.editions:    # a version's items never change once kept
            items = self.editions[version]
        else:
            def read() -> tuple[ServiceItem, ...] | None:
                with service.engine.connect() as conn:
                    return hall_records.items_at(conn, service.hall_id, version)

            items = await asyncio.to_thread(read)
            if len(self.editions) >= KEPT_EDITIONS:
                self.editions.pop(next(iter(self.editions)))
            self.editions[version] = items
        item = next((i for i in items or () if i.code == code), None)
        if item is None:
            return page(HTTPStatus.NOT_FOUND, web_pages.missing_html(hall))
        edition = None if version == current else (version, current)
        return page(HTTPStatus.OK, web_pages.guide_html(views.item_view(item), hall, edition))

    async def export(self, token: str) -> Response:
        """A report file for a link the manager's `export` op made (see export_links)."""
        try:
            asked = read_link(self.context.secret, token, time.time())
        except LinkRefused as refused:
            return text_reply(HTTPStatus.FORBIDDEN, str(refused))
        service = self.service
        definition = service.definition
        tables = list(REPORTS) if asked["what"] == "all" else [asked["what"]]
        first, last = date.fromisoformat(asked["from"]), date.fromisoformat(asked["to"])
        book = reports.CaseBook.of(service.state, first, last)

        def make() -> bytes | str:   # a thread: a year of data must not stop the hall
            if asked["what"] == reports.ERRANDS:   # the 代办月报表, from the points' ledgers
                by = asked.get("by", "point")
                sheets = {reports.TABLE_NAMES[reports.ERRANDS]: reports.errand_table(
                    reports.errand_rows(service.engine, service.hall_id, definition, first,
                                        last, by, book.today), by)}
                if asked["format"] == "print":
                    return web_pages.ledger_html(self.context.hall_view, first, last, sheets,
                                                 reports.TABLE_NAMES[reports.ERRANDS])
                return reports.to_file(sheets, asked["format"])
            facts = reports.load_facts(service.engine, service.hall_id, definition, first, last)
            with_contacts = reports.with_contacts(
                reports.with_bookings(book, service.engine, service.hall_id, definition, first,
                                      last), service.engine, service.hall_id, definition.hall)
            if asked["format"] == "print":   # the 台账 as a page to print
                return web_pages.ledger_html(self.context.hall_view, first, last,
                                             reports.ledger(facts, definition, with_contacts))
            return reports.export(facts, definition, asked["format"], tables,
                                  asked.get("by", "hall"), asked.get("period", "month"),
                                  with_contacts)

        try:
            body = await asyncio.to_thread(make)
        except ValueError as error:
            return text_reply(HTTPStatus.BAD_REQUEST, str(error))
        if isinstance(body, str):
            return page(HTTPStatus.OK, body)
        name = f"{definition.hall.code}-{asked['what']}-{asked['from']}-{asked['to']}.{asked['format']}"
        return reply(HTTPStatus.OK, body, reports.CONTENT_TYPES[asked["format"]],
                     [("Cache-Control", "no-store"),
                      ("Content-Disposition", f'attachment; filename="{name}"')])

    def lookup(self, asked: dict[str, list[str]], address: str = "") -> Response:
        """`/q?number=A012&code=483920`: today's ticket with that number and 查询码 → its page
        (a redirect relative to this page, so it stays under the hall's path); else the form,
        with what was wrong. Tries are limited per address (`LOOKUP_LIMIT`), so that the six
        digits cannot be run through."""
        hall = self.context.hall_view
        number = "".join(asked.get("number", [""])[0].split()).upper()[:8]
        code = unicodedata.normalize("NFKC", "".join(asked.get("code", [""])[0].split()))[:6]
        if not number and not code:
            return page(HTTPStatus.OK, web_pages.lookup_html(hall))
        if not self.lookups.take(address):
            return page(HTTPStatus.TOO_MANY_REQUESTS, web_pages.lookup_html(
                hall, number, "查询太频繁，请一分钟后再试"))
        state = self.service.state
        if number in state.tickets and code.isascii() and hmac.compare_digest(
                code, short_code(self.context.secret, state.day, number)):
            token = make_token(self.context.secret, state.day, number)
            return reply(HTTPStatus.SEE_OTHER, b"", "text/plain; charset=utf-8",
                         [("Location", f"t/{token}"), ("Cache-Control", "no-store")])
        return page(HTTPStatus.NOT_FOUND, web_pages.lookup_html(
            hall, number, "没有找到这张小票：请核对号码和查询码（小票只在取号当天有效）"))

    def complaint_status(self, asked: dict[str, list[str]], address: str = "") -> Response:
        """`/ts?number=TS20261207-001&code=483920`: that complaint's status, nothing personal
        (`views.complaint_status`). A wrong code gets the very answer an unknown number gets;
        tries are limited per address (`STATUS_LIMIT`)."""
        hall = self.context.hall_view
        number = "".join(asked.get("number", [""])[0].split()).upper()[:16]
        code = unicodedata.normalize("NFKC", "".join(asked.get("code", [""])[0].split()))[:6]
        if not number and not code:
            return page(HTTPStatus.OK, web_pages.complaint_status_html(hall))
        if not self.status_tries.take(address):
            return page(HTTPStatus.TOO_MANY_REQUESTS, web_pages.complaint_status_html(
                hall, number, "查询太频繁，请一分钟后再试"))
        complaint = self.service.state.complaints.get(number)
        if complaint is not None and code.isascii() and hmac.compare_digest(
                code, complaint_code(self.context.secret, number)):
            return page(HTTPStatus.OK, web_pages.complaint_status_html(
                hall, number, status=views.complaint_status(complaint)))
        return page(HTTPStatus.NOT_FOUND, web_pages.complaint_status_html(
            hall, number, "没有找到：请核对编号和查询码"))

    async def point_follow(self, case: str, asked: dict[str, list[str]],
                           address: str = "") -> Response:
        """`/p/<case>?k=<key>`: a village point's case as the town holds it, for the citizen who
        scanned the receipt's QR (docs/points.md): its stages, nothing personal. A key that is
        not the point's for this case (`point_logs.followed`) gets no information; tries are
        limited per address (`STATUS_LIMIT`)."""
        hall = self.context.hall_view
        if not self.follow_tries.take(address):
            return page(HTTPStatus.TOO_MANY_REQUESTS, web_pages.point_follow_html(
                hall, "查询太频繁，请一分钟后再试"))
        key = asked.get("k", [""])[0]
        service = self.service

        def read() -> tuple[str, ledger.Case | None] | None:
            with service.engine.connect() as conn:
                return point_logs.followed(conn, service.hall_id, case, key)

        found = await asyncio.to_thread(read)
        if found is None:
            return page(HTTPStatus.NOT_FOUND, web_pages.point_follow_html(
                hall, "链接不完整：请扫描代办回执上的二维码，或凭件号到代办点查询"))
        point_name, held = found
        if held is None:
            return page(HTTPStatus.OK, web_pages.point_follow_html(
                hall, "代办点尚未送达或尚未同步，请稍后再查"))
        return page(HTTPStatus.OK, web_pages.point_follow_html(
            hall, case=views.point_follow_view(held, point_name)))

    def ticket_problem(self, token: str) -> Response | None:
        """For the citizen's live ticket page (`/t/<token>`): None when the token is one of
        today's tickets (the page itself is served, and connects as `citizen` with the token
        in its address); else a page that says what is wrong."""
        state = self.service.state
        try:
            number = ticket_for(self.context.secret, token, state.day, state.tickets)
        except TokenExpired:
            return page(HTTPStatus.GONE, web_pages.ticket_problem_html(
                self.context.hall_view, expired=True))
        if number is None:
            return page(HTTPStatus.NOT_FOUND, web_pages.ticket_problem_html(
                self.context.hall_view, expired=False))
        return None

    # --- WebSocket -------------------------------------------------------------------------------

    async def handle(self, connection: ServerConnection) -> None:
        if self.stopped:
            close_soon(connection, CLOSE_MOVED, STEPPED_DOWN)
            return
        self.connections.add(connection)
        session = Session(self.context, connection)
        deadline = asyncio.get_running_loop().call_later(HELLO_SECONDS, self._hello_expired,
                                                         connection, session)
        in_flight: set[asyncio.Future] = set()
        try:
            async for frame in connection:
                if not session.pipelined:
                    await connection.send(encode_bytes(await session.handle(frame)), text=True)
                    continue
                # Each request is checked and queued for the writer now, in frame order; the
                # replies go out as their commits land, so a kiosk's requests share group
                # commits. No more are taken up while the client does not read its replies
                # (websockets' flow control, as `send` waits for it), nor beyond MAX_IN_FLIGHT.
                await connection.drain()
                if len(in_flight) >= MAX_IN_FLIGHT:
                    await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
                try:
                    waited, reply = session.answer(frame)
                except Exception:    # a bug, or the revocation check could not read the database
                    self._failed(session, connection)
                    continue
                in_flight.add(waited)
                waited.add_done_callback(partial(self._answered, session, connection, reply,
                                                 in_flight))
        except (ConnectionClosed, ConnectionError):   # the latter from `drain`: a lost connection
            pass
        finally:
            self.connections.discard(connection)
            deadline.cancel()
            session.leave()

    async def handle_point(self, connection: ServerConnection) -> None:
        """A village point's sync (queue_server.points.sync)."""
        if self.stopped:
            close_soon(connection, CLOSE_MOVED, STEPPED_DOWN)
            return
        self.connections.add(connection)
        try:
            await self.points.serve(connection)
        finally:
            self.connections.discard(connection)

    def _answered(self, session: Session, connection: ServerConnection,
                  reply: Callable[[asyncio.Future], dict], in_flight: set[asyncio.Future],
                  waited: asyncio.Future) -> None:
        """A pipelined request's reply, once what it waited for is done (`Session.answer`).
        A connection closed meanwhile gets none (`Replies.add`)."""
        in_flight.discard(waited)
        try:
            self.replies.add(connection, encode_bytes(reply(waited)))
        except Exception:
            self._failed(session, connection)

    @staticmethod
    def _failed(session: Session, connection: ServerConnection) -> None:
        """A request could not be answered: logged, and its connection closed (1011)."""
        log.exception("answering a %s failed", session.role)
        close_soon(connection, 1011, "internal error")

    def _hello_expired(self, connection: ServerConnection, session: Session) -> None:
        if session.role is None and session.greeting:
            # The hello came in time; its password hash is still being checked (many consoles
            # logging in at once after a restart queue for the hashing threads): look again.
            asyncio.get_running_loop().call_later(1.0, self._hello_expired, connection, session)
        elif session.role is None:
            closing = asyncio.create_task(connection.close(1008, "hello expected within 10 s"))
            self.closing.add(closing)
            closing.add_done_callback(self.closing.discard)

    # --- running ---------------------------------------------------------------------------------

    def start(self, day_changed: Callable[[], None], tick_done: Callable[[], None]
              ) -> list[asyncio.Task]:
        """The hall's tasks: its writer, its tick and its revocation watch."""
        return [asyncio.create_task(self.writer.run()),
                asyncio.create_task(self._tick_forever(day_changed, tick_done)),
                asyncio.create_task(self.revocation.watch())]

    async def _tick_forever(self, day_changed: Callable[[], None],
                            tick_done: Callable[[], None]) -> None:
        """Lets time-based rules (脱岗 warnings, returns, the day's close) run through the
        writer every few seconds, and a county catalogue version that became due be served."""
        day = self.service.state.day
        while True:
            await asyncio.sleep(self.tick_seconds)
            try:   # before the tick: a version due with a new day is served from its start
                # bounded, so that a database that hangs does not hold up the tick's rules
                await asyncio.wait_for(self.follow_catalogue(), self.tick_seconds)
            except hall_records.Fenced:    # another server took the hall: stop now, not at the next write
                self.on_fenced()
                return
            except Exception:   # the database is away, or slow: the next tick looks again
                log.exception("applying the county catalogue to hall %s failed", self.code)
            with contextlib.suppress(Exception):   # logged by the writer; the next tick retries
                await self.writer.submit(cmd.Tick())
            if self.purged_on != self.service.state.day:
                await self.purge_contacts()
            if self.service.state.day != day:    # read as the tick's reply is: committed
                day = self.service.state.day
                day_changed()
            else:
                tick_done()
            if self.salts_forgotten_on != day:
                await self.forget_salts(day)

    async def forget_salts(self, day: date) -> None:
        """Delete the phone salts of the days before `day` and the booking salts no booking
        needs (their keys become meaningless: queue_server.store.phone_salts, booking_salts),
        once a hall day; while the database is away, each tick tries again."""
        try:
            await asyncio.to_thread(self.service.forget_phone_salts)
        except Exception:
            if self.salts_failed_on != day:   # said once a day, not every 5 s
                log.exception("the phone salts of hall %s before %s were kept", self.code, day)
                self.salts_failed_on = day
            return
        self.salts_forgotten_on = day

    async def purge_contacts(self) -> None:
        """Delete the complainants' names and phones whose period has passed
        (queue_server.complaint_contacts), once a hall day; on a thread."""
        service = self.service
        day = service.state.day
        due = complaint_contacts.purge_due(service.state, day)

        def purge() -> int:
            with service.engine.begin() as conn:
                return complaint_contacts.purge(conn, service.hall_id, due)

        try:
            gone = await asyncio.to_thread(purge)
        except Exception:   # the database is away: the next tick tries again
            log.exception("purging complaint contacts of hall %s failed", self.code)
            return
        self.purged_on = day
        if gone:
            log.info("hall %s: %d complaint contacts purged", self.code, gone)

    async def follow_catalogue(self) -> None:
        """Apply a newly published county catalogue version when the hall's mode says it is due
        (queue_server.catalogue): written on a thread, then served from the next batch on, so
        a batch never sees two catalogues. The kiosks are told, and ask for it."""
        service = self.service
        now = self.writer.clock()
        version = await asyncio.to_thread(service.county_version_due, now)
        if version is None:
            return
        definition, catalogue_version = await asyncio.to_thread(
            service.apply_county_version, version, now)
        await self.writer.settled()
        changed = catalogue_version != service.catalogue_version   # else none of its items
        service.take_catalogue(definition, catalogue_version, version)   # no await before this
        if changed:
            self.hub.publish([views.catalogue_changed(catalogue_version)])
        log.info("hall %s: county catalogue version %d applied (catalogue version %d)",
                 self.code, version, catalogue_version)

    def step_down(self) -> None:
        """Another server serves the hall now (or this one stops): every session ends, with
        CLOSE_MOVED, so that its client reconnects and is sent to the new leader. Then `close`."""
        self.stopped = True
        for session in self.hub.members():
            session.end(STEPPED_DOWN, CLOSE_MOVED)
        for connection in self.connections:   # those that had not said hello, or not yet joined
            close_soon(connection, CLOSE_MOVED, STEPPED_DOWN)
        self.writer.abandon()

    def close(self) -> None:
        """Blocking: waits for a commit still running, then gives the kept connections back."""
        self.writer.close()
        self.service.close()
        self.revocation.close()

