"""Device records: kiosks, boards and pads, each with a token that is stored only as a hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from hall.vocabulary import DEVICE_ROLES
from queue_server.credentials import hash_token, new_token
from queue_server.store.hall_records import credentials_changed
from queue_server.store.schema import DeviceRow


class DeviceError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Device:
    id: int
    name: str
    role: str
    window: int | None
    created_at: datetime
    revoked_at: datetime | None


def add_device(conn: Connection, hall_id: int, role: str, name: str, window: int | None,
               window_numbers: set[int], now: datetime) -> str:
    """Register a device and return its token (shown once; only its hash is kept)."""
    if role not in DEVICE_ROLES:
        raise DeviceError(f"设备角色应为 {' / '.join(DEVICE_ROLES)} 之一，实际为 {role}")
    if not name.strip() or len(name) > 60:
        raise DeviceError("设备名称不能为空，且不超过 60 个字符")
    if role == "pad" and window is None:
        raise DeviceError("评价器（pad）必须用 --window 绑定一个窗口")
    if window is not None and window not in window_numbers:
        raise DeviceError(f"没有 {window} 号窗口")
    existing = conn.execute(select(DeviceRow.id).where(
        DeviceRow.hall_id == hall_id, DeviceRow.name == name)).first()
    if existing is not None:
        raise DeviceError(f"已有名为 {name} 的设备；如需重新发放令牌，请先 device revoke {name}"
                          "，或换一个名称")
    token = new_token()
    conn.execute(insert(DeviceRow).values(hall_id=hall_id, name=name, role=role, window=window,
                                          token_hash=hash_token(token), created_at=now))
    return token


def list_devices(conn: Connection, hall_id: int) -> list[Device]:
    rows = conn.execute(select(DeviceRow).where(DeviceRow.hall_id == hall_id)
                        .order_by(DeviceRow.role, DeviceRow.name))
    return [Device(r.id, r.name, r.role, r.window, r.created_at, r.revoked_at) for r in rows]


def revoke_device(conn: Connection, hall_id: int, name: str, now: datetime) -> None:
    """Revoke a device's token; its record stays (for the audit) under a freed name, and a
    running server ends the device's open sessions (queue_server.revocation)."""
    row = conn.execute(select(DeviceRow).where(
        DeviceRow.hall_id == hall_id, DeviceRow.name == name)).first()
    if row is None:
        raise DeviceError(f"没有名为 {name} 的设备")
    stamp = now.strftime("%Y%m%d%H%M%S")
    conn.execute(update(DeviceRow).where(DeviceRow.id == row.id).values(
        revoked_at=now, name=f"{name[:40]}~revoked-{stamp}"))
    credentials_changed(conn, hall_id)


def device_for_token(conn: Connection, hall_id: int, token: str) -> Device | None:
    """The hall's device holding this token, unless revoked."""
    row = conn.execute(select(DeviceRow).where(
        DeviceRow.token_hash == hash_token(token), DeviceRow.hall_id == hall_id,
        DeviceRow.revoked_at.is_(None))).first()
    return None if row is None else Device(row.id, row.name, row.role, row.window, row.created_at, None)


def live_device_ids(conn: Connection, hall_id: int) -> set[int]:
    """The hall's devices whose tokens are not revoked."""
    return set(conn.execute(select(DeviceRow.id).where(
        DeviceRow.hall_id == hall_id, DeviceRow.revoked_at.is_(None))).scalars())
