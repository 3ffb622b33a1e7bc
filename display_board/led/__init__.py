"""Serial LED window strips: our QLink framing, a vendor example, the asyncio driver and an
emulator. The wire format is in docs/led-protocol.md.

    driver = StripDriver("/dev/ttyUSB0", [StripConfig(address=3), StripConfig(address=4)])
    task = asyncio.create_task(driver.run())
    driver.update(snapshot["live"]["windows"])     # then, for each event:
    driver.called(ticket_called_event)             # before the window event of the same seq
    driver.show(window_event)
    driver.status()                                # {3: StripStatus(online=True, message="在线"), …}
"""

from hall.qlink import DeviceInfo, Frame, FrameParser, crc16_modbus, decode_frame, encode_frame

from .bus import NoReply, PortError, SerialBus
from .codec import (
    Ack,
    Clear,
    Codec,
    Command,
    GetInfo,
    InfoReply,
    Nak,
    Ping,
    QLinkCodec,
    Reply,
    SetBrightness,
    Show,
    Unsupported,
)
from .content import StripConfig, StripContent, compose
from .driver import StripDriver, StripStatus
from .imm9012 import Imm9012Codec
from .text import FittedText, TextSpec, fit_text, text_width

__all__ = [
    "Ack", "Clear", "Codec", "Command", "DeviceInfo", "FittedText", "Frame", "FrameParser", "GetInfo",
    "Imm9012Codec", "InfoReply", "Nak", "NoReply", "Ping", "PortError", "QLinkCodec", "Reply", "SerialBus",
    "SetBrightness", "Show", "StripConfig", "StripContent", "StripDriver", "StripStatus", "TextSpec",
    "Unsupported", "compose", "crc16_modbus", "decode_frame", "encode_frame", "fit_text", "text_width",
]
