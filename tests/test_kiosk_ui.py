"""The kiosk app offscreen, against a real hall server: simulated touches walk the paths a
citizen takes, and every screen is saved as a PNG in tests/artifacts/kiosk/ to be looked at."""

from __future__ import annotations

import asyncio
import itertools
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import ARTIFACTS
from tests.kivy_driving import frames, qr_codes, tap, texts, until, widgets
from tests.kivy_driving import shoot as shoot_as
from tests.live_hall import LiveHall, round_the_clock

DEMO_TOWN = Path(__file__).parent.parent / "assets" / "halls" / "demo-town.toml"
SHOTS = ARTIFACTS / "kiosk"


@pytest.fixture(scope="module")
def town(tmp_path_factory):
    hall = LiveHall(tmp_path_factory.mktemp("town"), "--take-limit", "0",
                    hall_text=round_the_clock(DEMO_TOWN.read_text(encoding="utf-8")))
    yield hall
    hall.stop()


async def shoot(app, name: str) -> Path:
    return await shoot_as(app, SHOTS / f"{name}.png")


class FakeClock:
    """The kiosk's injected idle clock: a test moves time on instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class WallClock:
    """The kiosk's injected time of day: a test sets the hour instead of waiting for it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def run_kiosk(window, town, tmp_path, size, scenario, printer=None, clock=None, wall_clock=None,
              scanner=None):
    from kiosk.app import CatalogueCache, KioskShell

    window.size = size
    shell = KioskShell([town.ws], town.tokens["kiosk"], CatalogueCache(tmp_path / "catalogue.json"),
                       printer=printer, **({"scanner": scanner} if scanner is not None else {}),
                       **({"clock": clock} if clock is not None else {}),
                       **({"wall_clock": wall_clock} if wall_clock is not None else {}))

    async def main():
        runner = asyncio.get_running_loop().create_task(shell.run())
        try:
            await until(lambda: shell.model.connected and shell.model.departments())
            await frames(5)
            await scenario(shell, shell.app)
            assert shell.app.failures == []
        finally:
            shell.app.stop()
            await asyncio.wait_for(runner, 10)

    asyncio.run(main())
    return shell


def decode_printout(folder: Path, job: str) -> list[str]:
    """The QR codes zbar reads on the preview printer's PNG of a job (the PNG is drawn from the
    exact ESC/POS bytes by our renderer); the PNG is kept in tests/artifacts/kiosk to look at."""
    from PIL import Image
    from pyzbar.pyzbar import decode

    [png] = sorted(folder.glob(f"*-{job}.png"))
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / f"printout-{job}.png").write_bytes(png.read_bytes())
    return [code.data.decode() for code in decode(Image.open(png))]


@pytest.mark.parametrize("size,orientation", [((1080, 1920), "portrait"),
                                              ((1920, 1080), "landscape")])
def test_home_to_department_to_ticket(window, town, tmp_path, size, orientation):
    from hall.widgets import BigButton, BigToggle, Text
    from kiosk.app import EscposPrinter
    from kiosk.printing import PrinterProfile

    prints = tmp_path / "prints"
    taken = {}

    async def scenario(shell, app):
        await shoot(app, f"{orientation}-1-home")
        tiles = widgets(app.root, BigButton, "社会保障")
        assert tiles, "no 社会保障 tile on the home screen"
        await tap(tiles[0])                                        # tap 1
        assert app.screen == "department"
        await shoot(app, f"{orientation}-2-department")
        assert "本业务当前等候 " in texts(app.root)             # each item: its own category
        await tap(widgets(app.root, BigToggle, "老年人优先")[0])    # tap 2 (optional)
        assert app.priority == "elderly"
        await tap(widgets(app.root, BigButton, "取号")[0])         # tap 3: the ticket prints
        await until(lambda: app.screen == "ticket")
        on_screen = texts(app.root)
        assert "取号类型：老年人优先" in on_screen and "请取走小票" in on_screen
        taken["number"] = next(w.text for w in widgets(app.root, Text)
                               if re.fullmatch(r"A\d{3}", w.text))
        await shoot(app, f"{orientation}-3-ticket")

    run_kiosk(window, town, tmp_path, size, scenario,
              EscposPrinter(f"preview:{prints}", PrinterProfile(80)))
    codes = decode_printout(prints, f"ticket-{taken['number']}")
    assert len(codes) == 1 and codes[0].startswith(town.http + "/t/")


@pytest.mark.parametrize("size,orientation", [((1080, 1920), "portrait"),
                                              ((1920, 1080), "landscape")])
def test_guide_in_elder_mode_reads_aloud(window, town, tmp_path, size, orientation):
    from hall.widgets import BigButton

    spoken = []
    clock = FakeClock()

    async def scenario(shell, app):
        app._speak = spoken.append
        await tap(widgets(app.root, BigButton, "民政")[0])
        await tap(widgets(app.root, BigButton, "办事指南")[0])
        assert app.screen == "guide"
        await shoot(app, f"{orientation}-4-guide")
        await tap(widgets(app.root, BigButton, "长辈模式")[0])
        assert shell.model.elder_mode and spoken and "需要带" in spoken[-1]
        await shoot(app, f"{orientation}-5-guide-elder")
        clock.now += 61                                        # a minute without a touch
        app._tick(1)
        assert app.screen == "idle_warning"
        await shoot(app, f"{orientation}-5b-idle-warning-elder")
        await tap(widgets(app.root, BigButton, "继续浏览")[0])
        assert app.screen == "guide"
        await tap(widgets(app.root, BigButton, "返回首页")[0])
        await shoot(app, f"{orientation}-6-home-elder")
        await tap(widgets(app.root, BigButton, "退出长辈模式")[0])
        assert not shell.model.elder_mode

    run_kiosk(window, town, tmp_path, size, scenario, clock=clock)


