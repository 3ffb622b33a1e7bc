"""The pages the server renders itself: the guide page (`/guide/<item code>`, what the QR on a
printed 一次性告知单 opens), the page a ticket's QR opens when its token is bad or expired, and
the hall's vocabulary as the script every web page loads first (`/common/vocabulary.js`), and
the hall's front page (`/`) and the list of halls of a server that serves several, the
page that finds a ticket by its number and 查询码 (`/q`), a complaint's status page (`/ts`,
its number and code), the poster of the mobile 取号 page (`/poster/<seal>`, printed by
managers), and the month's 好差评台账 as a page to print on A4 (an `export` link with the
format `print`).

Mobile first, plain HTML with its style inline, nothing from the internet; every text from the
hall file is escaped. The guide's sections are the kiosk's own (`hall.guide`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, time
from html import escape
from typing import Any

from hall import guide, protocol, vocabulary

_WIRE_CONSTANTS = ("CLOSE_REVOKED", "CLOSE_MOVED", "HALL_PATH_PREFIX")

_STYLE = """
@font-face{font-family:"Hall Sans";src:url(/fonts/NotoSansSC-Regular.otf) format("opentype")}
body{margin:0;font:18px/1.6 "PingFang SC","Microsoft YaHei","Noto Sans SC","Noto Sans CJK SC",
"WenQuanYi Micro Hei","Hall Sans",sans-serif;color:#1a2330;
background:#f3f6fa}
header{background:#123a6b;color:#fff;padding:14px 16px}
header p{margin:0;font-size:15px}h1{margin:4px 0 0;font-size:24px;line-height:1.35}
main{padding:8px 16px 32px;max-width:760px;margin:auto}
section{background:#fff;border-radius:8px;padding:10px 14px;margin:12px 0}
h2{font-size:19px;margin:0 0 6px}ul,ol{margin:0;padding-left:1.3em}
footer{font-size:15px;color:#4a5666;text-align:center;padding:0 16px 24px}
button,input{font-family:inherit}
"""


def _page(title: str, body: str, style: str = "") -> str:
    return ("<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{escape(title)}</title><style>{_STYLE}{style}</style></head>"
            f"<body>{body}</body></html>")


def guide_html(item: dict[str, Any], hall: dict[str, Any],
               edition: tuple[int, int] | None = None) -> str:
    """`item` is an item view, `hall` the hall view (both from `queue_server.views`);
    `edition`: (the catalogue version shown, the current one) for a guide of an earlier
    version (the one a ticket was issued with), None for the current guide."""
    parts = []
    if edition is not None:
        shown, current = edition
        parts.append(f"<section>这是本大厅第 {shown} 版事项目录中的办事指南（您取号或打印清单时的版本）；"
                     f"现行为第 {current} 版，内容可能已有更新。</section>")
    for heading, lines in guide.sections(item, guide.serving_windows(item, hall), hall):
        if not lines:
            continue
        tag = "ol" if heading == "办理流程" else "ul"
        rows = "".join(  # a number stays on the line of its unit (`原件 1 份`) on a phone too
            f"<li>{escape(guide.no_break(line.split('. ', 1)[-1] if tag == 'ol' else line))}</li>"
            for line in lines)
        parts.append(f"<section><h2>{escape(heading)}</h2><{tag}>{rows}</{tag}></section>")
    body = (f"<header><p>{escape(hall['name'])} · 办事指南</p><h1>{escape(item['name'])}</h1>"
            f"</header><main>{''.join(parts)}</main><footer>{escape(hall.get('address', ''))}"
            f"<br>咨询电话 {escape(hall.get('consultation_phone', ''))} · 投诉电话 "
            f"{escape(hall.get('complaint_phone', ''))}</footer>")
    return _page(f"{item['name']} - 办事指南", body)


def missing_html(hall: dict[str, Any]) -> str:
    body = (f"<header><p>{escape(hall['name'])}</p><h1>没有找到这项办事指南</h1></header>"
            "<main><section>这项业务可能已经调整。请到大厅的取号机上查看，或拨打咨询电话 "
            f"{escape(hall.get('consultation_phone', ''))}。</section></main>")
    return _page("没有找到办事指南", body)


def ticket_problem_html(hall: dict[str, Any], expired: bool) -> str:
    """What a citizen sees when the ticket QR's token is not one of ours, or is of another day."""
    if expired:
        title, text = "这张小票已过期", "排队小票只在取号当天有效。如需办理，请到大厅取号机重新取号。"
    else:
        title, text = "二维码无效", "没有找到这张小票。请扫描小票上的二维码，或到大厅取号机重新取号。"
    body = (f"<header><p>{escape(hall['name'])}</p><h1>{title}</h1></header>"
            f"<main><section>{text}<br>咨询电话 {escape(hall.get('consultation_phone', ''))}"
            "</section></main>")
    return _page(title, body)


_FIELD = ("display:block;width:100%;box-sizing:border-box;font-size:28px;padding:10px;"
          "margin:4px 0 14px;border:2px solid #123a6b;border-radius:8px")
_SUBMIT = ("<button type=\"submit\" style=\"width:100%;font-size:24px;padding:12px;color:#fff;"
           "background:#123a6b;border:0;border-radius:8px\">查看</button>")


def _problem(problem: str) -> str:
    return f"<p style=\"color:#b3261e\"><strong>{escape(problem)}</strong></p>" if problem else ""


def lookup_html(hall: dict[str, Any], number: str = "", problem: str = "") -> str:
    """`/q`: a ticket's page by its number and the six-digit 查询码 printed under its QR, for a
    citizen whose phone cannot scan. The form sends them back here (GET, nothing stored)."""
    body = (f"<header><p>{escape(hall['name'])}</p><h1>查看排队进度</h1></header><main><section>"
            f"{_problem(problem)}<form method=\"get\" action=\"q\">"
            f"<label>小票上的号码（如 A012）<input name=\"number\" value=\"{escape(number)}\" "
            f"autocapitalize=\"characters\" maxlength=\"8\" required style=\"{_FIELD}\"></label>"
            "<label>小票上的查询码（6 位数字）<input name=\"code\" inputmode=\"numeric\" "
            f"pattern=\"[0-9]{{6}}\" maxlength=\"6\" required style=\"{_FIELD}\"></label>"
            f"{_SUBMIT}</form></section>"
            "<section>小票只在取号当天有效。查不到时请到大厅取号机旁询问工作人员，或拨打咨询电话 "
            f"{escape(hall.get('consultation_phone', ''))}。</section></main>")
    return _page("查看排队进度", body)


def complaint_status_html(hall: dict[str, Any], number: str = "", problem: str = "",
                          status: dict[str, Any] | None = None) -> str:
    """`/ts`: a complaint's status by its number and short code (`views.complaint_status`:
    nothing personal). The form sends them back here (GET, nothing stored)."""
    found = ""
    if status is not None:
        rows = [("编号", status["complaint"]), ("类型", f"{status['kind_name']}（{status['category']}）"),
                ("登记日期", status["day"]), ("办理期限", status["deadline"]),
                ("办理状态", status["status_text"])]
        if status["reply"]:
            rows.append((f"答复（{status['replied_on']}）", status["reply"]))
        if status["closed_on"]:
            rows.append(("办结日期", status["closed_on"]))
        found = ("<section id=\"status\"><h2>办理情况</h2><dl>" + "".join(
            f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows) + "</dl></section>")
    body = (f"<header><p>{escape(hall['name'])}</p><h1>投诉建议办理进度</h1></header><main>"
            f"{found}<section>{_problem(problem)}<form method=\"get\" action=\"ts\">"
            f"<label>投诉建议编号（如 TS20261207-001）<input name=\"number\" "
            f"value=\"{escape(number)}\" autocapitalize=\"characters\" maxlength=\"16\" required "
            f"style=\"{_FIELD}\"></label>"
            "<label>查询码（6 位数字）<input name=\"code\" inputmode=\"numeric\" "
            f"pattern=\"[0-9]{{6}}\" maxlength=\"6\" required style=\"{_FIELD}\"></label>"
            f"{_SUBMIT}</form></section>"
            "<section>编号和查询码在提交投诉建议时给出。本页不显示任何个人信息。查不到时请拨打监督电话 "
            f"{escape(hall.get('complaint_phone', ''))}。</section></main>")
    return _page("投诉建议办理进度", body, _STATUS_STYLE)


def point_follow_html(hall: dict[str, Any], problem: str = "",
                      case: dict[str, Any] | None = None) -> str:
    """`/p/<case>?k=<key>`: a village point's 代办 case for the citizen who scanned the receipt's
    QR (`case`: `views.point_follow_view`), or only `problem` (a link without its key, a case
    not at the town yet): nothing else."""
    if case is None:
        body = (f"<header><p>{escape(hall['name'])}</p><h1>代办件办理进度</h1></header><main>"
                f"<section id=\"problem\">{escape(problem)}</section></main>")
        return _page("代办件办理进度", body, _FOLLOW_STYLE)
    rows = [("件号", case["case"]), ("办理事项", case["item_name"]), ("申请人", case["name"]),
            ("代办点", case["point"])]
    stages = "".join(
        f"<li class=\"{'now' if s['now'] else 'done'}\"><span>{escape(s['name'])}</span>"
        f"<small>{int(s['day'][5:7])}月{int(s['day'][8:10])}日</small></li>"
        for s in case["stages"])
    notes = ""
    if case["ask"]:
        notes += ("<section id=\"ask\" class=\"ask\"><h2>需要补交材料</h2>"
                  f"<p>{escape(case['ask'])}</p><p>请备齐后交给代办点，由代办员送到乡镇。</p></section>")
    if case["result"]:
        note = f"<p>{escape(case['result_note'])}</p>" if case["result_note"] else ""
        notes += (f"<section id=\"result\"><h2>办理结果：{escape(case['result'])}</h2>{note}"
                  "<p>请到代办点领取结果或了解详情。</p></section>")
    body = (f"<header><p>{escape(hall['name'])}</p><h1>代办件办理进度</h1></header><main>"
            "<section><dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>"
                                      for k, v in rows) + "</dl></section>"
            f"{notes}<section><h2>办理进度</h2><ol class=\"stages\" id=\"stages\">{stages}</ol>"
            "</section><section>本页不显示电话等个人信息。有疑问请联系代办点，或拨打咨询电话 "
            f"{escape(hall.get('consultation_phone', ''))}。</section></main>")
    return _page(f"代办件办理进度 {case['case']}", body, _STATUS_STYLE + _FOLLOW_STYLE)


_FOLLOW_STYLE = """
.stages{list-style:none;padding:0;margin:0}
.stages li{display:flex;justify-content:space-between;padding:6px 0 6px 28px;position:relative;
border-left:3px solid #c5d0dc;margin-left:8px}
.stages li::before{content:"";position:absolute;left:-10px;top:12px;width:14px;height:14px;
border-radius:50%;background:#fff;border:3px solid #c5d0dc}
.stages li.done::before{background:#2d7a3e;border-color:#2d7a3e}
.stages li.now{font-weight:bold;color:#123a6b}
.stages li.now::before{background:#123a6b;border-color:#123a6b}
.stages small{font-size:16px;color:#4a5666;font-weight:normal}
.ask{border:2px solid #b86e00}.ask h2{color:#8a4f00}
#problem{font-size:20px}
"""


_STATUS_STYLE = "dl{margin:0}dt{color:#4a5666;font-size:15px}dd{margin:0 0 8px;font-size:20px}"


_FRONT_STYLE = """
nav a{display:inline-block;margin:4px 12px 4px 0;padding:8px 16px;border-radius:8px;
background:#123a6b;color:#fff;text-decoration:none;font-size:19px}
nav a.county{background:#2d5f2e}
details summary{cursor:pointer;font-weight:bold}
.guides li{margin:2px 0}code{background:#e8edf3;padding:0 .3em}
"""


def _guides(hall: dict[str, Any], items: list[dict[str, Any]], base: str) -> str:
    """The hall's 办事指南, by department: each item's name linking to `<base>guide/<code>`."""
    names = {d["code"]: d["name"] for d in hall.get("departments", [])}
    by_department: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_department.setdefault(item["department"], []).append(item)
    if not by_department:
        return "<p>本大厅还没有录入办事事项。</p>"
    parts = []
    for department, listed in by_department.items():
        rows = "".join(f"<li><a href=\"{escape(base)}guide/{escape(i['code'])}\">"
                       f"{escape(i['name'])}</a></li>" for i in listed)
        parts.append(f"<h3>{escape(names.get(department, department))}</h3>"
                     f"<ul class=\"guides\">{rows}</ul>")
    return "".join(parts)


def _staff_links(base: str, county: bool) -> str:
    links = (f"<a href=\"{escape(base)}clerk/\">窗口工作台</a>"
             f"<a href=\"{escape(base)}manager/\">管理页面</a>")
    if county:
        links += "<a class=\"county\" href=\"/county/\">全县页面</a>"
    return f"<nav>{links}</nav>"


def front_html(hall: dict[str, Any], items: list[dict[str, Any]], county: bool) -> str:
    """The front page of a hall (`/`, or `/h/<code>/` on a server of several halls): the links
    to the clerk console and the manager dashboard, to the county page when the database has
    a county hall (`county`), and the hall's guides. `hall` is the hall view, `items` item
    views; every link is relative to the page but the county's, which is on every server."""
    body = (f"<header><p>大厅排队服务器</p><h1>{escape(hall['name'])}</h1></header><main>"
            f"<section><h2>工作人员</h2>{_staff_links('', county)}</section>"
            f"<section><h2>办事指南（{len(items)} 项）</h2>{_guides(hall, items, '')}</section>"
            "<section><h2>设备与运行</h2>取号机、显示屏、评价器的连接地址：<code>ws</code>"
            "（本页地址后加 <code>ws</code>）· <a href=\"healthz\">运行状态</a></section></main>"
            f"<footer>{escape(hall.get('address', ''))}</footer>")
    return _page(f"{hall['name']} - 大厅排队服务器", body, _FRONT_STYLE)


def halls_html(halls: list[dict[str, Any]], problem: str = "", county: bool = False) -> str:
    """The front page of a server that serves several halls, and what a hall's page asked
    without its hall gets: each hall (its view, with `path`, its place on this server, and
    `items`, its item views when this server leads it) with the links to its staff pages and
    its guides; the county page's link when the database has a county hall (`county`).
    `problem` says why this page came instead of the one asked."""
    rows = []
    for h in halls:
        base = f"{h['path']}/"
        guides = (f"<details><summary>办事指南（{len(h['items'])} 项）</summary>"
                  f"{_guides(h, h['items'], base)}</details>") if h.get("items") else ""
        rows.append(f"<section><h2>{escape(h['name'])}</h2>{escape(h.get('address', ''))}"
                    f"{_staff_links(base, False)}{guides}"
                    f"<a href=\"{escape(h['path'])}/healthz\">运行状态</a>"
                    f" · 设备连接地址：<code>{escape(h['path'])}/ws</code></section>")
    note = f"<section><strong>{escape(problem)}</strong></section>" if problem else ""
    county_link = ("<section><h2>全县</h2><nav><a class=\"county\" href=\"/county/\">全县页面</a>"
                   "</nav></section>") if county else ""
    body = (f"<header><p>大厅排队服务器</p><h1>本服务器服务的大厅（{len(halls)} 个）</h1></header>"
            f"<main>{note}{county_link}{''.join(rows)}</main>")
    return _page("大厅排队服务器", body, _FRONT_STYLE)


_POSTER_STYLE = """
@page{size:A4;margin:12mm}
body{background:#fff;text-align:center}
.poster{max-width:186mm;margin:auto;padding:8mm 0}
.poster h1{font-size:60px;margin:0;color:#123a6b}
.poster .hall{font-size:28px;margin:4px 0 18px}
.poster svg{display:block;width:96mm;height:96mm;margin:0 auto}
.poster .steps{font-size:24px;text-align:left;display:inline-block;margin:14px 0}
.poster .code{font-size:30px;margin:10px 0 4px}
.poster .code strong{display:inline-block;font-size:88px;letter-spacing:16px;padding:0 14px;
border:4px solid #123a6b;border-radius:14px;color:#123a6b;line-height:1.2}
.poster .small{font-size:18px;color:#4a5666}
.manager-note{max-width:186mm;margin:8px auto;padding:10px 14px;border:2px solid #b25e00;
border-radius:10px;background:#fff4d6;color:#6a4b12;font-size:18px;text-align:left}
@media print{.manager-note{display:none}}
"""


def poster_html(hall: dict[str, Any], day: date, code: str, take_url: str, qr_svg: str,
                local: bool = False) -> str:
    """The A4 poster of the hall's mobile 取号 page for its entrance: the QR of `/take` (the
    same every day) and the day's hall code (queue_server.take_page); `qr_svg` is made by the
    server, never from the request. `local`: the QR names a local address (the hall has no
    `public_url`): the manager is told on screen, not on paper."""
    note = ("<p class=\"manager-note\">（仅屏幕显示，不会打印）二维码中的地址 "
            f"{escape(take_url)} 是本机或内部网络的地址，群众手机用移动网络打不开。"
            "请在大厅文件的 [hall] 中填写 public_url（群众手机能打开的地址，如 "
            "https://paidui.example.gov.cn），用 queue-server import-hall 导入后再生成海报。</p>") if local else ""
    body = (f"{note}<div class=\"poster\"><h1>手机取号</h1><p class=\"hall\">{escape(hall['name'])}</p>"
            f"{qr_svg}<ol class=\"steps\"><li>用手机扫描上方二维码</li>"
            "<li>输入今日取号码，选择要办理的事项</li><li>填写手机号码，取号后按页面排队</li></ol>"
            f"<p class=\"code\">{day.year} 年 {day.month} 月 {day.day} 日 今日取号码<br>"
            f"<strong>{escape(code)}</strong></p>"
            "<p class=\"small\">取号码每天更换，以大厅显示屏上的为准；每个手机号每天每类业务限取一个号。"
            f"<br>扫码不便时请使用大厅取号机。咨询电话 {escape(hall.get('consultation_phone', ''))}"
            f"<br>{escape(take_url)}</p></div>")
    return _page(f"{hall['name']} - 手机取号海报", body, _POSTER_STYLE)


def vocabulary_lists() -> dict[str, Any]:
    """Every word list of `hall.vocabulary`, under its name there."""
    return {name: value for name, value in vars(vocabulary).items() if name.isupper()}


def vocabulary_js() -> str:
    """The script that gives the pages `VOCABULARY`, built from `hall.vocabulary` as it is served,
    so that the pages hold no word list of their own and cannot drift from the server's."""
    lists = json.dumps(vocabulary_lists(), ensure_ascii=False, separators=(",", ":"))
    wire = json.dumps({name: getattr(protocol, name) for name in _WIRE_CONSTANTS})
    return ("// The hall's word lists, from hall/vocabulary.py, and the protocol's constants the\n"
            "// pages use, from hall/protocol.py (served by the hall server).\n"
            f"\"use strict\";\nconst VOCABULARY = Object.freeze({lists});\n"
            f"const PROTOCOL = Object.freeze({wire});\n")


_LEDGER_STYLE = """
@page{size:A4 landscape;margin:10mm 8mm}
body{background:#fff;font-size:9pt;line-height:1.35}
main.ledger{max-width:none;padding:0 4mm}
.ledger h1{font-size:15pt;margin:2mm 0 0;color:#123a6b}.ledger h2{font-size:12pt;margin:5mm 0 2mm}
.ledger p.span{margin:0 0 2mm;color:#4a5666}
.ledger table{width:100%;border-collapse:collapse;table-layout:auto}
.ledger th,.ledger td{border:0.5pt solid #8a96a6;padding:1mm 1.2mm;vertical-align:top;text-align:left;
word-break:break-word}
.ledger th{background:#e8edf3;white-space:nowrap}.ledger thead{display:table-header-group}
.ledger th small{font-size:8pt;font-weight:normal;color:#4a5666}
.ledger td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.ledger tr{break-inside:avoid}.ledger td span{display:block}.ledger td b{font-weight:normal;color:#4a5666}
.ledger section{padding:0;margin:0;break-before:page}.ledger section:first-of-type{break-before:auto}
.ledger .none{color:#4a5666}
@media print{.ledger h2{margin-top:0}}
"""

LEDGER_PRINT_COLUMNS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "差评工单台账": (
        ("工单", ("工单编号", "评价日期", "号码")), ("评价", ("评价", "原因")),
        ("责任", ("部门", "窗口", "工作人员", "工号")), ("期限", ("开单时间", "办理期限")),
        ("核实处理", ("处理方式", "核实人", "核实时间", "核实情况")), ("公开答复", ("公开答复",)),
        ("整改", ("整改完成时间", "整改情况")),
        ("回访", ("回访结果", "回访次数", "回访人", "回访时间", "回访记录")),
        ("申诉", ("申诉人", "申诉时间", "申诉理由", "审核结论", "审核人", "审核意见")),
        ("结果", ("状态", "办结日期", "是否按期"))),
    "投诉建议台账": (
        ("编号", ("编号", "类型", "类别")), ("来源", ("来源", "热线工单号", "登记时间", "登记人")),
        ("涉及", ("涉及窗口", "涉及工作人员", "工号", "小票号码", "联系人")), ("内容", ("内容",)),
        ("期限", ("办理期限",)), ("承办", ("承办人", "承办时间")),
        ("答复", ("答复", "核实结论", "答复人", "答复时间")),
        ("回访", ("回访结果", "回访次数", "回访人", "回访时间", "回访记录")),
        ("办结", ("办结人", "办结时间", "办结说明")), ("结果", ("状态", "办结日期", "是否按期"))),
}
"""How a wide sheet of the 台账 prints on A4: its columns gathered in a few, each part on a line
of its own under its name. A sheet not listed prints column by column."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return escape(value.isoformat() if isinstance(value, date) else str(value))


def _print_head(name: str) -> str:
    """A column's name, its unit (`受理数（件）`) on a line of its own, so that narrow number
    columns leave the page's width to the names."""
    base, paren, unit = name.partition("（")
    if base and paren and unit.endswith("）"):
        return f"{escape(base)}<br><small>（{escape(unit)}</small>"
    return escape(name)


def _print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]],
                 columns: tuple[tuple[str, tuple[str, ...]], ...] | None) -> str:
    where = {h: i for i, h in enumerate(headers)}
    groups = columns or tuple((h, (h,)) for h in headers)
    head = "".join(f"<th>{_print_head(name)}</th>" for name, _ in groups)
    body = []
    for row in rows:
        cells = []
        for _, parts in groups:
            if len(parts) == 1:
                value = row[where[parts[0]]]
                number = isinstance(value, int | float) and not isinstance(value, bool)
                opening = '<td class="num">' if number else "<td>"
                cells.append(f"{opening}{_cell(value)}</td>")
                continue
            shown = [f"<span><b>{escape(p)}</b> {_cell(row[where[p]])}</span>" for p in parts
                     if row[where[p]] not in (None, "")]
            cells.append(f"<td>{''.join(shown)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    if not body:
        return "<p class=\"none\">本期没有记录。</p>"
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def ledger_html(hall: dict[str, Any], first: date, last: date,
                sheets: dict[str, tuple[list[str], list[list[Any]]]],
                title: str = "好差评台账") -> str:
    """The 好差评台账 (`reports.ledger`), or another report of sheets (the 代办月报表), as a
    page to print on A4 landscape: each sheet a table whose header repeats on every page, a wide
    sheet's columns gathered (`LEDGER_PRINT_COLUMNS`)."""
    span = f"{first.isoformat()} 至 {last.isoformat()}"
    parts = [f"<h1>{escape(hall['name'])} {escape(title)}</h1><p class=\"span\">{span}</p>"]
    for name, (headers, rows) in sheets.items():
        parts.append(f"<section><h2>{escape(name)}（{len(rows)} 条）</h2>"
                     f"{_print_table(headers, rows, LEDGER_PRINT_COLUMNS.get(name))}</section>")
    return _page(f"{hall['name']} {title} {span}", f"<main class=\"ledger\">{''.join(parts)}</main>",
                 _LEDGER_STYLE)


_RECEIPT_STYLE = """
@page{size:A5;margin:8mm}
body{background:#fff}
.receipt{max-width:128mm;margin:12px auto;padding:4mm 6mm;border:1px solid #8a96a6;color:#000}
.receipt h1{font-size:24px;margin:0;text-align:center}
.receipt .from{text-align:center;margin:0 0 8px;font-size:17px}
.receipt .number{text-align:center;font-size:30px;font-weight:bold;letter-spacing:1px;
border:2px solid #000;border-radius:8px;margin:6px 0 10px;padding:2px}
.receipt dl{display:grid;grid-template-columns:6.5em 1fr;gap:2px 8px;margin:0;font-size:18px}
.receipt dt{font-weight:bold}.receipt dd{margin:0}
.receipt .qr{display:flex;gap:12px;align-items:center;margin-top:10px;font-size:15px}
.receipt .qr svg{width:34mm;height:34mm;flex:none}
.receipt .url{word-break:break-all;font-size:13px}
.tools{text-align:center;margin:12px}
.tools button,.tools a{font-size:22px;padding:10px 26px;margin:0 8px;border-radius:8px;
border:2px solid #123a6b;background:#123a6b;color:#fff;text-decoration:none;cursor:pointer}
.tools a{background:#fff;color:#123a6b}
@media print{.tools{display:none}.receipt{border:0;margin:0;max-width:none}}
"""


_HANDOVER_STYLE = """
@page{size:A4;margin:10mm}
body{background:#fff}
.handover{max-width:190mm;margin:12px auto;padding:4mm 6mm;border:1px solid #8a96a6;color:#000}
.handover h1{font-size:26px;margin:0}
.handover .head{display:flex;gap:14px;align-items:flex-start;justify-content:space-between}
.handover .head p{margin:4px 0;font-size:18px}
.handover .qr{text-align:center;font-size:14px}
.handover .qr svg{width:42mm;height:42mm}
.handover table{width:100%;border-collapse:collapse;font-size:16px;margin-top:8px}
.handover th,.handover td{border:1px solid #000;padding:4px 6px;text-align:left;vertical-align:top}
.handover .sign{display:flex;justify-content:space-between;margin-top:16px;font-size:18px}
.handover .none{font-size:20px;text-align:center;margin:20px}
.tools{text-align:center;margin:12px}
.tools button,.tools a{font-size:22px;padding:10px 26px;margin:0 8px;border-radius:8px;
border:2px solid #123a6b;background:#123a6b;color:#fff;text-decoration:none;cursor:pointer}
.tools a{background:#fff;color:#123a6b}
.tools .hint{font-size:17px;margin:6px}
@media print{.tools,.pick{display:none}.handover{border:0;margin:0;max-width:none}}
"""


def point_handover_html(point_name: str, town_name: str, day: date,
                        waiting: list[dict[str, Any]], chosen: list[str], code: str,
                        qr: str) -> str:
    """A village point's 交接单: every case still at the point (`waiting`, the page's views),
    those `chosen` ticked and listed for the town, with the QR of their batch code (`code`,
    queue_server.points.batch) that the agent scans at the town's kiosk. The ticks are a GET
    form: 更新交接单 makes the list anew (the QR with it)."""
    picked = set(chosen)
    ticks = "".join(
        f"<label><input type=\"checkbox\" name=\"case\" value=\"{escape(c['case'])}\""
        f"{' checked' if c['case'] in picked else ''}> {escape(c['case'])} "
        f"{escape(c['name'])} {escape(c['item_name'])}</label><br>" for c in waiting)
    tools = ("<div class=\"tools\"><button type=\"button\" onclick=\"print()\">打印交接单</button>"
             "<a href=\"/point/\">返回台账</a>"
             "<form class=\"pick\" method=\"get\" action=\"/point/handover\">"
             "<p class=\"hint\">本次要送的件（未送达乡镇的件；勾选后点“更新交接单”）</p>"
             f"{ticks}<button type=\"submit\">更新交接单</button></form></div>")
    agents = "、".join(dict.fromkeys(c["agent"] for c in waiting if c["case"] in picked))
    rows = "".join(
        f"<tr><td>{i}</td><td>{escape(c['case'])}</td><td>{escape(c['item_name'])}</td>"
        f"<td>{escape(c['name'])}</td><td>{escape('、'.join(c['materials']) or '（未收材料）')}</td>"
        f"<td></td></tr>"
        for i, c in enumerate((c for c in waiting if c["case"] in picked), 1))
    if not chosen:
        body = (f"{tools}<div class=\"handover\"><h1>代办送件交接单</h1>"
                "<p class=\"none\">没有要送的件：请在上面勾选，或台账中已没有未送达乡镇的件</p></div>")
        return _page("代办送件交接单", body, _HANDOVER_STYLE)
    body = (f"{tools}<div class=\"handover\"><div class=\"head\"><div>"
            f"<h1>代办送件交接单</h1><p>代办点：{escape(point_name)}</p>"
            f"<p>送往：{escape(town_name)}</p>"
            f"<p>日期：{day.year}年{day.month}月{day.day}日　代办员：{escape(agents)}</p>"
            f"<p>共 <strong id=\"count\">{len(chosen)}</strong> 件</p></div>"
            f"<div class=\"qr\" id=\"qr\">{qr}<div>到乡镇取号机点“代办送件”扫此码取号</div></div></div>"
            "<table><thead><tr><th>序号</th><th>件号</th><th>事项</th><th>群众</th><th>已收材料</th>"
            f"<th>乡镇签收</th></tr></thead><tbody>{rows}</tbody></table>"
            "<div class=\"sign\"><span>代办员签字：</span><span>窗口接收人签字：</span>"
            "<span>接收日期：</span></div></div>")
    return _page(f"代办送件交接单 {day.isoformat()}", body, _HANDOVER_STYLE)


def point_receipt_html(point_name: str, town_name: str, case: dict[str, Any], qr_svg: str,
                       follow: str) -> str:
    """A village point's receipt (代办回执) for the citizen, to print on A5 or show on screen:
    `case` is the page's view of it (queue_server.points.point_page.case_view), `qr_svg` the
    QR of `follow`, the town's page of the case, made by the server."""
    materials = "、".join(case["materials"]) or "（未收材料）"
    day = date.fromisoformat(case["recorded_at"][:10])
    due = date.fromisoformat(case["due_day"])
    rows = [("群众姓名", case["name"]), ("办理事项", case["item_name"]), ("收到材料", materials),
            ("受理日期", f"{day.year}年{day.month}月{day.day}日"),
            ("送达乡镇", f"{due.year}年{due.month}月{due.day}日前由代办员送到{town_name}"),
            ("代办员", case["agent"])]
    if case["note"]:
        rows.append(("备注", case["note"]))
    body = ("<div class=\"tools\"><button type=\"button\" onclick=\"print()\">打印回执</button>"
            "<a href=\"/point/\">返回台账</a></div>"
            f"<div class=\"receipt\"><h1>代办受理回执</h1><p class=\"from\">{escape(point_name)}"
            f"<br>代办至 {escape(town_name)}</p>"
            f"<p class=\"number\">件号 <span id=\"number\">{escape(case['case'])}</span></p><dl>"
            + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
            + f"</dl><div class=\"qr\" id=\"qr\">{qr_svg}<div>扫码查看办理进度，或凭件号到本代办点查询。"
            f"<p class=\"url\">{escape(follow)}</p></div></div></div>")
    return _page(f"代办受理回执 {case['case']}", body, _RECEIPT_STYLE)
