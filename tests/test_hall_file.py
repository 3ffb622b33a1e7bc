"""The hall definition file: the shipped halls, round trips, and errors people can act on."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from queue_server.hall_definition import Department
from queue_server.hall_state import mobile_cap
from queue_server.hall_toml import (
    MAX_FILE_BYTES,
    HallFileInvalid,
    dump_hall,
    key_lines,
    load_hall,
    parse_hall,
)

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
        "certificate, phone, notes, materials, aliases",
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


@pytest.mark.parametrize("address", ["https://paidui.example.gov.cn/h/small/", "paidui.example.gov.cn",
                                     "ftp://paidui.example.gov.cn", "https://a b.cn"])
def test_a_public_address_must_be_a_web_address_without_a_trailing_slash(address):
    text = SMALL.replace("demo = true", f'demo = true\npublic_url = "{address}"', 1)
    (problem,) = _problems(text)
    assert "hall.public_url: 格式不对：应为 http:// 或 https:// 开头、不以 / 结尾的地址" in problem


def test_a_public_address_is_kept_through_export_and_import():
    address = "https://paidui.example.gov.cn/h/small"
    definition = parse_hall(SMALL.replace("demo = true", f'demo = true\npublic_url = "{address}"', 1))
    assert definition.hall.public_url == address
    assert parse_hall(dump_hall(definition)).hall.public_url == address
    assert "public_url" not in dump_hall(parse_hall(SMALL))     # unset: not written


@pytest.mark.parametrize(("value", "message"), [
    ('""', "hall.missed_call: 不能为空"),
    ('"请留意叫号"', '应说明过号后怎么办，须含“过号”二字，如 "过号请重新取号"，实际为 "请留意叫号"'),
    ('"过号请重新取号\\n谢谢配合"', "hall.missed_call: 应为一行文字，不能换行"),
    ('"过号' + "请" * 40 + '"', "hall.missed_call: 太长：最多 40 个字符，实际 42 个字符"),
    ("5", "hall.missed_call: 应为文本，实际为 5"),
])
def test_the_missed_call_advice_is_one_line_that_says_what_to_do_after_a_missed_call(value, message):
    (problem,) = _problems(SMALL.replace("demo = true", f"demo = true\nmissed_call = {value}", 1))
    assert message in problem


def test_the_missed_call_advice_is_kept_through_export_and_written_only_when_set():
    advice = "过号后请到服务台说明情况，重新取号"
    definition = parse_hall(SMALL.replace("demo = true", f'demo = true\nmissed_call = "{advice}"', 1))
    assert definition.hall.missed_call == advice
    assert parse_hall(dump_hall(definition)).hall.missed_call == advice
    assert parse_hall(SMALL).hall.missed_call == "过号请重新取号"   # what the server does: void
    assert "missed_call" not in dump_hall(parse_hall(SMALL))     # unset: not written


def test_a_windows_short_name_is_kept_through_export_and_written_only_when_set():
    text = SMALL.replace("[[windows]]\n", '[[windows]]\nshort_name = "社保"\n', 1)
    definition = parse_hall(text)
    assert definition.windows[0].short_name == "社保"
    assert parse_hall(dump_hall(definition)).windows == definition.windows
    assert "short_name" not in dump_hall(parse_hall(SMALL))     # unset: not written


def test_an_items_aliases_are_kept_through_export_and_written_only_when_set():
    text = SMALL.replace("[[items]]\n", '[[items]]\naliases = ["社保卡", "办社保卡"]\n', 1)
    definition = parse_hall(text)
    assert definition.items[0].aliases == ("社保卡", "办社保卡")
    assert parse_hall(dump_hall(definition)).items == definition.items
    assert "aliases" not in dump_hall(parse_hall(SMALL))     # unset: not written
    (problem,) = _problems(SMALL.replace("[[items]]\n", '[[items]]\naliases = ["社保卡", " "]\n', 1))
    assert problem.endswith('items[1].aliases[2]: 应为非空文本，实际为 " "')


def test_a_halls_level_is_county_or_township_and_kept_through_export():
    (problem,) = _problems(SMALL.replace("demo = true", 'demo = true\nlevel = "city"', 1))
    assert 'hall.level: 应为 county / township 之一，实际为 "city"' in problem
    county = parse_hall(SMALL.replace("demo = true", 'demo = true\nlevel = "county"', 1))
    assert county.hall.level == "county"
    assert parse_hall(dump_hall(county)).hall.level == "county"
    assert "\nlevel =" not in dump_hall(parse_hall(SMALL))   # a hall on its own: not written


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


# --- limits: every text field, every list, the file -------------------------------------------

SMALL_HALL = parse_hall(SMALL)

# (record, field, most characters, is a list of texts); the same limits as docs/hall-config.md
TEXT_LIMITS = [
    ("hall", "code", 40, False), ("hall", "name", 60, False), ("hall", "address", 200, False),
    ("hall", "consultation_phone", 40, False), ("hall", "complaint_phone", 40, False),
    ("hall", "timezone", 64, False), ("hall", "rating_reasons", 40, True),
    ("hall", "complaint_categories", 40, True),
    ("departments", "code", 40, False), ("departments", "name", 60, False),
    ("departments", "phone", 40, False),
    ("categories", "prefix", 2, False), ("categories", "name", 60, False),
    ("categories", "kinds", 10, True), ("categories", "department", 40, False),
    ("clerks", "badge", 16, False), ("clerks", "name", 40, False),
    ("clerks", "photo", 300, False), ("clerks", "department", 40, False),
    ("windows", "name", 60, False), ("windows", "department", 40, False),
    ("windows", "categories", 2, True), ("windows", "a_post", 16, False),
    ("windows", "b_posts", 16, True), ("windows", "zone", 40, False),
    ("windows", "floor", 40, False), ("windows", "short_name", 6, False),
    ("items", "code", 64, False), ("items", "name", 100, False),
    ("items", "summary", 3000, False), ("items", "department", 40, False),
    ("items", "category", 2, False), ("items", "legal_basis", 1000, True),
    ("items", "conditions", 1000, True), ("items", "steps", 1000, True),
    ("items", "fee", 300, False), ("items", "fee_basis", 1000, False),
    ("items", "certificate", 200, False), ("items", "phone", 40, False),
    ("items", "notes", 1000, True), ("items", "aliases", 20, True),
    ("materials", "name", 200, False), ("materials", "notes", 500, False),
]


def _changed(record: str, field: str, value) -> tuple[str, str]:
    """SMALL written out with one field of the first record of a kind set to `value`; and
    that field's path."""
    hall = SMALL_HALL
    if record == "hall":
        hall = replace(hall, hall=replace(hall.hall, **{field: value}))
        return dump_hall(hall), f"hall.{field}"
    if record == "materials":
        item = hall.items[0]
        material = replace(item.materials[0], **{field: value})
        hall = replace(hall, items=(replace(item, materials=(material, *item.materials[1:])),
                                    *hall.items[1:]))
        return dump_hall(hall), f"items[1].materials[1].{field}"
    first, *rest = getattr(hall, record)
    hall = replace(hall, **{record: (replace(first, **{field: value}), *rest)})
    return dump_hall(hall), f"{record}[1].{field}"