class PaperOut(Exception):
    kind = "paper_out"


@pytest.mark.parametrize("size,orientation", [((1080, 1920), "portrait"),
                                              ((1920, 1080), "landscape")])
def test_paper_out_shows_the_number_and_tells_the_managers(window, town, tmp_path, size,
                                                           orientation):
    from hall.widgets import BigButton, Text

    class Printer:
        async def ticket(self, ticket, hall, item):
            raise PaperOut("打印机缺纸")

    async def scenario(shell, app):
        await tap(widgets(app.root, BigButton, "卫生")[0])
        await tap(widgets(app.root, BigButton, "取号")[0])
        await until(lambda: any("请拍照或记下您的号码" in w.text and "打印机缺纸" in w.text
                                for w in widgets(app.root, Text)))
        assert app.screen == "ticket"
        await shoot(app, f"{orientation}-7-paper-out")

    run_kiosk(window, town, tmp_path, size, scenario, Printer())
    # The managers see it (as a `device` event when it changes, and in their snapshot).
    [device] = [d for d in town.hello("manager").hello["snapshot"]["devices"]
                if d["role"] == "kiosk"]
    assert (device["printer"], device["detail"]) == ("paper_out", "打印机缺纸")


@pytest.mark.parametrize("size,orientation", [((1080, 1920), "portrait"),
                                              ((1920, 1080), "landscape")])
def test_server_down_and_back(window, tmp_path, size, orientation):
    from hall.widgets import BigButton
    from tests.conftest import free_port

    hall = LiveHall(tmp_path / "hall", "--take-limit", "0", port=free_port(),
                    hall_text=round_the_clock(DEMO_TOWN.read_text(encoding="utf-8")))

    async def scenario(shell, app):
        hall.kill()
        await until(lambda: not shell.model.connected)
        await frames(5)
        assert "暂时无法取号" in app.status_label.text
        await shoot(app, f"{orientation}-8-offline-home")
        await tap(widgets(app.root, BigButton, "民政")[0])
        paused = widgets(app.root, BigButton, "暂停取号")
        assert paused and all(b.disabled for b in paused)
        assert not [b for b in widgets(app.root, BigButton) if b.text == "取号"]
        await tap(widgets(app.root, BigButton, "办事指南")[0])
        assert app.screen == "guide"          # guides stay browsable from the cache
        await shoot(app, f"{orientation}-9-offline-guide")
        hall.start()
        await until(lambda: shell.model.connected, seconds=15)
        await frames(5)
        assert "可以取号" in app.status_label.text
        assert [b for b in widgets(app.root, BigButton) if b.text == "取号"]

    (tmp_path / "hall").mkdir(exist_ok=True)
    try:
        run_kiosk(window, hall, tmp_path, size, scenario)
    finally:
        hall.stop()


@pytest.mark.parametrize("size,orientation", [((1080, 1920), "portrait"),
                                              ((1920, 1080), "landscape")])
def test_search_by_pinyin_initials_then_take(window, town, tmp_path, size, orientation):
    from hall.widgets import BigButton

    async def scenario(shell, app):
        await tap(widgets(app.root, BigButton, "搜索事项")[0])
        assert app.screen == "search"
        for letter in "DB":
            await tap(next(b for b in widgets(app.root, BigButton) if b.text == letter))
        names = [w.text for w in app.results.walk() if "最低生活保障" in getattr(w, "text", "")]
        assert names, "DB did not find 最低生活保障"
        # first, and found by what people call it: the alias shown, underlined
        assert names[0] == "最低生活保障申请（[u]低保[/u]）"
        titles = [w.text for w in app.results.walk() if getattr(w, "markup", False)]
        assert titles[0] == names[0]
        await shoot(app, f"{orientation}-10-search")
        await tap(next(b for b in widgets(app.results, BigButton) if b.text == "取号"))
        await until(lambda: app.screen == "ticket")

    run_kiosk(window, town, tmp_path, size, scenario)


@pytest.mark.parametrize("size,orientation", [((1080, 1920), "portrait"),
                                              ((1920, 1080), "landscape")])
