"""One connection's conversation: hello and who it is, then each op checked and carried out.

A session starts anonymous. `hello` authenticates it (device token, clerk badge and PIN,
manager user and password, or a citizen's ticket token) and answers with the snapshot that
role needs. Every later request is checked against the op table (`hall.protocol.OPS`: which
roles may send it, which parameters it takes), turned into a core command bound to the
session's own identity (a clerk acts at the window it signed into, a pad rates only for its
window, a citizen only its own ticket; queue_server.ops), and submitted to the hall's single
writer.

A session holds no database connection: it reads the hall state in memory (after
`Writer.settled`, so never a batch that is not committed yet) and submits to the writer. What
must come from the database is behind `HallService` and runs on threads (a device's token, a
login with its lockout, the registered devices for a manager), or behind queue_server.reports
(`stats`), also on a thread: none of it stops the hall's event loop. The one read left on
the loop is queue_server.revocation's check before an op that reads without writing: a single
number, 6 µs, so that a revoked session is refused at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

from hall.guide import guide_path
from hall.protocol import (
    CLOSE_REVOKED,
    NO_DEVICE_STATUS,
    OPS,
    VOICE_FROM_BOARDS,
    ProtocolError,
    Request,
    error_reply,
    ok_reply,
    parse_request,
)
from hall.vocabulary import (
    BOOKING_METRICS,
    CASE_METRICS,
    COMPLAINT_METRICS,
    METRICS,
    POINT_DIMENSION_NAMES,
    POINT_DIMENSIONS,
    ROLE_NAMES,
)
from queue_server import bookings, complaint_contacts, county, kpis, ops, reports, take_page, views
from queue_server import commands as cmd
from queue_server import events as ev
from queue_server.domain_errors import DomainError
from queue_server.export_links import make_link
from queue_server.fanout import Hub, close_soon
from queue_server.hall_definition import HallDefinition
from queue_server.hall_service import HallService, Outcome
from queue_server.login_gate import LoginGate, LoginRefused
from queue_server.points import batch, ledger
from queue_server.qr import qr_svg
from queue_server.rate_limits import (
    BOOK_DAY_LIMIT,
    BOOK_HELLO_LIMIT,
    BOOK_LIMIT,
    COMPLAIN_LIMIT,
    MOBILE_TAKE_LIMIT,
    TAKE_LIMIT,
    PerAddress,
    PerAddressDay,
    RateLimit,
)
from queue_server.revocation import Revocation
from queue_server.store import accounts, devices, point_logs
from queue_server.ticket_tokens import (
    TokenExpired,
    complaint_code,
    make_token,
    short_code,
    ticket_for,
)
from queue_server.views import booked_view, booking_menu, booking_slots
from queue_server.writer import SessionEnded, Writer, WriterFailed

log = logging.getLogger("queue_server.sessions")

READ_OPS = frozenset({"catalogue", "stats", "export",   # answered without the writer
                      "take_menu", "take_poster", "complaint_contact", "find_complaints",
                      "booking_menu", "booking_slots",
                      "point_cases", "point_answer", "point_inbox", "points"})   # a point's logs are not the hall's


INBOX_CLOSED = 30
"""The cases the town is done with that a 代办 inbox still lists (the newest)."""

WRONG_PROOFS = 5
"""Wrong phone numbers or ID digits given for one booking code in a day before its cancellation
is refused for the rest of the day: the ID's four digits are only 10,000 guesses."""


@dataclass
class Context:
    """What every session of one server shares."""

    service: HallService
    writer: Writer
    hub: Hub[Session]
    secret: str
    revocation: Revocation
    login_gate: LoginGate = field(default_factory=LoginGate)
    take_limit: RateLimit = TAKE_LIMIT
    public_url: Callable[[Any], str] = lambda connection: ""   # the hall's, as a device reached it
    base_path: Callable[[Any], str] = lambda connection: ""    # the path part of it
    servers: Callable[[], list[str]] = list   # the hall's WebSocket address on each live server
    hall_view: dict[str, Any] = field(default_factory=dict)
    mobile_codes: PerAddress = field(default_factory=lambda: PerAddress(take_page.CODE_LIMIT))
    mobile_takes: PerAddress = field(default_factory=lambda: PerAddress(MOBILE_TAKE_LIMIT))
    """The hall's mobile page (`/take`): its hellos (a hall code each) and its tickets, per
    client address."""
    menus: take_page.MenuCache = field(default_factory=take_page.MenuCache)
    """The mobile page's menu, computed at most once a hall second."""
    clock_speed: float = 1.0   # how fast the hall's clock runs (`serve --speed`, a simulation)
    complaints: PerAddress = field(default_factory=lambda: PerAddress(COMPLAIN_LIMIT))
    """Citizens' complaints (the ticket page, `/complain`), per client address."""
    bookings: PerAddress = field(default_factory=lambda: PerAddress(BOOK_LIMIT))
    """Bookings and cancellations (the /book page), per client address (`serve --book-limit`)."""
    booking_hellos: PerAddress = field(default_factory=lambda: PerAddress(BOOK_HELLO_LIMIT))
    """The booking page's hellos (no credential), per client address."""
    booked_today: PerAddressDay = field(default_factory=lambda: PerAddressDay(BOOK_DAY_LIMIT))
    """Bookings made per client address in the hall day (`serve --book-day-limit`)."""
    wrong_proofs: dict[tuple[str, date], int] = field(default_factory=dict)
    """Cancellations refused for a wrong phone or ID digits, per booking code and hall day: at
    `WRONG_PROOFS` the code cannot be cancelled on the page that day (kept in memory)."""
    proof_turns: weakref.WeakValueDictionary[str, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary)
    """The lock a booking code's cancellations are checked under, one at a time; kept while
    one is being checked or waits."""

    def __post_init__(self) -> None:
        self.hall_view = views.hall_view(self.service.definition)
        self._windows: tuple[HallDefinition | None, dict[str, list[dict[str, Any]]]] = (None, {})

    def ticket_windows(self, definition: HallDefinition, category: str) -> list[dict[str, Any]]:
        """The windows a kiosk's reply names for a ticket of `category`: made once per category
        of the definition served (a new catalogue makes them again), not for every ticket."""
        made_for, lists = self._windows
        if made_for is not definition:
            lists = {}
            self._windows = (definition, lists)
        found = lists.get(category)
        if found is None:
            found = lists[category] = [
                {"window": w.number, "name": w.name, "location": w.location}
                for w in (definition.window_by_number[n]
                          for n in definition.windows_by_category[category])]
        return found


