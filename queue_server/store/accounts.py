"""Logging in: clerks by badge and PIN, managers by user and password, with a lockout.

Five wrong tries lock the account for five minutes, whatever is typed meanwhile, so a PIN of
four digits cannot be guessed by trying. The counter lives in the database, so a restart does
not reset it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import Connection, insert, select, update

from queue_server.credentials import hash_pin, verify_pin
from queue_server.store.schema import ClerkRow, ManagerRow

LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=5)
MIN_PASSWORD = 8


class AccountError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Login:
    ok: bool
    message: str = ""
    name: str = ""


def login_clerk(conn: Connection, hall_id: int, badge: str, pin: str, now: datetime) -> Login:
    row = conn.execute(select(ClerkRow).where(ClerkRow.hall_id == hall_id,
                                              ClerkRow.badge == badge)).first()
    return _check(conn, ClerkRow, row, pin, now, "工号或密码不正确")


def login_manager(conn: Connection, hall_id: int, user: str, password: str, now: datetime) -> Login:
    row = conn.execute(select(ManagerRow).where(ManagerRow.hall_id == hall_id,
                                                ManagerRow.user == user)).first()
    return _check(conn, ManagerRow, row, password, now, "用户名或密码不正确")


def _check(conn: Connection, table, row, secret: str, now: datetime, wrong: str) -> Login:
    if row is None:
        verify_pin(secret, _dummy_hash())  # take as long as a real check: reveal no one exists
        return Login(False, wrong)
    if row.locked_until is not None and row.locked_until > now:
        minutes = max(1, round((row.locked_until - now).total_seconds() / 60))
        return Login(False, f"密码连续输错 {LOCK_AFTER} 次，账号已锁定，请 {minutes} 分钟后再试")
    stored = row.pin_hash if table is ClerkRow else row.password_hash
    if verify_pin(secret, stored):
        if row.failed_logins:
            conn.execute(update(table).where(table.id == row.id).values(failed_logins=0))
        return Login(True, name=row.name)
    failures = row.failed_logins + 1
    if failures >= LOCK_AFTER:
        conn.execute(update(table).where(table.id == row.id).values(
            failed_logins=0, locked_until=now + LOCK_FOR))
        return Login(False, f"密码连续输错 {LOCK_AFTER} 次，账号已锁定 5 分钟")
    conn.execute(update(table).where(table.id == row.id).values(failed_logins=failures))
    return Login(False, f"{wrong}（还可再试 {LOCK_AFTER - failures} 次）")


@cache
def _dummy_hash() -> str:
    return hash_pin("0000")


def add_manager(conn: Connection, hall_id: int, user: str, name: str, password: str) -> None:
    if not user.strip() or len(user) > 60:
        raise AccountError("用户名不能为空，且不超过 60 个字符")
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"密码至少 {MIN_PASSWORD} 个字符")
    exists = conn.execute(select(ManagerRow.id).where(ManagerRow.hall_id == hall_id,
                                                      ManagerRow.user == user)).first()
    if exists:
        conn.execute(update(ManagerRow).where(ManagerRow.id == exists.id).values(
            name=name, password_hash=hash_pin(password), failed_logins=0, locked_until=None))
    else:
        conn.execute(insert(ManagerRow).values(hall_id=hall_id, user=user, name=name,
                                               password_hash=hash_pin(password)))