def test_the_days_numbers_gone_are_shown_before_the_tap(window, tmp_path, size, orientation):
    """民政低保 (B) gives one number a day here: once it is taken, 民政's items say 今日已取完 and
    offer no 取号, before anyone taps. A kiosk whose clock is already on the next day counts
    nothing from the server's day: it offers 取号, and the server's reason is shown as it is."""
    from hall.widgets import BigButton, Text

    text = round_the_clock(DEMO_TOWN.read_text(encoding="utf-8")).replace(
        'name = "民政低保"\ndaily_cap = 80', 'name = "民政低保"\ndaily_cap = 1')
    hall = LiveHall(tmp_path / "hall", "--take-limit", "0", hall_text=text)
    message = {}

    async def scenario(shell, app):
        await tap(widgets(app.root, BigButton, "民政")[0])
        await tap(widgets(app.root, BigButton, "取号")[0])       # the day's only B number
        await until(lambda: app.screen == "ticket")
        await tap(widgets(app.root, BigButton, "返回首页")[0])
        await tap(widgets(app.root, BigButton, "民政")[0])
        await until(lambda: "今日已取完，请明天" in texts(app.root))
        cards = [w for w in widgets(app.root, Text) if "今日已取完" in w.text]
        items = [i for i in shell.model.department(app._department).items if i["category"] == "B"]
        assert len(cards) == len(items) > 0
        assert not [b for b in widgets(app.root, BigButton) if b.text == "取号"]
        assert all(b.disabled for b in widgets(app.root, BigButton, "暂停取号"))
        await shoot(app, f"{orientation}-11-cap-reached")
        app.wall_clock = lambda: datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=1)
        app.refresh_status()
        await frames(3)
        await tap(next(b for b in widgets(app.root, BigButton) if b.text == "取号"))
        await until(lambda: app.screen == "message")
        message["texts"] = [w.text for w in widgets(app.root, Text)]
        await shoot(app, f"{orientation}-11b-cap-refused")
        await tap(widgets(app.root, BigButton, "知道了")[0])
        assert app.screen == "department"

    (tmp_path / "hall").mkdir(exist_ok=True)
    try:
        run_kiosk(window, hall, tmp_path, size, scenario)
    finally:
        hall.stop()
    assert any("已取完" in t for t in message["texts"]), message


@pytest.fixture(scope="module")
def office_hours(tmp_path_factory):
    """The demo town with its real calendar: 08:30–12:00 and 14:00–17:30 on working days; its
    server's clock starts at 07:00 on a working Monday (the kiosk follows the server's clock)."""
    hall = LiveHall(tmp_path_factory.mktemp("office-hours"), "--take-limit", "0",
                    "--simulate-from", "2026-11-23T07:00:00",
                    hall_text=DEMO_TOWN.read_text(encoding="utf-8"))
    yield hall
    hall.stop()


@pytest.mark.parametrize("size,orientation", [((1080, 1920), "portrait"),
                                              ((1920, 1080), "landscape")])
