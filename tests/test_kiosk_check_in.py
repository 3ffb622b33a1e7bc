"""预约签到 at the offscreen kiosk against a real hall server on a simulated clock (the demo town,
Monday 2026-11-23 08:40, its category A booked from 09:00): the code typed on the big keypad or
read by a QR scanner on a serial line (a pty), and the three outcomes — on time (a ticket marked
预约, printed with its slot), too early (when to come back), late (a walk-in ticket, said
plainly) — and a wrong code, in normal and 长辈模式, portrait and landscape. Every screen is saved
in tests/artifacts/kiosk/ to be looked at."""

from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import pytest

from tests.kivy_driving import frames, tap, texts, until, widgets
from tests.live_hall import LiveHall
from tests.test_kiosk_ui import DEMO_TOWN, SHOTS, FakeClock, run_kiosk, shoot

# the demo town, its category A with 10 bookable places a slot (the tests book many for 09:00)
HALL_TEXT = DEMO_TOWN.read_text(encoding="utf-8").replace(
    "capacity = 4\nshare = 50", "capacity = 20\nshare = 50", 1)
MONDAY = "2026-11-23"
SIZES = [((1080, 1920), "portrait"), ((1920, 1080), "landscape")]
phones = itertools.count(13900000100)


def serve(folder: Path, at: str, port: int = 0) -> LiveHall:
    return LiveHall(folder, "--take-limit", "0", "--book-limit", "0",
                    "--simulate-from", f"{MONDAY}T{at}:00", hall_text=HALL_TEXT, port=port)


def book(hall: LiveHall, slot: str, category: str = "A") -> str:
    page = hall.hello("booking")
    reply = page.request("book", category=category, day=MONDAY, slot=slot,
                         phone=str(next(phones)), id_digits="1234")
    assert reply["ok"], reply
    return reply["booking"]["booking"]


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    """08:40 on the hall's clock: a 09:00 booking checks in on time (08:30–09:15), a 10:00 one
    is too early (from 09:30)."""
    hall = serve(tmp_path_factory.mktemp("booked"), "08:40")
    yield hall
    hall.stop()


def file_printer(path: Path):
    from kiosk.app import EscposPrinter
    from kiosk.printing import PrinterProfile

    return EscposPrinter(f"file:{path}", PrinterProfile(80))


def printed(path: Path, name: str):
    """The slip's bytes drawn back by our renderer (the PNG kept to look at)."""
    from kiosk.printing.render import render

    rendering = render(path.read_bytes(), 576, "gb18030")
    rendering.save(SHOTS / f"printout-{name}.png")
    return rendering


async def key_in(app, code: str) -> None:
    """The code on the keypad, a tap a digit, as a citizen types it (a slip first, put right
    by 删除)."""
    from hall.widgets import BigButton

    def key(label):
        return next(b for b in widgets(app.root, BigButton) if b.text == label)

    await tap(key("9"))
    await tap(key("删除"))
    for digit in code:
        await tap(key(digit))
    assert app.code == code


def fits_under(app, above) -> None:
    """The ticket's number, its labels and 完成 lie under `above` (the header, a warning) and
    above the window's bottom: nothing drawn over another."""
    from hall.widgets import BigButton, Text

    below = [w for w in widgets(app.root, Text) if w.text == "您的号码" or "预约时间" in w.text
             or re.fullmatch(r"A\d{3}", w.text)] + widgets(app.root, BigButton, "完成")
    assert len(below) >= 2
    for widget in below:
        assert widget.to_window(widget.x, widget.top)[1] <= above.y + 1, widget.text
        assert widget.to_window(widget.x, widget.y)[1] >= 0, widget.text


async def open_check_in(app) -> None:
    from hall.widgets import BigButton

    await tap(widgets(app.root, BigButton, "预约签到")[0])
    assert app.screen == "checkin"