def test_the_limits_are_the_documented_ones():
    doc = (ROOT / "docs" / "hall-config.md").read_text(encoding="utf-8")
    for record, field, limit, _ in TEXT_LIMITS:
        if field == "kinds":
            continue   # three fixed words
        table = "## `[hall]`" if record == "hall" else (
            "Each `[[items.materials]]`" if record == "materials" else f"## `[[{record}]]`")
        section = doc[doc.index(table):]
        row = next(line for line in section.splitlines() if line.startswith(f"| `{field}` |"))
        assert f"≤ {limit} characters" in row, (record, row)


@pytest.mark.parametrize(("record", "field", "limit", "is_list"), TEXT_LIMITS,
                         ids=[f"{r}.{f}" for r, f, _, _ in TEXT_LIMITS])
def test_every_text_field_has_a_length_limit(record, field, limit, is_list):
    at_limit = "长" * limit
    over = "长" * (limit + 1)
    text, path = _changed(record, field, (over,) if is_list else over)
    if is_list:
        path += "[1]"
    problems = _problems(text)
    expected = f"{path}: 太长：最多 {limit} 个字符，实际 {limit + 1} 个字符"
    assert any(p.endswith(expected) and p.split(":")[1].isdigit() for p in problems), problems
    assert all(len(p) < 300 for p in problems), "a problem never repeats a long value"
    # exactly at the limit is no problem of length (it may be another one: an unknown code)
    at_text, _ = _changed(record, field, (at_limit,) if is_list else at_limit)
    try:
        parse_hall(at_text, "hall.toml")
    except HallFileInvalid as error:
        assert not any("太长" in p.message for p in error.problems), error.render()


def test_a_reference_too_long_is_one_problem_not_two():
    text, path = _changed("windows", "department", "x" * 41)
    assert _problems(text) == [f"{_at(text, 'x' * 41)}{path}: 太长：最多 40 个字符，实际 41 个字符"]


