"""The behaviour model of a hall's day: pure, seeded, no I/O. docs/simulator.md explains every
number here and where it comes from (requirements.md §4, §6, §11).

`plan_day` draws everything that does not depend on how the day goes: when each citizen comes
and what for, how each will behave at the window (patience, service time, transfer, hold,
outcome, rating), and each staffed window's roster (A post at opening, pauses, B-post
takeovers, lunch, 脱岗). What depends on the day as it goes (how long someone waited, which
window got them) is decided by the agents (`agents.py`) from these pre-drawn values, so a seed
gives the same day in the direct driver every time, and the same intentions in the protocol
driver.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from pathlib import Path

from hall import service_calendar as cal
from queue_server.hall_definition import HallDefinition, HallInfo, Window
from queue_server.hall_toml import load_hall

HALLS = Path(__file__).resolve().parent.parent.parent / "assets" / "halls"


def load(name: str) -> HallDefinition:
    """A hall of assets/halls by file name: "demo-town" or "county"."""
    return load_hall(HALLS / f"{name}.toml")


# --- hall classes (requirements.md §11.2) -------------------------------------------------------

@dataclass(frozen=True)
class Profile:
    """What a hall of one class sees on a day."""

    hall: str
    hall_class: str
    average: int
    """Tickets on an average working day."""
    peak_factor: float = 2.5
    staffed: int | None = None
    """Windows with a clerk on a day; None: every window."""
    kiosks: int = 1
    force_unattended: bool = False
    """Plan one 脱岗 long enough for a red warning every day (the county benchmark, §11.3 b)."""
    printer_runs_out: bool = False
    """The kiosk printer runs out of paper around midday (the town benchmark, §11.3 c)."""
    speed: float = 600.0
    """The protocol driver's default clock speed: as fast as this 2-core machine keeps up with
    (docs/simulator.md, timings)."""


PROFILES = {
    "demo-town": Profile("demo-town", "S", 120, staffed=None, kiosks=1, printer_runs_out=True),
    "county": Profile("county", "M", 520, staffed=100, kiosks=2, force_unattended=True, speed=300.0),
}


# --- the calendar and the arrival shape ----------------------------------------------------------

def issuing_spans(hall: HallInfo, day: date) -> list[tuple[datetime, datetime]]:
    """When tickets can be taken on `day`: each session, up to its end less the cut-off."""
    cutoff = timedelta(minutes=hall.issue_cutoff_minutes)
    return [(datetime.combine(day, s.start, hall.zone), datetime.combine(day, s.end, hall.zone) - cutoff)
            for s in hall.sessions]


def session_spans(hall: HallInfo, day: date) -> list[tuple[datetime, datetime]]:
    return [(datetime.combine(day, s.start, hall.zone), datetime.combine(day, s.end, hall.zone))
            for s in hall.sessions]


MORNING_PEAK = time(9, 45)
AFTERNOON_PEAK = time(15, 0)
PEAK_WIDTH_MINUTES = 40.0          # standard deviation of each bump
AFTERNOON_HEIGHT = 0.6             # the afternoon bump, relative to the morning one
PEAK_HOUR = 9                      # the clock hour 9:00–10:00 …
PEAK_HOUR_SHARE = 0.20             # … takes this share of the day's tickets (§11.2)
LAST_MINUTE_MARGIN = 60            # seconds: nobody arrives in the very last minute


def _bump(minute_of_day: float, centre: time) -> float:
    mu = centre.hour * 60 + centre.minute
    return math.exp(-0.5 * ((minute_of_day - mu) / PEAK_WIDTH_MINUTES) ** 2)


def minute_weights(hall: HallInfo, day: date) -> list[tuple[datetime, float]]:
    """The arrival intensity for each issuing minute of the day, normalised to sum to 1.

    Intensity = 1 + k × (morning bump + 0.6 × afternoon bump), with k chosen so that the clock
    hour 9–10 holds 20% of the day (when the hall issues tickets in that hour at all).
    """
    minutes: list[datetime] = []
    for start, end in issuing_spans(hall, day):
        moment = start
        while moment < end - timedelta(seconds=LAST_MINUTE_MARGIN):
            minutes.append(moment)
            moment += timedelta(minutes=1)
    if not minutes:
        return []
    shape = [_bump(m.hour * 60 + m.minute, MORNING_PEAK)
             + AFTERNOON_HEIGHT * _bump(m.hour * 60 + m.minute, AFTERNOON_PEAK) for m in minutes]
    in_peak = [m.hour == PEAK_HOUR for m in minutes]

    def share(k: float) -> float:
        weights = [1 + k * s for s in shape]
        return sum(w for w, p in zip(weights, in_peak, strict=True) if p) / sum(weights)

    k = 0.0
    if any(in_peak) and share(0.0) < PEAK_HOUR_SHARE:
        low, high = 0.0, 1000.0
        if share(high) > PEAK_HOUR_SHARE:
            for _ in range(60):
                k = (low + high) / 2
                low, high = (k, high) if share(k) < PEAK_HOUR_SHARE else (low, k)
            k = (low + high) / 2
        else:
            k = high
    weights = [1 + k * s for s in shape]
    total = sum(weights)
    return [(m, w / total) for m, w in zip(minutes, weights, strict=True)]


def arrival_times(hall: HallInfo, day: date, count: int, rng: random.Random) -> list[datetime]:
    """`count` arrival moments drawn from the day's intensity, in order."""
    weights = minute_weights(hall, day)
    if not weights or count <= 0:
        return []
    cumulative = list(accumulate(w for _, w in weights))
    moments = []
    for _ in range(count):
        index = min(bisect_right(cumulative, rng.random() * cumulative[-1]), len(weights) - 1)
        moments.append(weights[index][0] + timedelta(seconds=rng.random() * 60))
    return sorted(moments)