@pytest.mark.parametrize("size,orientation", SIZES)
def test_on_time_by_keypad_a_ticket_marked_booked_printed_with_its_slot(window, hall, tmp_path,
                                                                        size, orientation):
    """预约签到 on home (the hall books, the server answers); the code on the keypad, 确认: the
    ticket shows and prints 【预约】 and the slot's start, its QR still read by zbar; in 长辈模式
    the same, bigger, and read aloud."""
    from hall.widgets import BigButton, Text

    codes = [book(hall, "09:00"), book(hall, "09:00")]
    slip = tmp_path / "slip.bin"
    spoken: list[str] = []

    async def scenario(shell, app):
        app._speak = spoken.append
        await shoot(app, f"{orientation}-30-home-check-in")
        for elder, code in zip((False, True), codes, strict=True):
            tag = "-elder" if elder else ""
            if elder:
                await tap(widgets(app.root, BigButton, "长辈模式")[0])
                await shoot(app, f"{orientation}-30b-home-check-in-elder")
            await open_check_in(app)
            await key_in(app, code)
            await shoot(app, f"{orientation}-31-check-in-keypad{tag}")
            await tap(widgets(app.root, BigButton, "确认签到")[0])
            await until(lambda: app.screen == "ticket")
            await until(lambda: not app.pending)          # printed
            on_screen = texts(app.root)
            assert "【预约】预约时间：09:00" in on_screen, on_screen
            number = next(w.text for w in widgets(app.root, Text) if w.text[:1] == "A"
                          and w.text[1:].isdigit())
            await shoot(app, f"{orientation}-32-check-in-on-time{tag}")
            fits_under(app, app.clock_label.parent)          # under the header
            rendering = printed(slip, f"check-in-{orientation}{tag}")
            words = "".join(t.strip() for t in rendering.texts)
            assert number in words and "【预约】" in words, words
            assert "预约时间：2026-11-2309:00" in words.replace(" ", ""), words
            assert [q for q in rendering.qr_codes if q.startswith(hall.http + "/t/")]
            from pyzbar.pyzbar import decode
            assert [c.data.decode() for c in decode(rendering.image.convert("L"))] \
                == rendering.qr_codes
            if elder:
                assert spoken[-1].startswith(f"预约签到成功，预约时间 09:00。您的号码是 {number}。")
            await tap(widgets(app.root, BigButton, "完成，返回首页")[0])
        await tap(widgets(app.root, BigButton, "退出长辈模式")[0])

    run_kiosk(window, hall, tmp_path, size, scenario, printer=file_printer(slip))


@pytest.mark.parametrize("size,orientation", SIZES)
def test_too_early_says_when_to_come_back_and_a_wrong_code_the_servers_words(window, hall,
                                                                           tmp_path, size,
                                                                           orientation):
    """A 10:00 booking at 08:40: 请于 09:30 以后再来签到 in big type, no ticket; an unknown code:
    the server's words under the code, the keypad still there; a code used already: so said;
    both read aloud in 长辈模式; the check-in screen left alone goes home (after the warning)."""
    from kivy.metrics import dp

    from hall.widgets import BigButton, Text
    from kiosk.app import IDLE_SECONDS, WARNING_SECONDS

    early = book(hall, "10:00")
    used = book(hall, "09:00")
    assert hall.hello("kiosk").request("check_in", code=used)["outcome"] == "on_time"
    spoken: list[str] = []
    clock = FakeClock()

    async def scenario(shell, app):
        app._speak = spoken.append
        for elder in (False, True):
            tag = "-elder" if elder else ""
            if elder:
                await tap(widgets(app.root, BigButton, "长辈模式")[0])
                assert shell.model.elder_mode
            await open_check_in(app)
            await key_in(app, early)
            await tap(widgets(app.root, BigButton, "确认签到")[0])
            await until(lambda: app.screen == "come_back")
            big = widgets(app.root, Text, "请于 09:30 以后再来签到")
            assert big and big[0].font_size >= dp(80), [w.text for w in big]
            assert "您预约的是11月23日（周一） 10:00–10:30，签到时间未到" in texts(app.root)
            await shoot(app, f"{orientation}-33-check-in-too-early{tag}")
            if elder:
                assert spoken[-1] == "签到时间未到，请于 09:30 以后再来签到。"
            await tap(widgets(app.root, BigButton, "知道了，返回首页")[0])
            assert app.screen == "home"

            await open_check_in(app)
            await key_in(app, "12345678")
            await tap(widgets(app.root, BigButton, "确认签到")[0])
            wrong = "没有预约码为 12345678 的预约，请核对后重新输入"
            await until(lambda: "没有预约码为 12345678 的预约" in texts(app.root))
            assert app.screen == "checkin" and widgets(app.root, BigButton, "清空")
            await shoot(app, f"{orientation}-34-check-in-wrong-code{tag}")
            if elder:
                assert spoken[-1] == wrong
            await tap(next(b for b in widgets(app.root, BigButton) if b.text == "清空"))
            await tap(widgets(app.root, BigButton, "确认签到")[0])       # nothing typed
            await until(lambda: "预约码应为 8 位数字" in texts(app.root))
            await key_in(app, used)
            await tap(widgets(app.root, BigButton, "确认签到")[0])
            await until(lambda: f"预约 {used} 已签到，不能签到" in texts(app.root))
            clock.now += IDLE_SECONDS                  # nobody there any more
            app._tick(1)
            assert app.screen == "idle_warning"
            clock.now += WARNING_SECONDS
            app._tick(1)
            assert app.screen == "home"
            await frames(5)
        await tap(widgets(app.root, BigButton, "退出长辈模式")[0])

    run_kiosk(window, hall, tmp_path, size, scenario, clock=clock)