class Session:
    def __init__(self, context: Context, connection: Any):
        self.context = context
        self.connection = connection
        self.role: str | None = None
        self.name = ""
        self.window: int | None = None      # a pad's window
        self.ticket: str | None = None      # a citizen's ticket
        self.badge: str | None = None       # a clerk
        self.bundle = False                 # hello's `bundle`: each fan-out share in one frame
        self.code_day: date | None = None   # the mobile page: the day its hall code is of
        self.greeting = False               # a hello being answered
        self.account = ""                   # a clerk's badge or a manager's user name
        self.from_county = False            # a county account, in a hall not the county's own
        self.credential: tuple | None = None  # what hello was said with (queue_server.revocation)
        self.ended: str | None = None       # why the session was ended, once it is
        self.joined = False
        self.bucket = context.take_limit.bucket()
        self._public_url: str | None = None

    @property
    def pipelined(self) -> bool:
        """Whether this session's requests may be answered concurrently: each is checked on its
        own. Not before hello (it sets who we are), not for a clerk (a call needs the sign-in
        before it to have landed)."""
        return self.role is not None and self.role != "clerk"

    @property
    def signature(self) -> str:
        """Who did it, as the log records a manager's act: the name and the account, so that
        two managers of the same name are told apart."""
        return f"{self.name}（{self.account}）"

    @property
    def person(self) -> str:
        """Who a manager is, for the rules that need another person (a second manager decides
        an appeal): its account, which a reset name does not change. A county manager from the
        county's page is `县级:` and its account, unless this is the county's own hall, whose
        accounts county accounts are: in a township hall a county account is never mistaken
        for a hall account of the same user name."""
        return f"县级:{self.account}" if self.from_county else self.account

    @property
    def public_url(self) -> str:
        """The hall's address for citizens' phones as this connection reached it: the same for
        the whole connection, so found once."""
        if self._public_url is None:
            self._public_url = self.context.public_url(self.connection)
        return self._public_url

    @property
    def state(self):
        return self.context.service.state

    async def handle(self, frame: str | bytes) -> dict[str, Any]:
        request = self._checked(frame)
        if isinstance(request, dict):
            return request
        return await self._carry_out(request)

    def answer(self, frame: str | bytes) -> tuple[asyncio.Future, Callable[[Any], dict[str, Any]]]:
        """A pipelined request, taken up as its frame is read: checked, and when its whole work
        is one command (`_submission`), that command queued for the writer now and its reply
        made from its outcome once committed, with no task and no turn of the event loop of its
        own (Python 3.11 has no eager tasks: docs/performance.md). Any other request is carried
        out by a task. Returns what to wait for, and what makes the reply of it once done."""
        loop = asyncio.get_running_loop()
        checked = self._checked(frame)
        if not isinstance(checked, dict):
            try:
                submission = self._submission(checked)
            except REFUSALS as error:
                checked = self._refusal(checked.id, error)
            else:
                if submission is None:
                    return loop.create_task(self._carry_out(checked)), asyncio.Task.result
                command, made = submission
                return (self.context.writer.enqueue(command, self),
                        partial(self._replied, checked.id, made))
        refused = loop.create_future()
        refused.set_result(checked)
        return refused, asyncio.Future.result

    def _checked(self, frame: str | bytes) -> Request | dict[str, Any]:
        """The request, or the reply that refuses it: not well formed, or not this session's."""
        try:
            request = parse_request(frame)
        except ProtocolError as error:
            return error.reply()
        if request.op in READ_OPS and self.role is not None:
            self.context.revocation.check()
        if self.ended:
            return error_reply(request.id, "unauthorized", self.ended)
        if self.role is None and request.op != "hello":
            return error_reply(request.id, "unauthorized", "请先发送 hello 表明身份")
        if request.op != "hello" and self.role not in OPS[request.op].roles:
            assert self.role is not None   # only hello is let through before it (above)
            return error_reply(request.id, "forbidden",
                               f"{ROLE_NAMES[self.role]}不能执行 {request.op}")
        return request

    async def _carry_out(self, request: Request) -> dict[str, Any]:
        if not self.pipelined or request.op in READ_OPS:
            # These read the hall state before (or instead of) submitting: a clerk's window,
            # the day of `stats`. Writes that read nothing first go straight to the queue.
            await self.context.writer.settled()
        try:
            operation = OPERATIONS[request.op]   # one of OPS: parse_request said so
            return ok_reply(request.id, **await operation(self, request))
        except REFUSALS as error:
            return self._refusal(request.id, error)

    def _replied(self, request_id: Any, made: Callable[[Session, Outcome], dict[str, Any]],
                 done: asyncio.Future) -> dict[str, Any]:
        """The reply to a request whose command (`_submission`) is `done`."""
        try:
            return ok_reply(request_id, **made(self, _carried_out(done.result())))
        except REFUSALS as error:
            return self._refusal(request_id, error)

    def _refusal(self, request_id: Any,
                 error: DomainError | ProtocolError | WriterFailed | SessionEnded) -> dict[str, Any]:
        """The error reply of a request refused (`REFUSALS`): by its checks, by the core, or
        not written."""
        if isinstance(error, WriterFailed):
            return error_reply(request_id, "internal", "服务器暂时无法保存，请稍后重试；本次操作未生效")
        if isinstance(error, SessionEnded):
            return error_reply(request_id, "unauthorized", f"{self.ended}；本次操作未生效")
        return error_reply(request_id, error.code, error.message, **error.detail)

    def _submission(self, request: Request
                    ) -> tuple[cmd.Command, Callable[[Session, Outcome], dict[str, Any]]] | None:
        """For a request whose whole work is one command: that command, checked and made with
        no await, and what makes the reply of its outcome. None for any other request."""
        if request.op in ONE_COMMAND:
            return self._command(request), _nothing_more
        if request.op == "take_ticket" and self.role != "mobile":   # the mobile page's: below
            self._take_allowed()
            return self._command(request), Session._ticket_taken
        return None

    async def _op_submitted(self, request: Request) -> dict[str, Any]:
        """A request whose whole work is one command (`_submission`), carried out by a task
        (`handle`): a session that is not pipelined, a clerk's; `answer` takes up the others'
        without one."""
        submission = self._submission(request)
        assert submission is not None   # OPERATIONS names this for those requests only
        command, made = submission
        return made(self, await self._submit(command))

    def _command(self, request: Request) -> cmd.Command:
        """The command this session's request asks for (queue_server.ops, shared with the
        simulator); a clerk's window is read from the state, which the caller saw settled."""
        return ops.command_for(request.op, request.params, self, self.state.clerk_window.get)

    async def _submit(self, command: cmd.Command) -> Outcome:
        return _carried_out(await self.context.writer.submit(command, by=self))

    def _snapshot(self) -> dict[str, Any]:
        assert self.role is not None   # said by hello, before any snapshot
        return {"seq": self.state.seq,
                "snapshot": views.snapshot(self.state, self.role, self.context.hall_view)}

    # --- hello ---------------------------------------------------------------------------------

    async def _op_hello(self, request: Request) -> dict[str, Any]:
        if self.role is not None:
            raise ProtocolError("conflict", "本连接已经表明过身份；如需更换身份请重新连接")
        self.greeting = True   # a PIN being checked: the hello deadline waits for the answer
        try:
            return await self._hello(request)
        finally:
            self.greeting = False

    async def _hello(self, request: Request) -> dict[str, Any]:
        p = request.params
        role = p["role"]
        if role == "county":
            raise ProtocolError("forbidden", "县级管理账号请在全县页面（/county）登录，再从那里进入各大厅")
        if role == "booking" and not self.context.booking_hellos.take(self.address):
            raise ProtocolError("rate_limited", "访问太频繁，请稍后再试")
        extra: dict[str, Any] = {}
        seen = self.context.revocation.version
        if role in ("kiosk", "display", "pad"):
            await self._hello_device(role, p)
            if role == "kiosk":
                extra["catalogue_version"] = self.context.service.catalogue_version
        elif role == "clerk":
            await self._hello_person(p, "badge", "pin", accounts.CLERK)
            self.badge = p["badge"]
        elif role == "manager":
            if "pass" in p:   # a county manager, from the county's page
                extra["resume"] = await self._hello_pass(p["pass"])
            else:
                await self._hello_person(p, "user", "password", accounts.MANAGER)
            registered = await asyncio.to_thread(self.context.service.registered_devices)
        await self.context.writer.settled()   # no await from here on: the reply shows committed state
        if role == "citizen":
            self._hello_citizen(p)
        if role == "mobile":
            self._hello_mobile(p)
        self.role = role
        self.bundle = p.get("bundle", False)
        self.context.hub.join(self)
        self.joined = True
        self.context.revocation.admit(self, seen)
        if self.ended:       # revoked while its PIN was being checked
            raise ProtocolError("unauthorized", self.ended)
        self._announce()
        # the booking page's snapshot is its hall card alone (below): the live one is not built
        snapshot = {"seq": self.state.seq} if role == "booking" else self._snapshot()
        reply = {"role": role, "name": self.name, **extra, **snapshot,
                 "servers": self.context.servers(),
                 "now": views.iso(self.context.writer.clock()),   # the hall's clock
                 "clock_speed": self.context.clock_speed}
        if role == "manager":
            reply["snapshot"]["online"] = self._devices_now(registered)
            reply["signature"] = self.signature   # as the log signs its acts (a complaint's handler)
            reply["account"] = self.person   # the page knows its own appeals (`case.appeal`)
        if role == "clerk":
            assert self.badge is not None
            reply["clerk"] = views.clerk_view(self.state, self.badge)
        if role == "pad":
            assert self.window is not None   # a pad's device is always bound to a window
            reply["window"] = self.window
            reply["awaiting"] = views.awaiting_rating(self.state, self.window,
                                                      self.context.writer.clock())
        if role == "citizen":
            assert self.ticket is not None
            reply["ticket"] = views.ticket_view(self.state, self.state.tickets[self.ticket])
            hall = self.context.hall_view
            reply["snapshot"] = {"hall": {"name": hall["name"],
                                          "consultation_phone": hall["consultation_phone"],
                                          "rating_reasons": hall["rating_reasons"],
                                          "rating_levels": hall["rating_levels"],
                                          "missed_call": hall["missed_call"],
                                          **self._complaint_card()}}
        if role == "display":   # shown on the board, for the mobile 取号 page (`/take`)
            reply["take_code"] = take_page.hall_code(self.context.secret, self.state.day)
        if role == "booking":
            reply["snapshot"] = {"hall": self._hall_card()}
            reply["menu"] = booking_menu(self.state, self.context.writer.clock())
            reply["service_day"] = self.state.day.isoformat()   # the page's 我的预约
        if role == "mobile":
            reply["snapshot"] = {"hall": {**self._hall_card(), **self._complaint_card()}}
            reply["menu"] = self._menu()
            reply["service_day"] = self.state.day.isoformat()   # the page's 我今天取的号
        if role in ("kiosk", "pad"):   # the QR of the hall's 投诉建议 page they may show
            reply["complain_url"] = f"{self.public_url}/complain"
        if role == "kiosk":   # 代办送件 shows only where village points bring cases
            reply["points"] = await self._has_points()
        return reply

    async def _has_points(self) -> bool:
        service = self.context.service

        def read() -> bool:
            with service.engine.connect() as conn:
                return bool(point_logs.list_points(conn, service.hall_id))

        return await asyncio.to_thread(read)

    def _hall_card(self) -> dict[str, Any]:
        hall = self.context.hall_view
        return {k: hall[k] for k in ("name", "address", "consultation_phone")}

    def _complaint_card(self) -> dict[str, Any]:
        """What a citizen's complaint form needs: the categories, whether a name and phone are
        kept and for how long, the hall's 监督电话."""
        hall = self.context.hall_view
        return {k: hall[k] for k in ("complaint_categories", "complaint_keep_contact",
                                     "complaint_contact_days", "complaint_phone")}

    def _devices_now(self, registered: list[devices.Device]) -> list[dict[str, Any]]:
        """Every registered device, with how many connections it holds now (0: offline)."""
        online = {d["device"]: d for d in self.context.hub.online_devices()}
        listed = [online.pop(d.name, {"device": d.name, "role": d.role, "window": d.window,
                                      "connections": 0}) for d in registered]
        return listed + list(online.values())

    def leave(self) -> None:
        """The connection is gone, or the session ended: no more events for it."""
        if self.joined:
            self.joined = False
            self.context.hub.leave(self)
            self._announce()

    def end(self, reason: str, code: int = CLOSE_REVOKED) -> None:
        """Its credentials were revoked or changed: nothing more in or out, and the connection
        closes with a code that tells the client not to try them again (or, `CLOSE_MOVED`, the
        hall is served elsewhere now: the client reconnects)."""
        if self.ended:
            return
        self.ended = reason
        self.leave()
        close_soon(self.connection, code, reason)

    def _announce(self) -> None:
        writer = self.context.writer   # any time, even mid-commit: the seq that is durable
        self.context.hub.presence(self, writer.committed_seq, views.iso(writer.clock()))

    async def _hello_device(self, role: str, p: dict[str, Any]) -> None:
        token = p.get("token")
        if not token:
            raise ProtocolError("unauthorized", "缺少设备令牌（token）")
        device = await asyncio.to_thread(self.context.service.device_for_token, token)
        if device is None:
            raise ProtocolError("unauthorized", "设备令牌无效或已被吊销，请联系管理员重新发放")
        if device.role != role:
            raise ProtocolError("unauthorized",
                                f"此令牌属于{ROLE_NAMES[device.role]}，不能以{ROLE_NAMES[role]}身份连接")
        self.name, self.window = device.name, device.window
        self.credential = ("device", device.id)

    async def _hello_person(self, p: dict[str, Any], who: str, secret: str,
                            kind: accounts.AccountKind) -> None:
        if not p.get(who) or not p.get(secret):
            raise ProtocolError("unauthorized", "请输入账号和密码")
        service = self.context.service

        def check() -> accounts.Login:
            return service.login(kind, p[who], p[secret], datetime.now(UTC))

        address = self.address
        try:   # a slow hash: on the gate's own threads, in turn with other addresses' tries
            result = await self.context.login_gate.check(address, check)
        except LoginRefused as refused:
            raise ProtocolError("rate_limited", str(refused)) from None
        if not result.ok:
            raise ProtocolError("unauthorized", result.message)
        self.name = result.name
        self.account = p[who]
        self.credential = result.stamp

    async def _hello_pass(self, token: str) -> str:
        """A county manager's pass or resume token for this hall (queue_server.county): the
        account it names, as it is now; the resume token for the page's next hellos."""
        engine = self.context.service.engine
        hall = self.context.service.definition.hall.code
        address = self.address
        try:   # no hash to compute; through the gate all the same, for its limit per address
            result, resume = await self.context.login_gate.check(
                address, lambda: county.admit(engine, token, hall, time.time()))
        except LoginRefused as refused:
            raise ProtocolError("rate_limited", str(refused)) from None
        if not result.ok:
            raise ProtocolError("unauthorized", result.message)
        self.name = f"{result.name}（县级）"
        self.account = result.account
        self.from_county = self.context.service.definition.hall.level != "county"
        self.credential = result.stamp
        return resume

    def _hello_citizen(self, p: dict[str, Any]) -> None:
        try:
            number = ticket_for(self.context.secret, p.get("ticket"), self.state.day,
                                self.state.tickets)
        except TokenExpired:
            raise ProtocolError("unauthorized", "这张小票已过期（只在取号当天有效）") from None
        if number is None:
            raise ProtocolError("unauthorized", "二维码无效，请扫描小票上的二维码")
        self.ticket = number
        self.name = number

    @property
    def address(self) -> str:
        return self.connection.remote_address[0] if self.connection.remote_address else ""

    def _hello_mobile(self, p: dict[str, Any]) -> None:
        """The mobile 取号 page (`/take`): today's hall code. Wrong codes are limited per
        address; a right one costs nothing (the phones behind one hall Wi-Fi share an address),
        but while the address's wrong tries are used up every code is refused, right or
        wrong: a guesser must learn nothing from the answer."""
        bucket = self.context.mobile_codes.bucket(self.address)
        if not bucket.ready:
            raise ProtocolError("rate_limited", "尝试次数过多，请 1 分钟后再试")
        if not take_page.code_is_right(self.context.secret, self.state.day, p.get("code", "")):
            bucket.take()
            raise ProtocolError("unauthorized", take_page.BAD_CODE)
        self.code_day = self.state.day
        self.name = ROLE_NAMES["mobile"]

    def _menu(self) -> dict[str, Any]:
        return self.context.menus.get(self.state, self.context.hall_view,
                                      self.context.writer.clock())

    def _still_today(self) -> None:
        """A mobile page's code is of one hall day: after the day starts, a new code."""
        if self.code_day != self.state.day:
            raise ProtocolError("unauthorized", take_page.BAD_CODE)

    async def _op_take_menu(self, request: Request) -> dict[str, Any]:
        self._still_today()
        return {"menu": self._menu()}

    async def _take_mobile(self, request: Request) -> Outcome:
        """A ticket for the mobile page: a phone number, checked, kept only as its keyed hash;
        tickets limited per address. The phone's ticket of this category today, if any, is
        refused with its number only (`HallState`): never its page's link, which a stranger
        who knows the number could open."""
        p = request.params
        try:
            phone = take_page.checked_phone(p.get("phone", ""))
        except ValueError as error:
            raise ProtocolError("bad_request", str(error)) from None
        self._still_today()
        if not self.context.mobile_takes.take(self.address):
            raise ProtocolError("rate_limited", "取号太频繁，请稍候再试")
        salt = await asyncio.to_thread(self.context.service.phone_salt, self.state.day)
        self._still_today()   # the day may have started anew meanwhile
        key = take_page.phone_key(salt, phone)
        return await self._submit(ops.command_for(request.op, {**p, "phone_key": key}, self,
                                                  self.state.clerk_window.get))

    # --- appointments (预约): the /book page and the kiosk's check-in -------------------------

    def _bookings_for(self, p: dict[str, Any]) -> None:
        """A booking page's act that may be abused (a booking, a cancellation): limited per
        address."""
        if not self.context.bookings.take(self.address):
            raise ProtocolError("rate_limited", "操作太频繁，请稍后再试")

    async def _booking_salts(self) -> tuple[str, tuple[str, ...]]:
        """The salt new booking keys are made with and every one kept (`HallService.booking_salts`)."""
        return await asyncio.to_thread(self.context.service.booking_salts, self.state.day)

    async def _op_booking_menu(self, request: Request) -> dict[str, Any]:
        return {"menu": booking_menu(self.state, self.context.writer.clock())}

    async def _op_booking_slots(self, request: Request) -> dict[str, Any]:
        p = request.params
        return booking_slots(self.state, p["category"], p["day"], self.context.writer.clock())

    async def _op_book(self, request: Request) -> dict[str, Any]:
        """A slot booked: the phone and the ID's last four digits checked and kept only as keyed
        hashes; the code drawn here, at random; its QR (SVG, the code's 8 digits as `check_in`
        takes them) made here too, so that the page needs no QR library and keeps it offline."""
        p = request.params
        try:
            phone = take_page.checked_phone(p["phone"])
            digits = bookings.checked_id_digits(p["id_digits"])
        except ValueError as error:
            raise ProtocolError("bad_request", str(error)) from None
        self._bookings_for(p)
        booked_today, day = self.context.booked_today, self.state.day
        if not booked_today.take(self.address, day):   # counted now: many at once pass no more
            raise ProtocolError("rate_limited", f"此网络今天已预约 {booked_today.cap} 个，"
                                                "请明天再试或到大厅现场取号")
        try:
            salt, kept = await self._booking_salts()
            code = bookings.new_code()
            while code in self.state.bookings:   # drawn again, never the citizen's trouble
                code = bookings.new_code()
            outcome = await self._submit(ops.command_for(request.op, {
                **p, "code": code, "phone_key": bookings.phone_key(salt, phone),
                "phone_keys": [bookings.phone_key(k, phone) for k in kept],
                "id_key": bookings.id_key(salt, code, digits)}, self, self.state.clerk_window.get))
        except BaseException:   # not booked (refused, or the writer failed): not counted
            booked_today.give_back(self.address, day)
            raise
        made = next(e.data for e in outcome.events if isinstance(e.data, ev.BookingMade))
        return {"booking": booked_view(self.state, self.state.bookings[made.booking]),
                "qr": qr_svg(made.booking)}   # what the kiosk's check-in scans

    async def _op_cancel_booking(self, request: Request) -> dict[str, Any]:
        """A booking cancelled with its code and the phone number or the ID's last four digits."""
        p = request.params
        try:
            code = bookings.checked_code(p["code"])
            phone = take_page.checked_phone(p["phone"]) if p.get("phone") else None
            digits = bookings.checked_id_digits(p["id_digits"]) if p.get("id_digits") else None
        except ValueError as error:
            raise ProtocolError("bad_request", str(error)) from None
        if phone is None and digits is None:
            raise ProtocolError("bad_request", "请填写预约时的手机号或身份证后四位")
        self._bookings_for(p)
        # one proof of a code checked at a time, each after the ones before were counted: many
        # at once are checked no more than one after another would be
        async with self.context.proof_turns.setdefault(code, asyncio.Lock()):
            tries, day = self.context.wrong_proofs, self.state.day
            if tries.get((code, day), 0) >= WRONG_PROOFS:
                raise ProtocolError("forbidden", f"该预约码今天已核对错误 {WRONG_PROOFS} 次，今天不能在网上取消")
            _, kept = await self._booking_salts()   # the booking's keys are under one of them
            proofs = [*(bookings.phone_key(salt, phone) for salt in kept if phone is not None),
                      *(bookings.id_key(salt, code, digits) for salt in kept if digits is not None)]
            try:
                await self._submit(ops.command_for(request.op, {"code": code, "proofs": proofs},
                                                   self, self.state.clerk_window.get))
            except DomainError as error:
                if error.code == "not_found":   # a wrong proof: counted against the code, today
                    for old in [k for k in tries if k[1] != day]:
                        del tries[old]
                    tries[(code, day)] = tries.get((code, day), 0) + 1
                raise
        return {"booking": booked_view(self.state, self.state.bookings[code])}

    async def _op_check_in(self, request: Request) -> dict[str, Any]:
        """A booking's code at the kiosk: on time, a ticket marked 预约; late, a walk-in ticket,
        said plainly; too early, refused (`closed`) with when to come back (`come_back_at`)."""
        if not self.bucket.take():
            raise ProtocolError("rate_limited", "操作太频繁，请稍候再试")
        try:
            code = bookings.checked_code(request.params["code"])
        except ValueError as error:
            raise ProtocolError("bad_request", str(error)) from None
        outcome = await self._submit(ops.command_for(request.op, {"code": code}, self,
                                                     self.state.clerk_window.get))
        checked = next(e.data for e in outcome.events if isinstance(e.data, ev.BookingCheckedIn))
        if checked.refused is not None:   # came late, recorded; no walk-in ticket either
            raise ProtocolError("closed", f"您已超过预约签到时间，预约已失效；现场取号也无法办理："
                                          f"{checked.refused}")
        ticket = self._ticket_reply(outcome)
        if checked.late:
            text = (f"您已超过预约签到时间，预约已失效；已按现场取号为您取号 {ticket['number']}，"
                    "请按顺序等候叫号")
        else:
            text = f"签到成功，您的预约号是 {ticket['number']}，请留意叫号"
        return {"outcome": "late" if checked.late else "on_time", "text": text, "ticket": ticket}

    async def _op_lift_booking_block(self, request: Request) -> dict[str, Any]:
        """A manager lifts a phone's no-show block: the number typed, matched under every
        booking salt kept; the reply says so in words."""
        try:
            phone = take_page.checked_phone(request.params["phone"])
        except ValueError as error:
            raise ProtocolError("bad_request", str(error)) from None
        _, kept = await self._booking_salts()
        outcome = await self._submit(ops.command_for(request.op, {
            "phone_keys": [bookings.phone_key(salt, phone) for salt in kept]}, self,
            self.state.clerk_window.get))
        (lifted,) = [e.data for e in outcome.events if isinstance(e.data, ev.BookingBlockLifted)]
        until = bookings.day_label(date.fromisoformat(lifted.until))
        return {"text": f"已解除手机号 {phone[:3]}****{phone[-4:]} 的预约限制（原限制到{until}），"
                        "该手机号现在可以预约"}

    # --- kiosk ------------------------------------------------------------------------------------

    async def _op_catalogue(self, request: Request) -> dict[str, Any]:
        version = self.context.service.catalogue_version
        if request.params.get("since_version") == version:
            return {"version": version, "unchanged": True}
        return views.catalogue_view(self.state.definition, version, await self._issued_lately())

    async def _issued_lately(self) -> dict[str, int]:
        """Tickets per item over the last `views.POPULAR_DAYS` closed service days: read once a
        day (kept on the service), on a thread, as reports are: the day facts of days not yet
        folded may take a moment, and the hall's loop must not wait for them."""
        service = self.context.service
        day = self.state.day
        held = service.issued_lately
        if held is not None and held[0] == day:
            return held[1]
        first, last = day - timedelta(days=views.POPULAR_DAYS), day - timedelta(days=1)
        try:
            issued = await asyncio.to_thread(reports.issued_by_service, service.engine,
                                             service.hall_id, first, last)
        except Exception:   # the catalogue matters more than its 常办事项: asked again next time
            log.exception("the tickets per item of %s to %s were not read", first, last)
            return {}
        service.issued_lately = (day, issued)
        return issued

    async def _op_take_ticket(self, request: Request) -> dict[str, Any]:
        if self.role != "mobile":
            return await self._op_submitted(request)
        self._take_allowed()
        return self._ticket_taken(await self._take_mobile(request))

    def _take_allowed(self) -> None:
        if not self.bucket.take():
            raise ProtocolError("rate_limited", "取号太频繁，请稍候再试")

    def _ticket_taken(self, outcome: Outcome) -> dict[str, Any]:
        return {"ticket": self._ticket_reply(outcome)}

    async def _op_take_batch(self, request: Request) -> dict[str, Any]:
        """A 代办 batch ticket (docs/points.md, 送件): the cases of the scanned 交接单, or every
        case of the typed point still at 已受理, checked against the town's ledger (known here,
        still 已受理), queued in the category serving most of them; the writer refuses a case
        already in another open batch ticket (`HallState._check_batch`)."""
        self._take_allowed()
        code, service = request.params["code"].strip(), self.context.service
        definition = self.state.definition
        named: tuple[str, ...] | None = None
        try:
            if code.upper().startswith(batch.PREFIX):
                scanned = batch.decode(code)
                if scanned.hall != definition.hall.code:
                    raise batch.BadBatch("这张交接单不是交给本中心的，请到交接单上的乡镇便民服务中心送件")
                point, named = scanned.point, scanned.cases
            else:
                point = code.upper()
        except batch.BadBatch as bad:
            raise ProtocolError("bad_request", str(bad)) from None

        def read() -> tuple[list[point_logs.Point], dict[str, ledger.Case]]:
            with service.engine.connect() as conn:
                return (point_logs.enrolments(conn, service.hall_id, point),
                        point_logs.fold(conn, service.hall_id, point))

        enrolled, held = await asyncio.to_thread(read)
        if not enrolled or enrolled[0].revoked_at is not None:
            raise DomainError("not_found", f"没有编号为 {point} 的代办点，请核对代办点编号")
        try:
            cases = batch.chosen(held, point, named, self.state.open_batches(point))
            category = batch.category_for(
                cases, {i.code: i.category for i in definition.items},
                [c.prefix for c in definition.categories])
        except batch.BadBatch as bad:
            raise DomainError("conflict", str(bad)) from None
        outcome = await self._submit(ops.command_for(request.op, {
            "category": category, "point": point, "cases": [c.case for c in cases]},
            self, self.state.clerk_window.get))
        return {"ticket": {**self._ticket_reply(outcome), "point_name": enrolled[0].name},
                "cases": [{"case": c.case, "item_name": c.item_name} for c in cases]}

    def _ticket_reply(self, outcome: Outcome) -> dict[str, Any]:
        """The ticket an outcome issued, as the kiosk prints it and the mobile page shows it."""
        issued = next(e for e in outcome.events if e.kind == "ticket_issued")
        number = issued.data.number
        definition = self.state.definition
        token = make_token(self.context.secret, issued.day, number)
        public = self.public_url
        guide = guide_path(issued.data.service, issued.data.catalogue_version)
        return {
            "number": number, "category": issued.data.category,
            "category_name": definition.category_by_prefix[issued.data.category].name,
            "service": issued.data.service, "kind": issued.data.kind,
            "priority": issued.data.priority, "issued_at": views.iso(issued.at),
            "ahead": issued.data.ahead,
            "windows": self.context.ticket_windows(definition, issued.data.category),
            "token": token, "url": f"{public}/t/{token}",
            "short_code": short_code(self.context.secret, issued.day, number),
            "lookup_url": f"{public}/q",
            "catalogue_version": issued.data.catalogue_version,
            "guide_url": f"{public}/{guide}" if guide else None,
            "booked": issued.data.booking is not None, "slot_at": issued.data.slot_at,
            "point": issued.data.point, "cases": list(issued.data.cases)}

    async def _op_device_status(self, request: Request) -> dict[str, Any]:
        """A printer's state is a command (logged, warned of); a board's voice backlog is the
        server's own knowledge, like presence: kept per device and sent to the managers."""
        if "printer" not in request.params and "voice" not in request.params:
            raise ProtocolError("bad_request", NO_DEVICE_STATUS)
        if "voice" in request.params:
            if self.role != "display":
                raise ProtocolError("forbidden", VOICE_FROM_BOARDS)
            writer = self.context.writer
            self.context.hub.report_voice(self, views.voice_view(
                request.params["voice"], self.context.hall_view["voice_wait_seconds"]),
                writer.committed_seq, views.iso(writer.clock()))
        if "printer" in request.params:
            await self._submit(self._command(request))
        return {}

    # --- clerk ------------------------------------------------------------------------------------

    async def _clerk(self, request: Request) -> dict[str, Any]:
        outcome = await self._submit(self._command(request))
        called = [e for e in outcome.events if e.kind == "ticket_called"]
        result: dict[str, Any] = {}
        if called:
            result["ticket"] = views.ticket_detail(self.state, self.state.tickets[called[-1].data.number])
        return result

    async def _op_sign_in(self, request: Request) -> dict[str, Any]:
        await self._submit(self._command(request))
        assert self.badge is not None   # a clerk, after its hello
        return {"clerk": views.clerk_view(self.state, self.badge)}

    async def _op_sign_out(self, request: Request) -> dict[str, Any]:
        return await self._clerk(request)

    async def _op_call_next(self, request: Request) -> dict[str, Any]:
        return {"ticket": None, **await self._clerk(request)}

    async def _op_recall(self, request: Request) -> dict[str, Any]:
        return await self._clerk(request)

    async def _op_no_show(self, request: Request) -> dict[str, Any]:
        return await self._clerk(request)

    async def _op_hold(self, request: Request) -> dict[str, Any]:
        return await self._clerk(request)

    async def _op_resume_held(self, request: Request) -> dict[str, Any]:
        return await self._clerk(request)

    async def _op_call_number(self, request: Request) -> dict[str, Any]:
        return await self._clerk(request)

    async def _op_transfer(self, request: Request) -> dict[str, Any]:
        return await self._clerk(request)

    async def _op_finish(self, request: Request) -> dict[str, Any]:
        return await self._clerk(request)

    async def _op_pause(self, request: Request) -> dict[str, Any]:
        return await self._clerk(request)

    async def _op_resume(self, request: Request) -> dict[str, Any]:
        return await self._clerk(request)

    # --- manager ------------------------------------------------------------------------------------

    async def _op_stats(self, request: Request) -> dict[str, Any]:
        p = request.params
        definition = self.state.definition
        service = self.context.service
        try:
            if p["view"] in ("ranking", "errands"):
                first, last = reports.month_span(p.get("month") or f"{self.state.day:%Y-%m}")
            else:
                first, last = day_param(p, "from"), day_param(p, "to")

            today = self.state.day
            # The span's cases as they stand now, copied here: the writer changes the live ones.
            book = (reports.CaseBook.of(self.state, first, last)
                    if p["view"] in ("cases", "bookings") else None)

            def compute() -> dict[str, Any]:   # a thread: a long span must not stop the hall
                if p["view"] == "errands":   # the 代办月报表 (docs/kpis.md)
                    by = p.get("by", "point")
                    rows = reports.errand_rows(service.engine, service.hall_id, definition,
                                               first, last, by, today)
                    headers, cells = reports.errand_table(rows, by)
                    return {"month": f"{first:%Y-%m}", "by": by, "headers": headers,
                            "cells": cells}
                if book is not None and p["view"] == "bookings":
                    by = p.get("by", "hall")
                    tallied = reports.load_tallied(service.engine, service.hall_id, first, last,
                                                   by)
                    span = reports.with_bookings(book, service.engine, service.hall_id,
                                                 definition, first, last).bookings
                    return {"rows": kpis.booking_rows(tallied, span, definition, by,
                                                      p.get("period", "all")),
                            "metrics": [{"key": k, "name": n, "unit": u}
                                        for k, n, u in BOOKING_METRICS]}
                if book is not None:
                    # the ratings from the closed days' stored tallies, as the KPI rows'
                    by = p.get("by", "hall")
                    tallied = reports.load_tallied(service.engine, service.hall_id, first, last,
                                                   kpis.case_tally_kind(by))
                    case_rows = kpis.case_rows(tallied.tally, book.cases, definition, by,
                                               p.get("period", "all"), book.today)
                    scores = (s for g in tallied.tally.values() for s in g.scores)
                    return {"row": kpis.case_kpis(scores, book.cases, book.today),
                            "rows": case_rows,
                            "metrics": [{"key": k, "name": n, "unit": u}
                                        for k, n, u in CASE_METRICS],
                            "complaints": kpis.complaint_kpis(book.complaints, book.today),
                            "complaint_metrics": [{"key": k, "name": n, "unit": u}
                                                  for k, n, u in COMPLAINT_METRICS]}
                if p["view"] == "kpis":
                    by = p.get("by", "hall")
                    tallied = reports.load_tallied(service.engine, service.hall_id, first, last,
                                                   by)
                    return {"rows": kpis.rows(tallied, definition, by, p.get("period", "month")),
                            "metrics": [{"key": k, "name": n, "unit": u} for k, n, u in METRICS]}
                facts = reports.load_facts(service.engine, service.hall_id, definition, first,
                                           last, with_ratings=False)
                if p["view"] == "hourly":
                    return {"hours": kpis.hourly(facts, definition)}
                return {"month": f"{first:%Y-%m}", "formula": kpis.RANKING_FORMULA,
                        "windows": kpis.ranking(facts, definition, "window"),
                        "clerks": kpis.ranking(facts, definition, "clerk")}

            return await asyncio.to_thread(compute)
        except ValueError as error:
            raise ProtocolError("bad_request", str(error)) from None

    async def _op_export(self, request: Request) -> dict[str, Any]:
        p = request.params
        try:
            day_param(p, "from"), day_param(p, "to")
        except ValueError as error:
            raise ProtocolError("bad_request", str(error)) from None
        if p["format"] == "csv" and p["what"] in ("all", reports.LEDGER):
            raise ProtocolError("bad_request", "CSV 每次只能导出一张表，请选择一张表或改用 XLSX")
        if p["what"] == reports.ERRANDS and p.get("by", "point") not in POINT_DIMENSIONS:
            raise ProtocolError("bad_request", f"代办月报表可按{'、'.join(POINT_DIMENSION_NAMES.values())}统计")
        if p["format"] == "print" and p["what"] not in (reports.LEDGER, reports.ERRANDS):
            raise ProtocolError("bad_request",
                                "只有好差评台账和代办月报表可以打印，其他报表请导出 Excel 或 CSV")
        token = make_link(self.context.secret, {k: p[k] for k in (
            "what", "format", "from", "to", "by", "period") if k in p}, time.time())
        return {"url": f"{self.context.base_path(self.connection)}/export/{token}"}

    async def _op_take_poster(self, request: Request) -> dict[str, Any]:
        """A link to the entrance's poster of the mobile 取号 page (queue_server.take_page)."""
        take_url = f"{self.public_url}/take"
        token = take_page.poster_link(self.context.secret, take_url, time.time())
        return {"url": f"{self.context.base_path(self.connection)}/poster/{token}"}

    # --- the complaints register (投诉/建议) ---------------------------------------------------

    async def _op_complain(self, request: Request) -> dict[str, Any]:
        """A citizen's complaint (its ticket's page, or the hall's QR page `/complain`): limited
        per address; the number and the short code for the status page (`/ts`) in reply."""
        if self.role == "mobile":
            self._still_today()
        if not self.context.complaints.take(self.address):
            raise ProtocolError("rate_limited", "提交太频繁，请稍后再试")
        return await self._register(request)

    async def _op_register_complaint(self, request: Request) -> dict[str, Any]:
        """A phone call or a 12345 transfer typed in by a manager."""
        return await self._register(request)

    async def _register(self, request: Request) -> dict[str, Any]:
        """The complaint logged (nothing personal in the log), then its name and phone kept
        beside the log when given and the hall keeps them (queue_server.complaint_contacts)."""
        p = request.params
        try:
            name, phone = complaint_contacts.checked(p.get("name", ""), p.get("phone", ""))
        except ValueError as error:
            raise ProtocolError("bad_request", str(error)) from None
        outcome = await self._submit(ops.command_for(
            request.op, {**p, "name": name, "phone": phone}, self, self.state.clerk_window.get))
        registered = next(e.data for e in outcome.events if isinstance(e.data, ev.ComplaintRegistered))
        number = registered.complaint
        kept = registered.contact
        if kept:
            service = self.context.service

            def keep() -> None:
                with service.engine.begin() as conn:
                    complaint_contacts.keep(conn, service.hall_id, number, name, phone)

            try:
                await asyncio.to_thread(keep)
            except Exception:   # the complaint is logged: it stands, without its contact
                log.exception("the contact of complaint %s was not stored", number)
                kept = False
        public = self.public_url
        return {"complaint": number, "code": complaint_code(self.context.secret, number),
                "deadline": registered.deadline, "status_url": f"{public}/ts",
                "contact_kept": kept}

    async def _op_point_cases(self, request: Request) -> dict[str, Any]:
        """A village point's cases as the town holds them (both logs folded, docs/points.md)."""
        service, point = self.context.service, request.params["point"]

        def read() -> tuple[str, dict[str, ledger.Case]]:
            with service.engine.connect() as conn:
                enrolled = point_logs.enrolments(conn, service.hall_id, point)
                return (enrolled[0].name if enrolled else "",
                        point_logs.fold(conn, service.hall_id, point))

        name, cases = await asyncio.to_thread(read)
        return {"point": point, "point_name": name,
                "cases": [views.point_case_view(c) for c in cases.values()]}

    async def _op_point_inbox(self, request: Request) -> dict[str, Any]:
        """The 代办 inbox of a window (docs/clerk-console.md): the cases of the hall's points
        whose item is of a category the window serves; open ones first (oldest first), then the
        others (newest first, at most INBOX_CLOSED)."""
        definition = self.state.definition
        window = request.params.get("window", self.state.clerk_window.get(self.badge)
                                    if self.badge else None)
        if window is None and self.role == "clerk":
            raise DomainError("conflict", "请先在窗口签到，再查看代办件")
        items: set[str] | None = None
        if window is not None:
            if window not in definition.window_by_number:
                raise ProtocolError("bad_request", f"没有 {window} 号窗口")
            items = views.items_served(definition, window)
        service, hall, today = self.context.service, definition.hall, self.state.day

        def read() -> list[tuple[point_logs.PointSync, ledger.Case]]:
            with service.engine.connect() as conn:
                return point_logs.inbox(conn, service.hall_id, items)

        cases = [views.point_inbox_view(case, point.code, point.name, hall, hall.handover_days,
                                        today) for point, case in await asyncio.to_thread(read)]
        waiting = sorted((c for c in cases if c["open"]), key=lambda c: c["recorded_at"])
        done = sorted((c for c in cases if not c["open"]), key=lambda c: c["recorded_at"],
                      reverse=True)
        return {"window": window, "cases": waiting + done[:INBOX_CLOSED]}

    async def _op_points(self, request: Request) -> dict[str, Any]:
        """The hall's village points with their sync state (the manager's 代办点 panel)."""
        service = self.context.service

        def read() -> list[point_logs.PointSync]:
            with service.engine.connect() as conn:
                return point_logs.list_points(conn, service.hall_id)

        return {"points": [views.point_sync_view(
            p.code, p.name, p.installed, p.last_contact, p.up_last, p.down_pending,
            p.clock_offset, self.state.definition.hall) for p in await asyncio.to_thread(read)]}

    async def _op_point_answer(self, request: Request) -> dict[str, Any]:
        """The town's entry on a point's case (received, accepted, asked for more, finished),
        signed by this person, checked by the written rules; it goes down at the point's sync."""
        p = request.params
        kind = ledger.BY_TAG.get(p["kind"])
        if kind is None or kind.side != "down":
            raise ProtocolError("bad_request", "kind 应为乡镇一侧的台账记录类型之一：" + "、".join(
                tag for tag, k in ledger.BY_TAG.items() if k.side == "down"))
        window = p.get("window", self.state.clerk_window.get(self.badge) if self.badge else None)
        given = {"window": window, "note": ""} | {k: v for k, v in p.items()
                                                  if k in ("what", "result", "note")}
        now = self.context.writer.clock()
        fields = {f.name: given[f.name] for f in dataclasses.fields(kind) if f.name in given}
        try:   # the entry's fields checked as any entry's are
            record = ledger.entry_from_wire({"seq": 1, "seen": 0, "at": now.isoformat(),
                                             "kind": kind.tag, "case": p["case"],
                                             "clerk": self.signature, **fields}).record
        except ledger.BadEntry as bad:
            raise ProtocolError("bad_request", str(bad)) from None
        service = self.context.service
        try:
            entry = await asyncio.to_thread(point_logs.write_town_entry, service.engine,
                                            service.definition.hall.code, p["point"], record, now)
        except point_logs.PointError as refused:
            raise DomainError("conflict", str(refused)) from None

        def items() -> set[str]:   # the answered case's item: whose windows it concerns
            with service.engine.connect() as conn:
                return point_logs.items_of(conn, service.hall_id, p["point"], {record.case})

        self.context.hub.point_cases(self.state, p["point"], await asyncio.to_thread(items),
                                     views.iso(now))
        return {"entry": entry.wire()}

    async def _op_find_complaints(self, request: Request) -> dict[str, Any]:
        """The register, open and closed: by number, or a month's (this one by default), of a
        status (`month`, `number`, `status`, all optional): the rows of its sheet
        (`reports.register_rows`) and the month searched (None by number)."""
        p = request.params
        month, number = p.get("month") or f"{self.state.day:%Y-%m}", p.get("number", "")
        try:
            book = reports.find_complaints(self.state, month, number, p.get("status"))
        except ValueError as error:
            raise ProtocolError("bad_request", str(error)) from None
        service = self.context.service
        definition = self.state.definition

        def rows() -> reports.Table:
            return reports.register_rows(definition, reports.with_contacts(
                book, service.engine, service.hall_id, definition.hall))

        headers, found = await asyncio.to_thread(rows)
        return {"month": None if number.strip() else month, "headers": headers, "rows": found}

    async def _op_complaint_contact(self, request: Request) -> dict[str, Any]:
        """A complaint's name and phone: whole for the manager handling it, masked for any
        other; `kept` false when none were kept, `purged` when the period has passed, `saving`
        while the row is being written (just after the complaint's event: ask again)."""
        complaint = self.state.complaints.get(request.params["complaint"])
        if complaint is None:
            raise DomainError("not_found", f"没有编号为 {request.params['complaint']} 的投诉建议")
        if not complaint.contact:
            return {"kept": False}
        service = self.context.service

        def read() -> tuple[str, str] | None:
            with service.engine.connect() as conn:
                return complaint_contacts.read(conn, service.hall_id, complaint.number)

        found = await asyncio.to_thread(read)
        if found is None:
            purged = complaint_contacts.past_keeping(self.state.hall, complaint, self.state.day)
            return {"kept": True, "purged": purged, "saving": not purged}
        return {"kept": True, "purged": False,
                **complaint_contacts.shown(*found, whole=complaint.handler == self.signature)}


