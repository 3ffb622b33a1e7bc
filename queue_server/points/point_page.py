"""What the agent's page (`/point`) of a village point sees, and what it may send (pure).

The page's protocol is the hall's frames (`hall.protocol`: `{"id", "op", …}` answered by
`{"re", "ok", …}`, events `{"ev", …}`) with its own table of ops, `OPS` below, each field checked
there; what the fields mean is checked by `record_for` against the point's catalogue, and where
the case stands by `ledger.problem` (queue_server.points.point_server, which writes).

The views are plain dicts for the page: a case with its stage, its hand-over deadline and
warning (`ledger.handover_level`), the town's open 补正, the entries that did not apply (with
their Chinese text) and the actions its stage allows (`ACTIONS`, from `ledger.RULES`); the
link to the town as the sync reports it; the point and its catalogue.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlsplit

from hall import service_calendar
from hall.protocol import Op, integer, one_of, text, text_list
from hall.vocabulary import FOLLOW_UP_RESULTS, POINT_CONFLICT_NAMES
from queue_server.points import ledger
from queue_server.points.enrolment import CatalogueItem, Enrolment

ROLE = ("point",)
CASE = text(40)
NAME = text(40)
PHONE = text(20)
NOTE = text(ledger.MAX_TEXT, allow_empty=True)
OPS: dict[str, Op] = {
    "hello": Op(ROLE, {"role": one_of(*ROLE)}),
    "record": Op(ROLE, {"name": NAME, "phone": PHONE, "item": text(40),
                        "materials": text_list(ledger.MAX_MATERIALS), "agent": NAME},
                 {"note": NOTE}),
    "amend": Op(ROLE, {"case": CASE}, {"name": NAME, "phone": PHONE,
                                       "materials": text_list(ledger.MAX_MATERIALS),
                                       "note": NOTE}),
    "supply": Op(ROLE, {"case": CASE, "ask": integer(1),
                        "materials": text_list(ledger.MAX_MATERIALS)}, {"note": NOTE}),
    "withdraw": Op(ROLE, {"case": CASE, "reason": text(ledger.MAX_TEXT)}),
    "fed_back": Op(ROLE, {"case": CASE}, {"note": NOTE}),
    "archive": Op(ROLE, {"case": CASE}),
    "visit": Op(ROLE, {"case": CASE, "result": one_of(*FOLLOW_UP_RESULTS)}, {"note": NOTE}),
}
"""The page's ops (`hall.protocol.parse_request(frame, OPS)`)."""

ACTIONS: Mapping[str, type[ledger.Record]] = {
    "amend": ledger.CaseAmended, "supply": ledger.MaterialSupplied,
    "withdraw": ledger.CaseWithdrawn, "fed_back": ledger.CaseFedBack,
    "archive": ledger.CaseArchived, "visit": ledger.CaseVisited}
"""Each op on a case, and the entry it writes."""

_PHONE = re.compile(r"1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8}|[0-9]{7,8}")


class Refused(ValueError):
    """An action the page asked for that is not written, said in Chinese."""


def phone_text(given: str) -> str:
    """The phone as stored: blanks and dashes typed in it dropped but a landline's one dash;
    Refused when it is not a mobile (11 digits) or a landline number."""
    compact = "".join(unicodedata.normalize("NFKC", given).split())   # full-width digits too
    if not _PHONE.fullmatch(compact):
        raise Refused("请填写正确的电话号码：手机 11 位（1 开头），或固定电话（如 0571-8888888）")
    return compact


