"""What the window's satisfaction pad shows and does, without kivy, driven by an injected clock.

The pad is bound to one window. It is fed the hello reply (the hall, the window's live state)
and the events of its window, and the citizen's touches or the button box's key presses; it
answers with a screen to show and with ratings to send. Every method that can move time on
takes `now` (seconds on a monotonic clock), so tests drive it without waiting.

Screens:
    idle      the clerk on duty (or 暂停服务 with the reason, or 未开放)
    called    a ticket is at the window: 请 A012 号 到本窗口办理, then 正在为 A012 号办理
    prompt    请您对本次服务进行评价, five levels, and who served (from `rating_requested`)
    reasons   a score of 2 or less: the hall's `rating_reasons`, at least one, then 提交
    thanks    感谢您的评价, for `thanks_seconds`
    message   a refusal of the server in words, for `message_seconds`

A prompt (and the reason picker) left alone for `timeout` seconds, counted from the last touch,
records 未评 (`score: None`) for its ticket, so that 评议率 can be computed. A call or a new
rating request while a prompt is open closes it the same way first: what the citizen chose in
full (a score, and for a low one at least one reason) is sent, anything less is 未评. Ratings
wait in `outbox` until the server has them; while it is away they are kept, in order. Those
still kept when a hello brings a later service day (the pad was cut off across midnight) can
no longer be stored: they move to `lost`, which the pad reports (`lost_ratings`) so that the
managers see a device warning naming every 差评 among them, never a rating silently gone.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hall.vocabulary import SCORES, is_bad

LEVEL_NAMES = dict(SCORES)    # the default names, until hello brings the hall's (`levels`)
POST_NAMES = {"A": "A岗", "B": "B岗"}
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐",
                     "长孙", "宇文", "司徒", "夏侯", "轩辕", "端木", "独孤", "南宫", "西门", "呼延")
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class Rating:
    """One `rate` to send: `score` None is 未评."""

    ticket: str
    score: int | None
    reasons: tuple[str, ...] = ()
    day: str = ""

    def params(self) -> dict[str, Any]:
        return {"ticket": self.ticket, "score": self.score, "reasons": list(self.reasons)}

    def to_json(self) -> dict[str, Any]:
        return {**self.params(), "day": self.day}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Rating:
        score = data["score"]
        if not isinstance(data["ticket"], str) or not (score is None or score in LEVEL_NAMES):
            raise ValueError(f"not a rating: {data!r}")
        return cls(data["ticket"], score, tuple(str(r) for r in data.get("reasons", ())),
                   str(data.get("day", "")))


@dataclass
class Prompt:
    """The rating asked for one finished ticket."""

    ticket: str
    clerk: dict[str, Any]
    deadline: float
    score: int | None = None
    reasons: list[str] = field(default_factory=list)


@dataclass
class PadModel:
    timeout: float = 30.0            # a prompt or reason picker left alone this long: 未评
    thanks_seconds: float = 5.0
    message_seconds: float = 6.0
    call_seconds: float = 15.0       # 请 A012 号 到本窗口办理 this long, then 正在为 A012 号办理
    keys_only: bool = False          # a button box and no touch screen: see `choose`
    hall: dict[str, Any] = field(default_factory=dict)
    day: str = ""
    window_number: int | None = None
    window: dict[str, Any] = field(default_factory=dict)       # the live window state
    complain_url: str = ""     # the hello's address of the hall's 投诉建议 page ("": none given)
    connected: bool = False
    connection_text: str = "正在连接服务器…"
    hellos: int = 0
    screen: str = "idle"
    prompt: Prompt | None = None
    called: tuple[str, float] | None = None    # (number, when) of the last call at the window
    message: str = ""
    until: float = 0.0                          # when thanks / message ends
    last_rating: Rating | None = None           # what the thanks screen thanks for
    outbox: deque[Rating] = field(default_factory=deque)
    lost: list[Rating] = field(default_factory=list)   # of a day over: to report, not to store
    evaluator: tuple[bool, str] | None = None   # a button box's state (ok, words), if there is one

    # --- what is shown -----------------------------------------------------------------------

    @property
    def reasons(self) -> list[str]:
        return list(self.hall.get("rating_reasons", []))

    @property
    def levels(self) -> list[tuple[int, str]]:
        """The five levels with the hall's names, best first (hello's `rating_levels`)."""
        return [(score, name) for score, name in self.hall.get("rating_levels", SCORES)]

    def level_name(self, score: int) -> str:
        return dict(self.levels)[score]

    @property
    def window_definition(self) -> dict[str, Any]:
        for window in self.hall.get("windows", []):
            if window.get("window") == self.window_number:
                return window
        return {}

    @property
    def window_title(self) -> str:
        if self.window_number is None:
            return "评价器"
        name = self.window.get("name") or self.window_definition.get("name", "")
        return f"{self.window_number} 号窗口" + (f" · {name}" if name else "")

    @property
    def department_name(self) -> str:
        code = self.window_definition.get("department")
        for department in self.hall.get("departments", []):
            if department.get("code") == code:
                return department.get("name", "")
        return ""

    @property
    def status(self) -> str:
        """`open` with a clerk, `paused`, or `closed` (no clerk signed in)."""
        status = self.window.get("status", "closed")
        if status == "open" and not self.window.get("clerk"):
            return "closed"
        return status if status in ("open", "paused") else "closed"

    @property
    def clerk(self) -> dict[str, Any] | None:
        return self.window.get("clerk") or None

    @property
    def current(self) -> str | None:
        return self.window.get("current") or None

    def call_text(self, now: float) -> str:
        """The line of the called screen: the call while it is fresh, then who is being served."""
        number = self.current
        if number is None:
            return ""
        if self.called is not None and self.called[0] == number and now - self.called[1] < self.call_seconds:
            return f"请 {number} 号 到本窗口办理"
        return f"正在为 {number} 号办理"

    def remaining(self, now: float) -> int:
        """Whole seconds left before an open prompt records 未评."""
        if self.prompt is None:
            return 0
        return max(0, int(self.prompt.deadline - now + 0.999))

    @property
    def complaint_page(self) -> str:
        """The 投诉建议 page for the idle screen's QR: only while the server answers (never a
        QR of a page that may be down), "" without one (a server that gives none)."""
        return self.complain_url if self.connected else ""

    def thanks_text(self) -> str:
        rating = self.last_rating
        return f"您的评价：{self.level_name(rating.score)}" if rating and rating.score else ""

    # --- fed by the connection ---------------------------------------------------------------

    def apply_hello(self, reply: dict[str, Any], now: float) -> None:
        """A (re)connection's hello reply: the hall, the window, its live state."""
        snapshot = reply.get("snapshot", {})
        self.hall = snapshot.get("hall", {})
        live = snapshot.get("live", {})
        day = live.get("day", "")
        if self.day and day != self.day and self.prompt is not None:
            self.prompt = None                   # a new service day: yesterday's ticket is gone
            self.screen = "idle"
        self.lost.extend(r for r in self.outbox if r.day and r.day != day)
        self.outbox = deque(r for r in self.outbox if not r.day or r.day == day)
        self.day = day
        self.window_number = reply.get("window", self.window_number)
        self.complain_url = reply.get("complain_url", "")
        self.window = next((w for w in live.get("windows", [])
                            if w.get("window") == self.window_number), {})
        self.hellos += 1
        if self.current is None:
            self.called = None
        if self.screen in ("idle", "called"):
            self._rest()
        awaiting = reply.get("awaiting")   # finished while this pad was away: ask now
        if awaiting and self.prompt is None and all(r.ticket != awaiting["ticket"]
                                                    for r in self.outbox):
            self.prompt = Prompt(awaiting["ticket"], awaiting.get("clerk") or {}, now + self.timeout)
            self.screen = "prompt"

    def set_connection(self, connected: bool, text: str) -> None:
        self.connected, self.connection_text = connected, text

    def apply_event(self, event: dict[str, Any], now: float) -> bool:
        """One event for this pad; returns whether the screen must be drawn again."""
        kind = event.get("ev")
        if kind == "day_started":   # yesterday's ticket can no longer be rated; the client
            if self.prompt is None:  # says hello again, and the new day's snapshot follows
                return False
            self.prompt = None
            self._rest()
            return True
        if event.get("window") != self.window_number:
            return False
        if kind == "window":
            self.window = {k: v for k, v in event.items() if k not in ("ev", "seq", "at")}
            if self.screen in ("idle", "called"):
                self._rest()
            return True
        if kind == "ticket_called":
            self._close_prompt()
            self.called = (event["number"], now)
            self.window = {**self.window, "current": event["number"]}
            self.screen = "called"
            return True
        if kind == "rating_requested":
            if self.prompt is not None and self.prompt.ticket == event["ticket"]:
                return False
            self._close_prompt()
            self.prompt = Prompt(event["ticket"], event.get("clerk") or {}, now + self.timeout)
            self.screen = "prompt"
            return True
        return False

    # --- the citizen -------------------------------------------------------------------------

    def choose(self, score: int, now: float) -> bool:
        """A level touched on screen or pressed on the button box. A high score is sent at once;
        a low one opens the reason picker, except on a keys-only pad (a box with no touch
        screen), which sends it with the hall's first reason, as docs/pad.md says. Returns
        whether anything happened (a key pressed with no prompt open does nothing)."""
        if self.prompt is None or self.screen not in ("prompt", "reasons") or score not in LEVEL_NAMES:
            return False
        prompt = self.prompt
        prompt.score = score
        prompt.deadline = now + self.timeout
        if not is_bad(score):
            prompt.reasons = []
            self._send(now)
        elif self.keys_only or not self.reasons:
            prompt.reasons = self.reasons[:1]
            self._send(now)
        else:
            self.screen = "reasons"
        return True

    def toggle_reason(self, reason: str, now: float) -> bool:
        if self.screen != "reasons" or self.prompt is None or reason not in self.reasons:
            return False
        chosen = self.prompt.reasons
        if reason in chosen:
            chosen.remove(reason)
        else:
            chosen.append(reason)
        self.prompt.deadline = now + self.timeout
        return True

    def can_submit(self) -> bool:
        return self.screen == "reasons" and self.prompt is not None and bool(self.prompt.reasons)

    def submit(self, now: float) -> bool:
        if not self.can_submit():
            return False
        self._send(now)
        return True

    def back_to_levels(self, now: float) -> bool:
        """重新选择: from the reason picker back to the five levels."""
        if self.screen != "reasons" or self.prompt is None:
            return False
        self.prompt.score, self.prompt.reasons = None, []
        self.prompt.deadline = now + self.timeout
        self.screen = "prompt"
        return True

    # --- time ----------------------------------------------------------------------------------

    def tick(self, now: float) -> bool:
        """Let time pass; returns whether the screen must be drawn again."""
        if self.screen in ("prompt", "reasons") and self.prompt is not None and now >= self.prompt.deadline:
            self._close_prompt()
            self._rest()
            return True
        if self.screen in ("thanks", "message") and now >= self.until:
            self._rest()
            return True
        if (self.screen == "called" and self.called is not None
                and self.called[1] + self.call_seconds <= now):
            number = self.called[0]
            self.called = (number, float("-inf"))     # the call is over: 正在为 … 办理
            return True
        return False

    # --- the server's answers ------------------------------------------------------------------

    def stored(self, rating: Rating) -> None:
        if self.outbox and self.outbox[0] == rating:
            self.outbox.popleft()

    def lost_day(self) -> tuple[str, list[Rating]]:
        """The earliest day with lost ratings, and its ratings: the next `lost_ratings`."""
        day = min(r.day for r in self.lost)
        return day, [r for r in self.lost if r.day == day]

    def reported(self, day: str) -> None:
        """The server has heard of `day`'s lost ratings."""
        self.lost = [r for r in self.lost if r.day != day]

    def refused(self, rating: Rating, message: str, now: float) -> bool:
        """The server will not take `rating` (e.g. 已评价过): it leaves the outbox; the citizen
        still looking at 感谢您的评价 for it is told why instead. Returns whether the screen
        changed."""
        self.stored(rating)
        if rating.score is None or self.screen != "thanks" or rating != self.last_rating:
            return False
        self.message = f"评价未能保存：{message}"
        self.screen = "message"
        self.until = now + self.message_seconds
        return True

    # --- inside ----------------------------------------------------------------------------------

    def _send(self, now: float) -> None:
        prompt = self.prompt
        assert prompt is not None              # its callers check there is a prompt open
        rating = Rating(prompt.ticket, prompt.score, tuple(prompt.reasons), self.day)
        self.outbox.append(rating)
        self.last_rating = rating
        self.prompt = None
        self.screen = "thanks"
        self.until = now + self.thanks_seconds

    def _close_prompt(self) -> None:
        """The open prompt ends unanswered: what was chosen in full is sent, else 未评."""
        prompt = self.prompt
        if prompt is None:
            return
        complete = prompt.score is not None and (not is_bad(prompt.score) or prompt.reasons)
        self.outbox.append(Rating(prompt.ticket, prompt.score if complete else None,
                                  tuple(prompt.reasons) if complete else (), self.day))
        self.prompt = None

    def _rest(self) -> None:
        """Back to what the window shows between ratings."""
        self.screen = "called" if self.current else "idle"