WEEKDAY_FACTORS = {1: 1.25, 2: 1.05, 3: 1.0, 4: 0.95, 5: 0.75, 6: 1.0, 7: 1.0}
"""Monday busiest, Friday quietest; the five working days average 1.0."""
AFTER_CLOSURE_FACTOR = 1.4
"""The first working day after three or more closed days (a long holiday)."""
DAY_NOISE = 0.10


def day_total(profile: Profile, hall: HallInfo, day: date, rng: random.Random,
              tickets: int | None = None, peak: bool = False) -> int:
    """How many citizens come on `day`: exactly `tickets` if given; the class's peak day with
    `peak`; else the class average × the weekday factor (× 1.4 after a long closure) × noise."""
    if tickets is not None:
        return tickets
    if peak:
        return round(profile.average * profile.peak_factor)
    factor = WEEKDAY_FACTORS[day.isoweekday()]
    closed = 0
    before = day - timedelta(days=1)
    while closed < 10 and not cal.is_working_day(hall, before):
        closed += 1
        before -= timedelta(days=1)
    if closed >= 3:
        factor *= AFTER_CLOSURE_FACTOR
    return max(1, round(profile.average * factor * math.exp(rng.gauss(0, DAY_NOISE))))


# --- one citizen -------------------------------------------------------------------------------

KIND_WEIGHTS = {"handle": 0.70, "consult": 0.20, "pickup": 0.10}
NAMED_ITEM = {"handle": 0.7, "pickup": 0.7, "consult": 0.3}
"""How often the citizen picked the service item at the kiosk (so the ticket names it)."""
PRIORITY_WEIGHTS = {"normal": 0.91, "elderly": 0.08, "disabled": 0.01}

SERVICE_SIGMA = 0.45               # log-normal spread of service times
SERVICE_MIN_S, SERVICE_MAX_S = 60.0, 40 * 60.0
CONSULT_MEDIAN_S = 4 * 60.0
PICKUP_MEDIAN_S = 2 * 60.0
HANDLE_BASE_S, HANDLE_PER_MATERIAL_S = 3 * 60.0, 72.0
"""A 办理 ticket's median: 3 min + 1.2 min for each material the item asks for."""
RESUME_FACTOR = 0.5                # a held ticket called back needs half a service more

GONE = 0.03                        # left before being called, whatever the wait
PATIENCE_MEDIAN_S, PATIENCE_SIGMA = 75 * 60.0, 0.5
EXTRA_RECALL = 0.08                # present, but needs a second call
WALK_S = (15.0, 60.0)              # from the seat to the window after the call

TRANSFER_CATEGORY, TRANSFER_WINDOW, HOLD = 0.04, 0.01, 0.03
HOLD_REASONS = ("缺户口本原件", "去复印材料", "补充证明材料", "等待系统恢复", "回家取身份证")
HOLD_RETURN_MEDIAN_S, HOLD_NEVER = 12 * 60.0, 0.2
TRANSFER_NOTES = ("应由该窗口办理", "涉及其他部门审核", "转交专办窗口")

