"""Reports over the live protocol (the manager's `stats` and `export`), the download links, and
`queue-server report` on the command line."""

from __future__ import annotations

import csv
import io
import json
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
    assert list(book["KPI"].values)[1][2] == "1"   # by window: window 1's row

    assert manager.request("export", what="all", format="csv", **{
        "from": hall.day, "to": hall.day})["error"]["message"].startswith("CSV 每次只能导出一张表")


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
    assert (row["编码"], row["取号数（张）"], row["办结数（张）"]) == ("A", "3", "2")
    assert "XLSX 需要用 --output" in report("--format", "xlsx").stderr
    bad = report("--by", "floor")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
