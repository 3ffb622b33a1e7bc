"""`kiosk print-test` and `kiosk render`, as an installer would run them."""

from __future__ import annotations

import subprocess
import sys

from PIL import Image
from pyzbar.pyzbar import decode


def kiosk(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk.cli", *args], capture_output=True,
                          text=True, timeout=60)


def test_print_test_bytes_render_back(tmp_path):
    out, png = tmp_path / "ticket.bin", tmp_path / "ticket.png"
    done = kiosk("print-test", "--printer", f"file:{out}", "--paper", "58")
    assert done.returncode == 0, done.stderr
    assert "已发送样张" in done.stdout and out.stat().st_size > 0
    drawn = kiosk("render", str(out), str(png), "--paper", "58")
    assert drawn.returncode == 0, drawn.stderr
    assert "二维码：zbar 从图片读出 1 个，共印 1 个（打印机原生 1 个，图片 0 个）" in drawn.stdout
    [code] = decode(Image.open(png))
    assert code.data.decode().startswith("http")
    assert f"读出：{code.data.decode()}" in drawn.stdout


def test_render_counts_the_qr_codes_printed_as_images_that_zbar_reads(tmp_path):
    """A printer without native QR gets the code as a GS v 0 image: `render` counts it too,
    by what zbar reads on the picture, not by the QR commands in the bytes."""
    out, png = tmp_path / "ticket.bin", tmp_path / "ticket.png"
    done = kiosk("print-test", "--printer", f"file:{out}", "--paper", "80", "--image-qr")
    assert done.returncode == 0, done.stderr
    drawn = kiosk("render", str(out), str(png), "--paper", "80")
    assert drawn.returncode == 0, drawn.stderr
    assert "二维码：zbar 从图片读出 1 个，共印 1 个（打印机原生 0 个，图片 1 个）" in drawn.stdout
    [code] = decode(Image.open(png))
    assert f"读出：{code.data.decode()}" in drawn.stdout


def test_render_says_when_a_printed_qr_code_cannot_be_read(tmp_path):
    """A native QR code drawn at one dot a module is too small for zbar on the picture: the
    count says so, names it, and the exit code is 1 (an installer's script can check it)."""
    data = "https://hall.example/t/unreadable"
    stored = len(data.encode()) + 3
    job = (b"\x1b@" + b"\x1d(k\x04\x001A2\x00" + b"\x1d(k\x03\x001C\x01"
           + b"\x1d(k\x03\x001E0" + b"\x1d(k" + bytes([stored % 256, stored // 256])
           + b"1P0" + data.encode() + b"\x1d(k\x03\x001Q0" + b"\n\n")
    source = tmp_path / "tiny.bin"
    source.write_bytes(job)
    drawn = kiosk("render", str(source), str(tmp_path / "tiny.png"))
    assert "二维码：zbar 从图片读出 0 个，共印 1 个（打印机原生 1 个，图片 0 个）" in drawn.stdout
    assert drawn.returncode == 1 and drawn.stderr.strip() == f"⚠ 读不出：{data}"


def test_errors_are_one_line_in_chinese(tmp_path):
    missing = kiosk("render", str(tmp_path / "none.bin"), str(tmp_path / "x.png"))
    assert missing.returncode == 1 and missing.stderr.startswith("找不到文件")
    bad = kiosk("print-test", "--printer", "bogus:1")
    assert bad.returncode == 1 and bad.stderr.strip() == "打印失败：打印机设置有误，请联系工作人员"
    no_token = kiosk("run", "--server", "ws://127.0.0.1:1/ws")
    assert no_token.returncode == 2 and "缺少设备令牌" in no_token.stderr