OUTCOMES_INSTANT = {"done": 0.88, "incomplete": 0.07, "escalated": 0.02, "rejected": 0.03}
OUTCOMES_PROMISED = {"accepted": 0.85, "incomplete": 0.10, "escalated": 0.02, "rejected": 0.03}

SCORES = {5: 0.72, 4: 0.20, 3: 0.05, 2: 0.02, 1: 0.01}
SCORES_AFTER_LONG_WAIT = {5: 0.45, 4: 0.30, 3: 0.13, 2: 0.08, 1: 0.04}
LONG_WAIT_S = 40 * 60.0
UNRATED = 0.12                     # the pad times out: 未评
PAD_DELAY_S = (4.0, 20.0)          # from the rating request to the tap
PAD_TIMEOUT_S = 30.0               # satisfaction_pad's default --timeout
CITIZEN_LATER = 0.35               # of the 未评: rated later on the phone
CITIZEN_DELAY_S = (120.0, 1200.0)
WATCH = 0.05                       # scan the ticket's QR and follow the queue on the phone


def _pick(weights: dict, rng: random.Random):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _lognormal(median: float, sigma: float, rng: random.Random) -> float:
    return median * math.exp(rng.gauss(0, sigma))


def _service(median: float, rng: random.Random) -> float:
    return min(SERVICE_MAX_S, max(SERVICE_MIN_S, _lognormal(median, SERVICE_SIGMA, rng)))


@dataclass(frozen=True)
class Citizen:
    """One citizen's visit, drawn in advance; `agents.py` plays it out."""

    at: datetime
    kiosk: int
    category: str
    kind: str
    priority: str
    service: str | None
    gone: bool
    patience_s: float
    no_show_recalls: int
    extra_recall: bool
    walk_s: float
    service_s: tuple[float, float]
    """First visit; after a transfer, at the next window."""
    resume_s: float
    end: str
    """"finish", "transfer_category", "transfer_window" or "hold" (first visit only)."""
    pick: float
    """Chooses the transfer target among those open on the day."""
    note: str
    hold_reason: str
    hold_return_s: float | None
    outcome: str
    rating_u: float
    reasons: tuple[str, ...]
    """Reasons ticked if the score turns out ≤ 2 (or with a 3, sometimes)."""
    reason_with_three: bool
    unrated: bool
    pad_delay_s: float
    citizen_later: bool
    citizen_delay_s: float
    citizen_u: float
    watches: bool
    """Keeps the ticket's page open on the phone until called."""


def handle_median_s(hall: HallDefinition, category: str, service: str | None) -> float:
    items = [hall.item_by_code[service]] if service else [
        i for i in hall.items if i.category == category]
    materials = sum(len(i.materials) for i in items) / len(items) if items else 3.0
    return HANDLE_BASE_S + HANDLE_PER_MATERIAL_S * materials


def _outcome(hall: HallDefinition, category: str, kind: str, service: str | None,
             rng: random.Random) -> str:
    if kind == "consult":
        return "consult"
    if kind == "pickup":
        return "done"
    if service:
        promised = hall.item_by_code[service].type == "promised"
    else:
        items = [i for i in hall.items if i.category == category]
        share = sum(i.type == "promised" for i in items) / len(items) if items else 0.5
        promised = rng.random() < share
    return _pick(OUTCOMES_PROMISED if promised else OUTCOMES_INSTANT, rng)


def category_weights(hall: HallDefinition) -> dict[str, float]:
    """Demand per category: the hall's own daily caps, which it sets by what it expects."""
    return {c.prefix: float(c.daily_cap) for c in hall.categories}


