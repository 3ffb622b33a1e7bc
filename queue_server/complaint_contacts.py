"""A complainant's name and phone number: checked, kept outside the log, shown masked, purged.

The complaints register logs every complaint without anything personal
(`events.ComplaintRegistered`). A name and phone number given with it are kept only when the
hall file allows it (`complaint_keep_contact`), as one row of `complaint_contacts` beside the
log; the log stays append-only, and the row is deleted `complaint_contact_days` after the
complaint is closed (`purge_due`, run when the hall's day starts). The manager handling the
complaint (承办人) reads them whole; anyone else reads them masked (138****5678, 张*); the
citizen's status page never shows them (docs/hall-rules.md, 个人信息).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from queue_server.hall_definition import HallInfo
from queue_server.hall_state import Complaint, HallState
from queue_server.store.schema import ComplaintContactRow

MAX_NAME = 20
PHONE = re.compile(r"[0-9]{7,15}")
BAD_PHONE = "联系电话应为 7 到 15 位数字（手机或座机，可含区号）"


def checked(name: str, phone: str) -> tuple[str, str]:
    """A name and phone number as given (either may be empty), or ValueError in Chinese."""
    name = unicodedata.normalize("NFKC", name or "").strip()
    phone = re.sub(r"[\s\-()（）]", "", unicodedata.normalize("NFKC", phone or ""))
    if len(name) > MAX_NAME:
        raise ValueError(f"姓名不能超过 {MAX_NAME} 个字")
    if phone and not PHONE.fullmatch(phone):
        raise ValueError(BAD_PHONE)
    return name, phone


def masked_phone(phone: str) -> str:
    """138****5678: the first three and last four digits (a shorter number: all stars)."""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def masked_name(name: str) -> str:
    return name[:1] + "*" * (len(name) - 1)


def shown(name: str, phone: str, whole: bool) -> dict[str, Any]:
    """The contact as a manager sees it: whole for the manager handling it, else masked."""
    if whole:
        return {"name": name, "phone": phone, "masked": False}
    return {"name": masked_name(name), "phone": masked_phone(phone), "masked": True}


def keep(conn: Connection, hall_id: int, complaint: str, name: str, phone: str) -> None:
    conn.execute(insert(ComplaintContactRow).values(hall_id=hall_id, complaint=complaint,
                                                    name=name, phone=phone))


def read(conn: Connection, hall_id: int, complaint: str) -> tuple[str, str] | None:
    return read_many(conn, hall_id, [complaint]).get(complaint)


def read_many(conn: Connection, hall_id: int, complaints: list[str]) -> dict[str, tuple[str, str]]:
    """The contacts kept of these complaints, by number (a purged one is not there)."""
    if not complaints:
        return {}
    return {row.complaint: (row.name, row.phone) for row in conn.execute(
        select(ComplaintContactRow.complaint, ComplaintContactRow.name, ComplaintContactRow.phone)
        .where(ComplaintContactRow.hall_id == hall_id,
               ComplaintContactRow.complaint.in_(complaints)))}


def past_keeping(hall: HallInfo, complaint: Complaint, today: date) -> bool:
    """Whether a complaint's contact is to go: closed `complaint_contact_days` days ago or more."""
    return (complaint.contact and complaint.closed_on is not None
            and complaint.closed_on <= today - timedelta(days=hall.complaint_contact_days))


def purge_due(state: HallState, today: date) -> list[str]:
    """The complaints whose contact is to go."""
    return [c.number for c in state.complaints.values() if past_keeping(state.hall, c, today)]


def purge(conn: Connection, hall_id: int, complaints: list[str]) -> int:
    """Delete these complaints' contacts; how many rows went."""
    if not complaints:
        return 0
    return conn.execute(delete(ComplaintContactRow).where(
        ComplaintContactRow.hall_id == hall_id,
        ComplaintContactRow.complaint.in_(complaints))).rowcount
