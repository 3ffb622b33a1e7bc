"""The asyncio side of the window strips: `StripDriver` keeps every strip on one port showing
its window, knows which strips answer, and rides out a port that vanishes.

Design
- One driver per serial port; it owns a `SerialBus` and a single-thread executor named after
  the port. Every blocking serial call (open, one transaction, close) runs in that thread via
  `run_in_executor`, one at a time, so the event loop never blocks on the line and frames
  never interleave. All the driver's state lives on the event loop thread: `show()`,
  `update()`, `called()` and `set_brightness()` are plain methods to call from the loop
  (from another thread use `loop.call_soon_threadsafe`); they only record what is wanted
  and wake `run()`.
- What a strip should show is a pure function of its window view and last call
  (`content.compose`); the driver remembers what each strip acknowledged and sends a SHOW
  only when that differs (a new call for the same ticket counts as a difference, so a recall
  flashes again). A flash's remaining seconds are worked out when the frame is built.
- `run()` picks one job at a time, in this order: first contact with strips not heard from
  yet (PING), content for strips that answer, brightness, INFO once per strip, then the
  periodic PING of every strip (`poll_interval`; `offline_poll_interval` for strips that are
  off, whose unanswered pings would otherwise eat the bus). An INFO whose reply was lost (a
  noise hit, a late reply) is asked again after the strip's next answered PING, not at once,
  so a strip that ignores INFO costs one reply timeout a poll interval, never the bus. A
  strip is offline after `offline_after` pings in a row go unanswered, or at once when a SHOW
  gets no answer to any of its retries. When it answers again, or says it is FRESH (it lost
  power), it gets its content again.
- A port that fails or cannot be opened puts every strip offline with a Chinese message; the
  driver reopens it with exponential backoff (`reopen_backoff`) and, once open, re-sends
  everything, because the strips may have been powered off with it.
- Write-only codecs (no replies): no polling; content is re-sent every `refresh_interval`
  seconds, and a strip counts as online while its frames leave the port.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple

from hall.qlink import DeviceInfo

from .bus import NoReply, PortError, SerialBus
from .codec import Ack, Codec, Command, GetInfo, InfoReply, Nak, Ping, QLinkCodec, SetBrightness, Show, Unsupported
from .content import StripConfig, StripContent, compose

log = logging.getLogger(__name__)

UNKNOWN, ONLINE, OFFLINE = "unknown", "online", "offline"


class StripStatus(NamedTuple):
    online: bool
    message: str        # Chinese, for people


@dataclass
class _Strip:
    config: StripConfig
    view: dict[str, Any] | None = None
    call: dict[str, Any] | None = None
    call_at: float = 0.0
    call_id: int = 0
    wanted: tuple | None = None          # (lines, call_id) of what it should show
    sent: tuple | None = None            # … of what it acknowledged
    rejected: tuple | None = None        # … of what it refused (not sent again until it changes)
    dirty_at: float = 0.0
    state: str = UNKNOWN
    misses: int = 0
    next_poll: float = 0.0
    problem: str = "正在连接"
    warning: str = ""                    # what the content lost (missing glyphs, cut text)
    limit: str = ""                      # what the codec cannot do for this strip
    info: DeviceInfo | None = None
    info_asked: bool = False
    info_lost: bool = False              # that INFO went unanswered: ask again after the next answered PING
    brightness: int | None = None
    brightness_sent: int | None = None
    refreshed_at: float = 0.0

    @property
    def address(self) -> int:
        return self.config.address

    def content(self, now: float) -> StripContent | None:
        if self.view is None:
            return None
        return compose(self.view, self.config, self.call, now - self.call_at if self.call else 0.0)

    def recompute(self, now: float) -> None:
        content = self.content(now)
        wanted = None if content is None else (content.lines, self.call_id)
        if wanted != self.wanted:
            self.wanted = wanted
            self.dirty_at = now

    @property
    def dirty(self) -> bool:
        return self.wanted is not None and self.wanted != self.sent and self.wanted != self.rejected


@dataclass(frozen=True)
class _Job:
    kind: str                    # "poll", "show", "brightness", "info"
    strip: _Strip
    command: Command
    key: Any = None
    content: StripContent | None = None


class StripDriver:
    """Window strips on one serial port. See the module docstring for the design.

    `strips` are the strips on this port (distinct addresses). `codec` is QLink by default.
    `on_status(address, StripStatus)` is called on the loop whenever a strip's status changes.
    Times are seconds; defaults suit 9600 baud RS-485 (docs/led-protocol.md, Timing)."""

    def __init__(self, port: str, strips: Iterable[StripConfig], *, codec: Codec | None = None,
                 baudrate: int = 9600, reply_timeout: float = 0.2, retries: int = 3, gap: float = 0.01,
                 poll_interval: float = 1.0, offline_poll_interval: float = 5.0, offline_after: int = 3,
                 refresh_interval: float = 30.0, reopen_backoff: tuple[float, float] = (0.5, 8.0),
                 exclusive: bool = True, rs485: bool = False,
                 serial_factory: Callable[..., Any] | None = None,
                 on_status: Callable[[int, StripStatus], None] | None = None) -> None:
        codec = codec or QLinkCodec()
        self.port = port
        self.bus = SerialBus(port, codec, baudrate=baudrate, reply_timeout=reply_timeout, retries=retries,
                             gap=gap, exclusive=exclusive, rs485=rs485, serial_factory=serial_factory)
        self.poll_interval = poll_interval
        self.offline_poll_interval = offline_poll_interval
        self.offline_after = max(1, offline_after)
        self.refresh_interval = refresh_interval
        self.reopen_backoff = reopen_backoff
        self.on_status = on_status
        self._strips: dict[int, _Strip] = {}
        self._windows: dict[int, list[_Strip]] = {}
        for config in sorted(strips, key=lambda c: c.address):
            if config.address in self._strips:
                raise ValueError(f"two strips at address {config.address} on {port}")
            if config.charset not in codec.charsets:
                raise ValueError(f"{codec.name} strips cannot take {config.charset} text")
            strip = _Strip(config, brightness=config.brightness)
            self._strips[config.address] = strip
            self._windows.setdefault(config.window_number, []).append(strip)
        self._wake = asyncio.Event()
        self._stopping = False
        self._reported: dict[int, StripStatus] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._port_problem = ""

    # --- what the board app calls -----------------------------------------------------------

    def show(self, view: Mapping[str, Any]) -> None:
        """A `window` event's data (or a window of the snapshot's `live.windows`)."""
        strips = self._windows.get(view.get("window", -1), [])
        now = time.monotonic()
        for strip in strips:
            strip.view = dict(view)
            strip.recompute(now)
        self._wake.set()

    def update(self, views: Iterable[Mapping[str, Any]]) -> None:
        for view in views:
            self.show(view)

    def called(self, event: Mapping[str, Any]) -> None:
        """A `ticket_called` event: the window's strips show the ticket and flash. Call it
        before the `window` event of the same seq (the server sends them in that order)."""
        strips = self._windows.get(event.get("window", -1), [])
        if not event.get("number"):
            return
        now = time.monotonic()
        for strip in strips:
            view = dict(strip.view or {"window": strip.config.window_number, "status": "open"})
            view["current"] = event["number"]
            strip.view = view
            strip.call = dict(event)
            strip.call_at = now
            strip.call_id += 1
            strip.recompute(now)
        self._wake.set()

    def set_brightness(self, level: int, address: int | None = None) -> None:
        """0 (dimmest) … 15 (brightest), for one strip or all."""
        if not 0 <= level <= 15:
            raise ValueError(f"brightness {level} not in 0..15")
        for strip in self._strips.values():
            if address is None or strip.address == address:
                strip.brightness = level
        self._wake.set()

    def status(self) -> dict[int, StripStatus]:
        return {address: self._status(strip) for address, strip in self._strips.items()}

    def content(self, address: int) -> StripContent | None:
        """What the strip at `address` should show now."""
        return self._strips[address].content(time.monotonic())

    def info(self, address: int) -> DeviceInfo | None:
        """What the strip said about itself (QLink INFO), once it answered."""
        return self._strips[address].info

    def stop(self) -> None:
        """Make `run()` close the port and return."""
        self._stopping = True
        self._wake.set()

    # --- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Drive the port until `stop()` or cancellation; never raises for port trouble."""
        loop = asyncio.get_running_loop()
        name = os.path.basename(self.port) or "port"
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"led-{name}")
        backoff = self.reopen_backoff[0]
        try:
            while not self._stopping:
                if not self.bus.is_open:
                    try:
                        await self._io(self.bus.open)
                    except PortError as exc:
                        self._port_down(f"{exc}，{backoff:g} 秒后重试")
                        await self._pause(loop, backoff, wakeable=False)
                        backoff = min(backoff * 2, self.reopen_backoff[1])
                        continue
                    backoff = self.reopen_backoff[0]
                    self._port_up()
                self._wake.clear()
                now = time.monotonic()
                job = self._next_job(now)
                if job is None:
                    await self._pause(loop, self._next_due(now) - now, wakeable=True)
                    continue
                try:
                    await self._run_job(job)
                except PortError as exc:
                    self._port_down(f"{exc}，正在重新连接")
                except Exception as exc:       # a bug must not stop the strips for good
                    log.exception("LED port %s: %s failed", self.port, job.kind)
                    await self._io(self.bus.close)
                    self._port_down(f"显示屏驱动出错（{type(exc).__name__}），正在重新连接")
                    await self._pause(loop, self.reopen_backoff[1], wakeable=False)
                self._report()
        finally:
            with contextlib.suppress(Exception):
                await self._io(self.bus.close)
            self._executor.shutdown(wait=False)
            self._executor = None
            self._stopping = False             # a stop() before run() started is honoured once

    async def _io(self, fn: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    async def _pause(self, loop: asyncio.AbstractEventLoop, seconds: float, wakeable: bool) -> None:
        deadline = loop.time() + max(0.0, seconds)
        while not self._stopping:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), remaining)
            if wakeable:
                return
            self._wake.clear()

    # --- choosing the next job --------------------------------------------------------------

    def _next_job(self, now: float) -> _Job | None:
        strips = list(self._strips.values())
        answers = self.bus.codec.answers
        if answers:
            first = [s for s in strips if s.state == UNKNOWN and s.next_poll <= now]
            if first:
                return _Job("poll", min(first, key=lambda s: s.next_poll), Ping())
        sendable = [s for s in strips if s.dirty and (s.state == ONLINE or not answers)]
        if sendable:
            strip = min(sendable, key=lambda s: (s.dirty_at, s.address))
            content = strip.content(now)
            assert content is not None
            command = Show(content.lines, content.flash_s, strip.config.colour)
            return _Job("show", strip, command, strip.wanted, content)
        for strip in strips:
            if (strip.brightness is not None and strip.brightness != strip.brightness_sent
                    and (strip.state == ONLINE or not answers)):
                return _Job("brightness", strip, SetBrightness(strip.brightness), strip.brightness)
        if answers:
            for strip in strips:
                if strip.state == ONLINE and not strip.info_asked:
                    return _Job("info", strip, GetInfo())
            due = [s for s in strips if s.next_poll <= now]
            if due:
                return _Job("poll", min(due, key=lambda s: s.next_poll), Ping())
        else:
            for strip in strips:
                if strip.sent is not None and now - strip.refreshed_at >= self.refresh_interval:
                    strip.sent = None          # re-send: the strip cannot tell us it lost it
                    return self._next_job(now)
        return None

    def _next_due(self, now: float) -> float:
        if self.bus.codec.answers:
            return min((s.next_poll for s in self._strips.values()), default=now + self.poll_interval)
        return min((s.refreshed_at + self.refresh_interval for s in self._strips.values() if s.sent is not None),
                   default=now + self.refresh_interval)

    # --- running a job and taking its result ------------------------------------------------

    async def _run_job(self, job: _Job) -> None:
        strip = job.strip
        charset = strip.config.charset
        try:
            if self.bus.codec.answers:
                retries = 0 if job.kind in ("poll", "info") else None
                reply = await self._io(self.bus.transact, strip.address, job.command, charset, retries)
            else:
                await self._io(self.bus.send, strip.address, job.command, charset)
                reply = Ack(strip.address, 0, 0)
        except NoReply as exc:
            self._missed(job, exc)
            return
        except Unsupported:
            if job.kind == "brightness":
                strip.brightness_sent = job.key
                strip.limit = "此型号不能调亮度"
            return
        except ValueError as exc:              # content the codec cannot put into a frame
            if job.kind == "show":
                strip.rejected = job.key
                strip.problem = "内容超出一帧的长度，无法发送，请检查显示屏配置"
            elif job.kind == "brightness":
                strip.brightness_sent = job.key
            log.warning("LED strip %s on %s: cannot encode %s: %s", strip.address, self.port, job.command, exc)
            return
        now = time.monotonic()
        self._heard(strip, reply, now)
        if job.kind == "show":
            if isinstance(reply, Nak):
                strip.rejected = job.key
                strip.problem = f"显示屏拒绝显示：{reply.message}"
                log.warning("LED strip %s on %s refused %s: %s", strip.address, self.port,
                            job.content, reply.message)
            else:
                strip.sent = job.key
                strip.rejected = None
                strip.problem = ""
                strip.refreshed_at = now
                strip.warning = job.content.warning if job.content else ""
                if strip.warning:
                    log.warning("LED strip %s on %s: %s", strip.address, self.port, strip.warning)
        elif job.kind == "brightness":
            strip.brightness_sent = job.key
            if isinstance(reply, Nak):
                strip.limit = "显示屏不支持调亮度"
        elif job.kind == "info":
            strip.info_asked = True
            if isinstance(reply, InfoReply):
                strip.info = reply.info
        elif job.kind == "poll" and strip.info_lost:
            strip.info_asked = strip.info_lost = False

    def _heard(self, strip: _Strip, reply: Any, now: float) -> None:
        """Any answer: the strip is there."""
        fresh = isinstance(reply, Ack) and reply.fresh
        if strip.state != ONLINE or fresh:
            strip.sent = None                  # it may have lost what it showed
            strip.brightness_sent = None
            if strip.state != ONLINE:
                log.info("LED strip %s on %s is online", strip.address, self.port)
        strip.state = ONLINE
        strip.misses = 0
        if not isinstance(reply, Nak) and strip.rejected is None:
            strip.problem = ""         # a refused content's problem stays until other content goes
        strip.next_poll = now + self.poll_interval

    def _missed(self, job: _Job, exc: NoReply) -> None:
        strip = job.strip
        now = time.monotonic()
        if job.kind == "info":
            strip.info_asked = strip.info_lost = True
            return
        strip.misses += 1
        if job.kind == "show" or strip.misses >= self.offline_after:
            if strip.state != OFFLINE:
                log.warning("LED strip %s on %s is offline", strip.address, self.port)
            strip.state = OFFLINE
            tries = f"发送 {exc.attempts} 次" if job.kind == "show" else f"连续 {strip.misses} 次询问"
            strip.problem = f"{strip.address} 号地址的显示屏无应答（{tries}都没有回复），请检查电源和 485 线"
        strip.next_poll = now + (self.offline_poll_interval if strip.state == OFFLINE else self.poll_interval)

    def _port_up(self) -> None:
        now = time.monotonic()
        self._port_problem = ""
        log.info("LED port %s open", self.port)
        for strip in self._strips.values():
            strip.state = UNKNOWN
            strip.problem = "正在连接"
            strip.misses = 0
            strip.next_poll = now
            strip.sent = None
            strip.rejected = None
            strip.brightness_sent = None
            strip.info_asked = strip.info_lost = False
        self._report()

    def _port_down(self, message: str) -> None:
        if message != self._port_problem:
            log.warning("LED port %s: %s", self.port, message)
        self._port_problem = message
        for strip in self._strips.values():
            strip.state = OFFLINE
            strip.problem = message
            strip.sent = None
        self._report()

    # --- status -----------------------------------------------------------------------------

    def _status(self, strip: _Strip) -> StripStatus:
        if strip.state == ONLINE:
            parts = ["在线" if self.bus.codec.answers else "已发送（此型号不回复，无法确认是否在线）"]
            parts += [text for text in (strip.problem, strip.warning, strip.limit) if text]
            return StripStatus(True, "；".join(parts))
        return StripStatus(False, strip.problem or "离线")

    def _report(self) -> None:
        for address, strip in self._strips.items():
            status = self._status(strip)
            if self._reported.get(address) != status:
                self._reported[address] = status
                if self.on_status is not None:
                    try:
                        self.on_status(address, status)
                    except Exception:
                        log.exception("on_status callback failed")