@pytest.mark.parametrize(("record", "field", "entries", "most"), [
    ("hall", "rating_reasons", ("等候时间过长",), 12),
    ("hall", "holidays", None, 400),
    ("items", "steps", ("取号",), 50),
    ("items", "materials", None, 50),
    ("items", "aliases", ("社保卡",), 10),
    ("windows", "b_posts", ("1005",), 100),
])
def test_lists_have_a_maximum_number_of_entries(record, field, entries, most):
    if field == "holidays":
        values = tuple(date(2026, 1, 1) + timedelta(days=i) for i in range(most + 1))
    elif field == "materials":
        values = SMALL_HALL.items[0].materials * (most + 1)
    else:
        values = entries * (most + 1)
    text, path = _changed(record, field, values)
    assert any(p.endswith(f"{path}: 太多：最多 {most} 项，实际 {most + 1} 项") for p in _problems(text))


def test_tables_have_a_maximum_number_of_entries():
    many = tuple(Department(code=f"d{i}", name=f"部门{i}") for i in range(301))
    text = dump_hall(replace(SMALL_HALL, departments=(*SMALL_HALL.departments, *many)))
    assert any(p.endswith("departments: 太多：最多 300 项，实际 303 项") for p in _problems(text))


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path):
    big = tmp_path / "big.toml"
    big.write_text(SMALL + "# " + "x" * MAX_FILE_BYTES + "\n", encoding="utf-8")
    with pytest.raises(HallFileInvalid) as caught:
        load_hall(big)
    [problem] = caught.value.problems
    assert problem.message.startswith("文件太大：超过 8 MB 的上限")
    with pytest.raises(HallFileInvalid):
        parse_hall(big.read_text(encoding="utf-8"))


# --- encodings ---------------------------------------------------------------------------------

def test_a_bom_is_not_part_of_the_file(tmp_path):
    bom = tmp_path / "bom.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + SMALL.encode("utf-8"))
    assert load_hall(bom) == SMALL_HALL
    assert parse_hall("\ufeff" + SMALL) == SMALL_HALL


@pytest.mark.parametrize(("encode", "message"), [
    (lambda text: text.encode("gbk"), "文件不是 UTF-8 编码（可能是 GBK）；请另存为 UTF-8 编码"),
    (lambda text: text.encode("utf-16"), "文件是 UTF-16 编码（记事本的“Unicode”）；请另存为 UTF-8"),
    (lambda text: text.encode("utf-8").replace("张敏".encode(), "张敏".encode("gbk")),
     f"第 {_line_of(SMALL, '张敏')} 行有不是 UTF-8 的字节"),
], ids=["gbk", "utf-16", "one-damaged-line"])
def test_a_file_not_in_utf8_says_what_it_is(tmp_path, encode, message):
    path = tmp_path / "hall.toml"
    path.write_bytes(encode(SMALL))
    with pytest.raises(HallFileInvalid) as caught:
        load_hall(path)
    [problem] = caught.value.problems
    assert problem.message.startswith(message), problem.message


def test_a_damaged_line_after_a_bom_is_counted_right(tmp_path):
    path = tmp_path / "hall.toml"
    path.write_bytes(b"\xef\xbb\xbf" + SMALL.encode("utf-8").replace("张敏".encode(), b"\xff"))
    with pytest.raises(HallFileInvalid) as caught:
        load_hall(path)
    [problem] = caught.value.problems
    assert problem.line == _line_of(SMALL, "张敏")
    assert problem.message.startswith(f"第 {problem.line} 行有不是 UTF-8 的字节")


