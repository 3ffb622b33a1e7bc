"""A made-up hall, ticket and service item for test prints, previews and benchmarks.

Shaped exactly like the protocol's `hall` snapshot, `take_ticket` ticket and catalogue item
(`docs/protocol.md`); the town, phones and token are invented.
"""

from __future__ import annotations

from typing import Any

HALL: dict[str, Any] = {
    "code": "qingshan-town", "name": "青山镇便民服务中心",
    "address": "云岭省青溪县青山镇人民路 18 号（镇人民政府东侧）",
    "consultation_phone": "0000-6281001", "complaint_phone": "0000-6281110",
    "sessions": [["08:30", "12:00"], ["14:00", "17:30"]],
    "rating_reasons": ["等候时间过长", "服务态度不好"], "missed_call": "过号请重新取号",
    "departments": [{"code": "sb", "name": "社会保障服务所"},
                    {"code": "mz", "name": "民政办公室"}],
    "categories": [{"prefix": "A", "name": "社会保障", "kinds": ["handle", "consult", "pickup"],
                    "department": "sb", "windows": [1, 8]},
                   {"prefix": "B", "name": "民政低保", "kinds": ["handle", "consult", "pickup"],
                    "department": "mz", "windows": [2]}],
    "windows": [{"window": 1, "name": "社会保障（劳动保障）窗口", "department": "sb",
                 "zone": "A区", "floor": "一楼", "categories": ["A"]},
                {"window": 2, "name": "民政低保窗口", "department": "mz", "zone": "A区",
                 "floor": "一楼", "categories": ["B"]},
                {"window": 8, "name": "综合受理窗口", "department": "sb", "zone": "B区",
                 "floor": "一楼", "categories": ["A", "B"]}],
}

TICKET: dict[str, Any] = {
    "number": "A013", "category": "A", "category_name": "社会保障", "service": "QS-SB-001",
    "kind": "handle", "priority": "elderly", "issued_at": "2026-11-23T09:16:40+08:00",
    "ahead": 2,
    "windows": [{"window": 1, "name": "社会保障（劳动保障）窗口", "location": "一楼 A区"},
                {"window": 8, "name": "综合受理窗口", "location": "一楼 B区"}],
    "token": "20261123A013-q3MhT5kLp0aZ",
    "url": "http://192.168.1.10:8765/t/20261123A013-q3MhT5kLp0aZ",
    "short_code": "483920", "lookup_url": "http://192.168.1.10:8765/q",
}

ITEM: dict[str, Any] = {
    "code": "QS-SB-001", "name": "城乡居民基本养老保险参保登记",
    "summary": "为年满 16 周岁、未参加职工基本养老保险的本镇户籍城乡居民办理参保登记。",
    "department": "sb", "category": "A", "handling": "proxy", "type": "instant",
    "legal_basis": ["《中华人民共和国社会保险法》第二十条、第二十二条"],
    "conditions": ["具有本镇户籍，年满 16 周岁（不含在校学生）"],
    "steps": ["取号后到窗口提交材料", "窗口核验并录入", "当场打印参保登记回执"],
    "materials": [
        {"name": "参保人居民身份证或社会保障卡", "form": "original", "copies": 1,
         "notes": "核验后退还"},
        {"name": "居民户口簿", "form": "original_and_copy", "copies": 1,
         "notes": "复印户主页和本人页；原件核验后退还"},
        {"name": "《城乡居民基本养老保险参保登记表》", "form": "original", "copies": 1,
         "notes": "窗口免费领取，也可当场填写"},
        {"name": "代办人居民身份证", "form": "original", "copies": 1,
         "notes": "仅代办时提供，核验后退还"},
        {"name": "近期一寸免冠彩色照片", "form": "original", "copies": 2, "notes": ""},
    ],
    "statutory_days": 5, "promised_days": 0, "fee": "不收费", "fee_basis": "",
    "certificate": "城乡居民基本养老保险参保登记回执", "phone": "0000-6281021", "notes": [],
}

GUIDE_URL = "http://192.168.1.10:8765/guide/QS-SB-001"
