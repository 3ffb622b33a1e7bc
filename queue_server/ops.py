"""From a protocol request to the core command it asks for: one translation, for every caller.

A request says what to do (`call_next`, `rate` with a score); who does it comes from the
session, never from the request: a clerk acts at the window it signed into, a pad rates only
for its own window, a citizen only its own ticket, a manager's act is signed with its account.
The live session (queue_server.sessions) and the day simulator's direct mode
(bench/sim/direct.py) both call `command_for`, so that a simulated day exercises exactly the
commands a live hall would make of the same requests.

The translation is a pure function of the op, its parameters (already checked against
`hall.protocol.OPS`), who sends it and one lookup into the hall state (which window a clerk is
signed in at), so it is tested without a server. Which roles may send which op is checked
before, by the session, against the same op table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from hall.protocol import ProtocolError
from hall.vocabulary import BATCH_KIND
from queue_server import commands as cmd
from queue_server.domain_errors import DomainError


class Actor(Protocol):
    """Who sends a request, as hello established it (a session; `Identity` in the simulator)."""

    @property
    def role(self) -> str | None: ...
    @property
    def name(self) -> str: ...          # a device's name
    @property
    def window(self) -> int | None: ...  # a pad's window
    @property
    def ticket(self) -> str | None: ...  # a citizen's ticket
    @property
    def badge(self) -> str | None: ...   # a clerk's badge
    @property
    def signature(self) -> str: ...      # a manager, as the log records its acts
    @property
    def person(self) -> str: ...         # a manager's account, as the rules tell people apart


@dataclass(frozen=True, slots=True)
class Identity:
    """An actor without a connection: the simulator's kiosks, pads, citizens and clerks."""

    role: str
    name: str = ""
    window: int | None = None
    ticket: str | None = None
    badge: str | None = None
    signature: str = ""
    person: str = ""


ClerkWindow = Callable[[str], "int | None"]
"""Which window a clerk (by badge) is signed in at now: `HallState.clerk_window.get`."""

Params = dict[str, Any]


def command_for(op: str, params: Params, who: Actor, clerk_window: ClerkWindow) -> cmd.Command:
    """The command `who` asks for with this request; ProtocolError or DomainError when the
    request cannot be one (a pad's rating without its ticket, a clerk not signed in)."""
    return COMMANDS[op](params, who, clerk_window)


def _take_ticket(p: Params, who: Actor, _: ClerkWindow) -> cmd.Command:
    return cmd.TakeTicket(p["category"], p.get("kind", "handle"), p.get("priority") or "normal",
                          p.get("service"), p.get("phone_key"))


def _device_status(p: Params, who: Actor, _: ClerkWindow) -> cmd.Command:
    assert who.role is not None   # a device, after its hello
    return cmd.ReportDevice(who.name, who.role, p["printer"], p.get("detail", ""))


def _lost_ratings(p: Params, who: Actor, _: ClerkWindow) -> cmd.Command:
    assert who.window is not None   # a pad, after its hello
    return cmd.ReportLostRatings(who.name, who.window, p["day"], tuple(
        (r["ticket"], r["score"], tuple(r["reasons"])) for r in p["ratings"]))


def _rate(p: Params, who: Actor, _: ClerkWindow) -> cmd.Command:
    reasons = tuple(p.get("reasons", ()))
    if who.role == "pad":
        if "ticket" not in p:
            raise ProtocolError("bad_request", "缺少参数：ticket")
        return cmd.Rate(p["ticket"], p["score"], reasons, who.window)
    if p.get("ticket", who.ticket) != who.ticket:
        raise ProtocolError("forbidden", "只能评价您自己的小票")
    assert who.ticket is not None   # a citizen, after its hello
    return cmd.Rate(who.ticket, p["score"], reasons)


def _sign_in(p: Params, who: Actor, _: ClerkWindow) -> cmd.Command:
    assert who.badge is not None   # a clerk, after its hello
    return cmd.SignIn(who.badge, p["window"], p["post"], p.get("takeover", False))


def _at_window(make: Callable[[str, int, Params], cmd.Command]
               ) -> Callable[[Params, Actor, ClerkWindow], cmd.Command]:
    """A clerk's op at the window the clerk is signed in at now."""
    def command(p: Params, who: Actor, clerk_window: ClerkWindow) -> cmd.Command:
        assert who.badge is not None   # a clerk, after its hello
        window = clerk_window(who.badge)
        if window is None:
            raise DomainError("conflict", "请先签到到您的窗口")
        return make(who.badge, window, p)
    return command


def _appeal(p: Params, who: Actor, _: ClerkWindow) -> cmd.Command:
    """An appeal by the clerk rated (signed with the badge; the core checks it is their case)
    or by a manager (signed with the name and account, and the account to tell them apart)."""
    if who.role == "clerk":
        assert who.badge is not None   # a clerk, after its hello
        return cmd.AppealCase(p["case"], p["reason"], who.badge, who.badge)
    return cmd.AppealCase(p["case"], p["reason"], who.signature, account=who.person)


def _withdraw(p: Params, who: Actor, _: ClerkWindow) -> cmd.Command:
    """An appeal taken back, by whoever made it (the core checks it is theirs)."""
    if who.role == "clerk":
        assert who.badge is not None   # a clerk, after its hello
        return cmd.WithdrawAppeal(p["case"], who.badge, who.badge)
    return cmd.WithdrawAppeal(p["case"], who.signature, account=who.person)


