"""The hall's words: every fixed list of codes the wire carries, each with its Chinese names.

Each list lives here once. The server checks requests against these codes (`hall.protocol`),
the core and the reports name things with them, the devices show them, and the web pages get
this very module as `/common/vocabulary.js` (`queue_server.web_pages.vocabulary_js`), so a word
changed here changes on every screen, ticket and report at once. A code is a wire value: never
rename one, only its name. Every upper-case name here is served to the pages, under that name.
"""

from __future__ import annotations

from typing import Final

TICKET_KIND_NAMES: Final = {"handle": "办理", "consult": "咨询", "pickup": "取件", "errand": "代办"}
"""What a ticket comes for. A category offers some of the first three (`Category.kinds`, the
kiosk's menu); 代办 is the batch ticket of a village point's agent (`take_batch`,
docs/points.md), which any category serves."""
BATCH_KIND: Final = "errand"
TICKET_KINDS: Final = tuple(k for k in TICKET_KIND_NAMES if k != BATCH_KIND)
"""The kinds a category may offer and a citizen may choose."""

KIOSK_PRIORITY_NAMES: Final = {"normal": "普通", "elderly": "老年人优先", "disabled": "残疾人优先"}
"""What a citizen may choose at the kiosk."""
KIOSK_PRIORITIES: Final = tuple(KIOSK_PRIORITY_NAMES)
PRIORITY_NAMES: Final = {**KIOSK_PRIORITY_NAMES, "green": "绿色通道"}
"""Every priority a ticket can have: 绿色通道 only a manager gives (`set_priority`)."""

OUTCOME_NAMES: Final = {"done": "即办办结", "accepted": "受理（承诺件）", "escalated": "上报",
                        "consult": "咨询答复", "rejected": "不予受理", "incomplete": "材料不全（补正）"}
"""How a clerk finishes a ticket (办结): the console's buttons, in this order."""
OUTCOMES: Final = tuple(OUTCOME_NAMES)

POST_NAMES: Final = {"A": "A岗（主办）", "B": "B岗（协办/顶岗）"}
"""The two posts of a window (AB岗): the one who holds it, and who stands in."""
POSTS: Final = tuple(POST_NAMES)

ROLE_NAMES: Final = {"kiosk": "取号机", "display": "显示屏", "pad": "评价器", "clerk": "工作人员",
                     "manager": "管理人员", "citizen": "办事群众", "county": "县级管理人员",
                     "mobile": "手机取号", "booking": "网上预约"}
"""Who says hello to the server; the first three are devices with a token of their own. A
county manager says it at `/county/ws` (queue_server.county), never at a hall's. `mobile` is the
hall's mobile 取号 page (`/take`), with today's hall code instead of a credential; `booking` the
booking page (`/book`), with none (docs/appointments.md)."""
ROLES: Final = tuple(ROLE_NAMES)
DEVICE_ROLES: Final = ("kiosk", "display", "pad")

HALL_LEVEL_NAMES: Final = {"county": "县级政务服务中心", "township": "乡镇（街道）便民服务中心"}
"""Where a hall stands in its county (the hall file's `level`; a hall alone leaves it out). The
county's accounts belong to its one `county` hall (docs/county.md)."""
HALL_LEVELS: Final = tuple(HALL_LEVEL_NAMES)

PRINTER_STATE_NAMES: Final = {"ok": "正常", "paper_low": "纸将用完", "paper_out": "缺纸",
                              "offline": "打印机离线", "error": "打印机故障"}
"""A kiosk printer's state as its kiosk reports it (`device_status`), in the device list."""
PRINTER_STATES: Final = tuple(PRINTER_STATE_NAMES)
VOICE_STATE_NAMES: Final = {"idle": "语音正常", "backlog": "语音积压", "late": "语音滞后"}
"""A board's voice backlog as the device list names it (`queue_server.views.voice_view`): `late`
when a call waited longer than the hall's `voice_wait_seconds` for its first word lately."""
PRINTER_FAULTS: Final = {"paper_low": ("yellow", "打印纸将尽"), "paper_out": ("red", "打印机缺纸"),
                         "offline": ("red", "打印机离线"), "error": ("red", "打印机故障")}
