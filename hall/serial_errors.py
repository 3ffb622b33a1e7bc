"""What can go wrong with a serial port, and how to say it to a person: shared by the board's
LED strip bus and the pad's button evaluators, which both open ports that get unplugged."""

from __future__ import annotations

import errno

import serial

try:                       # pyserial's own exceptions are fine; termios.error is not an OSError
    import termios
    _TERMIOS_ERRORS: tuple[type[BaseException], ...] = (termios.error,)
except ImportError:        # pragma: no cover - Windows
    _TERMIOS_ERRORS = ()

PORT_ERRORS = (serial.SerialException, OSError, *_TERMIOS_ERRORS)


def describe_port_error(port: str, exc: BaseException, opening: bool) -> str:
    """A Chinese sentence saying what went wrong with the port and what to do."""
    code = getattr(exc, "errno", None)
    if code is None and exc.args and isinstance(exc.args[0], int):
        code = exc.args[0]
    if opening:
        if code == errno.ENOENT:
            return f"串口 {port} 不存在（设备未插好或已拔出），请检查串口线"
        if code in (errno.EACCES, errno.EPERM):
            return f"无权打开串口 {port}，请把运行用户加入 dialout 组"
        if code in (errno.EBUSY, errno.EAGAIN) or "lock" in str(exc).lower():
            return f"串口 {port} 被其他程序占用"
        return f"串口 {port} 无法打开：{exc}"
    return f"串口 {port} 已断开（设备被拔出或断电）"
