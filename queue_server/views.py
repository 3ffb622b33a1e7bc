"""What each device sees: snapshots and wire events, as pure functions of the hall state.

The server's shell sends these; nothing here touches a socket. A log event becomes one or
more wire events, each with an audience (which roles, or which window's pad), so that a
display never receives anything but numbers and windows, and a citizen only its own ticket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import chain
from typing import Any, NamedTuple, overload

from hall import guide, service_calendar
from hall.service_calendar import clock_text
from hall.vocabulary import (
    BOOKING_STATUS_NAMES,
    CASE_STATUS_NAMES,
    COMPLAINT_CHANNEL_NAMES,
    COMPLAINT_KIND_NAMES,
    COMPLAINT_STATUS_NAMES,
    OUTCOME_NAMES,
    POINT_RESULT_NAMES,
    POINT_STAGE_NAMES,
    TICKET_KIND_NAMES,
    TICKET_STATUS_NAMES,
    WINDOW_STATUS_NAMES,
    is_bad,
)
from queue_server import bookings
from queue_server import events as ev
from queue_server.complaint_contacts import masked_name
from queue_server.events import D, Event
from queue_server.hall_definition import HallDefinition, ServiceItem
from queue_server.hall_state import (
    Booking,
    Case,
    Complaint,
    HallState,
    Ticket,
    WindowState,
    calls_left,
)
from queue_server.lifecycle import (
    CASE_ACTIONS,
    COMPLAINT_ACTIONS,
    TicketStatus,
    WindowStatus,
    case_allows,
    complaint_allows,
)
from queue_server.points import ledger

QUEUE_PREVIEW = 5
RECENT_CALLS = 10
DEFAULT_SERVICE_SECONDS = 300

DEVICES = frozenset({"display", "kiosk", "clerk", "manager"})
STAFF = frozenset({"clerk", "manager"})
FLOOR = frozenset({"display", "clerk", "manager"})   # whoever shows calls on the hall floor


class Delivery(NamedTuple):
    """One wire message and who gets it: sessions of `roles`, the pad of `pad_window`, the
    consoles of clerk `clerk` (a badge), or the citizens watching ticket `citizen`.

    A message with a `view` key is a state (a window, a queue, a citizen's ticket), not a
    happening: a later message with the same key in the same commit makes it pointless, so only
    the last one of a group commit is sent. A named tuple, not a frozen dataclass: two or more
    are made per command, and a frozen dataclass's `__init__` costs three times as much."""

    message: dict[str, Any]
    roles: frozenset[str] = frozenset()
    pad_window: int | None = None
    clerk: str | None = None
    citizen: str | None = None
    view: tuple[str, Any] | None = None


def voice_view(backlog: dict[str, Any], bound: int) -> dict[str, Any]:
    """A board's voice backlog (`device_status` `voice`) as the managers get it: with the hall's
    bound (`voice_wait_seconds`) and its state: `late` when a call waited longer than the bound
    for its first word lately, else `backlog` while calls wait, else `idle`."""
    worst = backlog["worst"]
    state = ("late" if worst is not None and worst > bound
             else "backlog" if backlog["calls"] else "idle")
    return {**backlog, "bound": bound, "state": state}


@overload
def iso(moment: datetime) -> str: ...


@overload
def iso(moment: None) -> None: ...


def iso(moment: datetime | None) -> str | None:
    """A moment as the wire writes it. A ticket's issue time is written five times or more (its
    event, its queue's while it heads it, the kiosk's reply), so the texts of the latest
    moments are kept, found by identity: each is kept with its moment, whose identity cannot
    be reused while it is."""
    if moment is None:
        return None
    kept = _TEXTS.get(id(moment))
    if kept is not None and kept[0] is moment:
        return kept[1]
    text = moment.isoformat(timespec="seconds")
    if len(_TEXTS) >= _KEPT_TEXTS:
        _TEXTS.clear()
    _TEXTS[id(moment)] = (moment, text)
    return text


_TEXTS: dict[int, tuple[datetime, str]] = {}
_KEPT_TEXTS = 4096


# --- the hall, static -------------------------------------------------------------------------

def hall_view(definition: HallDefinition) -> dict[str, Any]:
    h = definition.hall
    return {
        "code": h.code, "name": h.name, "address": h.address, "timezone": h.timezone,
        "public_url": h.public_url,
        "consultation_phone": h.consultation_phone, "complaint_phone": h.complaint_phone,
        "sessions": [[clock_text(s.start), clock_text(s.end)] for s in h.sessions],
        # the rest of the calendar, so that a device tells open from closed by the server's
        # rules (`hall.service_calendar.calendar_from_view`)
        "calendar": {"working_weekdays": list(h.working_weekdays),
                     "holidays": [d.isoformat() for d in h.holidays],
                     "makeup_workdays": [d.isoformat() for d in h.makeup_workdays],
                     "issue_cutoff_minutes": h.issue_cutoff_minutes},
        "rating_reasons": list(h.rating_reasons),
        "rating_levels": [[score, name] for score, name in h.scores],
        "missed_call": h.missed_call,
        "voice_wait_seconds": h.voice_wait_seconds, "voice_pace": h.voice_pace,
        "voice_repeat": h.voice_repeat,
        "complaint_categories": list(h.complaint_categories),
        "complaint_keep_contact": h.complaint_keep_contact,
        "complaint_contact_days": h.complaint_contact_days,
        "outcomes": [{"code": code, "name": name} for code, name in OUTCOME_NAMES.items()],
        "thresholds": {"wait_yellow_minutes": h.wait_yellow_minutes,
                       "wait_red_minutes": h.wait_red_minutes,
                       "service_warning_minutes": h.service_warning_minutes,
                       "service_level_minutes": h.service_level_minutes,
                       "unattended_after_minutes": h.unattended_after_minutes},
        "departments": [{"code": d.code, "name": d.name} for d in definition.departments],
        "categories": [{"prefix": c.prefix, "name": c.name, "kinds": list(c.kinds),
                        "department": c.department, "daily_cap": c.daily_cap,
                        "windows": list(definition.windows_by_category[c.prefix])}
                       for c in definition.categories],
        "windows": [{"window": w.number, "name": w.name, "department": w.department,
                     "zone": w.zone, "floor": w.floor, "categories": list(w.categories),
                     "short_name": w.short_name}
                    for w in definition.windows],
    }


def item_view(item: ServiceItem) -> dict[str, Any]:
    return {
        "code": item.code, "name": item.name, "summary": item.summary,
        "department": item.department, "category": item.category, "handling": item.handling,
        "type": item.type, "legal_basis": list(item.legal_basis),
        "conditions": list(item.conditions), "steps": list(item.steps),
        "materials": [{"name": m.name, "form": m.form, "copies": m.copies, "notes": m.notes}
                      for m in item.materials],
        "statutory_days": item.statutory_days, "promised_days": item.promised_days,
        "fee": item.fee, "fee_basis": item.fee_basis, "certificate": item.certificate,
        "phone": item.phone, "notes": list(item.notes), "aliases": list(item.aliases),
    }


def catalogue_changed(version: int) -> Delivery:
    """Tells the kiosks that the hall serves a new catalogue version (a county catalogue
    applied at once): each asks for it with `catalogue`. Not of the log, so without `seq`."""
    return Delivery({"ev": "catalogue", "version": version}, frozenset({"kiosk"}))


POPULAR_ITEMS = 6   # the kiosk's 常办事项 on its home screen
POPULAR_DAYS = 30   # closed service days whose tickets choose them


def popular_items(definition: HallDefinition, issued: Mapping[str, int],
                  most: int = POPULAR_ITEMS) -> list[str]:
    """The codes of the hall's most-taken items, most taken first (ties in catalogue order),
    by `issued` (tickets per item code over recent days); items the hall no longer has, or
    that nobody took, are left out. Short of `most` (a new hall, no history yet), the rest are
    the first items of each department in turn, in the hall's order, so that the row shows
    something of every department rather than one department's first items."""
    order = {item.code: n for n, item in enumerate(definition.items)}
    taken = sorted((code for code, count in issued.items() if count > 0 and code in order),
                   key=lambda code: (-issued[code], order[code]))[:most]
    by_department: dict[str, list[str]] = {}
    for item in definition.items:
        by_department.setdefault(item.department, []).append(item.code)
    ranks = {d.code: n for n, d in enumerate(definition.departments)}
    queues = [by_department[code] for code in sorted(by_department, key=lambda c: ranks.get(c, len(ranks)))]
    chosen = list(taken)
    for turn in range(max((len(q) for q in queues), default=0)):
        for queue in queues:
            if len(chosen) >= most:
                return chosen
            if turn < len(queue) and queue[turn] not in chosen:
                chosen.append(queue[turn])
    return chosen


def catalogue_view(definition: HallDefinition, version: int,
                   issued: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The kiosk's catalogue; `popular`, its 常办事项, chosen by `issued` (see `popular_items`)."""
    return {"version": version, "hall": hall_view(definition),
            "items": [item_view(i) for i in definition.items],
            "popular": popular_items(definition, issued or {})}


# --- the live state ---------------------------------------------------------------------------

def window_view(state: HallState, window: WindowState) -> dict[str, Any]:
    clerk = None
    if window.clerk is not None:
        record = state.definition.clerk_by_badge[window.clerk]
        clerk = {"name": record.name, "badge": record.badge, "photo": record.photo,
                 "post": window.post}
    return {"window": window.number, "name": window.definition.name,
            "status": window.status.value, "status_text": WINDOW_STATUS_NAMES[window.status],
            "reason": window.pause_reason or None, "clerk": clerk,
            "current": window.current.number if window.current else None,
            "current_booked": window.current.booking is not None if window.current else False,
            "current_since": iso(window.current.called_at) if window.current else None}


def queue_view(state: HallState, prefix: str) -> dict[str, Any]:
    """A category's queue: how many wait, who is next, since when the longest has waited (each
    priority lane is oldest first, so its head is its longest wait), and how many numbers were
    issued today (against the category's `daily_cap`); `booked`: those of `next` that are
    checked-in bookings (预约). A checked-in booking waits in the priority lane by its slot, so
    that lane's longest wait is looked for along it."""
    queue = state.queues[prefix]
    heads = [lane[0].issued_at for lane in (queue.green, queue.normal) if lane]
    if queue.priority:
        heads.append(min(t.issued_at for t in queue.priority))
    first = queue.first(QUEUE_PREVIEW, state.seen_at)
    return {"category": prefix, "waiting": len(queue),
            "next": [t.number for t in first],
            "booked": [t.number for t in first if t.booking is not None],
            "oldest_at": iso(min(heads)) if heads else None, "issued": state.issued[prefix]}


def _called_at(ticket: Ticket) -> datetime:
    """When a ticket that has been called was called last (a sort key)."""
    assert ticket.called_at is not None, ticket.number
    return ticket.called_at


def _ended_at(ticket: Ticket) -> datetime:
    """When an ended ticket ended (a sort key)."""
    assert ticket.ended_at is not None, ticket.number
    return ticket.ended_at


def recent_calls(state: HallState) -> list[dict[str, Any]]:
    called = sorted((t for t in state.tickets.values() if t.called_at is not None),
                    key=_called_at, reverse=True)[:RECENT_CALLS]
    return [{"number": t.number, "window": t.window, "at": iso(t.called_at),
             "booked": t.booking is not None} for t in called]


def live_view(state: HallState) -> dict[str, Any]:
    return {
        "day": state.day.isoformat(), "notice": state.notice,
        "queues": [queue_view(state, c.prefix) for c in state.definition.categories],
        "windows": [window_view(state, w) for w in state.windows.values()],
        "calls": recent_calls(state),
    }


def hall_summary(state: HallState, now: datetime) -> dict[str, Any]:
    """The hall at a glance, as the county's view lists it (queue_server.county): whether it
    issues tickets now (else why not), how many wait and the longest wait, its windows open
    and serving, its warnings not yet seen to, and today's tickets. `wait_level`: the longest
    wait against the hall's own yellow and red limits (0, 1, 2), as its warnings use them."""
    hall = state.definition.hall
    moment = service_calendar.local(hall, now)
    waiting = [t for q in state.queues.values() for t in chain(q.green, q.priority, q.normal)]
    waiting += [t for w in state.windows.values() for t in w.targeted]
    unseen = [w for w in state.warnings.values() if w["acknowledged"] is None]
    issuing = service_calendar.issuing(hall, moment)
    # as the hall's own long-wait warnings count it: since issue, or the last transfer or return
    longest = max((round((now - HallState.queued_since(t)).total_seconds()) for t in waiting),
                  default=0)
    yellow, red = hall.wait_yellow_minutes * 60, hall.wait_red_minutes * 60
    return {
        "day": state.day.isoformat(), "issuing": issuing,
        "closed_reason": "" if issuing else service_calendar.closed_reason(hall, moment),
        "waiting": len(waiting),
        "longest_wait_s": longest,
        "wait_level": 2 if 0 < red <= longest else 1 if 0 < yellow <= longest else 0,
        "windows": len(state.windows),
        "windows_open": sum(1 for w in state.windows.values() if w.status != WindowStatus.CLOSED),
        "serving": sum(1 for w in state.windows.values() if w.current is not None),
        "warnings": len(unseen), "red_warnings": sum(1 for w in unseen if w["level"] == "red"),
        "issued": len(state.tickets),
        "finished": sum(1 for t in state.tickets.values() if t.status == TicketStatus.FINISHED),
        "notice": state.notice,
    }


def ahead_of(state: HallState, ticket: Ticket) -> int:
    if ticket.status != TicketStatus.WAITING:
        return 0
    if ticket.target_window is not None:
        return state.windows[ticket.target_window].targeted.index(ticket)
    return state.queues[ticket.category].ordered(state.seen_at).index(ticket)


NO_WINDOW_TEXT = "该业务暂无窗口办理，请留意叫号或咨询工作人员"


def windows_for(state: HallState, ticket: Ticket) -> list[WindowState]:
    """The windows that may call a waiting ticket: the one it was transferred to, else every
    window listing its category."""
    if ticket.target_window is not None:
        return [state.windows[ticket.target_window]]
    return [w for w in state.windows.values() if ticket.category in w.definition.categories]


def staffed_windows(state: HallState, ticket: Ticket) -> int:
    """How many of the windows that may call the ticket have a clerk signed in (open or
    paused: a paused clerk is back soon; a window without one calls nobody)."""
    return sum(1 for w in windows_for(state, ticket) if w.clerk is not None)


def estimated_wait_seconds(state: HallState, ticket: Ticket,
                           staffed: int | None = None) -> int | None:
    """(People ahead + 1) × today's mean service time in the category ÷ staffed windows that
    may call it; None for a waiting ticket no staffed window may call: no one can say when.

    Service time is from the last call to the end, over today's finished tickets of the
    category; 5 minutes until there is one. 0 for a ticket no longer waiting. `staffed`:
    `staffed_windows`, when the caller has it already.
    """
    if ticket.status != TicketStatus.WAITING:
        return 0
    if staffed is None:
        staffed = staffed_windows(state, ticket)
    if not staffed:
        return None
    served, seconds = state.service_seconds.get(ticket.category, (0, 0.0))
    per_ticket = seconds / served if served else DEFAULT_SERVICE_SECONDS
    return round((ahead_of(state, ticket) + 1) * per_ticket / staffed)


def wait_note(state: HallState, ticket: Ticket, staffed: int | None = None) -> str | None:
    """What the citizen's page says instead of a time when no window may call the ticket now."""
    if ticket.status != TicketStatus.WAITING:
        return None
    if staffed if staffed is not None else staffed_windows(state, ticket):
        return None
    if ticket.target_window is not None:
        return f"{ticket.target_window} 号窗口暂无工作人员，请留意叫号或咨询工作人员"
    return NO_WINDOW_TEXT


def ticket_view(state: HallState, ticket: Ticket) -> dict[str, Any]:
    """A citizen's own ticket: no one else's data."""
    definition = state.definition
    window = definition.window_by_number.get(ticket.window) if ticket.window else None
    item = definition.item_by_code.get(ticket.service) if ticket.service else None
    status = ticket.status
    staffed = staffed_windows(state, ticket) if status == TicketStatus.WAITING else None
    text = TICKET_STATUS_NAMES[status]
    if status == TicketStatus.CALLED and window is not None:
        text = f"请到 {window.number} 号窗口"
    return {
        "number": ticket.number, "category": ticket.category,
        "category_name": definition.category_by_prefix[ticket.category].name,
        "service": item.name if item else None, "kind": ticket.kind,
        "status": status.value, "status_text": text,
        "ahead": ahead_of(state, ticket),
        "estimated_wait_s": estimated_wait_seconds(state, ticket, staffed),
        "staffed": staffed is None or staffed > 0,
        "wait_note": wait_note(state, ticket, staffed),
        "window": window.number if window and status == TicketStatus.CALLED else None,
        "window_name": window.name if window and status == TicketStatus.CALLED else None,
        "issued_at": iso(ticket.issued_at),
        "booked": ticket.booking is not None,
        "slot_at": iso(ticket.slot_at), "slot_text": booked_slot_text(state, ticket),
        "guide": guide.guide_path(ticket.service, ticket.catalogue_version),
        "can_rate": status == TicketStatus.FINISHED and ticket.score is None
        and not ticket.citizen_rated,
    }


def clerk_view(state: HallState, badge: str) -> dict[str, Any]:
    """What a clerk's console shows: who I am and where I may sit, my window's state, the ticket
    in hand, the held ones, my window's counts today and the ratings I got today."""
    definition = state.definition
    record = definition.clerk_by_badge[badge]
    number = state.clerk_window.get(badge)
    window = state.windows[number] if number is not None else None
    posts = [{"window": w.number, "post": "A" if w.a_post == badge else "B"}
             for w in definition.windows if w.a_post == badge or badge in w.b_posts]
    mine = [t for t in state.tickets.values() if t.window == number] if number else []
    return {
        "me": {"badge": badge, "name": record.name,
               "department": definition.department_by_code[record.department].name
               if record.department in definition.department_by_code else "",
               "posts": posts},
        "window": number, "post": window.post if window else None,
        "status": window.status.value if window else None,
        "status_text": WINDOW_STATUS_NAMES[window.status] if window else None,
        "reason": (window.pause_reason or None) if window else None,
        "current": ticket_detail(state, window.current) if window and window.current else None,
        "held": [ticket_detail(state, t) for t in window.held] if window else [],
        "targeted": [t.number for t in window.targeted] if window else [],
        "today": {"accepted": sum(t.calls > 0 for t in mine),
                  "finished": sum(t.status == TicketStatus.FINISHED for t in mine),
                  "no_show": sum(t.status == TicketStatus.NO_SHOW for t in mine)},
        "ratings": ratings_summary(t for t in state.tickets.values() if t.clerk == badge),
        "cases": [case_view(state, c) for c in state.cases.values()
                  if c.clerk == badge and c.is_open],
    }


def case_view(state: HallState, case: Case) -> dict[str, Any]:
    """A 差评 case as the dashboard and the clerk's console show it: the rating, where and whom
    it is about, its status and deadline (`due`: "red" past it, "yellow" near it), and every
    act on it with who did it and when."""
    definition = state.definition
    department = definition.department_by_code.get(case.department)
    clerk = definition.clerk_by_badge.get(case.clerk)
    return {
        "case": case.number, "ticket": case.ticket, "day": case.day.isoformat(),
        "opened_at": iso(case.opened_at), "score": case.score,
        "score_name": state.hall.score_name(case.score), "reasons": list(case.reasons),
        "window": case.window, "clerk": case.clerk, "clerk_name": clerk.name if clerk else "",
        "department": case.department, "department_name": department.name if department else "",
        "deadline": case.deadline.isoformat(), "due": case.due(state.hall, state.day),
        "status": case.status.value, "status_text": CASE_STATUS_NAMES[case.status],
        "handling": _act(case.handling), "rectified": _act(case.rectified),
        "appeal": _act(case.appeal), "decision": _act(case.decision),
        "withdrawn": [_act(w) for w in case.withdrawn],
        "follow_ups": [_act(f) for f in case.follow_ups],
        "awaits_follow_up": case.awaits_follow_up, "closed_at": iso(case.closed_at),
        "pending": case.is_open or case.awaits_follow_up,
        # what may be done now, by the case's table (a 回访 only while one is awaited)
        "actions": [a for a in CASE_ACTIONS if case_allows(case.status, a)
                    and (a != "follow_up" or case.awaits_follow_up)],
    }


def _act(record: dict[str, Any] | None) -> dict[str, Any] | None:
    """An act on a case or a complaint (who, when, what) as the wire says it."""
    return None if record is None else {**record, "at": iso(record["at"])}


def complaint_view(state: HallState, complaint: Complaint) -> dict[str, Any]:
    """A complaint as the managers' dashboard shows it: what, where from, whom it concerns, its
    status and deadline (`due`, the cases' rule) and every act. Never its complainant's name or
    phone (outside the log, `complaint_contact`): every manager receives this view."""
    clerk = state.definition.clerk_by_badge.get(complaint.clerk) if complaint.clerk else None
    return {
        "complaint": complaint.number, "day": complaint.day.isoformat(),
        "registered_at": iso(complaint.at), "kind": complaint.kind,
        "kind_name": COMPLAINT_KIND_NAMES[complaint.kind], "channel": complaint.channel,
        "channel_name": COMPLAINT_CHANNEL_NAMES[complaint.channel],
        "category": complaint.category, "text": complaint.text, "window": complaint.window,
        "clerk": complaint.clerk, "clerk_name": clerk.name if clerk else "",
        "ticket": complaint.ticket, "hotline_case": complaint.hotline_case,
        "registered_by": complaint.by, "contact": complaint.contact,
        "deadline": complaint.deadline.isoformat(), "due": complaint.due(state.hall, state.day),
        "status": complaint.status.value,
        "status_text": COMPLAINT_STATUS_NAMES[complaint.status],
        "handler": complaint.handler, "reply": _act(complaint.reply),
        "follow_ups": [_act(f) for f in complaint.follow_ups],
        "awaits_follow_up": complaint.awaits_follow_up, "closed": _act(complaint.closed),
        # what may be done now, by the complaint's table (a 回访 while calls are left; 办结
        # once none is awaited)
        "actions": [a for a in COMPLAINT_ACTIONS if complaint_allows(complaint.status, a)
                    and (a != "follow_up" or calls_left(complaint.follow_ups))
                    and (a != "close" or not complaint.awaits_follow_up)],
    }


def complaint_status(complaint: Complaint) -> dict[str, Any]:
    """What the citizen's status page shows (number and code given): nothing personal, nor the
    text, nor whom it concerns; the status, the deadline and the reply."""
    return {"complaint": complaint.number, "kind_name": COMPLAINT_KIND_NAMES[complaint.kind],
            "category": complaint.category, "day": complaint.day.isoformat(),
            "deadline": complaint.deadline.isoformat(),
            "status_text": COMPLAINT_STATUS_NAMES[complaint.status],
            "reply": complaint.reply["reply"] if complaint.reply else "",
            "replied_on": f"{complaint.reply['at']:%Y-%m-%d}" if complaint.reply else "",
            "closed_on": complaint.closed_on.isoformat() if complaint.closed_on else ""}


def ratings_summary(served: Iterable[Ticket]) -> dict[str, Any]:
    """Today's ratings of the finished tickets given: how many were rated (a score from the pad
    or the citizen's phone), left 未评 by the pad with no score from the phone since, and not
    rated yet (the pad is still asking). 满意 is a score that is not 差评 (`is_bad`)."""
    scores = {str(s): 0 for s in range(5, 0, -1)}
    unrated = pending = finished = 0
    for ticket in served:
        if ticket.status != TicketStatus.FINISHED:
            continue
        finished += 1
        if ticket.score is not None:
            scores[str(ticket.score)] += 1
        elif ticket.pad_rated or ticket.citizen_rated:
            unrated += 1
        else:
            pending += 1
    rated = sum(scores.values())
    total = sum(int(s) * n for s, n in scores.items())
    satisfied = sum(n for s, n in scores.items() if not is_bad(int(s)))
    return {"finished": finished, "rated": rated, "unrated": unrated, "pending": pending,
            "scores": scores,
            "mean": round(total / rated, 2) if rated else None,
            "satisfied_pct": round(100 * satisfied / rated, 1) if rated else None}


AWAITING_MINUTES = 5


def awaiting_rating(state: HallState, window: int, now: datetime) -> dict[str, Any] | None:
    """For a pad saying hello: the ticket its window finished last, if that was within the last
    few minutes and the pad has not rated it (the pad was away when the finish came), so that
    the citizen, likely still at the counter, is asked."""
    finished = [t for t in state.tickets.values()
                if t.window == window and t.status == TicketStatus.FINISHED]
    if not finished:
        return None
    last = max(finished, key=_ended_at)
    assert last.ended_at is not None and last.clerk is not None   # it was finished
    if last.pad_rated or last.score is not None or \
            now - last.ended_at > timedelta(minutes=AWAITING_MINUTES):
        return None
    clerk = state.definition.clerk_by_badge[last.clerk]
    return {"ticket": last.number, "finished_at": iso(last.ended_at),
            "clerk": {"name": clerk.name, "badge": clerk.badge, "photo": clerk.photo,
                      "post": last.post}}


def ticket_detail(state: HallState, ticket: Ticket) -> dict[str, Any]:
    """A ticket as staff see it at the window, with where it has been."""
    definition = state.definition
    item = definition.item_by_code.get(ticket.service) if ticket.service else None
    return {"number": ticket.number, "category": ticket.category,
            "category_name": definition.category_by_prefix[ticket.category].name,
            "service": ticket.service, "service_name": item.name if item else None,
            "kind": ticket.kind, "kind_text": TICKET_KIND_NAMES.get(ticket.kind, ticket.kind),
            "priority": ticket.priority, "issued_at": iso(ticket.issued_at),
            "booked": ticket.booking is not None, "slot_at": iso(ticket.slot_at),
            "slot_text": booked_slot_text(state, ticket),
            "called_at": iso(ticket.called_at), "recalls": ticket.recalls,
            "transfers": ticket.transfers, "first_clerk": ticket.first_clerk,
            "hold_reason": ticket.hold_reason or None,
            "point": ticket.point, "cases": list(ticket.cases),
            "history": [{"at": iso(step["at"]), "text": trail_text(state, step)}
                        for step in ticket.trail]}


def trail_text(state: HallState, step: dict[str, Any]) -> str:
    windows = state.definition.window_by_number
    source = f"{step['window']} 号窗口"
    if step["kind"] == "returned":
        return f"{source}无人接办，退回原类别排队"
    clerk = state.definition.clerk_by_badge.get(step["clerk"])
    if clerk is not None:
        source += f"（{clerk.name}）"
    if step["to_category"] is not None:
        target = f"{step['to_category']} 类（{state.definition.category_by_prefix[step['to_category']].name}）"
    else:
        target = f"{step['to_window']} 号窗口（{windows[step['to_window']].name}）"
    note = f"：{step['note']}" if step["note"] else ""
    return f"{source}转到 {target}{note}"


def snapshot(state: HallState, role: str, hall: dict[str, Any]) -> dict[str, Any]:
    """`hall` is `hall_view(state.definition)`, which the server makes once: it never changes
    while the server runs, and hellos are frequent."""
    view: dict[str, Any] = {"hall": hall, "live": live_view(state)}
    if role == "manager":
        view["devices"] = [{**d, "at": iso(d["at"])} for d in state.devices.values()]
        view["warnings"] = [warning_view(w) for w in state.warnings.values()]
        view["cases"] = [v for v in (case_view(state, c) for c in state.cases.values())
                         if v["pending"]]
        view["complaints"] = [complaint_view(state, c) for c in state.complaints.values()
                              if c.is_open]
        view["bookings"] = [booking_view(state, b)
                            for b in state.bookings_by_day.get(state.day, {}).values()]
    return view


def booking_view(state: HallState, booking: Booking) -> dict[str, Any]:
    """A booking as managers see it: nothing of the citizen (the phone and ID digits are keyed
    hashes, never sent)."""
    category = state.definition.category_by_prefix.get(booking.category)
    rules = category.booking if category else None   # None: since removed, or not booking
    view = {"booking": booking.code, "category": booking.category,
            "service": booking.service, "day": booking.day.isoformat(),
            "slot": clock_text(booking.slot), "slot_text": slot_text(booking),
            "made_at": iso(booking.made_at), "status": booking.status.value,
            "status_text": BOOKING_STATUS_NAMES[booking.status], "ticket": booking.ticket,
            "checked_in_at": iso(booking.checked_in_at),
            "counted_as": bookings.counted_as(booking.status, booking.no_show_counted)}
    if rules is not None:   # when to check in at the kiosk
        view["check_in_from"] = clock_text(
            (booking.slot_at - timedelta(minutes=rules.early_minutes)).time())
        view["check_in_until"] = clock_text(
            (booking.slot_at + timedelta(minutes=rules.late_minutes)).time())
    return view


def slot_text(booking: Booking) -> str:
    """A booking's slot as it was booked (its own length, whatever the hall file says now):
    "08:30–09:00"."""
    return bookings.span_label(booking.slot, booking.minutes)


def booked_slot_text(state: HallState, ticket: Ticket) -> str | None:
    """The slot of a checked-in booking's ticket (预约), by its booking's category (the ticket
    may have been transferred since); None for a walk-in's."""
    booking = state.bookings.get(ticket.booking) if ticket.booking else None
    return slot_text(booking) if booking else None


def warning_view(warning: dict[str, Any]) -> dict[str, Any]:
    done = warning["acknowledged"]
    return {**warning, "at": iso(warning["at"]),
            "acknowledged": None if done is None else {"by": done["by"], "at": iso(done["at"])}}


# --- from log events to wire events -------------------------------------------------------------

def _event(e: Event, name: str, /, **data: Any) -> dict[str, Any]:
    return {"ev": name, "seq": e.seq, "at": iso(e.at), **data}


@dataclass(frozen=True, slots=True)
class Audience:
    """Who hears of one kind of event, and what else it changes on the devices' screens.

    `send` makes the happening's own wire messages with their audiences; `windows` names the
    windows whose view it changed (each then goes to every device and that window's pad);
    `queues` the categories whose waiting list it changed; `clerks` the clerks whose console
    it changed (those named in it and the one now at the window it names)."""

    send: Callable[[HallState, Event[Any]], list[Delivery]]
    windows: Callable[[Event[Any]], tuple[int, ...]]
    queues: Callable[[HallState, Event[Any]], tuple[str, ...]]
    clerks: Callable[[HallState, Event[Any]], tuple[str, ...]]
    number: Callable[[Event[Any]], str | None]
    """The ticket it is about, if any: that ticket's citizen gets a fresh view."""


def _none(*_: Any) -> tuple[Any, ...]:
    return ()


def _no_ticket(_: Event[Any]) -> None:
    return None


def audience(kind: type[D], send: Callable[[HallState, Event[D]], list[Delivery]], *,
             windows: Callable[[Event[D]], tuple[int, ...]] = _none,
             queues: Callable[[HallState, Event[D]], tuple[str, ...]] = _none,
             clerks: Callable[[HallState, Event[D]], tuple[str, ...]] = _none,
             number: Callable[[Event[D]], str | None] = _no_ticket,
             ) -> tuple[type[ev.Record], Audience]:
    """One row of `AUDIENCES`, typed: each function takes events of `kind`."""
    return kind, Audience(send, windows, queues, clerks, number)


def _to(roles: frozenset[str], name: str | None = None) -> Callable[[HallState, Event[Any]], list[Delivery]]:
    """Send the event's own fields (under `name`, else its kind) to `roles`."""
    def send(state: HallState, e: Event[Any]) -> list[Delivery]:
        return [Delivery(_event(e, name or e.kind, **e.data.fields()), roles)]
    return send


def _issued(state: HallState, e: Event[ev.TicketIssued]) -> list[Delivery]:
    d = e.data
    return [Delivery(_event(e, "ticket_issued", number=d.number, category=d.category,
                            kind=d.kind, priority=d.priority, issued_at=iso(e.at),
                            booked=d.booking is not None), STAFF)]


def _called(state: HallState, e: Event[ev.TicketCalled]) -> list[Delivery]:
    d = e.data
    ticket = state.tickets.get(d.number)
    window = state.definition.window_by_number[d.window]
    message = _event(e, "ticket_called", number=d.number, window=window.number,
                     window_name=window.name, category=ticket.category if ticket else None,
                     recall=d.recall, booked=ticket is not None and ticket.booking is not None)
    return [Delivery(message, FLOOR), Delivery(message, pad_window=window.number)]


def _ticket_moved(state: HallState, e: Event[Any]) -> list[Delivery]:
    """A ticket left a window or its queue: staff see the event (a transfer's note, which may
    say something about the citizen, stays with the console that asks for the ticket)."""
    fields = {k: v for k, v in e.data.fields().items() if k != "note"}
    return [Delivery(_event(e, e.kind, **fields), STAFF)]


def _finished(state: HallState, e: Event[ev.TicketFinished]) -> list[Delivery]:
    d = e.data
    clerk = state.definition.clerk_by_badge[d.clerk]
    return [Delivery(_event(e, e.kind, **d.fields()), STAFF),
            Delivery(_event(e, "rating_requested", window=d.window, ticket=d.number,
                            clerk={"name": clerk.name, "badge": clerk.badge,
                                   "photo": clerk.photo, "post": d.post}),
                     pad_window=d.window)]


def _notice(state: HallState, e: Event[ev.NoticeSet]) -> list[Delivery]:
    return [Delivery(_event(e, "notice", text=e.data.text), DEVICES)]


def _day(state: HallState, e: Event[ev.DayStarted]) -> list[Delivery]:
    return [Delivery(_event(e, "day_started", day=e.data.day), DEVICES | {"pad"})]


def _silent(state: HallState, e: Event[Any]) -> list[Delivery]:
    return []


def _its_window(e: Event[Any]) -> tuple[int, ...]:
    return (e.data.window,)


def _at(state: HallState, window: int | None) -> tuple[str, ...]:
    """The clerk signed in at `window` now, if any."""
    here = state.windows.get(window) if window is not None else None
    return (here.clerk,) if here is not None and here.clerk is not None else ()


def _its_clerk(state: HallState, e: Event[Any]) -> tuple[str, ...]:
    """The clerk named in the event and the one at its window now."""
    return (e.data.clerk, *_at(state, e.data.window))


def _its_number(e: Event[Any]) -> str | None:
    return str(e.data.number)


def _its_category(state: HallState, e: Event[Any]) -> tuple[str, ...]:
    ticket = state.tickets.get(e.data.number)
    return (ticket.category,) if ticket else ()


MANAGERS = frozenset({"manager"})


def _case(state: HallState, e: Event[Any]) -> list[Delivery]:
    """A case opened or moved: managers get its whole view (the clerk's console is refreshed
    through `clerks`)."""
    return [Delivery(_event(e, "case", **case_view(state, state.cases[e.data.case])), MANAGERS)]


def _case_clerk(state: HallState, e: Event[Any]) -> tuple[str, ...]:
    return (state.cases[e.data.case].clerk,)

def _complaint(state: HallState, e: Event[Any]) -> list[Delivery]:
    """A complaint registered or moved: managers get its whole view (nothing personal in it)."""
    return [Delivery(_event(e, "complaint",
                            **complaint_view(state, state.complaints[e.data.complaint])),
                     MANAGERS)]


def _booking(state: HallState, e: Event[Any]) -> list[Delivery]:
    """A booking made or moved: managers get its view (nothing personal in it)."""
    return [Delivery(_event(e, "booking", **booking_view(state, state.bookings[e.data.booking])),
                     MANAGERS)]


def _blocked(state: HallState, e: Event[ev.BookingBlocked]) -> list[Delivery]:
    """A phone blocked from booking: managers hear that one was, and until when (not the
    phone's key)."""
    return [Delivery(_event(e, "booking_blocked", until=e.data.until, no_shows=e.data.no_shows),
                     MANAGERS)]


def _lifted(state: HallState, e: Event[ev.BookingBlockLifted]) -> list[Delivery]:
    """A phone's block lifted: managers hear who lifted one, and until when it was (not the
    phone's keys)."""
    return [Delivery(_event(e, "booking_block_lifted", until=e.data.until, by=e.data.by), MANAGERS)]


AUDIENCES: dict[type[ev.Record], Audience] = dict([
    audience(ev.TicketIssued, _issued, queues=_its_category, number=_its_number),
    audience(ev.TicketCalled, _called,
             windows=lambda e: () if e.data.via == "recall" else (e.data.window,),
             queues=lambda s, e: _its_category(s, e) if e.data.via in ("next", "number") else (),
             clerks=_its_clerk, number=_its_number),
    audience(ev.TicketNoShow, _ticket_moved, windows=_its_window, clerks=_its_clerk,
             number=_its_number),
    audience(ev.TicketHeld, _ticket_moved, windows=_its_window, clerks=_its_clerk,
             number=_its_number),
    audience(ev.TicketTransferred, _ticket_moved, windows=_its_window,
             queues=lambda s, e: (e.data.to_category,) if e.data.to_category else (),
             clerks=_its_clerk, number=_its_number),
    audience(ev.TicketReturned, _ticket_moved, queues=_its_category,
             clerks=lambda s, e: _at(s, e.data.window), number=_its_number),
    audience(ev.TicketFinished, _finished, windows=_its_window, clerks=_its_clerk,
             number=_its_number),
    # Cancellations happen only at day end, which sends day_started.
    audience(ev.TicketCancelled, _ticket_moved, number=_its_number),
    audience(ev.TicketPrioritySet, _ticket_moved, queues=_its_category, number=_its_number),
    audience(ev.TicketRated, _to(MANAGERS, "rating"), clerks=_its_clerk, number=_its_number),
    audience(ev.ClerkSignedIn, _silent, windows=_its_window,
             clerks=lambda s, e: (*_its_clerk(s, e), *([e.data.previous] if e.data.previous
                                                         else []))),
    # A handover's sign-out is followed by the sign-in, whose window view shows both.
    audience(ev.ClerkSignedOut, _silent,
             windows=lambda e: () if e.data.reason == "handover" else (e.data.window,),
             clerks=_its_clerk),
    audience(ev.WindowPaused, _silent, windows=_its_window, clerks=_its_clerk),
    audience(ev.WindowResumed, _silent, windows=_its_window, clerks=_its_clerk),
    audience(ev.WarningRaised, _to(MANAGERS),
             clerks=lambda s, e: (*([e.data.clerk] if e.data.clerk else []),
                                  *_at(s, e.data.window))),
    audience(ev.WarningAcknowledged, _to(MANAGERS)),
    audience(ev.NoticeSet, _notice),
    audience(ev.DeviceReported, _to(MANAGERS, "device")),
    audience(ev.DayStarted, _day),
    *(audience(kind, _case, clerks=_case_clerk) for kind in ev.CASE_KINDS),
    *(audience(kind, _complaint) for kind in ev.COMPLAINT_KINDS),
    *(audience(kind, _booking) for kind in ev.BOOKING_KINDS
      if kind not in (ev.BookingBlocked, ev.BookingBlockLifted)),
    audience(ev.BookingBlocked, _blocked),
    audience(ev.BookingBlockLifted, _lifted),
])
"""Who receives each kind of event on the wire."""


def wire(state: HallState, e: Event) -> list[Delivery]:
    """The wire events one log event gives, after it was applied to `state`."""
    heard = AUDIENCES[type(e.data)]
    out = heard.send(state, e)
    for window_number in heard.windows(e):
        view = window_view(state, state.windows[window_number])
        message = _event(e, "window", **view)
        out += [Delivery(message, DEVICES, view=("window", window_number)),
                Delivery(message, pad_window=window_number, view=("pad", window_number))]
    for prefix in heard.queues(state, e):
        out.append(Delivery(_event(e, "queue", **queue_view(state, prefix)), DEVICES,
                            view=("queue", prefix)))
    return out


def queues_touched(state: HallState, e: Event) -> tuple[str, ...]:
    """Categories whose waiting list this event changed."""
    return AUDIENCES[type(e.data)].queues(state, e)


STAFFING = (ev.ClerkSignedIn, ev.ClerkSignedOut)
"""The events after which a window may call tickets, or no longer may."""


def citizen_updates(state: HallState, events: list[Event], watched: Iterable[str]) -> list[Delivery]:
    """A fresh view for each watched ticket these events may have moved (its own change, or its
    queue's), or whose estimate they changed (a clerk signed in or out at a window that may
    call it), stamped with the last event's seq."""
    if not events:
        return []
    numbers = {AUDIENCES[type(e.data)].number(e) for e in events}
    categories = {prefix for e in events for prefix in queues_touched(state, e)}
    staffing = {e.data.window for e in events if isinstance(e.data, STAFFING)}
    last = events[-1]
    out = []
    for number in watched:
        ticket = state.tickets.get(number)
        if ticket is not None and (number in numbers or (
                ticket.status == TicketStatus.WAITING and (
                    ticket.category in categories
                    or (staffing and any(w.number in staffing
                                         for w in windows_for(state, ticket)))))):
            out.append(Delivery(_event(last, "ticket", **ticket_view(state, ticket)),
                                citizen=number, view=("ticket", number)))
    return out


def clerk_updates(state: HallState, events: list[Event], connected: Iterable[str]) -> list[Delivery]:
    """A fresh console view for each connected clerk these events concern: the clerk named in
    an event (who called, finished, signed out, or was rated) and the clerk at its window."""
    if not events:
        return []
    touched: set[str] = set()
    for e in events:
        touched.update(AUDIENCES[type(e.data)].clerks(state, e))
    last = events[-1]
    return [Delivery(_event(last, "clerk", **clerk_view(state, badge)), clerk=badge,
                     view=("clerk", badge))
            for badge in touched.intersection(connected)]


# --- appointments (预约): what the booking page and the kiosk's check-in see -----------------------

def booking_menu(state: HallState, now: datetime) -> list[dict[str, Any]]:
    """The categories that take bookings, each with its items and the days of its horizon, a
    day the service calendar closes marked closed."""
    today = service_calendar.service_day(state.hall, now)
    listed = []
    for category in state.definition.categories:
        rules = category.booking
        if rules is None:
            continue
        days = [today + timedelta(days=n) for n in range(rules.horizon_days + 1)]
        listed.append({
            "prefix": category.prefix, "name": category.name,
            "items": [{"code": i.code, "name": i.name} for i in state.definition.items
                      if i.category == category.prefix],
            "slot_minutes": rules.slot_minutes, "per_phone_per_day": rules.per_phone_per_day,
            "early_minutes": rules.early_minutes, "late_minutes": rules.late_minutes,
            "days": [{"day": d.isoformat(), "text": bookings.day_label(d),
                      "open": bookings.bookable_day(state.hall, d)} for d in days]})
    return listed


def booking_slots(state: HallState, prefix: str, day_text: str, now: datetime) -> dict[str, Any]:
    """A category's slots on a day with their free places (a slot already begun is not open);
    DomainError, in words, for a day that cannot be booked."""
    category, rules, day = state.bookable(prefix, day_text, now)
    slots = []
    for start in bookings.slot_starts(rules):
        free = state.free_places(prefix, day, start)
        slots.append({"slot": clock_text(start), "text": bookings.slot_label(rules, start),
                      "places": rules.places, "free": free,
                      "open": free > 0 and bookings.slot_moment(state.hall, day, start) > now})
    return {"category": prefix, "category_name": category.name, "day": day.isoformat(),
            "day_text": bookings.day_label(day), "slots": slots}


def booked_view(state: HallState, booking: Booking) -> dict[str, Any]:
    """A booking as its citizen sees it (the booking page's answer): its code, slot and when
    to check in at the kiosk."""
    category = state.definition.category_by_prefix.get(booking.category)
    item = state.definition.item_by_code.get(booking.service) if booking.service else None
    return {**booking_view(state, booking),   # a category since removed: its prefix
            "category_name": category.name if category else booking.category,
            "service_name": item.name if item else None,
            "day_text": bookings.day_label(booking.day)}


def point_case_view(case: ledger.Case) -> dict[str, Any]:
    """A village point's case (`queue_server.points.ledger.Case`) as the town's pages get it:
    its line of the ledger, its open 补正, and the entries that did not apply with why."""
    return {"case": case.case, "name": case.name, "phone": case.phone, "item": case.item,
            "item_name": case.item_name, "materials": list(case.materials), "agent": case.agent,
            "note": case.note, "stage": case.stage, "at": dict(case.at), "window": case.window,
            "clerk": case.clerk, "result": case.result, "result_note": case.result_note,
            "visit": case.visit,
            "asks": [{"ask": a.ask, "what": a.what, "at": a.at, "answered_at": a.answered_at}
                     for a in case.asks],
            "conflicts": [{"side": side, "seq": seq, "reason": reason,
                           "text": ledger.conflict_text(reason)}
                          for side, seq, reason in case.conflicts]}


def point_follow_view(case: ledger.Case, point_name: str) -> dict[str, Any]:
    """A village point's case as the citizen's follow page shows it (`/h/<hall>/p/<case>`):
    each stage reached with its day (the writer's clock), the open 补正, the result;
    the name masked (张*), the phone never."""
    stages = [{"stage": s, "name": POINT_STAGE_NAMES[s], "day": case.at[s][:10],
               "now": s == case.stage} for s in POINT_STAGE_NAMES if s in case.at]
    ask = case.open_ask
    return {"case": case.case, "name": masked_name(case.name), "item_name": case.item_name,
            "point": point_name, "stage": case.stage, "stages": stages,
            "ask": None if ask is None else ask.what,
            "result": POINT_RESULT_NAMES.get(case.result or ""), "result_note": case.result_note}


def items_served(definition: HallDefinition, window: int) -> set[str]:
    """The items whose cases are in a window's 代办 inbox: those of a category it serves."""
    categories = definition.window_by_number[window].categories
    return {i.code for i in definition.items if i.category in categories}


def serving_clerks(state: HallState, items: set[str]) -> list[str]:
    """The clerks (badges) signed in at a window whose 代办 inbox holds cases of these items:
    the ones a change of such cases concerns (each window's items worked out once)."""
    concerned = {window: not items.isdisjoint(items_served(state.definition, window))
                 for window in set(state.clerk_window.values())}
    return [badge for badge, window in state.clerk_window.items() if concerned[window]]


def point_inbox_view(case: ledger.Case, point: str, point_name: str,
                     calendar: service_calendar.HallCalendar, handover_days: int,
                     today: date) -> dict[str, Any]:
    """A case in the 代办 inbox of the windows that serve its item (the clerk console): its
    line (`point_case_view`) with its point, whether the town has still to act on it, its
    hand-over deadline and warning (`ledger.handover_level`) and the town's entries its stage
    allows (`ledger.town_actions`)."""
    return point_case_view(case) | {
        "point": point, "point_name": point_name, "open": case.stage in ledger.OPEN_STAGES,
        "recorded_at": case.recorded_at,
        "due_day": ledger.handover_due(calendar, case.recorded_at, handover_days).isoformat(),
        "due": ledger.handover_level(case, calendar, handover_days, today),
        "on_time": ledger.delivered_on_time(case, calendar, handover_days),
        "actions": ledger.town_actions(case)}


def point_sync_view(code: str, name: str, installed: bool, last_contact: datetime | None,
                    up_last: int, down_pending: int, clock_offset: int | None,
                    calendar: service_calendar.HallCalendar) -> dict[str, Any]:
    """A village point's sync as the manager's dashboard shows it (`point_logs.list_points`):
    last contact (the hall's local time), the entries of its log the town holds, the town's entries it has not
    confirmed yet, and its clock's offset, with a warning past `ledger.CLOCK_WARN_SECONDS`."""
    warning = None
    if clock_offset is not None and abs(clock_offset) > ledger.CLOCK_WARN_SECONDS:
        warning = f"代办点电脑时钟与乡镇相差 {round(abs(clock_offset) / 60)} 分钟"
    return {"point": code, "name": name, "installed": installed,
            "last_contact": None if last_contact is None
            else iso(service_calendar.local(calendar, last_contact)),
            "up_last": up_last, "down_pending": down_pending,
            "clock_offset_seconds": clock_offset, "clock_warning": warning}