"""The states that raise a device warning: its level and its text."""

TICKET_STATUS_NAMES: Final = {"waiting": "等待中", "called": "办理中", "held": "已挂起",
                              "finished": "已办结", "no_show": "已过号", "cancelled": "已作废"}
"""A ticket's status (`lifecycle.TicketStatus`), as citizens and reports read it."""
WINDOW_STATUS_NAMES: Final = {"closed": "未开放", "open": "办理中", "paused": "暂停服务"}
"""A window's status (`lifecycle.WindowStatus`), as boards and the console show it."""
WINDOW_STATE_NAMES: Final = {"serving": "办理中", "idle": "在岗空闲", "paused": "暂停服务",
                             "closed": "未开放"}
"""How the manager's dashboard tells windows apart: an open one is serving a ticket or idle."""
PRESENCE_NAMES: Final = {"present": "在岗", "paused": "暂停", "absent": "离岗"}
"""A window interval of the reports: a clerk there, paused, or nobody there."""

WARNING_KIND_NAMES: Final = {"long_wait": "等候超时", "long_service": "办理超时",
                             "unattended": "脱岗", "negative_rating": "差评", "device": "设备异常",
                             "case_overdue": "工单超期"}
WARNING_LEVEL_NAMES: Final = {"red": "红色预警", "yellow": "黄色预警"}

