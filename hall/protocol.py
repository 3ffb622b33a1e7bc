"""The hall wire protocol: frames, ops and their parameters, replies. Shared by server and devices.

One text frame is one JSON object. A request is `{"id": 7, "op": "take_ticket", ...params}`; the
reply echoes the id: `{"re": 7, "ok": true, ...}` or `{"re": 7, "ok": false, "error": {"code",
"message"}}`. Events are `{"ev": kind, "seq": n, "at": iso, ...}`. `parse_request` turns a frame
into a checked `Request` or raises `ProtocolError` carrying the reply to send (with `re` null
when no id could be read). Checking is by the table `OPS` below, so the server, the clients and
docs/protocol.md agree on one list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from hall.vocabulary import (
    CASE_MEASURES,
    CASE_REPORTS,
    COMPLAINT_KINDS,
    COMPLAINT_STATUS_NAMES,
    DEVICE_ROLES,
    DIMENSIONS,
    FOLLOW_UP_RESULTS,
    KIOSK_PRIORITIES,
    OUTCOMES,
    PERIODS,
    POINT_DIMENSIONS,
    POSTS,
    PRINTER_STATES,
    REPORTS,
    ROLES,
    TICKET_KINDS,
)

MAX_FRAME_BYTES = 64 * 1024
# Where a hall lives on a server that may serve many: `/h/<hall code>/ws`, `/h/<code>/clerk/` …
# (a single-hall server answers the bare paths too). The pages get it through /common/vocabulary.js.
HALL_PATH_PREFIX = "/h/"
HALL_PATH = HALL_PATH_PREFIX + "{code}"
ERROR_CODES = ("bad_request", "unknown_op", "unauthorized", "forbidden", "not_found", "conflict",
               "closed", "rate_limited", "internal",
               "moved", "unavailable")   # another server leads the hall (its `leader`), or none yet
MAX_TEXT = 500
MAX_INT = 2**31 - 1
# Close codes of the server's own (4000–4999 are the application's, RFC 6455 §7.4.2):
CLOSE_REVOKED = 4001    # the token, PIN or password this session said hello with was revoked or
                        # changed: say hello again only with new credentials
CLOSE_MOVED = 4003      # the hall is served by another server now: reconnect (and follow `moved`)
CLOSE_TOO_SLOW = 4002   # too much waited to be sent to this connection: reconnect and resync


class ProtocolError(Exception):
    """`detail`: more for the client beside code and message (a mobile take refused because
    the phone has today's ticket of that category: that `ticket`)."""

    def __init__(self, code: str, message: str, re: Any = None, **detail: Any):
        super().__init__(message)
        self.code, self.message, self.re, self.detail = code, message, re, detail

    def reply(self) -> dict[str, Any]:
        return error_reply(self.re, self.code, self.message, **self.detail)


def ok_reply(re: Any, **result: Any) -> dict[str, Any]:
    return {"re": re, "ok": True, **result}


def error_reply(re: Any, code: str, message: str, **detail: Any) -> dict[str, Any]:
    return {"re": re, "ok": False, "error": {"code": code, "message": message, **detail}}


# --- parameter checks --------------------------------------------------------------------------

Check = Callable[[Any], Any]


def text(max_len: int = MAX_TEXT, allow_empty: bool = False) -> Check:
    def check(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("应为文本")
        if len(value) > max_len:
            raise ValueError(f"不能超过 {max_len} 个字符")
        if not allow_empty and not value.strip():
            raise ValueError("不能为空")
        return value
    return check


def integer(low: int = 0, high: int = MAX_INT) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("应为整数")
        if not low <= value <= high:
            raise ValueError(f"应在 {low} 到 {high} 之间")
        return value
    return check


def one_of(*choices: str) -> Check:
    def check(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"应为 {' / '.join(choices)} 之一")
        return value
    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("应为 true 或 false")
    return value


def nullable(inner: Check) -> Check:
    def check(value: Any) -> Any:
        return None if value is None else inner(value)
    return check


def text_list(max_items: int = 10) -> Check:
    item = text(100)

    def check(value: Any) -> list[str]:
        if not isinstance(value, list) or len(value) > max_items:
            raise ValueError(f"应为不超过 {max_items} 项的文本数组")
        return [item(v) for v in value]
    return check


def record_list(fields: dict[str, Check], max_items: int) -> Check:
    """A list of objects, each with exactly these fields, each field checked."""
    def check(value: Any) -> list[dict[str, Any]]:
        if not isinstance(value, list) or not 0 < len(value) <= max_items:
            raise ValueError(f"应为 1 到 {max_items} 项的数组")
        if not all(isinstance(v, dict) and set(v) == set(fields) for v in value):
            raise ValueError(f"每一项应有且只有：{'、'.join(fields)}")
        return [{name: fields[name](v[name]) for name in fields} for v in value]
    return check


def record(fields: dict[str, Check]) -> Check:
    """One object with exactly these fields, each field checked."""
    def check(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or set(value) != set(fields):
            raise ValueError(f"应为对象，有且只有：{'、'.join(fields)}")
        checked = {}
        for name, inner in fields.items():
            try:
                checked[name] = inner(value[name])
            except ValueError as error:
                raise ValueError(f"{name} {error}") from None
        return checked
    return check


@dataclass(frozen=True)
class Op:
    roles: tuple[str, ...]
    required: dict[str, Check] = field(default_factory=dict)
    optional: dict[str, Check] = field(default_factory=dict)


NUMBER = text(8)
LOST_RATINGS = 200   # a pad's ratings of one past day reported at once (`lost_ratings`), at most
CASE = text(16)   # a 差评 case's number, "20261123-01"
COMPLAINT = text(16)   # a complaint's number, "TS20261207-001"
BOOKING_CODE_DIGITS = 8   # a booking's code (预约码): made by the server, typed or scanned at the kiosk
BAD_BOOKING_CODE = f"预约码应为 {BOOKING_CODE_DIGITS} 位数字"   # said by the server and the kiosk
BATCH_PREFIX = "DBJB1"   # a 交接单's batch code begins so (queue_server.points.batch; the kiosk)
MAX_VOICE_SECONDS = 24 * 3600
VOICE_BACKLOG = record({"calls": integer(0, 10_000), "seconds": integer(0, MAX_VOICE_SECONDS),
                        "worst": nullable(integer(0, MAX_VOICE_SECONDS))})
"""A board's voice backlog (`hall.voice.playback.Backlog.wire`): calls not yet said, seconds of
sound until its speaker falls quiet, the longest wait before a first word lately (null: none)."""
NO_DEVICE_STATUS = "设备状态应至少报告打印机状态（printer）或语音积压（voice）"
VOICE_FROM_BOARDS = "只有显示屏（含只播报的设备）报告语音积压（voice）"
OPS: dict[str, Op] = {
    "hello": Op(ROLES, {"role": one_of(*ROLES)}, {
        "device": text(60), "token": text(200), "badge": text(16), "pin": text(16),
        "ticket": text(200), "user": text(60), "password": text(200),
        "pass": text(1000), "since_seq": integer(), "code": text(12), "bundle": boolean}),
    "catalogue": Op(("kiosk", "manager"), optional={"since_version": integer()}),
    "take_ticket": Op(("kiosk", "mobile"), {"category": text(2)}, {
        "service": nullable(text(64)), "kind": one_of(*TICKET_KINDS),
        "priority": nullable(one_of(*KIOSK_PRIORITIES)), "phone": text(20)}),
    # a village point's agent bringing cases (代办送件, docs/points.md): the 交接单's batch code
    # (`queue_server.points.batch`) scanned, or the point's code typed
    "take_batch": Op(("kiosk",), {"code": text(400)}),
    "take_menu": Op(("mobile",)),
    "take_poster": Op(("manager",)),
    # a device's health: a kiosk's printer, a board's voice backlog (at least one of the two)
    "device_status": Op(DEVICE_ROLES, optional={"printer": one_of(*PRINTER_STATES),
                                                "detail": text(200, True), "voice": VOICE_BACKLOG}),
    # a pad's ratings kept past their service day (it was cut off across midnight): too late to
    # be stored, they become a device warning the managers see
    "lost_ratings": Op(("pad",), {"day": text(10), "ratings": record_list(
        {"ticket": NUMBER, "score": nullable(integer(1, 5)), "reasons": text_list()},
        LOST_RATINGS)}),
    "sign_in": Op(("clerk",), {"window": integer(1, 999), "post": one_of(*POSTS)},
                  {"takeover": boolean}),
    "sign_out": Op(("clerk",)),
    "call_next": Op(("clerk",)),
    "recall": Op(("clerk",)),
    "no_show": Op(("clerk",)),
    "hold": Op(("clerk",), {"reason": text(200)}),
    "resume_held": Op(("clerk",), {"number": NUMBER}),
    "call_number": Op(("clerk",), {"number": NUMBER}),
    "transfer": Op(("clerk",), optional={"to_category": nullable(text(2)),
                                          "to_window": nullable(integer(1, 999)),
                                          "note": text(200, True)}),
    "finish": Op(("clerk",), {"outcome": one_of(*OUTCOMES)}, {"note": text(200, True)}),
    "pause": Op(("clerk",), {"reason": text(200)}),
    "resume": Op(("clerk",)),
    "rate": Op(("pad", "citizen"), {"score": nullable(integer(1, 5))},
               {"ticket": NUMBER, "reasons": text_list()}),
    "set_notice": Op(("manager",), {"text": text(300, True)}),
    "set_priority": Op(("manager",), {"number": NUMBER, "priority": one_of("green")}),
    "ack_warning": Op(("manager",), {"warning": integer(1)}),
    # 差评 cases (差评工单): handled, followed up and decided by managers; appealed by the
    # clerk rated (their own case only) or a manager, and withdrawn only by whoever appealed
    "handle_case": Op(("manager",), {"case": CASE, "measure": one_of(*CASE_MEASURES),
                                     "finding": text(500), "published": text(500)}),
    "rectify_case": Op(("manager",), {"case": CASE, "note": text(500)}),
    "follow_up_case": Op(("manager",), {"case": CASE, "result": one_of(*FOLLOW_UP_RESULTS)},
                         {"note": text(500, True)}),
    "appeal_case": Op(("clerk", "manager"), {"case": CASE, "reason": text(500)}),
    "decide_appeal": Op(("manager",), {"case": CASE, "uphold": boolean, "reason": text(500)}),
    # the complaints register (投诉/建议): from the citizen's ticket page and the hall's QR page
    # (`/complain`, the mobile page's hello), or typed in by a manager; handled by managers
    "complain": Op(("citizen", "mobile"), {"kind": one_of(*COMPLAINT_KINDS), "category": text(40),
                                           "text": text(500)},
                   {"name": text(40, True), "phone": text(20, True)}),
    "register_complaint": Op(("manager",), {
        "kind": one_of(*COMPLAINT_KINDS), "channel": one_of("phone", "hotline"),
        "category": text(40), "text": text(500)}, {
        "window": nullable(integer(1, 999)), "clerk": nullable(text(16)),
        "hotline_case": text(32, True), "name": text(40, True), "phone": text(20, True)}),
    "assign_complaint": Op(("manager",), {"complaint": COMPLAINT}),
    "reply_complaint": Op(("manager",), {"complaint": COMPLAINT, "reply": text(500),
                                         "valid": boolean}),
    "follow_up_complaint": Op(("manager",), {"complaint": COMPLAINT,
                                             "result": one_of(*FOLLOW_UP_RESULTS)},
                              {"note": text(500, True)}),
    "close_complaint": Op(("manager",), {"complaint": COMPLAINT}, {"note": text(500, True)}),
    "complaint_contact": Op(("manager",), {"complaint": COMPLAINT}),
    "find_complaints": Op(("manager",), optional={
        "month": text(7), "number": text(16, True), "status": one_of(*COMPLAINT_STATUS_NAMES)}),
    "withdraw_appeal": Op(("clerk", "manager"), {"case": CASE}),
    # village points (代办点, docs/points.md): a point's cases as the town holds them, and the
    # town's answer on one (`kind`: a town entry of queue_server.points.ledger)
    "point_cases": Op(("clerk", "manager"), {"point": text(20)}),
    # the 代办 inbox of a window (a clerk's: the window signed in at), the whole hall's points
    # filtered by the items its categories serve; a manager without `window`: every item
    "point_inbox": Op(("clerk", "manager"), optional={"window": integer(1, 999)}),
    "points": Op(("manager",)),   # the hall's points and their sync state
    "point_answer": Op(("clerk", "manager"), {"point": text(20), "case": text(40),
                                              "kind": text(20)},
                       {"window": integer(1, 999), "what": text(200), "result": text(20),
                        "note": text(200, True)}),
    "stats": Op(("manager",), {"view": one_of("kpis", "hourly", "ranking", "cases", "bookings",
                                              "errands")}, {
        "from": text(10), "to": text(10), "month": text(7),
        "by": one_of(*DIMENSIONS, *POINT_DIMENSIONS), "period": one_of(*PERIODS)}),
    "export": Op(("manager",), {"what": one_of(*REPORTS, *CASE_REPORTS, "all"),
                                "format": one_of("csv", "xlsx", "json", "print"),
                                "from": text(10), "to": text(10)}, {
        "by": one_of(*DIMENSIONS, *POINT_DIMENSIONS), "period": one_of(*PERIODS)}),
    # appointments (预约, docs/appointments.md): the booking page (`/book`) and the kiosk
    "booking_menu": Op(("booking", "kiosk")),
    "booking_slots": Op(("booking", "kiosk"), {"category": text(2), "day": text(10)}),
    "book": Op(("booking",), {"category": text(2), "day": text(10), "slot": text(5),
                              "phone": text(20), "id_digits": text(8)},
               {"service": nullable(text(64))}),
    "cancel_booking": Op(("booking",), {"code": text(12)},
                         {"phone": text(20, True), "id_digits": text(8, True)}),
    "check_in": Op(("kiosk",), {"code": text(12)}),
    "lift_booking_block": Op(("manager",), {"phone": text(20)}),
    # the county's page (`/county/ws`, queue_server.county)
    "county_live": Op(("county",)),
    "county_kpis": Op(("county",), optional={"from": text(10), "to": text(10)}),
    "county_pass": Op(("county",), {"hall": text(40)}),
    "county_points": Op(("county",), optional={"month": text(7)}),
}


_SURROGATE = re.compile("[\ud800-\udfff]")


def _is_clean(value: Any) -> bool:
    """No lone surrogate in any text of a parsed frame, keys included: JSON may spell one
    (`"\\ud800"`), but it is no character, cannot be encoded as UTF-8, and would break every
    message (and PostgreSQL row) that carried it on."""
    if isinstance(value, str):
        return _SURROGATE.search(value) is None
    if isinstance(value, dict):
        return all(_is_clean(k) and _is_clean(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_is_clean(v) for v in value)
    return True


class Request(NamedTuple):
    """A checked request (a named tuple: one is made per frame, for less than a dataclass)."""

    id: Any
    op: str
    params: dict[str, Any]


def parse_request(frame: str | bytes, ops: dict[str, Op] | None = None) -> Request:
    """Check one frame against `ops` (the hall's `OPS` unless given: a village point's page
    has its own, queue_server.points.point_page); raise ProtocolError (with the id when it
    could be read)."""
    if isinstance(frame, bytes):
        raise ProtocolError("bad_request", "只接受文本帧（UTF-8 JSON）")
    try:
        message = json.loads(frame)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_request", "不是合法的 JSON") from None
    if not isinstance(message, dict):
        raise ProtocolError("bad_request", "消息应为 JSON 对象")
    re = message.get("id")
    # A lone surrogate gets in only written as itself or as a \u escape: else none to look for.
    if ("\\u" in frame or _SURROGATE.search(frame)) and not _is_clean(message):
        raise ProtocolError("bad_request", "消息含有无效字符（不是合法的 UTF-8 文本）",
                            re if isinstance(re, int) and not isinstance(re, bool) else None)
    if isinstance(re, bool) or not (re is None or isinstance(re, str | int)) or (
            isinstance(re, int) and abs(re) > 2**53) or (isinstance(re, str) and len(re) > 64):
        raise ProtocolError("bad_request", "id 应为整数或不超过 64 个字符的文本")
    name = message.get("op")
    if not isinstance(name, str):
        raise ProtocolError("bad_request", "缺少 op（操作名）", re)
    op = (OPS if ops is None else ops).get(name)
    if op is None:
        raise ProtocolError("unknown_op", f"未知的操作：{name[:40]}", re)
    params: dict[str, Any] = {}
    for key, value in message.items():
        if key in ("id", "op"):
            continue
        check = op.required.get(key) or op.optional.get(key)
        if check is None:
            raise ProtocolError("bad_request", f"{name} 不接受参数 {key[:40]}", re)
        try:
            params[key] = check(value)
        except ValueError as error:
            raise ProtocolError("bad_request", f"参数 {key}：{error}", re) from None
    missing = [key for key in op.required if key not in params]
    if missing:
        raise ProtocolError("bad_request", f"缺少参数：{', '.join(missing)}", re)
    return Request(re, name, params)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
"""Made once: `json.dumps` with options makes an encoder per call, a third of a small frame's
cost. A message is a tree of the views' fresh dicts and lists, never a cycle."""


def encode(message: dict[str, Any]) -> str:
    return _ENCODER.encode(message)


def encode_bytes(message: dict[str, Any]) -> bytes:
    """The UTF-8 bytes of a text frame. Should a text that is not valid Unicode have got into
    the state (stored before the server refused them), it goes out \\u-escaped: still valid
    JSON and valid UTF-8, so the frame reaches every client rather than breaking the send."""
    try:
        return encode(message).encode()
    except UnicodeEncodeError:
        return json.dumps(message, ensure_ascii=True, separators=(",", ":")).encode()
