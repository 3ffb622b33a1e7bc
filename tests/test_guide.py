"""The guide's sections and the guide web page, from the demo town's catalogue."""

from __future__ import annotations

from pathlib import Path

from hall import guide
from queue_server import views
from queue_server.hall_toml import load_hall
from queue_server.web_pages import guide_html

DEMO = Path(__file__).resolve().parent.parent / "assets" / "halls" / "demo-town.toml"


def catalogue():
    return views.catalogue_view(load_hall(DEMO), 1)


def test_every_field_of_an_item_is_in_a_section():
    c = catalogue()
    item = c["items"][0]
    windows = [w for w in c["hall"]["windows"] if item["category"] in w["categories"]]
    text = "\n".join(line for _, lines in guide.sections(item, windows, c["hall"])
                     for line in lines)
    for field in ("summary", "certificate"):
        assert item[field] in text
    for key in ("conditions", "steps", "legal_basis", "notes"):
        assert all(entry in text for entry in item[key])
    assert all(m["name"] in text for m in item["materials"])
    assert "1 号窗口" in text and item["phone"] in text


def test_the_page_escapes_what_the_hall_file_says():
    c = catalogue()
    item = {**c["items"][0], "name": "<script>alert(1)</script>", "notes": ["a & b"]}
    page = guide_html(item, c["hall"])
    assert "<script>" not in page and "&lt;script&gt;" in page and "a &amp; b" in page
    assert page.startswith("<!doctype html>") and 'lang="zh-CN"' in page


def test_a_number_is_joined_to_its_unit_and_the_words_before_it():
    assert guide.no_break("居民身份证：原件 1 份") == "居民身份证：原件\u00a01\u00a0份"
    assert guide.no_break("到 2 号窗口提交") == "到\u00a02\u00a0号窗口提交"
    assert guide.no_break("请 带 材料") == "请 带 材料"                # no number: as it was


def test_the_font_draws_the_no_break_space():
    from fontTools.ttLib import TTFont

    from hall.look import FONT

    assert ord(guide.NBSP) in TTFont(str(FONT)).getBestCmap()


def test_lines_never_end_on_a_number_whose_unit_is_on_the_next():
    """At every width, with one unit per character: 1 and 份, 2 and 号 share a line."""
    for prefix in range(12):
        text = guide.no_break("材" * prefix + "居民身份证：原件 1 份，到 2 号窗口提交")
        for width in range(6, 30):
            lines = guide.wrap_line(text, width, len)
            assert all(len(line) <= width for line in lines)
            assert "".join(lines).replace("\u00a0", "") == text.replace("\u00a0", "")
            for above in lines[:-1]:
                assert not above.rstrip("\u00a0 ")[-1:].isdigit(), lines
            assert not any(line.startswith(("，", "：")) for line in lines[1:]), lines


def test_a_joined_piece_wider_than_a_line_breaks_at_its_spaces_first():
    assert guide.wrap_line(guide.no_break("电话 0000 6281001"), 8, len) == ["电话 0000", "6281001"]


def test_pages_hold_whole_lines_and_keep_a_heading_with_what_follows():
    assert guide.paginate([1, 1, 1, 1, 1], 2) == [[0, 1], [2, 3], [4]]
    # line 1 is a heading: it would end page 1, so it begins page 2
    assert guide.paginate([1, 1, 1, 1], 2, [False, True, False, False]) == [[0], [1, 2], [3]]
    assert guide.paginate([3, 1], 2) == [[0], [1]]             # a line taller than a page: alone


def test_the_web_page_keeps_numbers_with_their_units():
    c = catalogue()
    item = c["items"][0]
    page = guide_html(item, c["hall"])
    assert "原件\u00a01\u00a0份" in page or "各\u00a01\u00a0份" in page
    assert "原件 1 份" not in page and "各 1 份" not in page


def test_a_page_that_continues_a_section_leaves_room_for_its_heading():
    # lines 2 and 3 continue a section: a page they open has one unit less for lines
    assert guide.paginate([1, 1, 1, 1], 2, opening=[0, 0, 1, 1]) == [[0, 1], [2], [3]]
