"""Property tests: random command sequences against HallState, checked by an independent model.

The model below keeps its own record of what is waiting (category, priority class, original
issue time, target window) from the events, and checks each call against the rules written in
dispatch.py's docstring, not against the core's own queues. After every step the core must also
pass its own cross-check, and at the end a fresh state rebuilt from the events must equal the
live one, and the 差评 cases, rebuilt from every day's case events and that day's events as a
restarted server does, equal the live ones: each 差评 with exactly one case.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from hall import service_calendar as cal
from hall.vocabulary import is_bad
from queue_server import commands as cmd
from queue_server import events as ev
from queue_server.dispatch import PRIORITY_CLASS
from queue_server.domain_errors import DomainError
from queue_server.hall_state import HallState
from queue_server.hall_toml import load_hall
from queue_server.lifecycle import CASE_ACTIONS, FINAL_STATUSES, TicketStatus

HALL = load_hall(Path(__file__).parent / "data" / "small-hall.toml")
TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 23, 8, 30, tzinfo=TZ)  # a Monday
RATIO = HALL.hall.priority_ratio
WINDOWS = [w.number for w in HALL.windows]
CLERKS = [c.badge for c in HALL.clerks]
PREFIXES = [c.prefix for c in HALL.categories]
POSTS = [(w.a_post, w.number, "A") for w in HALL.windows] + [
    (badge, w.number, "B") for w in HALL.windows for badge in w.b_posts]
WARNING_KINDS = ("long_wait", "long_service", "unattended", "negative_rating", "device")
ticket_requests = st.tuples(st.sampled_from([*PREFIXES, "Z"]),
                            st.sampled_from(["handle", "handle", "consult", "pickup"]),
                            st.sampled_from(["normal", "normal", "elderly", "disabled", "green"]))


class HallMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = START
        self.state = HallState(HALL, START.date())
        self.log: list = []
        self.waiting: dict[str, dict] = {}      # the model's own view of waiting tickets
        self.original_issue: dict[str, datetime] = {}
        self.first_caller: dict[str, str] = {}
        self.streak = {p: 0 for p in PREFIXES}  # priority calls in a row while normal waited
        self.ended: set[str] = set()
        self.day_numbers: dict[str, list[int]] = {p: [] for p in PREFIXES}
        self.bad_ratings: set[tuple] = set()    # (day, ticket) of every 差评
        self.cases_for: dict[tuple, str] = {}    # (day, ticket) → the case it opened

    # --- sending commands ---------------------------------------------------------------------

    def send(self, command: cmd.Command) -> list:
        before = self.state.seq
        rolled = self.state.roll_to(self.now)
        self.observe(rolled)
        try:
            events = self.state.handle(command, self.now)
        except DomainError as error:
            assert error.code in ("bad_request", "not_found", "forbidden", "conflict", "closed")
            assert self.state.seq == before + len(rolled), "a refused command changed the state"
            return []
        self.observe(events)
        return events

    def observe(self, events: list) -> None:
        for event in events:
            assert not self.log or event.seq == self.log[-1].seq + 1
            self.log.append(event)
            self.check_event(event)

    def check_event(self, e) -> None:
        d = e.data.fields()
        number = d.get("ticket" if e.kind == "warning" else "number")
        if e.kind == "warning":
            # the wire contract's kinds and field names (shared/protocol.md), times in seconds
            assert d["kind"] in WARNING_KINDS, d["kind"]
            assert "number" not in d
            assert "since" not in d or datetime.fromisoformat(d["since"]).microsecond == 0
        if e.kind == "ticket_rated" and is_bad(d["score"]):
            self.bad_ratings.add((e.day, number))
        if e.kind == "case_opened":
            key = (e.day, d["ticket"])
            assert key in self.bad_ratings and key not in self.cases_for, "not one case per 差评"
            self.cases_for[key] = d["case"]
        if number in self.ended and e.kind != "ticket_rated" and not (
                e.kind == "warning" and d["kind"] == "negative_rating"):
            raise AssertionError(f"{e.kind} on {number}, which had already ended")
        if e.kind == "ticket_issued":
            prefix = d["category"]
            seq_no = int(number[len(prefix):])
            numbers = self.day_numbers[prefix]
            assert seq_no == (numbers[-1] + 1 if numbers else 1), "numbering skipped or reused"
            numbers.append(seq_no)
            assert len(numbers) <= HALL.category_by_prefix[prefix].daily_cap
            assert cal.issuing(HALL.hall, cal.local(HALL.hall, e.at))
            self.waiting[number] = {"category": prefix, "class": PRIORITY_CLASS[d["priority"]],
                                    "order": (e.at, e.seq), "target": None}
            self.original_issue[number] = e.at
        elif e.kind == "ticket_called" and d["via"] != "recall":
            window = self.state.windows[d["window"]]
            assert window.clerk == d["clerk"], "a window called without its clerk"
            if d["via"] == "next":
                self.check_dispatch(d["window"], number)
            elif d["via"] == "number":
                ticket = self.waiting[number]
                if ticket["class"] == "normal" and ticket["target"] is None:
                    self.streak[ticket["category"]] = 0  # a normal one was served: run broken
            self.waiting.pop(number, None)
            self.first_caller.setdefault(number, d["clerk"])
        elif e.kind == "clerk_signed_in":
            window = HALL.window_by_number[d["window"]]
            roster = window.a_post if d["post"] == "A" else window.b_posts
            assert d["clerk"] in (roster if d["post"] == "B" else (roster,)), "post not per roster"
            previous = self.log[-2] if len(self.log) > 1 else None
            if d["takeover"]:
                assert previous is not None and previous.kind == "clerk_signed_out"
                assert previous.data.reason == "handover"
                assert previous.data.clerk == d["previous"], "handover not recorded"
        elif e.kind == "ticket_transferred":
            self.waiting[number] = {
                "category": d["to_category"] or self.state.tickets[number].category,
                "class": PRIORITY_CLASS[self.state.tickets[number].priority],
                "order": (self.original_issue[number], self.state.tickets[number].order),
                "target": d["to_window"]}
            assert d["first_clerk"] == self.first_caller[number], "首问 clerk not kept"
        elif e.kind == "ticket_returned":
            window = self.state.windows[d["window"]]
            assert window.clerk is None, "returned a ticket from a staffed window"
            self.waiting[number]["target"] = None
        elif e.kind == "ticket_priority_set":
            self.waiting[number]["class"] = "green"
        elif e.kind in ("ticket_finished", "ticket_no_show", "ticket_cancelled"):
            self.waiting.pop(number, None)
            self.ended.add(number)
        elif e.kind == "warning" and d["kind"] == "unattended":
            window = self.state.windows[d["window"]]
            assert window.clerk is None, "unattended warning for a staffed window"
            assert window.unstaffed_since is not None, "脱岗 for a window nobody opened today"
            assert cal.session_at(HALL.hall, cal.local(HALL.hall, e.at)) is not None
            assert d["minutes"] >= HALL.hall.unattended_after_minutes
        elif e.kind == "warning" and d["kind"] == "long_wait":
            assert number in self.waiting, "a long_wait warning for a ticket not waiting"
            assert d["minutes"] >= HALL.hall.wait_yellow_minutes
            assert (d["level"] == "red") == (d["minutes"] >= HALL.hall.wait_red_minutes)
        elif e.kind == "warning" and d["kind"] == "long_service":
            current = self.state.windows[d["window"]].current
            assert current is not None and current.number == number, "long_service warning off the desk"
            assert d["minutes"] >= HALL.hall.service_warning_minutes
        elif e.kind == "warning_acknowledged":
            assert self.state.warnings[d["warning"]]["acknowledged"]["by"] == d["by"]
            assert sum(1 for x in self.log if x.kind == "warning_acknowledged"
                       and x.data.warning == d["warning"]) == 1, "acknowledged twice"
        elif e.kind == "warning" and d["kind"] == "device":
            assert self.state.devices[d["device"]]["printer"] != "ok"
        elif e.kind == "ticket_rated" and d["channel"] == "pad":
            assert self.state.tickets[number].window == d["window"], "a pad rated another window's ticket"
        elif e.kind == "warning" and d["kind"] == "negative_rating":
            assert self.state.tickets[number].score <= 2, "a rating warning for a good score"
        elif e.kind == "day_started":
            assert all(t.status in FINAL_STATUSES for t in self.state.tickets.values()) or \
                not self.state.tickets
            self.waiting.clear()
            self.streak = {p: 0 for p in PREFIXES}
            self.day_numbers = {p: [] for p in PREFIXES}
            self.first_caller.clear()
            self.ended.clear()

    def check_dispatch(self, window_number: int, number: str) -> None:
        """The called ticket is the one dispatch.py's rules name, from the model's own view."""
        window = HALL.window_by_number[window_number]
        targeted = sorted(
            (w for w in self.waiting.items() if w[1]["target"] == window_number),
            key=lambda item: (["green", "priority", "normal"].index(item[1]["class"]),
                              item[1]["order"]))
        if targeted:
            assert number == targeted[0][0], "a ticket transferred to this window was skipped"
            return
        ticket = self.waiting[number]
        assert ticket["target"] is None, "took a ticket transferred to another window"
        prefix = ticket["category"]
        for earlier in window.categories[:window.categories.index(prefix)]:
            assert not any(w["category"] == earlier and w["target"] is None
                           for w in self.waiting.values()), "order of preference broken"
        lane = {name: sorted(w["order"] for w in self.waiting.values()
                             if w["category"] == prefix and w["target"] is None
                             and w["class"] == name)
                for name in ("green", "priority", "normal")}
        assert ticket["order"] == lane[ticket["class"]][0], "not the oldest of its class (FIFO)"
        if ticket["class"] == "priority":
            assert not lane["green"], "绿色通道 ticket passed over"
        if ticket["class"] == "normal":
            assert not (lane["green"] or lane["priority"]) or self.streak[prefix] >= RATIO, \
                "normal ticket called before priority without the ratio rule"
            self.streak[prefix] = 0
        else:
            self.streak[prefix] = self.streak[prefix] + 1 if lane["normal"] else 0
            assert self.streak[prefix] <= RATIO, "priority starved normal tickets"

    def clerk_at(self, window: int) -> str:
        return self.state.windows[window].clerk or "1001"

    def pick_window(self, data, want) -> int:
        """Mostly a window where the action makes sense, sometimes any (to test refusals)."""
        fitting = [n for n, w in self.state.windows.items() if want(w)]
        if fitting and data.draw(st.integers(0, 4)) > 0:
            return data.draw(st.sampled_from(fitting))
        return data.draw(st.sampled_from(WINDOWS))

    def serving(self, data) -> int:
        return self.pick_window(data, lambda w: w.current is not None)

    # --- rules ------------------------------------------------------------------------------------

    @initialize(data=st.data(), requests=st.lists(ticket_requests, max_size=12))
    def open_the_hall(self, data, requests):
        for window in HALL.windows:
            options = [None, (window.a_post, "A"), *((b, "B") for b in window.b_posts)]
            choice = data.draw(st.sampled_from(options))
            if choice is not None:
                self.send(cmd.SignIn(choice[0], window.number, choice[1]))
        self.take_tickets(requests)

    @rule(requests=st.lists(ticket_requests, min_size=1, max_size=4))
    def take_tickets(self, requests):
        for prefix, kind, priority in requests:
            self.send(cmd.TakeTicket(prefix, kind, priority))

    @rule(post=st.sampled_from(POSTS), takeover=st.booleans())
    def sign_in(self, post, takeover):
        clerk, window, name = post
        self.send(cmd.SignIn(clerk, window, name, takeover))

    @rule(clerk=st.sampled_from(CLERKS), window=st.sampled_from(WINDOWS),
          post=st.sampled_from(["A", "B", "C"]))
    def sign_in_anywhere(self, clerk, window, post):
        self.send(cmd.SignIn(clerk, window, post))

    @rule(window=st.sampled_from(WINDOWS))
    def sign_out(self, window):
        self.send(cmd.SignOut(self.clerk_at(window), window))

    @rule(window=st.sampled_from(WINDOWS), reason=st.sampled_from(["会议", "下村", ""]))
    def pause(self, window, reason):
        self.send(cmd.Pause(self.clerk_at(window), window, reason))

    @rule(data=st.data())
    def resume(self, data):
        window = self.pick_window(data, lambda w: w.paused)
        self.send(cmd.Resume(self.clerk_at(window), window))

    @rule(data=st.data(), impostor=st.booleans())
    def call_next(self, data, impostor):
        window = self.pick_window(data, lambda w: w.clerk is not None and w.current is None)
        staffed = self.state.windows[window].clerk is not None
        clerk = "1005" if impostor else self.clerk_at(window)
        events = self.send(cmd.CallNext(clerk, window))
        if not staffed:
            assert not events, "a window with no clerk called"

    @rule(window=st.sampled_from(WINDOWS), data=st.data())
    def call_number(self, window, data):
        numbers = sorted(self.state.tickets) or ["A001"]
        self.send(cmd.CallNumber(self.clerk_at(window), window, data.draw(st.sampled_from(numbers))))

    @rule(data=st.data())
    def resume_held(self, data):
        window = self.pick_window(data, lambda w: bool(w.held))
        held = self.state.windows[window].held
        number = held[0].number if held else "A001"
        self.send(cmd.ResumeHeld(self.clerk_at(window), window, number))

    @rule(data=st.data())
    def recall(self, data):
        window = self.serving(data)
        self.send(cmd.Recall(self.clerk_at(window), window))

    @rule(data=st.data())
    def no_show(self, data):
        window = self.serving(data)
        self.send(cmd.NoShow(self.clerk_at(window), window))

    @rule(data=st.data())
    def hold(self, data):
        window = self.serving(data)
        self.send(cmd.Hold(self.clerk_at(window), window, "材料不全"))

    @rule(data=st.data(), destination=st.one_of(
        st.tuples(st.sampled_from(PREFIXES), st.none()),
        st.tuples(st.none(), st.sampled_from(WINDOWS)),
        st.tuples(st.sampled_from([None, *PREFIXES]), st.sampled_from([None, *WINDOWS]))))
    def transfer(self, data, destination):
        to_category, to_window = destination
        window = self.serving(data)
        self.send(cmd.Transfer(self.clerk_at(window), window, to_category, to_window))

    @rule(data=st.data(), outcome=st.sampled_from(["done", "accepted", "done", "x"]))
    def finish(self, data, outcome):
        window = self.serving(data)
        self.send(cmd.Finish(self.clerk_at(window), window, outcome))

    @rule(data=st.data())
    def green_channel(self, data):
        numbers = sorted(self.state.tickets) or ["A001"]
        self.send(cmd.SetPriority(data.draw(st.sampled_from(numbers)), "green", "manager"))

    @rule(pad=st.booleans(), score=st.sampled_from([None, 1, 2, 3, 5]), data=st.data())
    def rate(self, pad, score, data):
        numbers = sorted(self.state.tickets) or ["A001"]
        number = data.draw(st.sampled_from(numbers))
        ticket = self.state.tickets.get(number)
        # A pad usually rates its own window's ticket, sometimes another's (refused).
        window = (ticket.window if ticket and ticket.window and data.draw(st.booleans())
                  else data.draw(st.sampled_from(WINDOWS))) if pad else None
        reasons = ("办事效率低",) if score == 1 else ()
        self.send(cmd.Rate(number, score, reasons, window))

    @rule(data=st.data(), action=st.sampled_from(CASE_ACTIONS),
          by=st.sampled_from(["主任", "副主任", "1001", "1003"]))
    def act_on_a_case(self, data, action, by):
        """Any act on any case by a manager, or an appeal by a clerk (their own or not)."""
        number = data.draw(st.sampled_from(sorted(self.state.cases) or ["20261123-01"]))
        make = {
            **{m: lambda: cmd.HandleCase(number, m, "核实", "答复", by)   # noqa: B023
               for m in ("at_once", "deadline", "explain")},
            "rectify": lambda: cmd.RectifyCase(number, "已整改", by),
            "follow_up": lambda: cmd.FollowUpCase(
                number, data.draw(st.sampled_from(["satisfied", "unreached"])), "", by),
            "appeal": lambda: cmd.AppealCase(number, "误评", by, by if by.isdigit() else None),
            "uphold": lambda: cmd.DecideAppeal(number, True, "属实", by, by),
            "reject": lambda: cmd.DecideAppeal(number, False, "不属实", by, by),
            "withdraw": lambda: cmd.WithdrawAppeal(number, by, by if by.isdigit() else None),
        }[action]
        self.send(make())

    @rule(data=st.data())
    def acknowledge(self, data):
        seqs = sorted(self.state.warnings) or [1]
        self.send(cmd.AckWarning(data.draw(st.sampled_from(seqs)), "manager"))

    @rule(printer=st.sampled_from(["ok", "paper_low", "paper_out", "offline"]))
    def printer_reports(self, printer):
        self.send(cmd.ReportDevice("kiosk-1", "kiosk", printer))

    @rule(minutes=st.integers(0, 12))
    def time_passes(self, minutes):
        self.now += timedelta(minutes=minutes)
        self.send(cmd.Tick())

    @precondition(lambda self: len(self.log) > 60)
    @rule()
    def next_day(self):
        moment = cal.local(HALL.hall, self.now)
        self.now = cal.next_working_day_start(HALL.hall, moment)
        self.send(cmd.Tick())

    # --- invariants ----------------------------------------------------------------------------------

    @invariant()
    def core_is_consistent(self):
        assert self.state.consistency_problems() == []
        staffed = [w.clerk for w in self.state.windows.values() if w.clerk is not None]
        assert len(staffed) == len(set(staffed)), "a clerk at two windows at once"
        for w in self.state.windows.values():
            if w.clerk is None:
                assert w.current is None, "a closed window holds a ticket"
        for number, ticket in self.state.tickets.items():
            assert ticket.issued_at == self.original_issue[number], "issue time changed"
            if ticket.status == TicketStatus.WAITING:
                assert number in self.waiting
        assert set(self.waiting) == {t.number for t in self.state.tickets.values()
                                     if t.status == TicketStatus.WAITING}

    def teardown(self):
        # Rebuilding from the day's events gives the same state.
        day_events = [e for e in self.log if e.day == self.state.day]
        if day_events:
            rebuilt = HallState(HALL, self.state.day, day_events[0].seq - 1)
            for event in day_events:
                rebuilt.apply(event)
            assert _snapshot(rebuilt) == _snapshot(self.state)
        # The cases, from every earlier day's case events and today's events (hall_service.rebuild).
        earlier = [e for e in self.log if e.day < self.state.day and type(e.data) in ev.CASE_KINDS]
        rebuilt = HallState(HALL, self.state.day)
        for event in (*earlier, *day_events):
            rebuilt.apply(event)
        assert _cases(rebuilt) == _cases(self.state)
        assert set(self.cases_for) == self.bad_ratings, "a 差评 without its case"
        # Closing the day leaves every ticket in exactly one final state.
        tickets = list(self.state.tickets.values())
        self.now = cal.next_working_day_start(HALL.hall, cal.local(HALL.hall, self.now))
        self.observe(self.state.roll_to(self.now))
        assert all(t.status in FINAL_STATUSES for t in tickets)


def _snapshot(state: HallState) -> tuple:
    tickets = sorted((t.number, t.status, t.category, t.priority, t.window, t.clerk,
                      t.target_window, t.recalls, t.calls, t.first_clerk, t.score,
                      t.wait_warned, t.service_warned, len(t.trail))
                     for t in state.tickets.values())
    windows = sorted((w.number, w.clerk, w.post, w.paused, w.current and w.current.number,
                      tuple(t.number for t in w.held), tuple(t.number for t in w.targeted),
                      w.warned) for w in state.windows.values())
    queues = {p: ([t.number for t in (*q.green, *q.priority, *q.normal)], q.streak)
              for p, q in state.queues.items()}
    return (state.seq, state.day, tickets, windows, queues, state.issued, state.service_seconds,
            state.warnings)


HallMachine.TestCase.settings = settings(
    max_examples=300, stateful_step_count=80, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestHallRules = HallMachine.TestCase


def _cases(state: HallState) -> list:
    return sorted((c.number, c.ticket, c.day, c.status, c.deadline, repr(c.handling),
                   repr(c.appeal), repr(c.decision), repr(c.follow_ups), c.closed_on)
                  for c in state.cases.values())