ONE_COMMAND = frozenset({
    "lost_ratings", "rate",                         # a pad's, a citizen's
    "set_notice", "ack_warning", "set_priority",    # a manager's
    # a 差评 case's acts: managers hear of it as a `case` event, its clerk's console is refreshed
    "handle_case", "rectify_case", "follow_up_case", "appeal_case", "decide_appeal",
    "withdraw_appeal",
    # a complaint's acts: managers hear of it as a `complaint` event
    "assign_complaint", "reply_complaint", "follow_up_complaint", "close_complaint",
})
"""The ops whose whole work is their command, with nothing to answer but that it was done."""

REFUSALS = (DomainError, ProtocolError, WriterFailed, SessionEnded)
"""What refuses a request: it gets an error reply (`Session._refusal`), nothing else."""


def _carried_out(outcome: Outcome) -> Outcome:
    """The outcome of a command the core carried out; its refusal raised."""
    if outcome.error is not None:
        raise outcome.error
    return outcome


def _nothing_more(session: Session, outcome: Outcome) -> dict[str, Any]:
    return {}


OPERATIONS: dict[str, Callable[[Session, Request], Awaitable[dict[str, Any]]]] = {
    "hello": Session._op_hello,
    "catalogue": Session._op_catalogue,
    "take_ticket": Session._op_take_ticket,
    "take_batch": Session._op_take_batch,
    "take_menu": Session._op_take_menu,
    "take_poster": Session._op_take_poster,
    "point_cases": Session._op_point_cases,
    "point_answer": Session._op_point_answer,
    "point_inbox": Session._op_point_inbox,
    "points": Session._op_points,
    "device_status": Session._op_device_status,
    "sign_in": Session._op_sign_in,
    "sign_out": Session._op_sign_out,
    "call_next": Session._op_call_next,
    "recall": Session._op_recall,
    "no_show": Session._op_no_show,
    "hold": Session._op_hold,
    "resume_held": Session._op_resume_held,
    "call_number": Session._op_call_number,
    "transfer": Session._op_transfer,
    "finish": Session._op_finish,
    "pause": Session._op_pause,
    "resume": Session._op_resume,
    "stats": Session._op_stats,
    "export": Session._op_export,
    "complain": Session._op_complain,
    "register_complaint": Session._op_register_complaint,
    **{op: Session._op_submitted for op in ONE_COMMAND},
    "complaint_contact": Session._op_complaint_contact,
    "find_complaints": Session._op_find_complaints,
    "booking_menu": Session._op_booking_menu,
    "booking_slots": Session._op_booking_slots,
    "book": Session._op_book,
    "cancel_booking": Session._op_cancel_booking,
    "check_in": Session._op_check_in,
    "lift_booking_block": Session._op_lift_booking_block,
}
"""What each op of the protocol (`hall.protocol.OPS`) does in a session; a test checks that
the two name the same ops."""


def day_param(params: dict[str, Any], name: str) -> date:
    try:
        return date.fromisoformat(params[name])
    except (KeyError, ValueError):
        raise ValueError(f"{name} 应为日期，如 2026-11-01") from None