def _citizen(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise Refused("请填写群众姓名")
    return name


def _materials(item: CatalogueItem, given: list[str]) -> tuple[str, ...]:
    unknown = [m for m in given if m not in item.materials]
    if unknown:
        raise Refused(f"“{unknown[0][:20]}”不在“{item.name}”的材料清单中")
    if len(set(given)) != len(given):
        raise Refused("材料清单中有重复的项")
    return tuple(m for m in item.materials if m in given)   # in the checklist's order


def record_for(op: str, params: Mapping[str, Any], items: tuple[CatalogueItem, ...],
               cases: Mapping[str, ledger.Case], new_case: str) -> ledger.Record:
    """The entry an op of the page writes (`new_case`: the number a new case gets); Refused
    when its fields make no sense for this point (the rules are `ledger.problem`'s)."""
    if op == "record":
        item = next((i for i in items if i.code == params["item"]), None)
        if item is None:
            raise Refused("请从事项目录中选择办理事项（该事项不在本代办点的目录中）")
        return ledger.CaseRecorded(
            new_case, _citizen(params["name"]), phone_text(params["phone"]), item.code, item.name,
            _materials(item, params["materials"]), _citizen(params["agent"]),
            params.get("note", "").strip())
    case = cases.get(params["case"])
    if case is None:
        raise Refused(f"本代办点没有件号为 {params['case'][:40]} 的件")
    if op == "amend":
        item = next((i for i in items if i.code == case.item), None)
        materials = params.get("materials")
        if materials is not None and item is not None:
            materials = list(_materials(item, materials))
        if not {"name", "phone", "materials", "note"} & set(params):
            raise Refused("没有要更正的内容")
        return ledger.CaseAmended(
            case.case, _citizen(params["name"]) if "name" in params else None,
            phone_text(params["phone"]) if "phone" in params else None,
            tuple(materials) if materials is not None else None,
            params["note"].strip() if "note" in params else None)
    if op == "supply":
        if not params["materials"]:
            raise Refused("请填写补交了哪些材料")
        return ledger.MaterialSupplied(case.case, params["ask"], tuple(params["materials"]),
                                       params.get("note", "").strip())
    if op == "withdraw":
        return ledger.CaseWithdrawn(case.case, params["reason"].strip())
    if op == "fed_back":
        return ledger.CaseFedBack(case.case, params.get("note", "").strip())
    if op == "archive":
        return ledger.CaseArchived(case.case)
    assert op == "visit"
    return ledger.CaseVisited(case.case, params["result"], params.get("note", "").strip())


def allowed(case: ledger.Case) -> list[str]:
    """The ops the case's stage allows (`ledger.RULES`); 补交 only while the town asks."""
    ops = [op for op, kind in ACTIONS.items() if case.stage in ledger.RULES[kind]]
    if case.open_ask is None and "supply" in ops:
        ops.remove("supply")
    return ops


def case_view(case: ledger.Case, enrolment: Enrolment, calendar: service_calendar.Calendar,
              today: date) -> dict[str, Any]:
    due = ledger.handover_due(calendar, case.recorded_at, enrolment.handover_days)
    ask = case.open_ask
    return {
        "case": case.case, "name": case.name, "phone": case.phone, "item": case.item,
        "item_name": case.item_name, "materials": list(case.materials), "agent": case.agent,
        "note": case.note, "recorded_at": case.recorded_at, "stage": case.stage,
        "at": case.at, "due_day": due.isoformat(),
        "due": ledger.handover_level(case, calendar, enrolment.handover_days, today),
        "window": case.window, "result": case.result, "result_note": case.result_note,
        "visit": case.visit,
        "ask": None if ask is None else {"ask": ask.ask, "what": ask.what, "at": ask.at},
        "conflicts": [POINT_CONFLICT_NAMES[code] for _, _, code in case.conflicts],
        "actions": allowed(case)}


def restoring_text(missing: int, connected: bool, refused: bool = False) -> str:
    """What the page says while the town holds `missing` entries of the point's own log that
    this PC lacks (`PointStore.town_ahead`), until the sync has given them back; `refused`:
    the town refused the sync (a log that is not the beginning of its copy), whose words the
    page shows below, so nothing will come back by itself."""
    if connected:
        return f"正在从乡镇取回本点的 {missing} 条记录…取回前不能登记或更改"
    if refused:
        return f"乡镇有本点的 {missing} 条记录本机还没有，乡镇拒绝了同步，不能自动取回（见下方说明）；不能登记或更改"
    return f"乡镇有本点的 {missing} 条记录本机还没有，连上乡镇后自动取回；取回前不能登记或更改"


def behind_refusal(missing: int) -> str:
    """The refusal of every action while the town holds entries of the point's log this PC
    lacks: the numbers it would write are the town's already."""
    return (f"乡镇有本点的 {missing} 条记录本机还没有，取回前不能登记或更改（以免件号和记录序号与乡镇"
            "已有的重复）：请连通网络，稍候再试")


def link_view(state: Mapping[str, Any] | None, pending: int, missing: int = 0) -> dict[str, Any]:
    """The link to the town as the page shows it: the sync's last report (`link_state`), or
    before any, not connected with every entry of the point's log pending; with `restoring`,
    the words while the town holds `missing` entries of the point's log that it lacks, and
    `refused` once the town has refused the sync (nothing is under way: the page warns)."""
    connected = bool(state and state.get("connected"))
    refused = bool(state and state.get("refused"))
    restoring = restoring_text(missing, connected, refused) if missing else None
    if state is None:
        return {"connected": False, "last_contact": None, "pending": pending,
                "clock_offset_seconds": None, "clock_warning": None, "error": None,
                "restoring": restoring, "refused": False}
    offset = state.get("clock_offset_seconds")
    warning = None
    if offset is not None and abs(offset) > ledger.CLOCK_WARN_SECONDS:
        warning = f"本机时钟与乡镇相差 {round(abs(offset) / 60)} 分钟，请校准"
    return {"connected": bool(state.get("connected")), "last_contact": state.get("last_contact"),
            "pending": int(state.get("pending", pending)), "clock_offset_seconds": offset,
            "clock_warning": warning, "error": state.get("error"), "restoring": restoring,
            "refused": refused}


def items_view(version: int, items: tuple[CatalogueItem, ...]) -> dict[str, Any]:
    return {"version": version, "items": [{"code": i.code, "name": i.name,
                                           "materials": list(i.materials)} for i in items]}


def town_address(enrolment: Enrolment) -> str:
    """The town server's public address (http or https) from its sync address (ws or wss)."""
    parts = urlsplit(enrolment.town_url)
    scheme = "https" if parts.scheme == "wss" else "http"
    return f"{scheme}://{parts.netloc}"


def follow_url(enrolment: Enrolment, case: str) -> str:
    """Where the citizen follows a case (the receipt's QR): the town's `/h/<hall>/p/<case>`,
    with the key that proves the address was made by the point (`ledger.follow_key`)."""
    return (f"{town_address(enrolment)}/h/{enrolment.hall}/p/{case}"
            f"?k={ledger.follow_key(enrolment.secret, case)}")