def _complain(p: Params, who: Actor, _: ClerkWindow) -> cmd.Command:
    """A citizen's complaint: from its ticket's page (the ticket's window and clerk are the
    ones concerned) or from the hall's QR page. `contact`: a name or phone was given."""
    contact = bool(p.get("name") or p.get("phone"))
    if who.role == "citizen":
        return cmd.RegisterComplaint(p["kind"], "ticket", p["category"], p["text"],
                                     ticket=who.ticket, contact=contact)
    return cmd.RegisterComplaint(p["kind"], "hall", p["category"], p["text"], contact=contact)


def _signed(make: Callable[[Params, str], cmd.Command]
            ) -> Callable[[Params, Actor, ClerkWindow], cmd.Command]:
    """A manager's op, signed with who did it."""
    return lambda p, who, _: make(p, who.signature)


COMMANDS: dict[str, Callable[[Params, Actor, ClerkWindow], cmd.Command]] = {
    "take_ticket": _take_ticket,
    "take_batch": lambda p, who, _: cmd.TakeTicket(p["category"], BATCH_KIND, point=p["point"],
                                                   cases=tuple(p["cases"])),
    "device_status": _device_status,
    "lost_ratings": _lost_ratings,
    "rate": _rate,
    "sign_in": _sign_in,
    "sign_out": _at_window(lambda b, w, p: cmd.SignOut(b, w)),
    "call_next": _at_window(lambda b, w, p: cmd.CallNext(b, w)),
    "recall": _at_window(lambda b, w, p: cmd.Recall(b, w)),
    "no_show": _at_window(lambda b, w, p: cmd.NoShow(b, w)),
    "resume": _at_window(lambda b, w, p: cmd.Resume(b, w)),
    "hold": _at_window(lambda b, w, p: cmd.Hold(b, w, p["reason"])),
    "pause": _at_window(lambda b, w, p: cmd.Pause(b, w, p["reason"])),
    "resume_held": _at_window(lambda b, w, p: cmd.ResumeHeld(b, w, p["number"])),
    "call_number": _at_window(lambda b, w, p: cmd.CallNumber(b, w, p["number"])),
    "transfer": _at_window(lambda b, w, p: cmd.Transfer(
        b, w, p.get("to_category"), p.get("to_window"), p.get("note", ""))),
    "finish": _at_window(lambda b, w, p: cmd.Finish(b, w, p["outcome"], p.get("note", ""))),
    "set_notice": _signed(lambda p, by: cmd.SetNotice(p["text"], by)),
    "ack_warning": _signed(lambda p, by: cmd.AckWarning(p["warning"], by)),
    "set_priority": _signed(lambda p, by: cmd.SetPriority(p["number"], p["priority"], by)),
    "handle_case": _signed(lambda p, by: cmd.HandleCase(p["case"], p["measure"], p["finding"],
                                                        p["published"], by)),
    "rectify_case": _signed(lambda p, by: cmd.RectifyCase(p["case"], p["note"], by)),
    "follow_up_case": _signed(lambda p, by: cmd.FollowUpCase(p["case"], p["result"],
                                                             p.get("note", ""), by)),
    "appeal_case": _appeal,
    "decide_appeal": lambda p, who, _: cmd.DecideAppeal(p["case"], p["uphold"], p["reason"],
                                                        who.signature, who.person),
    "withdraw_appeal": _withdraw,
    "complain": _complain,
    "register_complaint": _signed(lambda p, by: cmd.RegisterComplaint(
        p["kind"], p["channel"], p["category"], p["text"], p.get("window"), p.get("clerk"),
        hotline_case=p.get("hotline_case"), contact=bool(p.get("name") or p.get("phone")),
        by=by)),
    "assign_complaint": _signed(lambda p, by: cmd.AssignComplaint(p["complaint"], by)),
    "reply_complaint": _signed(lambda p, by: cmd.ReplyComplaint(p["complaint"], p["reply"],
                                                                p["valid"], by)),
    "follow_up_complaint": _signed(lambda p, by: cmd.FollowUpComplaint(
        p["complaint"], p["result"], p.get("note", ""), by)),
    "close_complaint": _signed(lambda p, by: cmd.CloseComplaint(p["complaint"],
                                                                p.get("note", ""), by)),
    # appointments (预约): the session has made the keys and drawn the code (its header)
    "book": lambda p, who, _: cmd.Book(p["category"], p["day"], p["slot"], p["phone_key"],
                                       p["id_key"], p["code"], p.get("service"),
                                       tuple(p.get("phone_keys", ()))),
    "cancel_booking": lambda p, who, _: cmd.CancelBooking(p["code"], tuple(p["proofs"])),
    "check_in": lambda p, who, _: cmd.CheckIn(p["code"]),
    "lift_booking_block": _signed(lambda p, by: cmd.LiftBookingBlock(tuple(p["phone_keys"]), by)),
}
"""Every op that changes the hall, and the command it becomes. The ops that only read
(`hello`, `catalogue`, `stats`, `export`, `booking_menu`, `booking_slots` …) are not here: they
make no command."""
