"""The hall definition file: the shipped halls, round trips, and errors people can act on."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from queue_server.hall_toml import HallFileInvalid, dump_hall, key_lines, load_hall, parse_hall

ROOT = Path(__file__).parent.parent
HALLS = ROOT / "assets" / "halls"
SMALL = (Path(__file__).parent / "data" / "small-hall.toml").read_text(encoding="utf-8")


def _problems(text: str) -> list[str]:
    with pytest.raises(HallFileInvalid) as caught:
        parse_hall(text, "hall.toml")
    return [p.render("hall.toml") for p in caught.value.problems]


def _line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def _at(text: str, fragment: str) -> str:
    return f"hall.toml:{_line_of(text, fragment)}: "


def test_demo_town_is_a_complete_town_centre():
    hall = load_hall(HALLS / "demo-town.toml")
    assert hall.hall.demo and len(hall.windows) == 8
    assert all(w.a_post and w.b_posts for w in hall.windows)
    assert len(hall.items) >= 30
    for department in hall.departments:
        assert sum(i.department == department.code for i in hall.items) >= 3, department.name
    for item in hall.items:
        assert item.summary and item.certificate and item.phone and item.notes, item.name
        assert len(item.materials) >= 2 and len(item.steps) >= 3, item.name
        text = repr(item)
        for filler in ("xxx", "XXX", "TODO", "示例", "lorem"):
            assert filler not in text, (item.name, filler)


def test_county_hall_has_the_scale_of_the_seed():
    hall = load_hall(HALLS / "county.toml")
    assert len(hall.windows) == 142
    assert 55 <= len(hall.departments) <= 65
    assert 340 <= len(hall.items) <= 400
    assert len(hall.clerks) >= 280
    assert not any(c.pin for c in hall.clerks), "the county file is not a demo: no PINs"


@pytest.mark.parametrize("name", ["demo-town.toml", "county.toml"])
def test_export_reads_back_equal(name):
    hall = load_hall(HALLS / name)
    assert parse_hall(dump_hall(hall)) == replace(
        hall, clerks=tuple(replace(c, pin="") for c in hall.clerks))


def test_errors_name_line_field_and_what_is_expected():
    text = (SMALL.replace('a_post = "1003"', 'a_post = "1099"')
            .replace("daily_cap = 5", "daily_cap = 1500")
            .replace('form = "original"', 'form = "原件"')
            .replace('sessions = [["08:30", "12:00"], ["14:00", "17:30"]]',
                     'sessions = [["08:30", "12:00"], ["11:00", "17:30"]]')
            .replace("promised_days = 0", "promised_days = 7\nwindow = 3"))
    problems = _problems(text)
    assert problems == [
        _at(text, 'sessions =') + "hall.sessions[2]: 服务时段应按时间先后排列且互不重叠",
        _at(text, 'daily_cap = 1500') + "categories[3].daily_cap: "
        "应为 1 到 999 之间的整数，实际为 1500",
        _at(text, 'a_post = "1099"') + "windows[3].a_post: "
        "工号 \"1099\" 不在 [[clerks]] 中；A岗必须是已登记的工作人员",
        _at(text, 'promised_days = 7') + "items[1].promised_days: "
        "承诺时限（7 个工作日）不能长于法定时限（5 个工作日）",
        _at(text, 'promised_days = 7') + "items[1].promised_days: "
        "即办件（type = \"instant\"）的承诺时限应为 0",
        _at(text, 'window = 3') + "items[1].window: "
        "未知字段；此处可用的字段有：code, name, summary, department, category, handling, type, "
        "legal_basis, conditions, steps, statutory_days, promised_days, fee, fee_basis, "
        "certificate, phone, notes, materials",
        _at(text, 'form = "原件"') + "items[1].materials[1].form: "
        "应为 original / copy / original_and_copy 之一，实际为 \"原件\"",
    ]


def test_missing_fields_and_references():
    text = SMALL.replace('name = "民政业务"\n', "").replace('categories = ["B"]', 'categories = ["B", "X"]')
    assert _problems(text) == [
        # a missing key is reported at its table's header, the line before `prefix = "B"`
        f"hall.toml:{_line_of(text, 'prefix = ' + chr(34) + 'B')- 1}: categories[2].name: 缺少必填字段（应为文本）",
        _at(text, 'categories = ["B", "X"]') + "windows[2].categories[2]: "
        "号段前缀 \"X\" 不在 [[categories]] 中",
    ]


def test_pins_only_in_demo_files():
    text = SMALL.replace("demo = true", "demo = false")
    problems = _problems(text)
    assert len(problems) == 5
    assert problems[0].endswith("clerks[1].pin: PIN 只能写在演示文件中（[hall] demo = true）；"
                                "正式大厅请用 queue-server clerk set-pin 设置")


def test_syntax_error_is_one_clear_line():
    text = SMALL.replace('name = "张敏"', 'name = "张敏')
    [problem] = _problems(text)
    assert problem.startswith(_at(text, 'name = "张敏') + "(TOML 语法): ")
    assert "语法错误" in problem


def test_duplicates_are_rejected():
    text = SMALL.replace("number = 4", "number = 3")
    [problem] = _problems(text)
    assert problem.endswith('windows[4].number: 窗口号 3 重复，已在 windows[3] 出现')


def test_key_lines_follow_tables_arrays_and_multiline_strings():
    text = '[hall]\nname = """a\nb = 1\n"""\ncode = "x"\n[[items]]\ncode = "1"\n' \
           '[[items.materials]]\nname = "m"\n[[items]]\n[[items.materials]]\n' \
           '[[items.materials]]\nname = "n"\n'
    lines = key_lines(text)
    assert lines["hall.name"] == 2 and lines["hall.code"] == 5 and "hall.b" not in lines
    assert lines["items[1].materials[1].name"] == 9
    assert lines["items[2].materials[2].name"] == 13