def draw_citizen(hall: HallDefinition, at: datetime, kiosk: int, rng: random.Random) -> Citizen:
    category = _pick(category_weights(hall), rng)
    kinds = hall.category_by_prefix[category].kinds
    kind = _pick({k: w for k, w in KIND_WEIGHTS.items() if k in kinds} or {kinds[0]: 1.0}, rng)
    items = [i.code for i in hall.items if i.category == category]
    service = rng.choice(items) if items and rng.random() < NAMED_ITEM[kind] else None
    if kind == "consult":
        median = CONSULT_MEDIAN_S
    elif kind == "pickup":
        median = PICKUP_MEDIAN_S
    else:
        median = handle_median_s(hall, category, service)
    end_u = rng.random()
    end = ("transfer_category" if end_u < TRANSFER_CATEGORY else
           "transfer_window" if end_u < TRANSFER_CATEGORY + TRANSFER_WINDOW else
           "hold" if end_u < TRANSFER_CATEGORY + TRANSFER_WINDOW + HOLD else "finish")
    reasons = hall.hall.rating_reasons
    ticked = tuple(rng.sample(reasons, min(len(reasons), 1 + (rng.random() < 0.3)))) if reasons else ()
    return Citizen(
        at=at, kiosk=kiosk, category=category, kind=kind, priority=_pick(PRIORITY_WEIGHTS, rng),
        service=service, gone=rng.random() < GONE,
        patience_s=_lognormal(PATIENCE_MEDIAN_S, PATIENCE_SIGMA, rng),
        no_show_recalls=rng.choice((1, 2)), extra_recall=rng.random() < EXTRA_RECALL,
        walk_s=rng.uniform(*WALK_S), service_s=(_service(median, rng), _service(median, rng)),
        resume_s=_service(median, rng) * RESUME_FACTOR, end=end, pick=rng.random(),
        note=rng.choice(TRANSFER_NOTES), hold_reason=rng.choice(HOLD_REASONS),
        hold_return_s=None if rng.random() < HOLD_NEVER else _lognormal(HOLD_RETURN_MEDIAN_S, 0.5, rng),
        outcome=_outcome(hall, category, kind, service, rng), rating_u=rng.random(),
        reasons=ticked, reason_with_three=rng.random() < 0.3, unrated=rng.random() < UNRATED,
        pad_delay_s=rng.uniform(*PAD_DELAY_S), citizen_later=rng.random() < CITIZEN_LATER,
        citizen_delay_s=rng.uniform(*CITIZEN_DELAY_S), citizen_u=rng.random(), watches=rng.random() < WATCH)


def score_for(u: float, waited_s: float) -> int:
    """The score a citizen gives, from their pre-drawn uniform and how long they waited."""
    table = SCORES_AFTER_LONG_WAIT if waited_s >= LONG_WAIT_S else SCORES
    total = 0.0
    for score, share in table.items():
        total += share
        if u < total:
            return score
    return min(table)


def reasons_for(citizen: Citizen, score: int, hall: HallInfo, waited_s: float) -> list[str]:
    """Reasons for a low score (required at ≤ 2, sometimes given with a 3); after a long wait,
    the hall's reason about waiting comes first."""
    if score > 3 or (score == 3 and not citizen.reason_with_three):
        return []
    reasons = list(citizen.reasons)
    if waited_s >= LONG_WAIT_S:
        waiting = next((r for r in hall.rating_reasons if "等候" in r), None)
        if waiting is not None:
            reasons = [waiting, *[r for r in reasons if r != waiting]][:2]
    return reasons


# --- the staff ----------------------------------------------------------------------------------

EARLY_MINUTES = (2.0, 15.0)        # A posts sign in this long before opening …
LATE, LATE_MINUTES = 0.08, (5.0, 25.0)   # … or this late
BREAK = {"pause": 0.25, "takeover": 0.08, "swap": 0.04, "absence": 0.02}
"""At most one interruption per window and session, with these chances."""
PAUSE_REASONS = ("临时离开", "接听业务电话", "系统故障", "去档案室调取资料")
PAUSE_MINUTES = (5.0, 15.0)
TAKEOVER_MINUTES = (20.0, 50.0)
MID_TICKET_TAKEOVER = 0.4
SWAP_GAP_MINUTES = (1.0, 4.0)
ABSENCE_MINUTES = (22.0, 35.0)     # past twice the 10-minute threshold: a red warning
LUNCH = {"pause": 0.6, "sign_out": 0.25, "swap": 0.15}
LUNCH_REASON = "午休"
BACK_MINUTES = (-8.0, 5.0)         # back from lunch, around the afternoon's start
FORGET_SIGN_OUT = 0.05             # left signed in: the day's close signs them out
OVERTIME = timedelta(minutes=15)   # serving those still waiting after a session ends


@dataclass(frozen=True)
class Step:
    """One thing that happens at a window at a planned time."""

    at: datetime
    action: str
    """"sign_in", "takeover", "sign_out", "pause", "resume" or "stop" (no more calls today)."""
    clerk: str | None = None
    post: str | None = None
    reason: str = ""
    label: str = ""
    """Why: "opening", "late", "break", "takeover", "back", "swap", "absence", "lunch", "end"."""
    drain: bool = False
    """First serve whoever still waits, up to `OVERTIME` past `at`."""
    mid_ticket: bool = False
    """A takeover that does not wait for the ticket in hand: the newcomer finishes it."""


