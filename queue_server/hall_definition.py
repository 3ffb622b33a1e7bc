"""The hall as its staff define it: departments, queue categories, windows, clerks, service items.

These are immutable values. They are read from the hall's TOML file (see `hall_toml`), stored
by `store.hall_records`, and handed to the pure core (`hall_state.HallState`), which never
changes them. Field names follow the hall's own words (window, post, category, item); the
Chinese terms are in `docs/hall-config.md`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property
from zoneinfo import ZoneInfo

from hall import missed_call
from hall.service_calendar import Session as Session  # the hall file's sessions
from hall.vocabulary import COMPLAINT_CATEGORIES, SCORES, TICKET_KINDS
from hall.voice.call_queue import DEFAULT_BOUND, DEFAULT_REPEAT
from hall.voice.espeak import DEFAULT_PACE

HANDLING_MODES = ("direct", "proxy", "consult")
"""直办类 (applicant present) / 代办类 (can be done by an agent) / 咨询类 (advice only)."""

ITEM_TYPES = ("instant", "promised")
"""即办件 (done on the spot) / 承诺件 (accepted now, finished within the promised days)."""

MATERIAL_FORMS = ("original", "copy", "original_and_copy")
"""原件 / 复印件 / 原件及复印件."""

CATALOGUE_UPDATES = ("next_day", "at_once")
"""When a hall applies a new county catalogue version (queue_server.catalogue): at the start of
its next service day (the default), or at once."""


@dataclass(frozen=True)
class HallInfo:
    code: str
    name: str
    address: str
    consultation_phone: str
    complaint_phone: str
    timezone: str
    sessions: tuple[Session, ...]
    working_weekdays: tuple[int, ...] = (1, 2, 3, 4, 5)
    holidays: tuple[date, ...] = ()
    makeup_workdays: tuple[date, ...] = ()
    priority_ratio: int = 2
    issue_cutoff_minutes: int = 0
    unattended_after_minutes: int = 10
    transfer_return_minutes: int = 15
    wait_yellow_minutes: int = 30
    wait_red_minutes: int = 60
    service_warning_minutes: int = 30
    service_level_minutes: int = 30
    rating_reasons: tuple[str, ...] = ()
    rating_levels: tuple[str, ...] = tuple(name for _, name in SCORES)
    """The names of the five levels, best first (非常满意 … 非常不满意 by default)."""
    case_deadline_days: int = 5
    """Working days a 差评 case (差评工单) has to be handled in, on the hall's calendar."""
    case_near_days: int = 1
    """A case or complaint with this many working days left or fewer is near its deadline
    (yellow)."""
    complaint_categories: tuple[str, ...] = COMPLAINT_CATEGORIES
    """What a complaint or suggestion is about (服务态度, 办事效率 …), as the forms offer them."""
    complaint_deadline_days: int = 5
    """Working days a complaint has to be closed in, on the hall's calendar."""
    complaint_keep_contact: bool = True
    """Whether a complainant's name and phone number are stored at all (outside the log)."""
    complaint_contact_days: int = 180
    """Days after a complaint is closed that its name and phone number are purged."""
    handover_days: int = 3
    """Working days within which a village point's case must reach the town (docs/points.md)."""
    voice_wait_seconds: int = DEFAULT_BOUND
    """The longest a call waits before the first word of its announcement on a board's speaker
    (`hall.voice.call_queue`: the calls are shortened to keep it)."""
    voice_pace: int = DEFAULT_PACE
    """The boards' speaking rate, in per cent of each engine's normal rate (docs/voice.md#pace)."""
    voice_repeat: int = DEFAULT_REPEAT
    """How many times a board says a call in full (the call queue drops the repeat when calls
    bunch up)."""
    booking_no_show_limit: int = 3
    """预约 no-shows of one phone within `booking_no_show_days` that block its new bookings
    (docs/appointments.md); 0: never blocked."""
    booking_no_show_days: int = 30
    booking_block_days: int = 30
    """Days a phone stays blocked from booking once it reached `booking_no_show_limit`."""
    demo: bool = False
    mobile_share: int = 50
    """The percentage of each category's `daily_cap` the mobile 取号 page (`/take`) may take a
    day (`hall_state.mobile_cap`); the rest is the kiosk's."""
    public_url: str = ""
    """Where citizens' phones reach the hall (`https://…/h/<code>`), used in every QR code;
    empty: the address the kiosk itself used."""
    level: str = ""
    """"county", "township" (`vocabulary.HALL_LEVELS`) or empty for a hall on its own."""
    catalogue_updates: str = "next_day"
    """When a newly published county catalogue reaches the hall (`CATALOGUE_UPDATES`)."""
    missed_call: str = missed_call.DEFAULT
    """What a citizen whose number was called in vain should do (过号), as the slip, the kiosk
    and the ticket page say it (`hall.missed_call`)."""

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def scores(self) -> tuple[tuple[int, str], ...]:
        """Each score with the hall's name for it, best first (as `vocabulary.SCORES`)."""
        return tuple((score, name) for (score, _), name in zip(SCORES, self.rating_levels,
                                                                strict=True))

    def score_name(self, score: int) -> str:
        return dict(self.scores)[score]


