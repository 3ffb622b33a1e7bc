"""The reconnecting client every device uses to talk to the hall server.

`HallClient.run()` keeps one connection up for as long as the device runs: it connects to the
first server URL that answers (trying the list in turn, with backoff and jitter between
rounds; a server that does not lead the device's hall names the one that does, which is tried
at once), says hello (asking for `bundle`: the events of one fan-out come as one frame, a JSON
array, each still handed over on its own), hands the snapshot to `on_snapshot`, then feeds
events to `on_event` — dropping any whose `seq` is not newer than the snapshot's, so a
reconnect never replays the past (a message without `seq`, such as `catalogue`, is not of the
log and always passes).
`request()` sends an op and waits for its reply, with a timeout. While the server is
gone, `connected` is False, `on_status` says why, and requests fail at once with
`NotConnected` so the device can say so instead of hanging.

    client = HallClient(["ws://127.0.0.1:8765/ws"], {"role": "display", "token": TOKEN},
                        on_snapshot=show_all, on_event=apply)
    asyncio.create_task(client.run())
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import random
import ssl as ssl_module
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from hall.protocol import CLOSE_MOVED, CLOSE_REVOKED
from hall.vocabulary import ROLE_NAMES

Handler = Callable[[dict[str, Any]], Awaitable[None] | None]
MAX_HOPS = 3    # leaders followed in a row without a pause
REFUSED = "服务器拒绝连接"   # how the status begins when the server turns the device away
log = logging.getLogger("hall.client")
"""One line at INFO each time the device connects ("取号机 kiosk-1 已连接 ws://…"); a lost or
refused connection at WARNING once, not again while the retries fail the same way."""


def refusal(status: str) -> str | None:
    """The whole status when it says the server turned the device away (a wrong, revoked or
    another device's token: waiting will not help, someone must act), else None. Every device
    tells a refusal from a lost connection by this one rule."""
    return status if status.startswith(REFUSED) else None


class RequestFailed(Exception):
    """The server answered `ok: false`; `code` and `message` are the protocol's, `detail` the
    error's other fields (a check-in too early: `come_back_at`)."""

    def __init__(self, code: str, message: str, detail: dict[str, Any] | None = None):
        super().__init__(message)
        self.code, self.message = code, message
        self.detail = detail or {}


class Moved(RequestFailed):
    """The server does not lead this hall: `leader` is the address of the one that does (None
    while no server leads it, for a moment during a takeover)."""

    def __init__(self, code: str, message: str, leader: str | None):
        super().__init__(code, message)
        self.leader = leader


class NotConnected(RequestFailed):
    def __init__(self, message: str = "与服务器的连接已断开，正在重新连接"):
        super().__init__("not_connected", message)


class HallClient:
    def __init__(self, urls: list[str], hello: dict[str, Any], *,
                 on_snapshot: Handler | None = None, on_event: Handler | None = None,
                 on_status: Callable[[bool, str], None] | None = None,
                 request_timeout: float = 5.0, first_delay: float = 0.25,
                 max_delay: float = 5.0, ssl: ssl_module.SSLContext | None = None):
        if not urls:
            raise ValueError("at least one server URL is needed")
        self.urls = list(urls)
        self.hello_params = dict(hello)
        self.on_snapshot, self.on_event, self.on_status = on_snapshot, on_event, on_status
        self.request_timeout = request_timeout
        self.first_delay, self.max_delay = first_delay, max_delay
        self.ssl = ssl
        self.connected = False
        self.url: str | None = None
        self.hello_reply: dict[str, Any] = {}
        self.snapshot_seq = 0
        self.last_seq = 0
        self._connection: ClientConnection | None = None
        self._pending: dict[int, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self._stopping = False
        self._stopped = asyncio.Event()   # set by `stop()`: ends a wait before the next try
        self._greeted = False           # this round's hello was answered
        self._logged = ""               # the last status logged, so retries are logged once

    # --- the connection's life ----------------------------------------------------------------

    async def run(self) -> None:
        """Stay connected until `stop()`; never returns on a lost server, retries instead.
        A server that does not lead the hall names the one that does (`Moved`): that one is
        tried at once, a few times in a row at most (two servers that disagree for a moment
        must not make a device bounce between them without a pause)."""
        delay = self.first_delay
        listed = itertools.cycle(self.urls)
        leader, hops = None, 0
        while not self._stopping:
            url, leader = leader or next(listed), None
            self._greeted = False
            try:
                await self._session(url)
            except Moved as moved:
                self._status(False, moved.message)
                if moved.leader is not None and hops < MAX_HOPS:
                    leader, hops = moved.leader, hops + 1
                    continue
            except RequestFailed as error:      # hello refused: a token or PIN problem
                self._status(False, f"{REFUSED}：{error.message}")
            except ConnectionClosed as error:
                if error.rcvd is not None and error.rcvd.code == CLOSE_MOVED:
                    self._status(False, f"{error.rcvd.reason}")
                    delay = self.first_delay    # served elsewhere now: look again soon
                elif error.rcvd is not None and error.rcvd.code == CLOSE_REVOKED:
                    # The token was revoked: the same one will not do before someone acts.
                    self._status(False, f"{REFUSED}：{error.rcvd.reason}，请联系管理员")
                    self._greeted, delay = False, self.max_delay
                else:   # a lost network, a restart, or closed for reading too slowly
                    self._status(False, f"无法连接服务器（{type(error).__name__}），正在重试")
            except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as error:
                self._status(False, f"无法连接服务器（{type(error).__name__}），正在重试")
            if self._stopping:
                return
            hops = 0
            if self._greeted:
                delay = self.first_delay        # it worked for a while: start afresh
            with contextlib.suppress(TimeoutError):   # a stop ends the wait at once
                await asyncio.wait_for(self._stopped.wait(), random.uniform(delay / 2, delay))
            delay = min(self.max_delay, delay * 2)

    async def _session(self, url: str) -> None:
        async with connect(url, ssl=self.ssl if url.startswith("wss:") else None,
                           open_timeout=self.request_timeout, max_size=None) as connection:
            self._connection, self.url = connection, url
            reader = asyncio.create_task(self._read(connection))
            try:
                reply = await self._hello(connection)
                self.hello_reply = reply
                self.snapshot_seq = self.last_seq = reply.get("seq", 0)
                self.connected = self._greeted = True
                self._status(True, "已连接")
                log.info("%s 已连接 %s", self.who, url)
                self._logged = ""
                await _call(self.on_snapshot, reply)
                await reader
            finally:
                self.connected = False
                self._connection = None
                reader.cancel()
                with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                    await reader
                self._fail_pending()

    async def _read(self, connection: ClientConnection) -> None:
        async for frame in connection:
            message = json.loads(frame)
            # the hello asked for `bundle`: a fan-out's events may come as one array, in order
            for one in message if isinstance(message, list) else (message,):
                if not await self._take(connection, one):
                    break

    async def _take(self, connection: ClientConnection, message: dict[str, Any]) -> bool:
        """Take one reply or event; False once the connection is being closed for a new day."""
        if "re" in message:
            future = self._pending.pop(message["re"], None) if isinstance(
                message["re"], int) else None
            if future is not None and not future.done():
                future.set_result(message)
        elif "ev" in message and self.connected:
            if "seq" in message and message["seq"] <= self.snapshot_seq:
                return True             # already in the snapshot
            self.last_seq = max(self.last_seq, message.get("seq", 0))
            await _call(self.on_event, message)
            if message.get("ev") == "day_started":
                # A new service day: what this device holds is yesterday's. Closing makes
                # `run` connect again, and the new hello brings the new day's snapshot.
                await connection.close()
                return False
        return True

    @property
    def who(self) -> str:
        """The device as the log names it: "取号机 kiosk-1" (its name once a hello told it)."""
        role = self.hello_params.get("role", "")
        name = self.hello_reply.get("name") or ""
        return " ".join(part for part in (ROLE_NAMES.get(role, role), name) if part)

    def _status(self, connected: bool, text: str) -> None:
        if not connected and text != self._logged:
            log.warning("%s：%s", self.who, text)
            self._logged = text
        if self.on_status is not None:
            self.on_status(connected, text)

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(NotConnected())
        self._pending.clear()

    async def stop(self) -> None:
        self._stopping = True
        self._stopped.set()
        if self._connection is not None:
            await self._connection.close()

    # --- requests ---------------------------------------------------------------------------------

    async def request(self, op: str, **params: Any) -> dict[str, Any]:
        """Send an op and return the reply's result; raise RequestFailed or NotConnected."""
        if not self.connected or self._connection is None:
            raise NotConnected()
        return await self._ask(self._connection, op, params)

    async def _hello(self, connection: ClientConnection) -> dict[str, Any]:
        """Hello, asking for `bundle` (each fan-out's events in one frame, fewer frames to
        read); a server older than `bundle` refuses the parameter, and is greeted without it
        (its events come one a frame): a device updated before its server still connects."""
        try:
            return await self._ask(connection, "hello", {**self.hello_params, "bundle": True})
        except RequestFailed as refused:
            if refused.code != "bad_request" or "bundle" not in refused.message:
                raise
        return await self._ask(connection, "hello", self.hello_params)

    async def _ask(self, connection: ClientConnection, op: str,
                   params: dict[str, Any]) -> dict[str, Any]:
        request_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await connection.send(json.dumps({"id": request_id, "op": op, **params},
                                             ensure_ascii=False))
            reply = await asyncio.wait_for(future, self.request_timeout)
        except ConnectionClosed:
            raise NotConnected() from None
        finally:
            self._pending.pop(request_id, None)
        if not reply.get("ok"):
            error = reply.get("error") or {}
            code, message = error.get("code", "internal"), error.get("message", "")
            if code in ("moved", "unavailable"):
                raise Moved(code, message, error.get("leader"))
            raise RequestFailed(code, message, {k: v for k, v in error.items()
                                                if k not in ("code", "message")})
        return reply


async def _call(handler: Handler | None, message: dict[str, Any]) -> None:
    if handler is not None:
        result = handler(message)
        if asyncio.iscoroutine(result):
            await result