@pytest.mark.parametrize("size,orientation", SIZES)
def test_late_a_walk_in_ticket_and_the_kiosk_says_so(window, tmp_path, size, orientation):
    """Booked for 09:00 at 08:40; the hall's clock moved on to 09:20 (the server started again
    on it), past the late limit 09:15: the kiosk gives a normal ticket, not marked 预约 on screen
    or slip, and says 您已超过预约签到时间，已为您取普通号 over it; in 长辈模式 read aloud first."""
    from hall.widgets import BigButton, Text

    hall = serve(tmp_path / "hall", "08:40")
    try:
        codes = [book(hall, "09:00"), book(hall, "09:00")]
        hall.stop()
        hall.serve_args[hall.serve_args.index(f"{MONDAY}T08:40:00")] = f"{MONDAY}T09:20:00"
        hall.start()
        spoken: list[str] = []

        async def scenario(shell, app):
            app._speak = spoken.append
            for elder, code in zip((False, True), codes, strict=True):
                tag = "-elder" if elder else ""
                if elder:
                    await tap(widgets(app.root, BigButton, "长辈模式")[0])
                await open_check_in(app)
                await key_in(app, code)
                await tap(widgets(app.root, BigButton, "确认签到")[0])
                await until(lambda: app.screen == "ticket")
                await until(lambda: not app.pending)          # printed
                on_screen = texts(app.root)
                assert "您已超过预约签到时间，已为您取普通号" in on_screen and "请取走小票" in on_screen
                assert "预约时间" not in on_screen and "取号类型：普通" in on_screen
                await shoot(app, f"{orientation}-35-check-in-late{tag}")
                fits_under(app, widgets(app.root, Text, "已为您取普通号")[0].parent)
                number = next(w.text for w in widgets(app.root, Text)
                              if re.fullmatch(r"A\d{3}", w.text))
                words = "".join(t.strip() for t in printed(slip, f"late-{orientation}{tag}").texts)
                assert number in words and "预约" not in words, words      # a walk-in's slip
                if elder:
                    assert spoken[-1].startswith("您已超过预约签到时间，已为您取普通号。您的号码是 ")
                await tap(widgets(app.root, BigButton, "完成，返回首页")[0])
            await tap(widgets(app.root, BigButton, "退出长辈模式")[0])

        (tmp_path / "kiosk").mkdir()
        slip = tmp_path / "slip.bin"
        run_kiosk(window, hall, tmp_path / "kiosk", size, scenario, printer=file_printer(slip))
    finally:
        hall.stop()