def surname(name: str) -> str:
    """The family name for a placeholder avatar: 张 of 张敏, 欧阳 of 欧阳娜娜."""
    name = name.strip()
    if not name:
        return "?"
    for compound in COMPOUND_SURNAMES:
        if name.startswith(compound) and len(name) > 2:
            return compound
    return name[0]


def post_text(post: str | None) -> str:
    return POST_NAMES.get(post or "", post or "")


def photo_path(photo: str, badge: str, photos: Path | None) -> Path | None:
    """The clerk's photo file, if there is one on this pad: the hall file's `photo` as a path
    that exists (absolute, or relative to the working folder), or relative to `photos`; else a
    file named after the badge in `photos` (1001.jpg, .jpeg or .png). None: draw a placeholder."""
    photo = (photo or "").strip()
    candidates: list[Path] = []
    if photo and "://" not in photo:
        path = Path(photo).expanduser()
        candidates.append(path)
        if photos is not None and not path.is_absolute():
            candidates.insert(0, photos / path)
    if photos is not None and badge:
        candidates += [photos / f"{badge}{suffix}" for suffix in PHOTO_SUFFIXES]
    for candidate in candidates:
        if candidate.suffix.lower() in PHOTO_SUFFIXES and candidate.is_file():
            return candidate
    return None
