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
    assert "1 个二维码" in drawn.stdout
    [code] = decode(Image.open(png))
    assert code.data.decode().startswith("http")


def test_errors_are_one_line_in_chinese(tmp_path):
    missing = kiosk("render", str(tmp_path / "none.bin"), str(tmp_path / "x.png"))
    assert missing.returncode == 1 and missing.stderr.startswith("找不到文件")
    bad = kiosk("print-test", "--printer", "bogus:1")
    assert bad.returncode == 1 and bad.stderr.strip() == "打印失败：打印机设置有误，请联系工作人员"
    no_token = kiosk("run", "--server", "ws://127.0.0.1:1/ws")
    assert no_token.returncode == 2 and "缺少设备令牌" in no_token.stderr