def test_a_scan_on_home_checks_in_and_a_vanished_scanner_leaves_the_keypad(window, hall,
                                                                          tmp_path):
    """The scanner on a serial line (a pty, as a USB-CDC scanner appears): the booking's QR (its
    code's 8 digits) scanned on home, CR LF after it, checks in at once; the scanner unplugged, the
    check-in screen says so in Chinese and the keypad still checks in; plugged back, a scan on
    the check-in screen checks in."""
    from hall.pty_port import PtyPort
    from hall.widgets import BigButton
    from kiosk.scanner import Scanner

    codes = [book(hall, "09:00") for _ in range(3)]
    port = PtyPort(link=tmp_path / "scanner")
    port.open()
    scanner = Scanner(port.path, retry_seconds=0.1)

    async def scenario(shell, app):
        await until(lambda: shell.model.scanner == (True, f"扫码器已连接（{port.path}）"))
        os.write(port.master, f"{codes[0]}\r\n".encode())      # what the booking's QR holds
        await until(lambda: app.screen == "ticket")
        assert "【预约】预约时间：09:00" in texts(app.root)
        await tap(widgets(app.root, BigButton, "完成，返回首页")[0])

        await open_check_in(app)
        assert "或把预约二维码对准扫码器" in texts(app.root)
        port.close()
        lost = f"扫码器串口 {port.path} 已断开（设备被拔出或断电）；正在重连"
        await until(lambda: lost in texts(app.root))
        await shoot(app, "portrait-36-check-in-scanner-lost")
        await key_in(app, codes[1])
        await tap(widgets(app.root, BigButton, "确认签到")[0])
        await until(lambda: app.screen == "ticket")
        assert "【预约】预约时间：09:00" in texts(app.root)
        await tap(widgets(app.root, BigButton, "完成，返回首页")[0])

        port.open()
        await until(lambda: shell.model.scanner[0])
        await open_check_in(app)
        await frames(3)
        os.write(port.master, f"{codes[2]}\r".encode())
        await until(lambda: app.screen == "ticket")
        assert "【预约】预约时间：09:00" in texts(app.root)

    try:
        run_kiosk(window, hall, tmp_path, (1080, 1920), scenario, scanner=scanner)
    finally:
        port.close()


def test_scan_lines_and_the_code_in_a_scan():
    from kiosk.model import booking_code_in
    from kiosk.scanner import ScanLines

    lines = ScanLines()
    assert lines.feed(b"1234") == []
    assert lines.feed(b"5678\r\n\r\nhttp://h/book?code=87654321\n") == [
        "12345678", "http://h/book?code=87654321"]
    assert lines.feed(b"x" * 600 + b"\r") == []
    assert booking_code_in("http://h/book?code=87654321") == "87654321"
    assert booking_code_in(" 1234 ") == "1234"          # refused on screen as no code
    assert booking_code_in("123456789") == "123456789"



def test_check_in_is_offered_only_while_the_server_answers_and_the_hall_books(window, tmp_path):
    """预约签到 is on home while the server answers and its hall takes bookings: gone while the
    server is away, back with it; a hall whose categories take no bookings never shows it."""
    from hall.widgets import BigButton
    from tests.conftest import free_port
    from tests.live_hall import ROUND_THE_CLOCK

    def offered(app) -> bool:
        return bool(widgets(app.root, BigButton, "预约签到"))

    hall = serve(tmp_path / "hall", "08:40", port=free_port())

    async def away_and_back(shell, app):
        assert offered(app)
        hall.kill()
        await until(lambda: not shell.model.connected)
        await frames(5)
        assert not offered(app)
        await shoot(app, "portrait-37-home-offline-no-check-in")
        hall.start()
        await until(lambda: shell.model.connected, seconds=15)
        await until(lambda: offered(app))

    async def never(shell, app):
        await frames(10)
        assert shell.model.booking_menu == [] and not offered(app)

    (tmp_path / "hall").mkdir(exist_ok=True)
    try:
        run_kiosk(window, hall, tmp_path, (1080, 1920), away_and_back)
    finally:
        hall.stop()
    plain = LiveHall(tmp_path / "plain", "--take-limit", "0", hall_text=ROUND_THE_CLOCK)
    try:
        (tmp_path / "kiosk").mkdir()
        run_kiosk(window, plain, tmp_path / "kiosk", (1080, 1920), never)
    finally:
        plain.stop()
