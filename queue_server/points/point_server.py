"""The village point's own server (`queue-server point serve`): the agent's page `/point` and its
WebSocket on one port, over the point's SQLite (queue_server.points.point_store).

It holds the ledger in memory (`ledger.fold` at the start, `ledger.apply` for each new entry),
refuses every action while the town holds entries of the point's own log that it lacks
(`PointStore.town_ahead`: they are being given back), checks every action of the agent with
`ledger.problem` before writing it (a refusal is said in Chinese), writes it with
`PointStore.write` (durable before the reply), and pushes each change to every open page. It
is meant for the agent at the point's own PC: it listens on 127.0.0.1 unless told otherwise, has
no PIN, and refuses a WebSocket opened by a page of another site (its Origin is not this
server).

**What the sync calls** (queue_server.points.sync, run in the same event loop):

- `town_entries(entries)`: the town's new entries, already stored with `PointStore.receive`:
  applied to the ledger and pushed to the pages;
- `link_state(state)`: the link as the sync sees it, a mapping with `connected` (bool),
  `last_contact` (ISO or None), `pending` (int: the point's entries the town does not have
  yet), `clock_offset_seconds` (int or None: the town's clock minus the point's), `error`
  (Chinese text or None) and `refused` (bool: the town refused the sync, not a cut link);
  shown on the page;
- `catalogue(version, items)`: a new catalogue, already stored with `PointStore.put`: the
  page's list of items changes;
- `restored()`: entries of the point's own log given back by the town, already stored with
  `PointStore.restore`: the ledger is folded anew and pushed;
- `wake`: an `asyncio.Event` the server sets whenever it wrote an entry of its own, so that the
  sync sends at once.

Until a sync reports, the page shows the link as 未连接乡镇 with every entry of the point's log
pending.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Mapping
from datetime import date, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from hall import service_calendar
from hall.look import FONT
from hall.protocol import (
    MAX_FRAME_BYTES,
    ProtocolError,
    encode,
    error_reply,
    ok_reply,
    parse_request,
)
from queue_server import web_pages
from queue_server.http_replies import file, json_reply, page, reply, text_reply
from queue_server.points import batch, ledger, point_page
from queue_server.points.enrolment import CatalogueItem
from queue_server.points.point_store import PointStore
from queue_server.points.sync import PointLink
from queue_server.qr import qr_svg

WEB_ROOT = (Path(__file__).resolve().parent.parent / "web").resolve()
FONTS = FONT.parent.resolve()   # the pages' fallback font, as the hall server serves it
PAGE = "/point/"
RECEIPT = "/point/receipt/"
HANDOVER = "/point/handover"
DAY_CHECK_SECONDS = 30.0
"""How often the server looks whether the day changed (the deadlines' warnings move then)."""
HELLO_SECONDS = 10.0
log = logging.getLogger("queue_server.points.point_server")


class PointServer:
    """The point's server: its store, its ledger in memory, its open pages, and what the sync
    calls (see the module's header). `clock`: the point's clock (a simulated one for drills and
    tests), the real one when None."""

    def __init__(self, store: PointStore, clock: Callable[[], datetime] | None = None) -> None:
        self.store = store
        self.enrolment = store.enrolment()
        self.calendar = service_calendar.calendar_from_view(self.enrolment.calendar)
        # the real clock in the point's own time zone (the town's calendar), as a simulated
        # one is: the page cuts its times (最近联系 HH:MM) from the text
        self.clock = clock or (lambda: datetime.now(self.calendar.zone))
        self.version, self.items = store.catalogue()
        self.cases = ledger.fold(store.up(), store.down())
        self.last_up = store.last()[0]
        self.link: Mapping[str, Any] | None = None
        self.wake = asyncio.Event()
        self.pages: set[ServerConnection] = set()
        self.writing = asyncio.Lock()   # one entry written and applied at a time
        self.day = self.today()

    # --- what the sync calls ---------------------------------------------------------------

    def town_entries(self, entries: list[ledger.Entry]) -> None:
        """The town's new entries (stored already): applied and pushed. An entry written before
        the town had seen all of the point's log goes, in the merged order, before point
        entries already applied: then the ledger is folded anew from the store."""
        if not entries:
            return
        if all(e.seen >= self.last_up for e in entries):
            for entry in sorted(entries, key=lambda e: e.seq):
                ledger.apply(self.cases, entry)
            self.push({"ev": "cases", "cases": [self.view(self.cases[c]) for c in
                                                dict.fromkeys(e.record.case for e in entries)
                                                if c in self.cases]})
        else:
            self.cases = ledger.fold(self.store.up(), self.store.down())
            self.push({"ev": "cases", "cases": self.all_views(), "all": True})

    def link_state(self, state: Mapping[str, Any]) -> None:
        self.link = dict(state)
        self.push({"ev": "link", "link": self.link_view()})

    def catalogue(self, version: int, items: tuple[CatalogueItem, ...]) -> None:
        self.version, self.items = version, items
        self.push({"ev": "catalogue", "catalogue": point_page.items_view(version, items)})

    def restored(self) -> None:
        """Entries of the point's own log given back by the town (stored already): the ledger
        folded anew, so that the next case numbers follow them."""
        self.cases = ledger.fold(self.store.up(), self.store.down())
        self.last_up = self.store.last()[0]
        self.push({"ev": "cases", "cases": self.all_views(), "all": True})

    # --- the views -------------------------------------------------------------------------

    def now(self) -> datetime:
        return service_calendar.local(self.calendar, self.clock())

    def today(self) -> date:
        return self.now().date()

    def view(self, case: ledger.Case) -> dict[str, Any]:
        return point_page.case_view(case, self.enrolment, self.calendar, self.day)

    def all_views(self) -> list[dict[str, Any]]:
        return [self.view(case) for case in self.cases.values()]

    def link_view(self) -> dict[str, Any]:
        return point_page.link_view(self.link, self.last_up, self.store.town_ahead())

    def hello(self) -> dict[str, Any]:
        e = self.enrolment
        return {"point": {"code": e.point, "name": e.point_name, "town": e.hall_name},
                "today": self.day.isoformat(),
                "catalogue": point_page.items_view(self.version, self.items),
                "cases": self.all_views(), "link": self.link_view()}

    def push(self, event: dict[str, Any]) -> None:
        broadcast(self.pages, encode(event))

    # --- the agent's actions ---------------------------------------------------------------

    async def act(self, op: str, params: dict[str, Any]) -> dict[str, Any]:
        """Write the entry of one op of the page, or raise Refused."""
        async with self.writing:
            if missing := await asyncio.to_thread(self.store.town_ahead):
                raise point_page.Refused(point_page.behind_refusal(missing))
            now = self.now()
            number = ledger.case_number(self.enrolment.point, now.date(), self.cases)
            record = point_page.record_for(op, params, self.items, self.cases, number)
            probe = ledger.Entry(self.last_up + 1, now.isoformat(timespec="seconds"), 0, record)
            reason = ledger.problem(self.cases, probe)
            if reason is not None:
                raise point_page.Refused(ledger.conflict_text(reason))
            entry = await asyncio.to_thread(self.store.write, record, probe.at)
            self.last_up = entry.seq
            ledger.apply(self.cases, entry)
        self.wake.set()
        view = self.view(self.cases[record.case])
        self.push({"ev": "cases", "cases": [view]})
        if self.link is not None:   # one more entry the town does not have yet
            self.link = {**self.link, "pending": int(self.link.get("pending", 0)) + 1}
        self.push({"ev": "link", "link": self.link_view()})
        return view

    # --- HTTP and WebSocket ----------------------------------------------------------------

    async def process_request(self, connection: ServerConnection,
                              request: Request) -> Response | None:
        path = urlsplit(request.path).path
        if path == "/ws":
            origin = request.headers.get("Origin")
            if origin is not None and urlsplit(origin).netloc != request.headers.get("Host"):
                return text_reply(HTTPStatus.FORBIDDEN, "只接受本机代办页面的连接")
            return None
        if path in ("/", "/point", "/index.html"):
            return reply(HTTPStatus.FOUND, b"", "text/plain; charset=utf-8",
                         [("Location", PAGE), ("Cache-Control", "no-store")])
        if path == "/common/vocabulary.js":
            return reply(HTTPStatus.OK, web_pages.vocabulary_js().encode(),
                         "text/javascript; charset=utf-8", [("Cache-Control", "no-cache")])
        if path == "/healthz":
            return json_reply(HTTPStatus.OK, {"point": self.enrolment.point,
                                               "cases": len(self.cases),
                                               "log": self.last_up, "pages": len(self.pages)})
        if path == HANDOVER:
            return self.handover(parse_qs(urlsplit(request.path).query).get("case"))
        if path.startswith(RECEIPT):
            return self.receipt(unquote(path.removeprefix(RECEIPT)))
        if path.startswith("/fonts/"):
            return file(FONTS, path.removeprefix("/fonts/"), request.headers)
        if path.startswith((PAGE, "/common/")):
            return file(WEB_ROOT, path, request.headers)
        return text_reply(HTTPStatus.NOT_FOUND, "未找到 / not found")

    def receipt(self, number: str) -> Response:
        case = self.cases.get(number)
        if case is None:
            return text_reply(HTTPStatus.NOT_FOUND, f"本代办点没有件号为 {number[:40]} 的件")
        follow = point_page.follow_url(self.enrolment, case.case)
        return page(HTTPStatus.OK, web_pages.point_receipt_html(
            self.enrolment.point_name, self.enrolment.hall_name, self.view(case),
            qr_svg(follow), follow))

    def handover(self, chosen: list[str] | None) -> Response:
        """The 交接单: the cases still at the point (已受理), oldest first, those ticked (`case`
        given: those; else the first `batch.MAX_CASES`), with the QR of their batch code, which
        the agent scans at the town's kiosk."""
        waiting = sorted((c for c in self.cases.values() if c.stage == "recorded"),
                         key=lambda c: c.case)
        numbers = ([c.case for c in waiting if c.case in chosen] if chosen is not None
                   else [c.case for c in waiting][:batch.MAX_CASES])
        if len(numbers) > batch.MAX_CASES:
            return text_reply(HTTPStatus.BAD_REQUEST,
                              f"一张交接单最多 {batch.MAX_CASES} 件，请少选一些")
        code = (batch.encode(batch.Batch(self.enrolment.hall, self.enrolment.point,
                                         tuple(numbers))) if numbers else "")
        return page(HTTPStatus.OK, web_pages.point_handover_html(
            self.enrolment.point_name, self.enrolment.hall_name, self.today(),
            [self.view(c) for c in waiting], numbers, code, qr_svg(code) if code else ""))

    async def handle(self, connection: ServerConnection) -> None:
        try:
            frame = await asyncio.wait_for(connection.recv(), HELLO_SECONDS)
        except (TimeoutError, ConnectionClosed):
            return
        try:
            request = parse_request(frame, point_page.OPS)
            if request.op != "hello":
                raise ProtocolError("unauthorized", "请先发送 hello", request.id)
        except ProtocolError as error:
            with contextlib.suppress(ConnectionClosed):
                await connection.send(encode(error.reply()))
            return
        await connection.send(encode(ok_reply(request.id, **self.hello())))
        self.pages.add(connection)
        try:
            async for frame in connection:
                await connection.send(encode(await self.answer(frame)))
        except ConnectionClosed:
            pass
        finally:
            self.pages.discard(connection)

    async def answer(self, frame: str | bytes) -> dict[str, Any]:
        try:
            request = parse_request(frame, point_page.OPS)
        except ProtocolError as error:
            return error.reply()
        if request.op == "hello":
            return error_reply(request.id, "bad_request", "本连接已经 hello 过")
        try:
            view = await self.act(request.op, request.params)
        except point_page.Refused as refused:
            return error_reply(request.id, "conflict", str(refused))
        except Exception:
            log.exception("writing %s failed", request.op)
            return error_reply(request.id, "internal", "未能保存，请重试；如一再出现请联系乡镇")
        return ok_reply(request.id, case=view)

    async def watch_the_day(self) -> None:
        """At a new day the deadlines' warnings move: every case is pushed anew."""
        while True:
            await asyncio.sleep(DAY_CHECK_SECONDS)
            if (today := self.today()) != self.day:
                self.day = today
                self.push({"ev": "cases", "cases": self.all_views(), "all": True,
                           "today": today.isoformat()})

    async def run(self, host: str, port: int, ready: Callable[[str], None],
                  sync: bool = True) -> None:
        """Serve until SIGINT or SIGTERM; with `sync`, the link to the town runs beside
        (queue_server.points.sync.PointLink, telling this server what it needs)."""
        loop = asyncio.get_running_loop()
        stop = loop.create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.cancel)
        server = await serve(self.handle, host, port, process_request=self.process_request,
                             max_size=MAX_FRAME_BYTES, server_header=None, compression=None)
        bound = server.sockets[0].getsockname()
        watching = asyncio.create_task(self.watch_the_day())
        linked = asyncio.create_task(PointLink(self.store, self, clock=self.clock).run()) \
            if sync else None
        ready(f"http://{bound[0]}:{bound[1]}")
        try:
            await stop
        except asyncio.CancelledError:
            pass
        finally:
            watching.cancel()
            if linked is not None:
                linked.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await linked
            server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 2.0)
            self.store.engine.dispose()