SCORES: Final = ((5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意"))
"""A rating's scores and their default words, best first (the five levels of GB/T 39734-2020). A
hall may name the levels otherwise (the hall file's `rating_levels`): the pad and the citizen's
page show the hall's names, which hello brings (`hall.rating_levels`)."""
BAD_SCORES: Final = (2, 1)
"""The scores that are 差评 (不满意 and 非常不满意 by default): a 差评 needs a reason when the hall
lists any, raises a `negative_rating` warning and opens a case (差评工单). Ask `is_bad`."""


def is_bad(score: int | None) -> bool:
    """Whether a rating's score is 差评 (未评, None, is not)."""
    return score in BAD_SCORES


CASE_STATUS_NAMES: Final = {"checking": "待核实", "rectifying": "整改中", "rectified": "已整改",
                            "explained": "已解释", "appealing": "申诉中", "upheld": "申诉成立",
                            "rejected": "申诉驳回"}
"""A 差评 case's status (差评工单, `lifecycle.CaseStatus`)."""
CASE_DUE_NAMES: Final = {"red": "已超期", "yellow": "临近期限"}
"""An open case's `due`: past its deadline (red), or near it (yellow: `case_near_days`)."""
CASE_MEASURE_NAMES: Final = {"at_once": "立行立改", "deadline": "限期整改", "explain": "解释说明"}
"""How the office handles a 差评: fixed at once, fixed by a deadline, or explained."""
CASE_MEASURES: Final = tuple(CASE_MEASURE_NAMES)
CASE_ACTION_NAMES: Final = {**CASE_MEASURE_NAMES, "rectify": "整改完成", "appeal": "提出申诉",
                            "uphold": "认定申诉成立", "reject": "驳回申诉", "withdraw": "撤回申诉",
                            "follow_up": "回访"}
"""What can be done to a case (`lifecycle.CaseAction`), as refusals name it."""
FOLLOW_UP_NAMES: Final = {"satisfied": "满意", "basic": "基本满意", "dissatisfied": "不满意",
                          "unreached": "未接通"}
"""A 回访's result: how the citizen rates the handling, or that the call did not get through."""
FOLLOW_UP_RESULTS: Final = tuple(FOLLOW_UP_NAMES)
FOLLOW_UP_SATISFIED: Final = ("satisfied", "basic")
"""The 回访 results that count as satisfied in 回访满意率 (docs/kpis.md)."""

# --- village points' 代办 ledger (issue 18, queue_server.points) -----------------------------
POINT_STAGE_NAMES: Final = {"recorded": "已受理", "delivered": "已送达乡镇", "handling": "办理中",
                            "finished": "已办结", "fed_back": "已反馈", "archived": "已归档",
                            "visited": "已回访", "withdrawn": "已撤回"}
"""Where a 代办 case is (一事一记): recorded at the point, its papers delivered to the town,
handled there, finished, the result told to the citizen, filed, called back; or withdrawn before
the town received it (`queue_server.points.ledger`)."""
POINT_STAGES: Final = tuple(POINT_STAGE_NAMES)
POINT_RESULT_NAMES: Final = {"done": "准予办理", "refused": "不予办理"}
"""How the town finishes a 代办 case."""
POINT_RESULTS: Final = tuple(POINT_RESULT_NAMES)
POINT_TOWN_ACTION_NAMES: Final = {"town_received": "接收材料", "town_accepted": "确认受理",
                                  "town_asked": "要求补正", "town_finished": "确认办结"}
"""The town's answers on a 代办 case at a window (the clerk console's 代办件), by the kind of
entry each writes (`queue_server.points.ledger`)."""
POINT_DUE_NAMES: Final = {"yellow": "临近送达期限", "red": "已超送达期限"}
"""A case not yet delivered to the town: its hand-over deadline is today or tomorrow (yellow),
or past (red)."""
POINT_CONFLICT_NAMES: Final = {
    "withdraw_late": "撤回未生效：乡镇已接收",
    "materials_late": "材料变更未生效：乡镇已接收，请按补正要求补交",
    "supply_stale": "补交的材料所答的补正已不再需要",
    "after_close": "操作未生效：该件已办结或已撤回",
    "out_of_order": "操作未生效：该件尚未到这一步",
}
"""What the ledger says of an action that crossed another while the point was cut off, by the
written rules of docs/points.md (`queue_server.points.ledger`)."""
POINT_METRICS: Final[tuple[tuple[str, str, str], ...]] = (
    ("recorded", "受理数", "件"), ("delivered", "送达乡镇", "件"),
    ("delivered_on_time", "按期送达", "件"), ("on_time_pct", "按期送达率", "%"),
    ("overdue", "超期未送达", "件"), ("finished", "办结数", "件"),
    ("done", POINT_RESULT_NAMES["done"], "件"), ("refused", POINT_RESULT_NAMES["refused"], "件"),
    ("fed_back", "已反馈", "件"), ("archived", "已归档", "件"), ("visited", "回访数", "件"),
    ("visit_satisfied_pct", "回访满意率", "%"), ("withdrawn", "撤回数", "件"),
)
"""The 代办月报表's figures (`queue_server.points.point_kpis`): key, Chinese name, unit; each
defined in docs/kpis.md (代办月报表)."""
POINT_DIMENSION_NAMES: Final = {"point": "代办点", "agent": "代办员", "item": "事项"}
"""What the 代办月报表's rows are grouped by."""
POINT_DIMENSIONS: Final = tuple(POINT_DIMENSION_NAMES)


# --- the complaints register (投诉/建议台账, issue 16 point 3) ---------------------------------

COMPLAINT_KIND_NAMES: Final = {"complaint": "投诉", "suggestion": "建议"}
"""What a citizen brings to the register."""
COMPLAINT_KINDS: Final = tuple(COMPLAINT_KIND_NAMES)
COMPLAINT_CHANNEL_NAMES: Final = {"ticket": "小票页面", "hall": "大厅二维码", "phone": "来电",
                                  "hotline": "12345 热线转办"}
"""Where a complaint came in: a citizen's own page (their ticket's, or the hall's QR page), or
typed in by a manager (a phone call, a 12345 hotline transfer with the hotline's number)."""
COMPLAINT_CHANNELS: Final = tuple(COMPLAINT_CHANNEL_NAMES)
COMPLAINT_CATEGORIES: Final = ("服务态度", "办事效率", "政策咨询", "环境设施", "其他")
"""A complaint's categories when the hall file names none (`complaint_categories`)."""
COMPLAINT_STATUS_NAMES: Final = {"registered": "已登记", "assigned": "处理中", "replied": "已答复",
                                 "closed": "已办结"}
"""A complaint's status (`lifecycle.ComplaintStatus`), as the dashboard and the citizen's status
page show it."""
COMPLAINT_ACTION_NAMES: Final = {"assign": "承办", "reply": "答复", "follow_up": "回访",
                                 "close": "办结"}
"""What can be done to a complaint (`lifecycle.ComplaintAction`), as refusals and buttons name it."""
BOOKING_STATUS_NAMES: Final = {"booked": "已预约", "checked_in": "已签到", "late": "迟到（已按现场取号）",
                              "cancelled": "已取消", "no_show": "未到（已释放）",
                              "withdrawn": "已撤销（大厅调整）"}
"""A booking's status (`lifecycle.BookingStatus`), as pages and refusals say it."""
BOOKING_ACTION_NAMES: Final = {"cancel": "取消", "check_in": "签到", "check_in_late": "签到",
                               "release": "释放", "withdraw": "撤销"}
"""What can be done to a booking (`lifecycle.BookingAction`), as refusals name it."""
BOOKED_MARK: Final = "预约"
"""How a ticket of a checked-in booking is marked on the slip, board, console and citizen page."""
COMPLAINT_VERDICT_NAMES: Final = {"valid": "有效投诉", "invalid": "无效投诉"}
"""What the handler's reply found a complaint to be (`reply_complaint`'s `valid`)."""
CONTACT_PURGED: Final = "已按规定删除"
"""A complainant's name and phone once deleted at the end of their keeping, as the dashboard
and the 台账 say it."""

PERIOD_NAMES: Final = {"day": "按日", "week": "按周", "month": "按月", "quarter": "按季度",
                       "year": "按年", "all": "整个时段合计"}
"""What the KPI rows are grouped by in time."""
PERIODS: Final = tuple(PERIOD_NAMES)
DIMENSION_NAMES: Final = {"hall": "全大厅", "department": "部门", "window": "窗口",
                          "clerk": "工作人员", "category": "业务类别", "service": "办事事项"}
"""Who or what the KPI rows are grouped by."""
DIMENSIONS: Final = tuple(DIMENSION_NAMES)

METRICS: Final[tuple[tuple[str, str, str], ...]] = (
    ("issued", "取号数", "张"), ("accepted", "受理数", "张"), ("finished", "办结数", "张"),
    ("no_show", "过号数", "张"), ("cancelled", "作废数", "张"), ("open", "未完成", "张"),
    ("transferred", "转移数", "张"), ("held", "挂起数", "张"),
    ("wait_mean_s", "平均等候", "秒"), ("wait_median_s", "等候中位数", "秒"),
    ("wait_p90_s", "等候 P90", "秒"), ("service_level_pct", "服务水平", "%"),
    ("service_mean_s", "平均办理", "秒"), ("service_median_s", "办理中位数", "秒"),
    ("service_p90_s", "办理 P90", "秒"), ("onsite_pct", "现场办结率", "%"),
    ("rated", "评价数", "条"), ("unrated", "未评数", "条"), ("rating_rate_pct", "评议率", "%"),
    ("satisfied_pct", "满意率", "%"), ("score_mean", "平均分", "分"),
    ("post_a", "A岗办结", "张"), ("post_b", "B岗办结", "张"), ("post_b_pct", "B岗办结占比", "%"),
    ("unattended_min", "脱岗时长", "分钟"), ("paused_min", "暂停时长", "分钟"),
)
"""The KPIs in the order reports show them: key, Chinese name, unit (docs/kpis.md)."""

CASE_METRICS: Final[tuple[tuple[str, str, str], ...]] = (
    ("rated", "评价数", "条"), ("bad", "差评数", "条"), ("bad_pct", "差评率", "%"),
    ("cases_open", "未办结工单", "件"), ("upheld", "申诉成立", "件"),
    ("rectified_pct", "差评整改率", "%"), ("on_time_pct", "按期整改率", "%"),
    ("follow_up_pct", "回访率", "%"), ("follow_up_satisfied_pct", "回访满意率", "%"),
    ("satisfied_pct", "满意率（申诉前）", "%"), ("satisfied_after_appeals_pct", "满意率（申诉后）", "%"),
)
"""The 好差评 closed loop's KPIs (`kpis.case_kpis`): key, Chinese name, unit (docs/kpis.md)."""
COMPLAINT_METRICS: Final[tuple[tuple[str, str, str], ...]] = (
    ("registered", "投诉建议", "件"), ("complaints", "其中投诉", "件"), ("closed", "已办结", "件"),
    ("closed_pct", "投诉办结率", "%"), ("on_time_pct", "按期办结率", "%"),
    ("valid", COMPLAINT_VERDICT_NAMES["valid"], "件"),
)
"""The 投诉建议 register's KPIs (`kpis.complaint_kpis`): key, Chinese name, unit (docs/kpis.md)."""
BOOKING_METRICS: Final[tuple[tuple[str, str, str], ...]] = (
    ("booked", "预约数", "个"), ("on_time", "按时签到", "个"), ("late", "迟到", "个"),
    ("no_show", "爽约", "个"), ("cancelled", "取消", "个"), ("withdrawn", "大厅撤销", "个"),
    ("expected", "待签到", "个"),
    ("no_show_pct", "爽约率", "%"),
    ("slot_wait_mean_s", "预约等候（自时段开始）", "秒"),
    ("booked_wait_mean_s", "预约等候（自签到）", "秒"),
    ("walk_in_wait_mean_s", "现场取号等候", "秒"),
)
"""The appointments' KPIs (`kpis.booking_kpis`): key, Chinese name, unit (docs/kpis.md); the
dashboard's 今日预约 counts are named by them too."""
BOOKING_SHORT_NAMES: Final = {"booked": "预约", "on_time": "按时", "withdrawn": "撤销",
                               "expected": "待签"}
"""The short form of a `BOOKING_METRICS` name too wide for a column head of the dashboard's
今日预约 (its side column at 1366×768); the head says the full name on hover and to a screen
reader, and the pane's summary line above it names every count in full."""
BOOKING_COUNTED: Final = {"checked_in": "on_time", "late": "late", "no_show": "no_show",
                           "cancelled": "cancelled", "withdrawn": "withdrawn",
                           "booked": "expected"}
"""Which of `BOOKING_METRICS`' counts a booking is in by its status (`lifecycle.BookingStatus`),
besides `booked`, which counts them all; a no-show released while the hall's server was down
(not counted against the phone) is the hall's doing and counts as withdrawn
(`bookings.counted_as`, which the views send as `counted_as`)."""
BOOKING_DIMENSIONS: Final = ("hall", "category")
"""What the appointments' KPIs may be grouped by (`kpis.booking_rows`): a booking is of a
category, and no window or clerk is its own until it is called."""

REPORT_NAMES: Final = {"kpis": "指标表", "tickets": "取号明细", "ratings": "评价明细",
                       "presence": "在岗记录"}
"""The tables a report exports (`export`, `queue-server report`), as the reports page names them."""
REPORTS: Final = tuple(REPORT_NAMES)
CASE_DIMENSIONS: Final = ("hall", "department", "window", "clerk")
"""What the closed loop's KPIs may be grouped by (`kpis.case_rows`): where a 差评 and its case
both belong (a category or an item has no case of its own)."""
CASE_REPORT_NAMES: Final = {"cases": "差评工单指标", "ledger": "好差评台账",
                            "complaints": "投诉建议台账", "bookings": "预约指标",
                            "errands": "代办月报表"}
"""What else `export` gives, made with the 差评 cases, the complaints and the bookings as they
stand: the closed loop's KPI table (by hall, department, window or clerk), the month's 台账 (its
own sheets, or a page to print), the complaints register alone (the 台账's sheet of it) and the
appointments' KPI table (by hall or category); and the village points' 代办月报表 (by point,
agent or item: `queue_server.points.point_kpis`)."""
CASE_REPORTS: Final = tuple(CASE_REPORT_NAMES)