@dataclass
class DayPlan:
    hall: HallDefinition
    day: date
    citizens: list[Citizen]
    staffed: list[int]
    steps: dict[int, list[Step]]
    clerks: list[str]
    """Everyone who signs in somewhere today."""
    kiosk_reports: list[tuple[datetime, int, str, str]] = field(default_factory=list)
    """(when, kiosk, printer state, detail)."""

    def planned(self) -> dict:
        """The plan's own figures, for the summary."""
        labels: dict[str, int] = {}
        for steps in self.steps.values():
            for s in steps:
                if s.label:
                    key = f"{s.action}:{s.label}"
                    labels[key] = labels.get(key, 0) + 1
        return {"citizens": len(self.citizens), "staffed_windows": sorted(self.staffed),
                "clerks": len(self.clerks), "steps": dict(sorted(labels.items())),
                "unattended": [{"window": w, "at": s.at.isoformat(timespec="seconds"), "label": s.label}
                               for w, steps in sorted(self.steps.items()) for s in steps
                               if s.label in ("late", "absence")]}


def choose_staffed(hall: HallDefinition, count: int | None, rng: random.Random) -> list[Window]:
    """The windows with a clerk today: every category gets one first, busiest first; then others
    at random. A clerk who is the A post of two windows works at one of them."""
    windows = list(hall.windows)
    if count is None or count >= len(windows):
        chosen, used = [], set()
        for w in windows:
            if w.a_post not in used:
                chosen.append(w)
                used.add(w.a_post)
        return chosen
    order = windows[:]
    rng.shuffle(order)
    chosen, used = [], set()

    def take(w: Window) -> None:
        chosen.append(w)
        used.add(w.a_post)

    weights = category_weights(hall)
    for prefix in sorted(weights, key=lambda p: -weights[p]):
        if any(prefix in w.categories for w in chosen):
            continue
        for w in order:
            if prefix in w.categories and w not in chosen and w.a_post not in used:
                take(w)
                break
    for w in order:
        if len(chosen) >= count:
            break
        if w not in chosen and w.a_post not in used:
            take(w)
    return sorted(chosen, key=lambda w: w.number)


def _minutes(bounds: tuple[float, float], rng: random.Random) -> timedelta:
    return timedelta(minutes=rng.uniform(*bounds))


