"""Reports over the live protocol (the manager's `stats` and `export`), the download links, and
`queue-server report` on the command line."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from openpyxl import load_workbook

from tests.live_hall import LiveHall


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    live = LiveHall(tmp_path_factory.mktemp("reports"))
    kiosk = live.hello("kiosk")
    numbers = [kiosk.request("take_ticket", category="A")["ticket"]["number"] for _ in range(3)]
    clerk = live.hello("clerk", badge="1001", pin="1111")
    clerk.request("sign_in", window=1, post="A")
    pad = live.hello("pad")
    for score in (5, 2):
        number = clerk.request("call_next")["ticket"]["number"]
        clerk.request("finish", outcome="done")
        pad.request("rate", ticket=number, score=score,
                    reasons=["服务态度不好"] if score <= 2 else [])
    clerk.request("call_next")
    clerk.request("no_show")
    live.numbers = numbers
    live.day = live.health()["service_day"]
    yield live
    assert live.stop() == 0


def _get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as refused:
        return refused.code, dict(refused.headers), refused.read()


def test_stats_by_hall_and_window(hall):
    manager = hall.hello("manager")
    reply = manager.request("stats", view="kpis", by="hall", period="day", **{
        "from": hall.day, "to": hall.day})
    [row] = reply["rows"]
    assert (row["issued"], row["finished"], row["no_show"], row["rated"], row["satisfied_pct"]) == (
        3, 2, 1, 2, 50.0)
    assert {"key": "issued", "name": "取号数", "unit": "张"} in reply["metrics"]
    by_window = manager.request("stats", view="kpis", by="window", period="month", **{
        "from": hall.day, "to": hall.day})["rows"]
    assert [(r["key"], r["accepted"], r["finished"]) for r in by_window] == [("1", 3, 2)]
    hours = manager.request("stats", view="hourly", **{"from": hall.day, "to": hall.day})["hours"]
    assert sum(h["arrivals"] for h in hours) == 3 and sum(h["served"] for h in hours) == 2
    ranking = manager.request("stats", view="ranking", month=hall.day[:7])
    assert ranking["windows"] == [] and "满意率" in ranking["formula"]


@pytest.mark.parametrize(("params", "message"), [
    ({"view": "kpis", "from": "2026-13-01", "to": "2026-12-01"}, "from 应为日期"),
    ({"view": "kpis", "from": "2026-12-01", "to": "2026-11-01"}, "结束日期不能早于开始日期"),
    ({"view": "ranking", "month": "11/2026"}, "month 应为月份"),
])
def test_stats_refuses_bad_spans_in_words(hall, params, message):
    reply = hall.hello("manager").request("stats", **params)
    assert reply["error"]["code"] == "bad_request" and message in reply["error"]["message"]


def test_only_managers_get_stats(hall):
    clerk = hall.hello("clerk", badge="1002", pin="2222")
    assert clerk.request("stats", view="hourly", **{"from": hall.day, "to": hall.day})[
        "error"]["code"] == "forbidden"


def test_export_links_give_csv_and_xlsx(hall):
    manager = hall.hello("manager")
    link = manager.request("export", what="tickets", format="csv", **{
        "from": hall.day, "to": hall.day})["url"]
    status, headers, body = _get(hall.http + link)
    assert status == 200 and headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert sorted(r["号码"] for r in rows) == hall.numbers
    assert sorted(r["状态"] for r in rows) == ["已办结", "已办结", "已过号"]

    link = manager.request("export", what="all", format="xlsx", by="window", **{
        "from": hall.day, "to": hall.day})["url"]
    status, _, body = _get(hall.http + link)
    book = load_workbook(io.BytesIO(body))
    assert book.sheetnames == ["KPI", "小票明细", "评价明细", "窗口在岗记录"]
    ratings = list(book["评价明细"].values)
    assert ratings[0][:4] == ("日期", "时间", "号码", "评分") and len(ratings) == 3
    assert list(book["KPI"].values)[1][1] == "1 号 社保窗口"   # by window: window 1's row

    assert manager.request("export", what="all", format="csv", **{
        "from": hall.day, "to": hall.day})["error"]["message"].startswith("CSV 每次只能导出一张表")


def test_xlsx_has_chinese_names_real_excel_dates_and_minutes(hall):
    """Names, not codes (but the 工号 and the 事项编码 other systems match on); dates and times
    as Excel's own date cells; durations in minutes, as the reports page shows them."""
    from datetime import date, datetime, time

    manager = hall.hello("manager")
    link = manager.request("export", what="all", format="xlsx", by="clerk", period="day", **{
        "from": hall.day, "to": hall.day})["url"]
    book = load_workbook(io.BytesIO(_get(hall.http + link)[2]))
    day = date.fromisoformat(hall.day)

    sheet = book["小票明细"]
    headers = [c.value for c in sheet[1]]
    assert "等候（分钟）" in headers and "工号" in headers and "等候（秒）" not in headers
    tickets = {row[headers.index("号码")].value: {h: c for h, c in zip(headers, row, strict=True)}
               for row in sheet.iter_rows(min_row=2)}
    first = tickets[hall.numbers[0]]
    assert first["日期"].is_date and first["日期"].value.date() == day
    assert first["取号时间"].is_date and isinstance(first["取号时间"].value, datetime)
    assert first["取号时间"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert first["结束时间"].is_date and first["结束时间"].value >= first["取号时间"].value
    assert {h: first[h].value for h in ("类别", "优先", "状态", "结果", "窗口", "工作人员",
                                        "工号", "岗位")} == {
        "类别": "社保业务", "优先": "普通", "状态": "已办结", "结果": "即办办结",
        "窗口": "1 号 社保窗口", "工作人员": "张敏", "工号": "1001", "岗位": "A岗（主办）"}
    waited = (first["首次叫号"].value - first["取号时间"].value).total_seconds() / 60
    assert first["等候（分钟）"].data_type == "n"
    assert abs(first["等候（分钟）"].value - waited) <= 0.051 + 1 / 60   # to 0.1 min, 1 s

    ratings = book["评价明细"]
    rating = dict(zip([c.value for c in ratings[1]], ratings[2], strict=True))
    assert rating["日期"].is_date and rating["时间"].is_date
    assert isinstance(rating["时间"].value, time) and rating["时间"].number_format == "hh:mm:ss"
    assert (rating["窗口"].value, rating["工作人员"].value, rating["岗位"].value) == (
        "1 号 社保窗口", "张敏", "A岗（主办）")

    presence = book["窗口在岗记录"]
    shift = dict(zip([c.value for c in presence[1]], presence[2], strict=True))
    assert shift["开始"].is_date and isinstance(shift["开始"].value, datetime)
    assert (shift["窗口"].value, shift["工作人员"].value, shift["工号"].value) == (
        "1 号 社保窗口", "张敏", "1001")

    kpi = book["KPI"]
    headers = [c.value for c in kpi[1]]
    assert headers[:3] == ["周期", "工作人员", "工号"] and "平均等候（分钟）" in headers
    [row] = [r for r in kpi.iter_rows(min_row=2) if r[2].value == "1001"]
    assert row[0].is_date and row[0].value.date() == day and row[1].value == "张敏（1001）"
    [stats] = [r for r in manager.request("stats", view="kpis", by="clerk", period="day", **{
        "from": hall.day, "to": hall.day})["rows"] if r["key"] == "1001"]
    assert row[headers.index("平均等候（分钟）")].value == round(stats["wait_mean_s"] / 60, 1)


def test_csv_has_chinese_headers_and_local_times_as_text(hall):
    manager = hall.hello("manager")
    link = manager.request("export", what="presence", format="csv", **{
        "from": hall.day, "to": hall.day})["url"]
    rows = list(csv.reader(io.StringIO(_get(hall.http + link)[2].decode("utf-8-sig"))))
    assert rows[0] == ["日期", "窗口", "状态", "工作人员", "工号", "岗位", "原因", "开始", "结束"]
    shift = dict(zip(rows[0], rows[1], strict=True))
    assert shift["日期"] == hall.day and shift["窗口"] == "1 号 社保窗口"
    assert re.fullmatch(rf"{hall.day} \d\d:\d\d:\d\d", shift["开始"])
    link = manager.request("export", what="tickets", format="csv", **{
        "from": hall.day, "to": hall.day})["url"]
    headers = next(csv.reader(io.StringIO(_get(hall.http + link)[2].decode("utf-8-sig"))))
    assert headers[-11:] == ["等候（分钟）", "办理（分钟）", "窗口", "工作人员", "工号", "岗位",
                             "转移次数", "挂起次数", "重呼次数", "评分", "评价原因"]


def test_a_made_up_or_altered_link_is_refused(hall):
    link = hall.hello("manager").request("export", what="kpis", format="json", **{
        "from": hall.day, "to": hall.day})["url"]
    status, _, body = _get(hall.http + link)
    assert status == 200 and json.loads(body)["KPI"][0]["取号数（张）"] == 3
    payload, mac = link.removeprefix("/export/").split(".")
    status, _, body = _get(f"{hall.http}/export/{payload}x.{mac}")
    assert status == 403 and "下载链接无效" in body.decode()
    assert _get(hall.http + "/export/nothing")[0] == 403


def test_the_command_line_report(hall):
    def report(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "queue_server.cli", "--db",
                               f"sqlite:///{hall.db}", "report", "--from", hall.day, "--to",
                               hall.day, *args], capture_output=True, text=True, timeout=60)

    done = report("--by", "category", "--period", "day")
    assert done.returncode == 0, done.stderr
    [row] = list(csv.DictReader(io.StringIO(done.stdout.removeprefix("\ufeff"))))
    assert (row["业务类别"], row["取号数（张）"], row["办结数（张）"]) == ("A 社保业务", "3", "2")
    assert "XLSX 需要用 --output" in report("--format", "xlsx").stderr
    bad = report("--by", "floor")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