def test_a_closed_hall_says_so_before_any_tap_and_opens_by_itself(window, office_hours,
                                                                   tmp_path, size, orientation):
    """At 07:00 on a working Monday the kiosk says, before any tap, that the hall has not opened
    and when tickets are issued, in the server's words, and offers no 取号 anywhere; two hours
    later (the kiosk's machine clock moved on) it says 可以取号 by itself. In 长辈模式 too the
    banner and all of home fit on the screen."""
    from kivy.metrics import dp

    from hall.widgets import BigButton

    clock = WallClock(datetime(2026, 11, 23, 7, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    closed = "大厅尚未开始办公，请于今天 8:30 后再来"

    async def scenario(shell, app):
        await until(lambda: closed in app.status_label.text)
        assert "可以取号" not in texts(app.root)
        await shoot(app, f"{orientation}-13-closed-home")
        await tap(widgets(app.root, BigButton, "长辈模式")[0])      # the banner fits too
        await frames(5)
        home_fits(app, window, True, dp(110))
        await shoot(app, f"{orientation}-13b-closed-home-elder")
        await tap(widgets(app.root, BigButton, "退出长辈模式")[0])
        await tap(widgets(app.root, BigButton, "社会保障")[0])
        items = shell.model.department(app._department).items
        assert texts(app.root).count(closed) == 1 + len(items)     # the status and each item
        assert "可以取号" not in texts(app.root)
        assert not [b for b in widgets(app.root, BigButton) if b.text == "取号"]
        assert len(widgets(app.root, BigButton, "暂停取号")) == len(items)
        await shoot(app, f"{orientation}-14-closed-department")
        clock.now = clock.now.replace(hour=9)
        app._tick(1)                          # the kiosk's own second timer, no touch
        await frames(3)
        assert "大厅正在办公，今天 12:00 前可以取号" in app.status_label.text
        assert len([b for b in widgets(app.root, BigButton) if b.text == "取号"]) == len(items)

    run_kiosk(window, office_hours, tmp_path, size, scenario, wall_clock=clock)


def test_the_kiosk_judges_the_hours_by_the_halls_clock_not_its_own(window, tmp_path):
    """A server on a simulated clock (the demo at night), or a kiosk PC whose clock is off:
    the kiosk says open or closed by the hall's time, which the hello brings, as the server
    will judge the ticket, and its clock shows that time, running at the hall's speed (60
    times as fast here: a minute of this machine's clock is an hour of the hall's). The
    server's clock is a Sunday, whatever the time here is."""
    hall = LiveHall(tmp_path / "hall", "--take-limit", "0", "--simulate-from",
                    "2026-11-22T10:00:00", "--speed", "60",
                    hall_text=DEMO_TOWN.read_text(encoding="utf-8"))
    machine = WallClock(datetime.now(UTC))
    try:
        async def scenario(shell, app):
            await until(lambda: "今天不是工作日" in app.status_label.text)
            hall_now = shell.app.wall_clock().astimezone(ZoneInfo("Asia/Shanghai"))
            assert (hall_now.date(), hall_now.hour) == (date(2026, 11, 22), 10)
            app._tick(1)
            assert app.clock_label.text.startswith("11月22日 10:")
            machine.now += timedelta(minutes=1)
            app._tick(1)                      # the kiosk's own second timer
            assert app.clock_label.text.startswith("11月22日 11:")

        (tmp_path / "kiosk").mkdir()
        run_kiosk(window, hall, tmp_path / "kiosk", (1080, 1920), scenario, wall_clock=machine)
    finally:
        hall.stop()


@pytest.mark.parametrize("size,orientation", [((1080, 1920), "portrait"),
                                              ((1920, 1080), "landscape")])
def test_elder_mode_asks_elderly_first_and_the_ticket_says_so(window, town, tmp_path, size,
                                                              orientation):
    from hall.widgets import BigButton, BigToggle

    spoken = []

    class Printer:
        async def ticket(self, ticket, hall, item):
            return "ok"

    async def scenario(shell, app):
        app._speak = spoken.append
        await tap(widgets(app.root, BigButton, "长辈模式")[0])
        assert "请问您是否需要老年人优先取号？" in texts(app.root)
        await tap(widgets(app.root, BigToggle, "是，老年人优先")[0])          # tap 1
        assert app.priority == "elderly"
        await shoot(app, f"{orientation}-15-home-elder-question")
        await tap(widgets(app.root, BigButton, "社会保障")[0])                 # tap 2
        toggles = [w for w in widgets(app.root, BigToggle)]
        assert toggles[0].text == "✓ 老年人优先"      # asked first, and already chosen
        await shoot(app, f"{orientation}-16-department-elder")
        await tap(next(b for b in widgets(app.root, BigButton) if b.text == "取号"))   # tap 3
        await until(lambda: app.screen == "ticket")
        on_screen = texts(app.root)
        assert "取号类型：老年人优先" in on_screen and "请取走小票" in on_screen
        assert spoken and spoken[-1].endswith("请取走小票。")
        await shoot(app, f"{orientation}-17-ticket-elder")

    run_kiosk(window, town, tmp_path, size, scenario, Printer())


@pytest.mark.parametrize("size,orientation", [((1080, 1920), "portrait"),
                                              ((1920, 1080), "landscape")])
def test_guide_prints_the_checklist_whose_qr_opens_the_guide(window, town, tmp_path, size,
                                                             orientation):
    import urllib.request

    from hall.widgets import BigButton
    from kiosk.app import EscposPrinter
    from kiosk.printing import PrinterProfile

    prints = tmp_path / "prints"
    seen = {}

    async def scenario(shell, app):
        await tap(widgets(app.root, BigButton, "医疗")[0])
        await tap(widgets(app.root, BigButton, "办事指南")[0])
        seen["code"] = app._item
        await tap(widgets(app.root, BigButton, "打印材料清单")[0])
        await until(lambda: app.screen == "message")
        assert "材料清单已打印" in app.root.children[-1].children[-1].text
        await shoot(app, f"{orientation}-12-checklist-printed")

    run_kiosk(window, town, tmp_path, size, scenario,
              EscposPrinter(f"preview:{prints}", PrinterProfile(58)))
    [url] = decode_printout(prints, f"checklist-{seen['code']}")
    assert url == f"{town.http}/guide/{seen['code']}?v=1"   # the version printed
    with urllib.request.urlopen(url, timeout=5) as page:
        assert "所需材料" in page.read().decode()


def test_printer_checked_while_idle_and_reported(window, town, tmp_path):
    from kiosk.app import KioskShell

    class Printer:
        async def status(self):
            return "paper_low", "打印纸即将用完，请及时更换"

        async def ticket(self, ticket, hall, item):
            return "paper_low"

    async def scenario(shell, app):
        await until(lambda: shell.printer_state[0] == "paper_low")

    KioskShell.printer_check_seconds, before = 0.05, KioskShell.printer_check_seconds
    try:
        run_kiosk(window, town, tmp_path, (1080, 1920), scenario, Printer())
    finally:
        KioskShell.printer_check_seconds = before
    [device] = [d for d in town.hello("manager").hello["snapshot"]["devices"]
                if d["role"] == "kiosk"]
    assert (device["printer"], device["detail"]) == ("paper_low", "打印纸即将用完，请及时更换")


def kiosk_printer_reported(town):
    [device] = [d for d in town.hello("manager").hello["snapshot"]["devices"]
                if d["role"] == "kiosk"]
    return device["printer"], device["detail"]


def test_a_good_print_reports_the_printer_ok_once(window, town, tmp_path):
    """The manager's device list no longer says 未上报 for a printer that is fine: after a good
    print the kiosk reports `ok` — once, not once per ticket."""
    from hall.widgets import BigButton
    from kiosk.app import EscposPrinter
    from kiosk.printing import PrinterProfile

    sent = []

    async def scenario(shell, app):
        request = shell.client.request

        async def counting(op, **fields):
            sent.append((op, fields))
            return await request(op, **fields)

        shell.client.request = counting
        for _ in range(2):
            await tap(widgets(app.root, BigButton, "社会保障")[0])
            await tap(widgets(app.root, BigButton, "取号")[0])
            await until(lambda: app.screen == "ticket")
            await until(lambda: not app.pending)
            app.show_home()
            await frames(5)
        assert shell.printer_state == ("ok", "")

    # A preview printer cannot be asked for its status: nothing is reported at start, the
    # first good print reports ok, the second nothing.
    run_kiosk(window, town, tmp_path, (1080, 1920), scenario,
              EscposPrinter(f"preview:{tmp_path / 'prints'}", PrinterProfile(80)))
    assert [fields for op, fields in sent if op == "device_status"] == [
        {"printer": "ok", "detail": ""}]
    assert kiosk_printer_reported(town) == ("ok", "")


def test_a_healthy_printer_is_reported_ok_at_start(window, town, tmp_path):
    from kiosk.app import KioskShell

    class Printer:
        async def status(self):
            return "ok", ""

        async def ticket(self, ticket, hall, item):
            return "ok"

    async def scenario(shell, app):
        await until(lambda: shell.printer_state == ("ok", ""))

    yesterday = town.hello("kiosk")
    assert yesterday.request("device_status", printer="offline", detail="昨天的状态")["ok"]
    yesterday.close()
    KioskShell.printer_check_seconds, before = 0.05, KioskShell.printer_check_seconds
    try:
        run_kiosk(window, town, tmp_path, (1080, 1920), scenario, Printer())
    finally:
        KioskShell.printer_check_seconds = before
    assert kiosk_printer_reported(town) == ("ok", "")


def test_a_catalogue_pushed_at_once_reaches_the_open_kiosk(window, tmp_path):
    """A county catalogue version applied at once by the hall: the kiosk is told, fetches it
    without reconnecting, keeps it in its cache, and its guide shows the new material."""
    from dataclasses import replace

    from hall.widgets import Text
    from queue_server.hall_definition import Material
    from queue_server.hall_toml import dump_hall, parse_hall

    text = round_the_clock(DEMO_TOWN.read_text(encoding="utf-8")).replace(
        "[hall]\n", '[hall]\ncatalogue_updates = "at_once"\n', 1)
    (tmp_path / "hall").mkdir()
    hall = LiveHall(tmp_path / "hall", "--take-limit", "0", hall_text=text)
    town = parse_hall(text)
    first = town.items[0]
    pushed = replace(first, materials=(*first.materials, Material("县里新增的证明材料", "copy")))
    county = tmp_path / "county.toml"
    seat = replace(town.hall, code="county", level="county")    # the county's own file
    county.write_text(dump_hall(replace(town, hall=seat, items=(pushed,))), encoding="utf-8")

    async def scenario(shell, app):
        assert shell.model.catalogue["version"] == 1
        await asyncio.to_thread(hall.cli, "catalogue", "publish", str(county))
        await until(lambda: shell.model.catalogue["version"] == 2, 15)
        app.show_guide(first.code)
        await frames(3)
        assert any("县里新增的证明材料" in w.text for w in widgets(app.root, Text))
        await shoot(app, "catalogue-pushed-guide")

    try:
        shell = run_kiosk(window, hall, tmp_path, (1080, 1920), scenario)
    finally:
        hall.stop()
    assert shell.cache.load()["version"] == 2


@pytest.mark.parametrize("size,orientation", [((1080, 1920), "portrait"),
                                              ((1920, 1080), "landscape")])
def test_the_most_taken_items_on_home_open_their_guide(window, town, tmp_path, size, orientation):
    """常办事项 on home: the server's `popular`, big buttons; one tap opens that item's guide,
    whose 取号 takes the ticket. Shot in normal and 长辈模式 to be looked at."""
    from hall.widgets import BigButton, Text

    def shown_whole(elder: bool) -> None:
        buttons = app.popular_buttons
        assert list(buttons) == popular                 # the server's, in its order
        for code, button in buttons.items():            # big, on the screen, on one line
            item = shell.model.item(code)
            assert button.text == item["name"] or button.text in item["aliases"]
            assert button.height >= (dp(110) if elder else dp(88)) and button.width >= 240
            assert button.font_size >= (dp(38) if elder else dp(28))
            x, y = button.to_window(button.x, button.y)
            assert x >= 0 and x + button.width <= window.width and y >= 0, button.text
            assert button.texture_size[1] < 1.6 * button.font_size, button.text

    async def scenario(shell_, app_):
        nonlocal shell, app
        shell, app = shell_, app_
        popular[:] = shell.model.catalogue["popular"]
        assert len(popular) == 6
        assert any(w.text == "常办事项" for w in widgets(app.root, Text))
        shown_whole(elder=False)
        await shoot(app, f"{orientation}-11-home-popular")
        second = shell.model.item(popular[1])
        await tap(app.popular_buttons[second["code"]])
        assert app.screen == "guide" and app._item == second["code"]
        assert second["name"] in texts(app.root)
        await tap(widgets(app.root, BigButton, "〈 返回首页")[0])
        await tap(widgets(app.root, BigButton, "长辈模式")[0])
        await frames(5)
        shown_whole(elder=True)
        await shoot(app, f"{orientation}-12-home-popular-elder")
        await tap(widgets(app.root, BigButton, "退出长辈模式")[0])

    from kivy.metrics import dp

    shell = app = None
    popular: list[str] = []

    run_kiosk(window, town, tmp_path, size, scenario)


@pytest.mark.parametrize("size,orientation", [((1080, 1920), "portrait")])
def test_the_search_hint_examples_come_from_the_halls_catalogue(window, town, tmp_path, size,
                                                                 orientation):
    """The hint's examples are this hall's words, and typing one finds its item first."""
    from hall.widgets import BigButton

    async def scenario(shell, app):
        home_hint = widgets(app.root, BigButton, "搜索事项")[0].text
        await tap(widgets(app.root, BigButton, "搜索事项")[0])
        hint = app.query_label.text
        examples = re.findall(r"([A-Z]+) 查(\w+)", hint)
        assert len(examples) == 2, hint
        assert "SBK" not in hint and "HZ" not in hint   # the demo town has neither
        assert f"如 {examples[0][0]} 查{examples[0][1]}" in home_hint
        await shoot(app, f"{orientation}-13-search-hint")
        for letters, word in examples:
            for letter in letters:
                await tap(next(b for b in widgets(app.root, BigButton) if b.text == letter))
            first = app.search_index.search(app.query)[0]
            item = shell.model.item(first.code)
            assert word == item["name"] or word in item["aliases"], (letters, word, item["name"])
            assert word in texts(app.results) or item["name"] in texts(app.results)
            await tap(next(b for b in widgets(app.root, BigButton) if b.text == "清空"))

    run_kiosk(window, town, tmp_path, size, scenario)


UNIT_AFTER_BREAK = re.compile(r"^[ \u00a0]*[份号个项天页人]")


def guide_lines_on_screen(app) -> list[str]:
    """The guide's text as kivy laid it out on the screen, line by line, top to bottom: every
    line of every Text of the guide area (not the header, buttons or status line)."""
    from kivy.uix.button import Button

    from hall.widgets import Text

    shown = [w for w in widgets(app.root, Text) if not isinstance(w, Button)
             and w.text not in ("办事指南", app.status_label.text, app.clock_label.text)
             and not w.text.startswith(("取号类型", "第 "))]
    shown.sort(key=lambda w: -w.to_window(w.x, w.top)[1])
    return ["".join(word.text for word in line.words)
            for w in shown for line in w._label._cached_lines]


def long_numbers_item(model) -> str:
    """An item of the demo town whose guide is full of numbers and units: materials of every
    name length, each `原件 1 份`, and steps `到 2 号窗口`, so that some line of kivy's wrapping
    would end on a number at any width."""
    item = model.catalogue["items"][0]
    item["materials"] = [{"name": "证明材料" + "材" * k, "form": "original", "copies": 1}
                         for k in range(24)]
    item["steps"] = [f"{'请' * k}到 2 号窗口提交" for k in range(24)]
    return item["code"]


@pytest.mark.parametrize("size,orientation", [((1080, 1920), "portrait"),
                                              ((1920, 1080), "landscape")])
def test_a_guide_line_never_ends_on_a_number_whose_unit_is_on_the_next(window, town, tmp_path,
                                                                      size, orientation):
    """原件 1 份, 到 2 号窗口: kivy's own layout of the guide's text, on every page, in normal
    and 长辈模式, never parts a number from its unit; and it draws each line the kiosk laid out
    as one line (kivy does not wrap it again)."""
    from hall.widgets import BigButton, Text

    async def scenario(shell, app):
        code = long_numbers_item(shell.model)
        for elder in (False, True):
            shell.model.elder_mode = elder
            app.show_guide(code)
            await frames(5)
            lines: list[str] = []
            while True:
                lines += guide_lines_on_screen(app)
                drawn = [w for w in app.guide_pages.children if isinstance(w, Text)]
                assert drawn and all(len(w._label._cached_lines) == 1 for w in drawn)
                later = widgets(app.root, BigButton, "下一页")
                if not later or later[0].disabled:
                    break
                await tap(later[0])
            text = "\n".join(lines)
            for above, below in itertools.pairwise(lines):
                assert not (re.search(r"\d[ \u00a0]*$", above) and UNIT_AFTER_BREAK.match(below)), \
                    (above, below)
            assert text.count("1\u00a0份") + text.count("1 份") >= 24
            if elder:
                await shoot(app, f"{orientation}-guide-numbers-elder-last-page")

    run_kiosk(window, town, tmp_path, size, scenario)


def test_a_long_guide_in_landscape_elder_mode_turns_pages_by_big_buttons(window, town, tmp_path):
    """Landscape 长辈模式 shows few lines: the guide comes in pages, 〈 上一页 / 第 n/N 页 /
    下一页 〉 big buttons turn them, the first page cannot go back, the last cannot go on, and
    朗读本页 and 取号 are there on every page."""
    from kivy.metrics import dp

    from hall.look import ELDER_SIZES, MIN_TARGET_DP
    from hall.widgets import BigButton, Text

    spoken: list[str] = []

    async def scenario(shell, app):
        app._speak = spoken.append
        await tap(widgets(app.root, BigButton, "民政")[0])
        await tap(widgets(app.root, BigButton, "办事指南")[0])
        await tap(widgets(app.root, BigButton, "长辈模式")[0])
        await frames(5)
        pages = app.guide_pages
        assert pages.pages >= 3, pages.pages
        earlier = widgets(app.root, BigButton, "上一页")[0]
        later = widgets(app.root, BigButton, "下一页")[0]
        for button in (earlier, later):
            assert button.height >= dp(ELDER_SIZES.target) - 0.5
            assert button.width >= dp(MIN_TARGET_DP) * 2
        assert earlier.disabled and not later.disabled
        assert any(w.text == f"第 1/{pages.pages} 页" for w in widgets(app.root, Text))
        await shoot(app, "landscape-guide-elder-page-1")
        seen: list[str] = []
        for n in range(1, pages.pages + 1):
            shown = guide_lines_on_screen(app)
            opens = pages.lines[pages.page_lines[n - 1][0]]
            if not opens.heading:       # a page that opens inside a section says which first
                assert shown[0] == opens.section.text + "（续）" and shown[0].startswith("■ ")
                shown = shown[1:]
            assert shown == [pages.lines[i].text for i in pages.page_lines[n - 1]]
            seen += shown
            assert any(w.text == f"第 {n}/{pages.pages} 页" for w in widgets(app.root, Text))
            assert widgets(app.root, BigButton, "取号") and widgets(app.root, BigButton, "朗读本页")
            assert earlier.disabled == (n == 1) and later.disabled == (n == pages.pages)
            if n == 2:
                await shoot(app, "landscape-guide-elder-page-2")
            if n < pages.pages:
                await tap(later)
        await shoot(app, "landscape-guide-elder-last-page")
        assert seen == [line.text for line in pages.lines]       # every line, once, in order
        assert "最低生活保障申请" in seen[0] and any("咨询电话" in line for line in seen)
        await tap(later)                                          # disabled: stays
        assert pages.page == pages.pages - 1
        await tap(earlier)
        assert pages.page == pages.pages - 2 and not later.disabled
        await tap(widgets(app.root, BigButton, "朗读本页")[0])
        assert spoken and "需要带" in spoken[-1]

    run_kiosk(window, town, tmp_path, (1920, 1080), scenario)


def test_the_guide_keeps_its_page_when_redrawn_and_opens_afresh_on_page_one(window, town,
                                                                          tmp_path):
    """Turning the screen, 继续浏览 after the idle warning, or any redraw (a status change)
    shows the part of the guide one was reading; opening a guide again starts at page 1."""
    from hall.guide import no_break
    from hall.widgets import BigButton

    clock = FakeClock()

    async def scenario(shell, app):
        await tap(widgets(app.root, BigButton, "民政")[0])
        await tap(widgets(app.root, BigButton, "办事指南")[0])
        await tap(widgets(app.root, BigButton, "长辈模式")[0])
        await frames(5)
        for _ in range(3):
            await tap(widgets(app.root, BigButton, "下一页")[0])
        reading = app.guide_pages.place
        first = no_break(app.guide_pages.blocks[reading].text)[:6]
        assert app.guide_pages.page == 3 and reading > 0
        window.size = (1080, 1920)                              # the screen turns
        await frames(8)
        pages = app.guide_pages
        assert pages.page > 0 and any(pages.lines[i].block == reading
                                      for i in pages.page_lines[pages.page])
        assert first in "".join(guide_lines_on_screen(app))
        clock.now += 61
        app._tick(1)
        await frames(5)
        assert app.screen == "idle_warning"
        await tap(widgets(app.root, BigButton, "继续浏览")[0])
        await frames(5)
        assert app.screen == "guide" and first in "".join(guide_lines_on_screen(app))
        await tap(widgets(app.root, BigButton, "返回首页")[0])
        await tap(widgets(app.root, BigButton, "民政")[0])
        await tap(widgets(app.root, BigButton, "办事指南")[0])
        await frames(5)
        assert app.guide_pages.page == 0

    run_kiosk(window, town, tmp_path, (1920, 1080), scenario, clock=clock)


def home_fits(app, window, elder: bool, least: float) -> list[str]:
    """The department tiles of the home page shown, having checked that all of home lies
    within the window, above the status line, without a scroll, and each tile, at least
    `least` high, holds its three lines."""
    from kivy.uix.scrollview import ScrollView

    from hall.widgets import BigButton

    def inside(widget, floor: float) -> bool:
        x, y = widget.to_window(widget.x, widget.y)
        return x >= 0 and x + widget.width <= window.width + 1 and y >= floor - 1 \
            and y + widget.height <= window.height + 1

    floor = app.status_label.parent.top              # the status line along the bottom
    tiles = [b for b in widgets(app.root, BigButton) if "项业务" in b.text]
    assert tiles
    search = widgets(app.root, BigButton, "搜索事项")[0]
    for widget in [search, *app.popular_buttons.values(), *tiles]:
        assert inside(widget, floor), (getattr(widget, "text", ""), widget.to_window(
            widget.x, widget.y), widget.size)
    assert len(app.popular_buttons) == 6
    for tile in tiles:
        assert tile.height >= least, tile.text
        assert tile.texture_size[1] <= tile.height, tile.text   # its three lines fit
    if elder:
        for toggle in widgets(app.root, text="老年人优先")[:1] + widgets(app.root, text="否，"):
            assert inside(toggle, floor), toggle.text
    assert not widgets(app.root, ScrollView)
    return [tile.text.split("\n")[1] for tile in tiles]


@pytest.mark.parametrize("size,orientation", [((1080, 1920), "portrait"),
                                              ((1920, 1080), "landscape")])
def test_everything_on_home_fits_on_the_screen_in_elder_and_normal_mode(window, town, tmp_path,
                                                                        size, orientation):
    """Home never scrolls: the elder question, the search, every 常办事项 and every department
    tile lie within the window, above the status line, in normal mode and in 长辈模式, with
    big tiles; departments that do not fit are paged by 上一页 / 下一页 (every one reachable),
    and a home left on a later page is back on the first after a minute untouched."""
    from kivy.metrics import dp

    from hall.widgets import BigButton
    from kiosk.app import IDLE_SECONDS

    clock = FakeClock()

    def page_fits(app, elder: bool) -> list[str]:
        return home_fits(app, window, elder, dp(260 if elder else 200))

    async def every_page(app, elder: bool, name: str) -> list[str]:
        seen = page_fits(app, elder)
        await shoot(app, f"{orientation}-{name}")
        turns = widgets(app.root, BigButton, "下一页")
        assert bool(turns) == (app.tile_pages.pages > 1)     # no pager when all fit
        while turns and not turns[0].disabled:
            await tap(turns[0])
            seen += page_fits(app, elder)
            await shoot(app, f"{orientation}-{name}-page-{app.tile_pages.page + 1:.0f}")
        return seen

    async def scenario(shell, app):
        names = [d.name for d in shell.model.departments()]
        assert len(names) == 8
        assert await every_page(app, False, "18-home-fits") == names
        await tap(widgets(app.root, BigButton, "长辈模式")[0])
        await frames(5)
        assert await every_page(app, True, "19-home-fits-elder") == names
        if app.tile_pages.pages > 1:           # left on its last page, then untouched
            clock.now += IDLE_SECONDS
            app._tick(1)
            await frames(5)
            assert app.tile_pages.page == 0 and app.screen == "home"
        await tap(widgets(app.root, BigButton, "退出长辈模式")[0])

    run_kiosk(window, town, tmp_path, size, scenario, clock=clock)


@pytest.mark.parametrize("size,orientation", [((1080, 1920), "portrait"),
                                              ((1920, 1080), "landscape")])
def test_complaints_from_home_by_a_qr_of_the_halls_complain_page(window, town, tmp_path, size,
                                                                  orientation):
    """投诉建议 beside the search on home, in normal and 长辈模式 (home still fits, unscrolled):
    its screen shows a QR that a phone reads as the hello's `complain_url`, what the page asks
    and the hall's complaint phone; 返回首页 goes home, and so does a minute untouched (after
    the idle warning, whose 继续浏览 comes back to the QR)."""
    from kivy.metrics import dp

    from hall.widgets import BigButton, QrImage
    from kiosk.app import IDLE_SECONDS, WARNING_SECONDS

    clock = FakeClock()
    spoken = []
    complain_url = town.hello("kiosk").hello["complain_url"]
    assert complain_url == town.http + "/complain"

    async def complain_screen(app, name: str) -> None:
        await tap(widgets(app.root, BigButton, "投诉建议")[0])
        assert app.screen == "complain"
        shot = await shoot(app, f"{orientation}-{name}")
        assert qr_codes(shot) == [complain_url]
        [code] = widgets(app.root, QrImage)
        assert code.width >= dp(540)                  # big: read from arm's length
        shown = texts(app.root)
        for words in ("请用手机扫描二维码，提交投诉或建议", "今日取号码", "编号和查询码",
                      "也可拨打投诉电话：0000-6281110"):
            assert words in shown, words

    async def scenario(shell, app):
        app._speak = spoken.append
        home_fits(app, window, False, dp(200))
        await shoot(app, f"{orientation}-20-home-complain")
        await complain_screen(app, "21-complain")
        await tap(widgets(app.root, BigButton, "返回首页")[0])
        assert app.screen == "home"
        await tap(widgets(app.root, BigButton, "长辈模式")[0])
        await frames(5)
        home_fits(app, window, True, dp(260))
        await shoot(app, f"{orientation}-22-home-complain-elder")
        await complain_screen(app, "23-complain-elder")
        assert "请用手机扫描二维码" in spoken[-1]           # read aloud in 长辈模式
        clock.now += IDLE_SECONDS                         # a minute untouched: the warning
        app._tick(1)
        assert app.screen == "idle_warning"
        await frames(5)
        await tap(widgets(app.root, BigButton, "继续浏览")[0])
        assert app.screen == "complain" and widgets(app.root, QrImage)
        clock.now += IDLE_SECONDS + WARNING_SECONDS       # untouched again: home by itself
        app._tick(1)
        app._tick(1)
        assert app.screen == "home"
        await tap(widgets(app.root, BigButton, "退出长辈模式")[0])

    run_kiosk(window, town, tmp_path, size, scenario, clock=clock)


def test_no_complaint_qr_while_the_server_is_away(window, tmp_path):
    """Without the server, no QR of a page that may be down: home has no 投诉建议, and the
    screen open when the server went says in words that the QR cannot be shown, with the
    phone; back with the server, home has it again."""
    from hall.widgets import BigButton, QrImage
    from tests.conftest import free_port

    hall = LiveHall(tmp_path / "hall", "--take-limit", "0", port=free_port(),
                    hall_text=round_the_clock(DEMO_TOWN.read_text(encoding="utf-8")))

    async def scenario(shell, app):
        await tap(widgets(app.root, BigButton, "投诉建议")[0])
        assert widgets(app.root, QrImage)
        hall.kill()
        await until(lambda: not shell.model.connected)
        await frames(5)
        assert app.screen == "complain" and not widgets(app.root, QrImage)
        shown = texts(app.root)
        assert "暂时无法显示投诉建议二维码" in shown and "投诉电话 0000-6281110" in shown
        await shoot(app, "landscape-24-complain-offline")
        await tap(widgets(app.root, BigButton, "返回首页")[0])
        assert not widgets(app.root, BigButton, "投诉建议")
        hall.start()
        await until(lambda: shell.model.connected, seconds=15)
        await until(lambda: widgets(app.root, BigButton, "投诉建议"))

    (tmp_path / "hall").mkdir(exist_ok=True)
    try:
        run_kiosk(window, hall, tmp_path, (1920, 1080), scenario)
    finally:
        hall.stop()