def plan_staff(hall: HallDefinition, day: date, profile: Profile,
               rng: random.Random) -> tuple[list[int], dict[int, list[Step]], list[str]]:
    """Each staffed window's roster for the day."""
    sessions = session_spans(hall.hall, day)
    staffed = choose_staffed(hall, profile.staffed, rng)
    a_posts = {w.a_post for w in staffed}
    free_b = {b for w in hall.windows for b in w.b_posts} - a_posts
    forced = rng.choice(staffed).number if profile.force_unattended and staffed else None
    steps: dict[int, list[Step]] = {}
    working: set[str] = set()
    for window in staffed:
        plan: list[Step] = []
        a = window.a_post

        def b_post(window: Window = window) -> str | None:
            """A B post of this window who works nowhere else today (each covers once)."""
            choices = sorted(set(window.b_posts) & free_b)
            if not choices:
                return None
            chosen = rng.choice(choices)
            free_b.discard(chosen)
            return chosen

        holder, post = a, "A"
        first_start = sessions[0][0]
        if rng.random() < LATE:
            plan.append(Step(first_start + _minutes(LATE_MINUTES, rng), "sign_in", a, "A", label="late"))
        else:
            plan.append(Step(first_start - _minutes(EARLY_MINUTES, rng), "sign_in", a, "A", label="opening"))
        working.add(a)
        for index, (start, end) in enumerate(sessions):
            last = index == len(sessions) - 1
            span = (end - start).total_seconds() / 60
            kind = "absence" if forced == window.number and index == 0 else _pick(
                {**BREAK, "none": 1 - sum(BREAK.values())}, rng)
            if span >= 100 and kind != "none":
                at = start + timedelta(minutes=rng.uniform(30, span - 60))
                if kind == "pause":
                    minutes = _minutes(PAUSE_MINUTES, rng)
                    plan.append(Step(at, "pause", holder, post, rng.choice(PAUSE_REASONS), "break"))
                    plan.append(Step(at + minutes, "resume", holder, post, label="break"))
                elif kind == "absence":
                    plan.append(Step(at, "sign_out", holder, post, label="absence"))
                    plan.append(Step(at + _minutes(ABSENCE_MINUTES, rng), "sign_in", holder, post,
                                     label="absence"))
                elif kind in ("takeover", "swap") and (b := b_post()) is not None:
                    working.add(b)
                    if kind == "takeover":
                        plan.append(Step(at, "takeover", b, "B", label="takeover",
                                         mid_ticket=rng.random() < MID_TICKET_TAKEOVER))
                        plan.append(Step(at + _minutes(TAKEOVER_MINUTES, rng), "takeover", holder, post,
                                         label="back"))
                    else:
                        plan.append(Step(at, "sign_out", holder, post, label="swap"))
                        plan.append(Step(at + _minutes(SWAP_GAP_MINUTES, rng), "sign_in", b, "B",
                                         label="swap"))
                        holder, post = b, "B"
            if last:
                plan.append(Step(end, "stop", holder, post, label="end", drain=True))
                if rng.random() >= FORGET_SIGN_OUT:
                    plan.append(Step(end, "sign_out", holder, post, label="end"))
                break
            next_start = sessions[index + 1][0]
            lunch = _pick(LUNCH, rng)
            if post == "B":       # the B who covered the rest of the morning leaves; A is back
                lunch = "swap_back"
            if lunch == "pause":
                plan.append(Step(end, "pause", holder, post, LUNCH_REASON, "lunch", drain=True))
                plan.append(Step(next_start + _minutes(BACK_MINUTES, rng), "resume", holder, post,
                                 label="lunch"))
                continue
            afternoon = b_post() if lunch == "swap" else None
            plan.append(Step(end, "sign_out", holder, post, label="lunch", drain=True))
            if lunch == "swap_back":
                holder, post = a, "A"
            elif afternoon is not None:
                working.add(afternoon)
                holder, post = afternoon, "B"
            if rng.random() < LATE:
                plan.append(Step(next_start + _minutes(LATE_MINUTES, rng), "sign_in", holder, post,
                                 label="late"))
            else:
                plan.append(Step(next_start + _minutes(BACK_MINUTES, rng), "sign_in", holder, post,
                                 label="lunch"))
        steps[window.number] = plan
    return [w.number for w in staffed], steps, sorted(working)


def plan_day(hall: HallDefinition, profile: Profile, day: date, seed: int,
             tickets: int | None = None, peak: bool = False) -> DayPlan:
    """Everything drawn in advance for one day; the same (hall, day, seed) gives the same plan."""
    def rng(purpose: str) -> random.Random:
        return random.Random(f"{seed}:{hall.hall.code}:{day.isoformat()}:{purpose}")

    count = day_total(profile, hall.hall, day, rng("total"), tickets, peak)
    moments = arrival_times(hall.hall, day, count, rng("arrivals"))
    people = rng("citizens")
    citizens = [draw_citizen(hall, at, i % profile.kiosks, people) for i, at in enumerate(moments)]
    staffed, steps, clerks = plan_staff(hall, day, profile, rng("staff"))
    reports: list[tuple[datetime, int, str, str]] = [
        (session_spans(hall.hall, day)[0][0] - timedelta(minutes=30), k, "ok", "")
        for k in range(profile.kiosks)]
    if profile.printer_runs_out and len(hall.hall.sessions) > 1:
        noon = session_spans(hall.hall, day)[0][1]
        draw = rng("printer")
        low = noon - timedelta(minutes=draw.uniform(40, 70))
        out = noon - timedelta(minutes=draw.uniform(5, 25))
        refilled = out + timedelta(minutes=draw.uniform(10, 30))
        reports += [(low, 0, "paper_low", "纸卷余量不足"), (out, 0, "paper_out", "打印机缺纸"),
                    (refilled, 0, "ok", "")]
    return DayPlan(hall, day, citizens, staffed, steps, clerks, sorted(reports))


def service_days(hall: HallInfo, last: date, count: int) -> list[date]:
    """The `count` working days ending with `last` (included if it is one), oldest first."""
    days: list[date] = []
    day = last
    while len(days) < count:
        if cal.is_working_day(hall, day):
            days.append(day)
        day -= timedelta(days=1)
        if (last - day).days > 3660:
            break
    return days[::-1]


def year_days(hall: HallInfo, last: date) -> list[date]:
    """The working days among the 365 days ending with `last`."""
    return [d for d in (last - timedelta(days=i) for i in range(364, -1, -1))
            if cal.is_working_day(hall, d)]