def test_the_rating_levels_are_the_national_five_unless_the_hall_names_them():
    assert parse_hall(SMALL).hall.scores == (
        (5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意"))
    named = '["很满意", "满意", "一般", "不满意", "很不满意"]'
    definition = parse_hall(SMALL.replace("demo = true", f"demo = true\nrating_levels = {named}", 1))
    assert definition.hall.score_name(1) == "很不满意" and definition.hall.score_name(3) == "一般"
    assert parse_hall(dump_hall(definition)).hall == definition.hall
    assert "rating_levels" not in dump_hall(parse_hall(SMALL))     # unset: not written


@pytest.mark.parametrize(("value", "message"), [
    ('["满意", "一般", "不满意"]', "hall.rating_levels: 至少需要 5 项"),
    ('["很满意", "满意", "一般", "不满意", "很不满意", "极差"]', "hall.rating_levels: 太多：最多 5 项，实际 6 项"),
    ('["很满意", "满意", "满意", "不满意", "很不满意"]', "hall.rating_levels: 评价等级名称不能重复"),
    ('["非常非常非常满意", "满意", "一般", "不满意", "很不满意"]',
     "hall.rating_levels[1]: 太长：最多 6 个字符，实际 8 个字符"),
    ('["很满意", "", "一般", "不满意", "很不满意"]', 'hall.rating_levels[2]: 应为非空文本，实际为 ""'),
])
def test_bad_rating_levels_are_refused_in_words(value, message):
    (problem,) = _problems(SMALL.replace("demo = true", f"demo = true\nrating_levels = {value}", 1))
    assert problem.endswith(message), problem


@pytest.mark.parametrize(("key", "value", "message"), [
    ("case_deadline_days", "0", "hall.case_deadline_days: 应为 1 到 60 之间的整数，实际为 0"),
    ("case_near_days", "31", "hall.case_near_days: 应为 0 到 30 之间的整数，实际为 31"),
])
def test_case_deadlines_are_checked(key, value, message):
    (problem,) = _problems(SMALL.replace("demo = true", f"demo = true\n{key} = {value}", 1))
    assert problem.endswith(message), problem
    hall = parse_hall(SMALL.replace("demo = true", f"demo = true\n{key} = 7", 1)).hall
    assert getattr(hall, key) == 7


def test_the_mobile_share_is_a_percentage_of_each_categorys_cap():
    """`mobile_share`: the per cent of a category's `daily_cap` the mobile 取号 page may take."""
    (problem,) = _problems(SMALL.replace("demo = true", "demo = true\nmobile_share = 0", 1))
    assert problem.endswith("hall.mobile_share: 应为 1 到 100 之间的整数，实际为 0"), problem
    assert parse_hall(SMALL).hall.mobile_share == 50
    definition = parse_hall(SMALL.replace("demo = true", "demo = true\nmobile_share = 20", 1))
    caps = {c.prefix: mobile_cap(definition.hall, c) for c in definition.categories}
    assert caps == {"A": 6, "B": 6, "C": 1}   # 20 % of 30, 30 and 5, at least one


@pytest.mark.parametrize(("key", "value", "message"), [
    ("complaint_deadline_days", "0", "hall.complaint_deadline_days: 应为 1 到 60 之间的整数，实际为 0"),
    ("complaint_contact_days", "0", "hall.complaint_contact_days: 应为 1 到 3650 之间的整数，实际为 0"),
    ("complaint_categories", "[]", "hall.complaint_categories: 至少需要 1 项"),
])
def test_the_complaint_rules_are_checked(key, value, message):
    (problem,) = _problems(SMALL.replace("demo = true", f"demo = true\n{key} = {value}", 1))
    assert problem.endswith(message), problem


def test_the_complaint_rules_are_kept_through_export_and_written_only_when_set():
    keys = ('complaint_categories = ["服务态度", "其他"]\ncomplaint_deadline_days = 10\n'
            "complaint_keep_contact = false\ncomplaint_contact_days = 30")
    definition = parse_hall(SMALL.replace("demo = true", f"demo = true\n{keys}", 1))
    h = definition.hall
    assert (h.complaint_categories, h.complaint_deadline_days, h.complaint_keep_contact,
            h.complaint_contact_days) == (("服务态度", "其他"), 10, False, 30)
    assert parse_hall(dump_hall(definition)).hall == h
    default = parse_hall(SMALL).hall
    assert default.complaint_categories == ("服务态度", "办事效率", "政策咨询", "环境设施", "其他")
    assert (default.complaint_keep_contact, default.complaint_contact_days) == (True, 180)
    written = dump_hall(parse_hall(SMALL))     # defaults: not written
    assert all(f"{key} =" not in written for key in (
        "complaint_categories", "complaint_deadline_days", "complaint_keep_contact",
        "complaint_contact_days"))


BOOKING = '''department = "sb"

[categories.booking]
sessions = [["09:00", "12:00"], ["14:00", "17:00"]]
slot_minutes = 30
capacity = 4
share = 50
'''


def test_a_categorys_booking_rules_are_read_with_their_defaults_and_kept_through_export():
    definition = parse_hall(SMALL.replace('department = "sb"\n', BOOKING, 1))
    rules = definition.category_by_prefix["A"].booking
    assert rules is not None and definition.category_by_prefix["B"].booking is None
    assert (rules.slot_minutes, rules.capacity, rules.places, rules.horizon_days,
            rules.per_phone_per_day, rules.early_minutes, rules.late_minutes) == (
        30, 4, 2, 7, 1, 30, 15)
    assert definition.hall.booking_no_show_limit == 3
    assert parse_hall(dump_hall(definition)).categories == definition.categories
    assert "[categories.booking]" not in dump_hall(parse_hall(SMALL))


@pytest.mark.parametrize(("change", "field", "message"), [
    ("share = 50", "categories[1].booking.share", "应为 1 到 100 之间的整数，实际为 0"),
    ("capacity = 4", "categories[1].booking.capacity", "应为 1 到 999 之间的整数，实际为 0"),
    ("slot_minutes = 30", "categories[1].booking.slot_minutes",
     "每个预约时段长 240 分钟，比所有预约时间段都长，一个号源也排不出"),
    ('sessions = [["09:00", "12:00"], ["14:00", "17:00"]]', "categories[1].booking.sessions[2]",
     "预约时间段 14:00–18:00 不在大厅的服务时段（[hall] sessions）之内"),
    ('sessions = [["09:00", "12:00"], ["14:00", "17:00"]]', "categories[1].booking.sessions[1]",
     "开始时间 12:00 应早于结束时间 09:00"),
    ("share = 50", "categories[1].booking.places", "未知字段；此处可用的字段有：sessions, slot_minutes, "
     "capacity, share, horizon_days, per_phone_per_day, early_minutes, late_minutes"),
])
def test_bad_booking_rules_are_refused_in_words(change, field, message):
    bad = {"share = 50": "share = 0", "capacity = 4": "capacity = 0",
           "slot_minutes = 30": "slot_minutes = 240"}
    if field.endswith("sessions[2]"):
        new = 'sessions = [["09:00", "12:00"], ["14:00", "18:00"]]'
    elif field.endswith("sessions[1]"):
        new = 'sessions = [["12:00", "09:00"]]'
    elif field.endswith("places"):
        new = "share = 50\nplaces = 3"
    else:
        new = bad[change]
    text = SMALL.replace('department = "sb"\n', BOOKING.replace(change, new), 1)
    assert any(field in p and message in p for p in _problems(text)), _problems(text)


def test_the_voice_wait_bound_is_read_and_sent_to_the_boards():
    """`voice_wait_seconds`: the longest a call waits for its first word on a board's speaker."""
    from queue_server.views import hall_view

    (problem,) = _problems(SMALL.replace("demo = true", "demo = true\nvoice_wait_seconds = 2", 1))
    assert problem.endswith("hall.voice_wait_seconds: 应为 5 到 120 之间的整数，实际为 2"), problem
    assert hall_view(parse_hall(SMALL))["voice_wait_seconds"] == 20
    definition = parse_hall(SMALL.replace("demo = true", "demo = true\nvoice_wait_seconds = 30", 1))
    assert hall_view(definition)["voice_wait_seconds"] == 30


def test_the_voice_pace_and_repeat_are_read_and_sent_to_the_boards():
    """`voice_pace` (per cent of the engines' normal speaking rate) and `voice_repeat` (times a
    call is said in full): checked with a Chinese message, and in the hall view the boards get."""
    from queue_server.views import hall_view

    def with_(lines: str) -> str:
        return SMALL.replace("demo = true", "demo = true\n" + lines, 1)

    problems = _problems(with_("voice_pace = 300\nvoice_repeat = 0"))
    assert any(p.endswith("hall.voice_pace: 应为 70 到 150 之间的整数，实际为 300") for p in problems), problems
    assert any(p.endswith("hall.voice_repeat: 应为 1 到 3 之间的整数，实际为 0") for p in problems), problems
    assert any("hall.voice_pace" in p for p in _problems(with_('voice_pace = "fast"')))
    view = hall_view(parse_hall(SMALL))
    assert (view["voice_pace"], view["voice_repeat"]) == (100, 2)
    view = hall_view(parse_hall(with_("voice_pace = 120\nvoice_repeat = 1")))
    assert (view["voice_pace"], view["voice_repeat"]) == (120, 1)


def test_the_handover_days_of_village_points() -> None:
    """`handover_days`: working days within which a point's case must reach the town."""
    (problem,) = _problems(SMALL.replace("demo = true", "demo = true\nhandover_days = 0", 1))
    assert problem.endswith("hall.handover_days: 应为 1 到 30 之间的整数，实际为 0"), problem
    assert parse_hall(SMALL).hall.handover_days == 3
    assert parse_hall(SMALL.replace("demo = true", "demo = true\nhandover_days = 5",
                                    1)).hall.handover_days == 5
