"""A service item's guide (办事指南) as sections of plain lines, shared by the kiosk's guide page
and the guide web page the checklist's QR code opens. Pure functions over the catalogue's item
view (`queue_server.views.item_view`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def time_limit_text(item: dict[str, Any]) -> str:
    parts = []
    if item.get("promised_days") is not None:
        parts.append("即办" if item["promised_days"] == 0 else
                     f"承诺 {item['promised_days']} 个工作日")
    if item.get("statutory_days") is not None:
        parts.append(f"法定 {item['statutory_days']} 个工作日")
    return "，".join(parts) or "以窗口告知为准"


def fee_text(item: dict[str, Any]) -> str:
    fee = item.get("fee") or "不收费"
    basis = item.get("fee_basis")
    return f"{fee}（{basis}）" if basis else fee


FORM_NAMES = {"original": "原件", "copy": "复印件", "original_and_copy": "原件及复印件"}


def material_quantity(material: Mapping[str, Any]) -> str:
    """`原件 1 份`, `复印件 2 份`, `原件及复印件各 1 份`: the same on screen and on paper."""
    form = material.get("form") or "original"
    each = "各" if form == "original_and_copy" else ""
    return f"{FORM_NAMES.get(form, str(form))}{each} {int(material.get('copies') or 1)} 份"


def material_line(material: dict[str, Any]) -> str:
    line = f"{material['name']}：{material_quantity(material)}"
    return line + (f"（{material['notes']}）" if material.get("notes") else "")


def serving_windows(item: Mapping[str, Any], hall: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The hall view's windows that serve the item's queue category, in the category's order."""
    category: Mapping[str, Any] = next(
        (c for c in hall.get("categories") or [] if c["prefix"] == item.get("category")), {})
    by_number = {w["window"]: w for w in hall.get("windows") or []}
    return [by_number[n] for n in category.get("windows") or [] if n in by_number]


def sections(item: dict[str, Any], windows: list[dict[str, Any]],
             hall: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """Every field of the item, section by section, in the order people ask. `windows` are the
    hall view's windows that serve the item's category; `hall` the hall view."""
    places = [f"{w['window']} 号窗口（{w['name']}）" + (f"，{w['zone']}" if w.get("zone") else "")
              + (f"，{w['floor']}" if w.get("floor") else "") for w in windows]
    return [
        ("事项简介", [item["summary"]] if item.get("summary") else []),
        ("办理条件", list(item.get("conditions", []))),
        ("所需材料", [material_line(m) for m in item.get("materials", [])]),
        ("办理流程", [f"{n}. {step}" for n, step in enumerate(item.get("steps", []), 1)]),
        ("办理时限", [time_limit_text(item)]),
        ("收费标准", [fee_text(item)]),
        ("办理窗口", places or ["请到服务台咨询"]),
        ("办理结果", [item["certificate"]] if item.get("certificate") else []),
        ("设定依据", list(item.get("legal_basis", []))),
        ("咨询电话", [item.get("phone") or hall.get("consultation_phone", "")]),
        ("温馨提示", list(item.get("notes", []))),
    ]


def guide_path(service: str | None, catalogue_version: int | None) -> str | None:
    """An item's guide page, relative to the hall's address: the guide of the catalogue
    version a ticket was issued (or a checklist printed) with (`guide/<code>?v=N`), or the
    current one when the version is not known (a ticket of an older log); None without an
    item."""
    if service is None:
        return None
    return f"guide/{service}" + (f"?v={catalogue_version}" if catalogue_version else "")