@dataclass(frozen=True, slots=True)
class Department:
    code: str
    name: str
    phone: str = ""


HORIZON_MAX_DAYS = 90
"""The longest booking horizon a hall file may set: a restart and a report look this far back
for the bookings still pending, whatever the horizon is now (a booking made under a longer
horizon that the hall file has since shortened keeps its place)."""

@dataclass(frozen=True, slots=True)
class BookingRules:
    """A category's appointments (预约, the hall file's `[categories.booking]`,
    docs/appointments.md): its slots on each working day, their places, and the check-in
    limits."""

    sessions: tuple[Session, ...]
    """When slots run, e.g. 09:00–12:00 and 13:30–17:00: each is cut into slots of
    `slot_minutes` (a remainder shorter than a slot is no slot)."""
    slot_minutes: int = 30
    capacity: int = 4
    """Citizens the category's windows serve in one slot."""
    share: int = 50
    """Per cent of `capacity` open to booking; the rest stays for walk-ins."""
    horizon_days: int = 7
    """How many days ahead a slot can be booked (today counts as day 0), at most
    `HORIZON_MAX_DAYS`."""
    per_phone_per_day: int = 1
    """Bookings one phone may hold for one day, in the whole hall."""
    early_minutes: int = 30
    """Check-in opens this long before the slot starts."""
    late_minutes: int = 15
    """Check-in on time closes this long after the slot starts; later the citizen gets a walk-in
    ticket, and a booking not checked in by then is released (a no-show)."""

    @property
    def places(self) -> int:
        """Places of one slot open to booking: `share` per cent of `capacity`, at least one."""
        return max(1, self.capacity * self.share // 100)


@dataclass(frozen=True, slots=True)
class Category:
    """A queue series: its tickets are numbered prefix + 3 digits, afresh each service day."""

    prefix: str
    name: str
    daily_cap: int
    kinds: tuple[str, ...] = TICKET_KINDS
    department: str = ""
    booking: BookingRules | None = None
    """Its appointments (预约); None: it takes none."""


@dataclass(frozen=True, slots=True)
class Window:
    number: int
    name: str
    department: str
    categories: tuple[str, ...]
    """Category prefixes in order of preference: the first is drained before the second."""
    a_post: str
    b_posts: tuple[str, ...] = ()
    zone: str = ""
    floor: str = ""
    short_name: str = ""
    """The business in a few characters for the hall board (≤ 6); "" lets the board shorten
    `name` by its rule (docs/board.md)."""

    @property
    def location(self) -> str:
        return " ".join(part for part in (self.floor, self.zone) if part)


@dataclass(frozen=True, slots=True)
class Clerk:
    badge: str
    name: str
    photo: str = ""
    department: str = ""
    pin: str = ""
    """Only in demo files; real halls set PINs with `queue-server clerk set-pin`."""


@dataclass(frozen=True, slots=True)
class Material:
    name: str
    form: str
    copies: int = 1
    notes: str = ""


@dataclass(frozen=True, slots=True)
class ServiceItem:
    """A 事项 with every field of its 办事指南 (requirements.md §2.1)."""

    code: str
    name: str
    department: str
    category: str
    handling: str
    type: str
    legal_basis: tuple[str, ...]
    conditions: tuple[str, ...]
    materials: tuple[Material, ...]
    steps: tuple[str, ...]
    statutory_days: int
    promised_days: int
    fee: str
    fee_basis: str = ""
    certificate: str = ""
    phone: str = ""
    notes: tuple[str, ...] = ()
    summary: str = ""
    aliases: tuple[str, ...] = ()   # what citizens call it (社保卡, 低保): searched like the name


@dataclass(frozen=True)
class HallDefinition:
    hall: HallInfo
    departments: tuple[Department, ...]
    categories: tuple[Category, ...]
    windows: tuple[Window, ...]
    clerks: tuple[Clerk, ...]
    items: tuple[ServiceItem, ...] = ()

    @cached_property
    def category_by_prefix(self) -> dict[str, Category]:
        return {c.prefix: c for c in self.categories}

    @cached_property
    def window_by_number(self) -> dict[int, Window]:
        return {w.number: w for w in self.windows}

    @cached_property
    def clerk_by_badge(self) -> dict[str, Clerk]:
        return {c.badge: c for c in self.clerks}

    @cached_property
    def item_by_code(self) -> dict[str, ServiceItem]:
        return {i.code: i for i in self.items}

    @cached_property
    def department_by_code(self) -> dict[str, Department]:
        return {d.code: d for d in self.departments}

    @cached_property
    def windows_by_category(self) -> dict[str, tuple[int, ...]]:
        """Which windows serve each category, for tickets and boards ("请到 1、2 号窗口")."""
        serving: dict[str, list[int]] = {c.prefix: [] for c in self.categories}
        for w in self.windows:
            for prefix in w.categories:
                serving[prefix].append(w.number)
        return {prefix: tuple(numbers) for prefix, numbers in serving.items()}
