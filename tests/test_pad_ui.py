"""The satisfaction pad offscreen against a real hall server (the demo town, a real SQLite
file): clerks call and finish, simulated touches on the pad's real buttons rate, and the
ratings are read back from the database and from a manager's `rating` events. Every screen is
checked for contrast and touch-target size, then saved in tests/artifacts/pad/ to be looked at."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.conftest import ARTIFACTS, free_port
from tests.kivy_driving import frames, qr_codes, tap, texts, until, widgets
from tests.kivy_driving import shoot as shoot_as
from tests.live_hall import LiveHall, round_the_clock

DEMO_TOWN = Path(__file__).parent.parent / "assets" / "halls" / "demo-town.toml"
SHOTS = ARTIFACTS / "pad"
ZHANG = ("1001", "4826")          # 张丽华, A岗 of window 1
LIU = ("1002", "73150")           # 刘建军, B岗 of window 1
SIZES = {"landscape": (1280, 800), "portrait": (800, 1280)}



@pytest.fixture
def hall(tmp_path):
    hall = LiveHall(tmp_path, "--take-limit", "0", port=free_port(),
                    hall_text=round_the_clock(DEMO_TOWN.read_text(encoding="utf-8")))
    yield hall
    hall.stop()


@pytest.fixture(scope="module", autouse=True)
def window():
    from kivy.base import EventLoop
    from kivy.core.window import Window

    from hall.look import register_font

    register_font()
    EventLoop.ensure_window()
    return Window


async def shoot(app, name: str) -> Path:
    return await shoot_as(app, SHOTS / f"{name}.png")


def run_pad(hall, orientation, scenario, photos=None, outbox=None, evaluator=None, **model):
    from kivy.core.window import Window

    from satisfaction_pad.app import PadShell
    from satisfaction_pad.model import PadModel

    Window.size = SIZES[orientation]
    shell = PadShell([hall.ws], hall.tokens["pad"], PadModel(**model), photos=photos,
                     outbox=outbox, evaluator=evaluator)

    async def main():
        runner = asyncio.get_running_loop().create_task(shell.run())
        try:
            await until(lambda: shell.snapshots)
            await frames(5)
            await scenario(shell, shell.app)
        finally:
            shell.app.stop()
            await asyncio.wait_for(runner, 10)

    asyncio.run(main())
    return shell


def serve_one(hall, clerk, service="QS-SB-001"):
    """A citizen takes a ticket for `service`; the clerk calls it. Returns the ticket reply."""
    kiosk = hall.hello("kiosk")
    taken = kiosk.request("take_ticket", category="A", service=service)
    assert taken["ok"], taken
    called = clerk.request("call_next")
    assert called["ticket"]["number"] == taken["ticket"]["number"]
    return taken["ticket"]


def sign_in(hall, badge_pin, post, takeover=False):
    clerk = hall.hello("clerk", badge=badge_pin[0], pin=badge_pin[1])
    reply = clerk.request("sign_in", window=1, post=post, takeover=takeover)
    assert reply["ok"], reply
    return clerk


# --- idle -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_idle_closed_on_duty_and_paused(hall, orientation):
    from satisfaction_pad.app import Avatar

    async def scenario(shell, app):
        assert app.model.screen == "idle" and app.model.status == "closed"
        shown = texts(app.root)
        assert "未开放" in shown and "本窗口暂无工作人员" in shown
        assert "1 号窗口 · 社会保障（劳动保障）窗口" in shown
        await shoot(app, f"{orientation}-closed")
        clerk = sign_in(hall, ZHANG, "A")
        await until(lambda: app.model.status == "open")
        await frames(3)
        shown = texts(app.root)
        for words in ("张丽华", "工号 1001", "A岗", "社会保障服务所", "社会保障（劳动保障）窗口"):
            assert words in shown, words
        [avatar] = widgets(app.root, Avatar)
        assert not avatar.has_photo and avatar.label.text == "张"
        await shoot(app, f"{orientation}-idle")
        clerk.request("pause", reason="参加业务培训")
        await until(lambda: app.model.status == "paused")
        await frames(3)
        shown = texts(app.root)
        assert "暂停服务" in shown and "原因：参加业务培训" in shown
        await shoot(app, f"{orientation}-paused")

    run_pad(hall, orientation, scenario)


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_the_idle_screen_shows_the_complaint_qr_and_a_rating_prompt_never(hall, orientation):
    """Between ratings (window closed or on duty) a small QR of the hall's 投诉建议 page sits at
    the foot of the idle screen, read by zbar as the hello's `complain_url`; the call, the
    prompt and the thanks have none; it is back on the idle screen after the rating, and gone
    while the server is away (never a QR of a page that may be down)."""
    from hall.widgets import QrImage
    from satisfaction_pad.app import LevelButton

    complain_url = hall.hello("kiosk").hello["complain_url"]     # as the server gives it
    assert complain_url == hall.http + "/complain"

    async def idle_qr(app, name: str) -> None:
        await frames(3)
        assert app.model.screen == "idle" and "投诉建议" in texts(app.root)
        assert qr_codes(await shoot(app, f"{orientation}-{name}")) == [complain_url]

    async def no_qr(app, name: str) -> None:
        await frames(3)
        assert not widgets(app.root, QrImage) and "投诉建议" not in texts(app.root)
        assert qr_codes(await shoot(app, f"{orientation}-{name}")) == []

    async def scenario(shell, app):
        await idle_qr(app, "closed-complain")
        clerk = sign_in(hall, ZHANG, "A")
        await until(lambda: app.model.status == "open")
        await idle_qr(app, "idle-complain")
        serve_one(hall, clerk)
        await until(lambda: app.model.screen == "called")
        await no_qr(app, "called-no-complain")
        clerk.request("finish", outcome="done")
        await until(lambda: app.model.screen == "prompt")
        await no_qr(app, "prompt-no-complain")
        await tap(widgets(app.root, LevelButton, "非常满意")[0])
        assert app.model.screen == "thanks"
        await no_qr(app, "thanks-no-complain")
        await until(lambda: app.model.screen == "idle", seconds=5)
        await idle_qr(app, "idle-complain-after")
        hall.kill()
        await until(lambda: not app.model.connected)
        await frames(3)
        assert app.model.screen == "idle" and not widgets(app.root, QrImage)

    run_pad(hall, orientation, scenario, thanks_seconds=1.5)


def test_a_photo_from_the_photos_folder(hall, tmp_path):
    """A photo named after the badge in --photos is shown instead of the placeholder."""
    from PIL import Image, ImageDraw

    from satisfaction_pad.app import Avatar

    photos = tmp_path / "photos"
    photos.mkdir()
    image = Image.new("RGB", (300, 400), "#DDE6F0")
    draw = ImageDraw.Draw(image)
    draw.ellipse((95, 60, 205, 180), fill="#6B7B8C")          # a head and shoulders
    draw.ellipse((40, 200, 260, 460), fill="#34495E")
    image.save(photos / "1001.png")

    async def scenario(shell, app):
        sign_in(hall, ZHANG, "A")
        await until(lambda: app.model.status == "open")
        await frames(3)
        [avatar] = widgets(app.root, Avatar)
        assert avatar.has_photo and avatar.label is None
        assert tuple(avatar.texture.size) == (300, 400)
        await shoot(app, "landscape-idle-photo")

    run_pad(hall, "landscape", scenario, photos=photos)


# --- calls and ratings -------------------------------------------------------------------------------

@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_call_finish_and_a_touch_on_satisfied(hall, orientation):
    from satisfaction_pad.app import LevelButton

    manager = hall.hello("manager")
    ticket = {}

    async def scenario(shell, app):
        clerk = sign_in(hall, ZHANG, "A")
        ticket.update(serve_one(hall, clerk))
        number = ticket["number"]
        await until(lambda: app.model.screen == "called")
        await frames(3)
        assert "请 [size=" in texts(app.root) and number in texts(app.root)
        await shoot(app, f"{orientation}-called")
        clerk.request("finish", outcome="done")
        await until(lambda: app.model.screen == "prompt")
        await frames(3)
        shown = texts(app.root)
        assert "请您对本次服务进行评价" in shown
        assert f"为您服务的是 张丽华　工号 1001　A岗　·　{number} 号" in shown
        buttons = widgets(app.root, LevelButton)
        assert [(b.score, b.text) for b in buttons] == [
            (5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意")]
        await shoot(app, f"{orientation}-prompt")
        await tap(widgets(app.root, LevelButton, "满意")[1])      # 满意, not 非常满意
        assert app.model.screen == "thanks"
        assert "感谢您的评价" in texts(app.root) and "您的评价：满意" in texts(app.root)
        await shoot(app, f"{orientation}-thanks")
        await until(lambda: shell.sent)
        await until(lambda: app.model.screen == "idle", seconds=5)    # thanks_seconds later

    run_pad(hall, orientation, scenario, thanks_seconds=1.5)
    rating = manager.wait_event("rating", number=ticket["number"])
    assert {k: rating[k] for k in ("score", "reasons", "channel", "window", "clerk", "post",
                                   "department", "service")} == {
        "score": 4, "reasons": [], "channel": "pad", "window": 1, "clerk": "1001", "post": "A",
        "department": "sb", "service": "QS-SB-001"}
    [row] = hall.ratings()
    assert (row.ticket, row.score, row.reasons, row.channel, row.window, row.clerk, row.post,
            row.department, row.service) == (ticket["number"], 4, [], "pad", 1, "1001", "A", "sb",
                                             "QS-SB-001")


@pytest.mark.parametrize("orientation", ["landscape", "portrait"])
def test_dissatisfied_needs_a_reason_then_submit(hall, orientation):
    from hall.widgets import BigButton, BigToggle
    from satisfaction_pad.app import LevelButton

    async def scenario(shell, app):
        clerk = sign_in(hall, ZHANG, "A")
        serve_one(hall, clerk, service="QS-SB-003")
        clerk.request("finish", outcome="done")
        await until(lambda: app.model.screen == "prompt")
        await frames(3)
        await tap(widgets(app.root, LevelButton, "不满意")[0])      # 不满意, not 非常不满意
        assert app.model.screen == "reasons"
        toggles = widgets(app.root, BigToggle)
        assert [t.label for t in toggles] == ["等候时间过长", "服务态度不好", "办事效率低",
                                               "一次性告知不到位", "业务不熟练", "环境设施不便"]
        [submit] = widgets(app.root, BigButton, "提交")
        assert submit.disabled and submit.text == "请先选择原因，再提交"
        await tap(submit)                                          # nothing yet
        assert app.model.screen == "reasons" and not app.model.outbox
        await shoot(app, f"{orientation}-reasons")
        await tap(widgets(app.root, BigToggle, "办事效率低")[0])
        await tap(widgets(app.root, BigToggle, "一次性告知不到位")[0])
        assert widgets(app.root, BigToggle, "✓ 办事效率低")
        assert not submit.disabled and submit.text == "提交"
        await shoot(app, f"{orientation}-reasons-chosen")
        await tap(submit)
        assert app.model.screen == "thanks"
        await until(lambda: shell.sent)

    run_pad(hall, orientation, scenario)
    [row] = hall.ratings()
    assert (row.score, row.reasons, row.clerk, row.post, row.service) == (
        2, ["办事效率低", "一次性告知不到位"], "1001", "A", "QS-SB-003")


def test_no_touch_records_unrated_and_a_new_call_closes_an_open_prompt(hall):
    async def scenario(shell, app):
        clerk = sign_in(hall, ZHANG, "A")
        first = serve_one(hall, clerk)
        clerk.request("finish", outcome="done")
        await until(lambda: app.model.screen == "prompt")
        await until(lambda: app.model.screen == "idle", seconds=5)     # 1.5 s without a touch
        await until(lambda: len(shell.sent) == 1)
        second = serve_one(hall, clerk)
        clerk.request("finish", outcome="consult")
        await until(lambda: app.model.screen == "prompt")
        serve_one(hall, clerk)                                       # the next one is called
        await until(lambda: app.model.screen == "called")
        await until(lambda: len(shell.sent) == 2)
        assert [r.ticket for r in shell.sent] == [first["number"], second["number"]]

    run_pad(hall, "landscape", scenario, timeout=1.5)
    assert [(r.score, r.reasons, r.clerk) for r in hall.ratings()] == [
        (None, [], "1001"), (None, [], "1001")]


def test_b_post_takes_over_and_gets_the_next_rating(hall):
    from satisfaction_pad.app import LevelButton

    async def scenario(shell, app):
        zhang = sign_in(hall, ZHANG, "A")
        serve_one(hall, zhang)
        zhang.request("finish", outcome="done")
        await until(lambda: app.model.screen == "prompt")
        await frames(3)
        await tap(widgets(app.root, LevelButton, "非常满意")[0])
        await until(lambda: len(shell.sent) == 1)
        liu = sign_in(hall, LIU, "B", takeover=True)
        await until(lambda: (app.model.clerk or {}).get("badge") == "1002")
        await until(lambda: app.model.screen == "idle", seconds=8)
        await frames(3)
        shown = texts(app.root)
        assert "刘建军" in shown and "B岗" in shown and "张丽华" not in shown
        await shoot(app, "landscape-idle-b-post")
        serve_one(hall, liu, service="QS-SB-002")
        liu.request("finish", outcome="accepted")
        await until(lambda: app.model.screen == "prompt")
        await frames(3)
        assert "为您服务的是 刘建军　工号 1002　B岗" in texts(app.root)
        await shoot(app, "landscape-prompt-b-post")
        await tap(widgets(app.root, LevelButton, "基本满意")[0])
        await until(lambda: len(shell.sent) == 2)

    run_pad(hall, "landscape", scenario, thanks_seconds=1)
    assert [(r.score, r.clerk, r.post, r.department, r.service) for r in hall.ratings()] == [
        (5, "1001", "A", "sb", "QS-SB-001"), (3, "1002", "B", "sb", "QS-SB-002")]


def test_rating_while_the_server_is_away_is_kept_and_sent_later(hall):
    from satisfaction_pad.app import LevelButton

    async def scenario(shell, app):
        clerk = sign_in(hall, ZHANG, "A")
        ticket = serve_one(hall, clerk)
        clerk.request("finish", outcome="done")
        await until(lambda: app.model.screen == "prompt")
        hall.kill()                                           # the server goes away
        await until(lambda: not app.model.connected)
        await frames(3)
        assert "⚠ 连接中断" in texts(app.root) and app.model.screen == "prompt"
        await shoot(app, "landscape-prompt-connection-lost")
        await tap(widgets(app.root, LevelButton, "非常满意")[0])
        assert app.model.screen == "thanks"
        assert "评价已保存在本机" in texts(app.root)
        await shoot(app, "landscape-thanks-offline")
        await asyncio.sleep(0.5)
        assert not shell.sent and len(app.model.outbox) == 1
        hall.start()                                          # back on the same port
        await until(lambda: shell.sent, seconds=15)
        assert shell.sent[0].ticket == ticket["number"] and not app.model.outbox
        await frames(3)
        assert "连接中断" not in texts(app.root)

    run_pad(hall, "landscape", scenario, thanks_seconds=30)
    [row] = hall.ratings()
    assert (row.score, row.clerk, row.post) == (5, "1001", "A")


def test_a_rating_kept_on_disk_survives_a_restart_of_the_pad(hall, tmp_path):
    """The server is away when the citizen rates; the pad is switched off and on again before it
    comes back: the rating, kept in the outbox file, is sent then."""
    from satisfaction_pad.app import LevelButton

    outbox = tmp_path / "state" / "outbox.json"
    ticket = {}

    async def rate_offline(shell, app):
        clerk = sign_in(hall, ZHANG, "A")
        ticket.update(serve_one(hall, clerk, service="QS-SB-002"), day=app.model.day)
        clerk.request("finish", outcome="done")
        await until(lambda: app.model.screen == "prompt")
        await frames(3)
        hall.kill()
        await until(lambda: not app.model.connected)
        await frames(3)   # the screen redrawn with 连接中断: tap its buttons, not the ones before
        await tap(widgets(app.root, LevelButton, "满意")[1])
        assert app.model.screen == "thanks"

    run_pad(hall, "landscape", rate_offline, outbox=outbox)
    assert json.loads(outbox.read_text(encoding="utf-8")) == [
        {"ticket": ticket["number"], "score": 4, "reasons": [], "day": ticket["day"]}]
    hall.start()

    async def after_restart(shell, app):
        await until(lambda: shell.sent)
        assert shell.sent[0].ticket == ticket["number"]

    run_pad(hall, "landscape", after_restart, outbox=outbox)
    assert json.loads(outbox.read_text(encoding="utf-8")) == []
    [row] = hall.ratings()
    assert (row.ticket, row.score, row.clerk, row.service) == (ticket["number"], 4, "1001",
                                                               "QS-SB-002")


def test_a_bad_rating_kept_across_midnight_is_reported_to_the_managers(hall, tmp_path):
    """The server is away when the citizen rates 非常不满意; it comes back the next service day
    (a simulated clock): too late to be stored, the pad reports what it kept, and the managers
    get a red device warning naming the ticket, the level and the reasons."""
    from hall.widgets import BigButton, BigToggle
    from satisfaction_pad.app import LevelButton

    outbox = tmp_path / "state" / "outbox.json"
    ticket = {}

    async def rate_offline(shell, app):
        clerk = sign_in(hall, ZHANG, "A")
        ticket.update(serve_one(hall, clerk), day=app.model.day)
        clerk.request("finish", outcome="done")
        await until(lambda: app.model.screen == "prompt")
        hall.kill()
        await until(lambda: not app.model.connected)
        await tap(widgets(app.root, LevelButton, "非常不满意")[0])
        await tap(widgets(app.root, BigToggle, "服务态度不好")[0])
        await tap(widgets(app.root, BigButton, "提交")[0])
        assert app.model.screen == "thanks"

    run_pad(hall, "landscape", rate_offline, outbox=outbox)
    day = date.fromisoformat(ticket["day"])
    hall.serve_args += ["--simulate-from", f"{day + timedelta(days=1)}T08:30"]
    hall.start()
    taken = hall.hello("kiosk").request("take_ticket", category="A")   # the new day's first act
    assert taken["ticket"]["number"].endswith("001")
    manager = hall.hello("manager")
    assert manager.hello["snapshot"]["live"]["day"] == (day + timedelta(days=1)).isoformat()

    async def next_day(shell, app):
        await until(lambda: not app.model.lost and json.loads(outbox.read_text("utf-8")) == [])
        assert not shell.sent and not shell.refusals and not app.model.outbox

    run_pad(hall, "landscape", next_day, outbox=outbox)
    warning = manager.wait_event("warning", device="pad-1")
    assert warning["level"] == "red" and warning["device"] == "pad-1"
    assert warning["text"] == (
        f"pad-1：1 号窗口评价器有 1 条{day.month}月{day.day}日的评价未能上传，不再计入；"
        f"其中差评：{ticket['number']} 号“非常不满意”（服务态度不好）")
    assert [row.ticket for row in hall.ratings()] == []        # stored nowhere as a rating
    malformed = hall.hello("pad").request("lost_ratings", day=ticket["day"],
                                          ratings=[{"ticket": "A001", "score": 1}])
    assert malformed["error"]["code"] == "bad_request" and "每一项应有且只有" in malformed["error"]["message"]


def test_a_refusal_is_shown_in_words_then_idle(hall):
    """The citizen rated from the ticket's page first: the pad's rating is refused
    (已评价过), said on screen, then the pad goes back to the clerk."""
    from satisfaction_pad.app import LevelButton

    async def scenario(shell, app):
        clerk = sign_in(hall, ZHANG, "A")
        ticket = serve_one(hall, clerk)
        clerk.request("finish", outcome="done")
        await until(lambda: app.model.screen == "prompt")
        citizen = hall.hello("citizen", ticket=ticket["token"])
        assert citizen.request("rate", score=5)["ok"]
        await frames(3)
        await tap(widgets(app.root, LevelButton, "满意")[1])
        await until(lambda: app.model.screen == "message")
        await frames(3)
        shown = texts(app.root)
        assert "评价未能保存" in shown and f"{ticket['number']} 号已评价过" in shown
        await shoot(app, "landscape-refused")
        await until(lambda: app.model.screen == "idle", seconds=5)
        assert shell.refusals and not shell.sent

    run_pad(hall, "landscape", scenario, message_seconds=1.5)
    assert [(r.channel, r.score) for r in hall.ratings()] == [("citizen", 5)]


def test_a_missing_button_box_is_shown_in_the_header_until_it_is_plugged_in(hall, tmp_path):
    from satisfaction_pad.evaluator import Evaluator, parse_keys
    from satisfaction_pad.evaluator_emulator import EvaluatorEmulator

    link = tmp_path / "ttyEVAL"
    reader = Evaluator(str(link), parse_keys("5"), retry_seconds=0.1)

    async def scenario(shell, app):
        await until(lambda: app.model.evaluator and not app.model.evaluator[0])
        await frames(3)
        assert "⚠ 评价器未连接" in texts(app.root)
        await shoot(app, "landscape-idle-evaluator-missing")
        with EvaluatorEmulator(link=link):
            await until(lambda: app.model.evaluator[0])
            await frames(3)
            assert "评价器" not in texts(app.root)

    run_pad(hall, "landscape", scenario, evaluator=reader)




# --- the command ----------------------------------------------------------------------------------------

def pad_command(hall, *args):
    return subprocess.run([sys.executable, "-m", "satisfaction_pad.cli", "--server", hall.ws, *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_screenshot_and_a_wrong_token(hall, tmp_path):
    from PIL import Image

    out = SHOTS / "cli-portrait.png"
    done = pad_command(hall, "--token", hall.tokens["pad"], "--portrait", "--screenshot", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert Image.open(out).size == (800, 1280)
    wrong = pad_command(hall, "--token", "not-a-token", "--screenshot", str(tmp_path / "x.png"))
    assert wrong.returncode == 1
    assert "服务器拒绝连接：设备令牌无效或已被吊销，请联系管理员重新发放；未能截图" in wrong.stderr
    kiosk = pad_command(hall, "--token", hall.tokens["kiosk"], "--screenshot", str(tmp_path / "x.png"))
    assert kiosk.returncode == 1 and "此令牌属于取号机，不能以评价器身份连接" in kiosk.stderr


@pytest.mark.parametrize("args,message", [
    ((), "缺少设备令牌：请用 --token 或环境变量 PAD_TOKEN 给出"),
    (("--token", "t", "--timeout", "0"), "--timeout 应在 1 到 600 秒之间"),
    (("--token", "t", "--photos", "/nonexistent"), "照片目录 /nonexistent 不存在"),
    (("--token", "t", "--keys-only"), "--evaluator-keys 和 --keys-only 需要同时用 --evaluator"),
    (("--token", "t", "--evaluator", "/dev/null", "--evaluator-keys", "1=9"),
     "按键 1 的分数 9 超出范围"),
])
def test_cli_refuses_bad_options_in_words(args, message, capsys, monkeypatch):
    from satisfaction_pad.cli import main

    monkeypatch.delenv("PAD_TOKEN", raising=False)
    assert main(["--server", "ws://127.0.0.1:9/ws", *args]) == 2
    assert capsys.readouterr().err.startswith(message)


def test_the_pad_shows_the_halls_names_for_the_levels(tmp_path):
    from satisfaction_pad.app import LevelButton

    names = '["很满意", "满意", "一般", "不满意", "很不满意"]'
    text = round_the_clock(DEMO_TOWN.read_text(encoding="utf-8")).replace(
        "[hall]\n", f"[hall]\nrating_levels = {names}\n", 1)
    hall = LiveHall(tmp_path, "--take-limit", "0", port=free_port(), hall_text=text)

    async def scenario(shell, app):
        clerk = sign_in(hall, ZHANG, "A")
        serve_one(hall, clerk)
        clerk.request("finish", outcome="done")
        await until(lambda: app.model.screen == "prompt")
        await frames(3)
        assert [(b.score, b.text) for b in widgets(app.root, LevelButton)] == [
            (5, "很满意"), (4, "满意"), (3, "一般"), (2, "不满意"), (1, "很不满意")]
        await shoot(app, "landscape-prompt-hall-levels")
        await tap(widgets(app.root, LevelButton, "很不满意")[0])
        assert app.model.screen == "reasons"   # a 差评, whatever the hall calls it
        await frames(3)
        assert [b.text for b in widgets(app.root, LevelButton)] == ["很不满意"]
        await shoot(app, "landscape-reasons-hall-levels")

    try:
        run_pad(hall, "landscape", scenario)
    finally:
        hall.stop()
