"""Kiosk type-ahead search: what citizens type, and the order the kiosk shows the results in."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.search import SearchIndex, build_index, hanzi_readings_apart, normalize_query
from queue_server.hall_toml import load_hall
from queue_server.views import catalogue_view

HALLS = Path(__file__).resolve().parent.parent / "assets" / "halls"


@pytest.fixture(scope="module")
def county() -> SearchIndex:
    return build_index(catalogue_view(load_hall(HALLS / "county.toml"), 1))


@pytest.fixture(scope="module")
def demo() -> SearchIndex:
    return build_index(catalogue_view(load_hall(HALLS / "demo-town.toml"), 1))


def names(index: SearchIndex, query: str) -> list[str]:
    return [m.name for m in index.search(query)]


def items(*names: str, **fields: dict) -> list[dict]:
    """A plain item list, codes i1, i2, … in the order given."""
    return [{"code": f"i{n}", "name": name, **fields.get(name, {})}
            for n, name in enumerate(names, start=1)]


# --- the examples from the kiosk's brief, over the county hall (369 items) ----------------------

def test_the_county_catalogue_is_indexed_whole(county: SearchIndex) -> None:
    assert len(county) == 369


def test_initials_find_the_social_security_card(county: SearchIndex) -> None:
    found = county.search("sbk")
    assert {m.name for m in found[:3]} == {"社会保障卡申领", "社会保障卡挂失与补换", "社会保障卡金融功能激活"}
    first = found[0]
    assert first.code == "GG-sbzx-009"
    assert (first.field, first.text[first.start:first.end], first.how) == ("alias", "社保卡", "whole_initials")


@pytest.mark.parametrize("query", ["shebaoka", "shebaok", "shebaoka ", "社保k", "社保卡", "社保ka", "shehuibaozhangka",
                                   "shbzk"])
def test_full_partial_and_mixed_pinyin_find_it_too(county: SearchIndex, query: str) -> None:
    assert names(county, query)[0] == "社会保障卡申领"


def test_partial_full_pinyin_matches_while_typing(county: SearchIndex) -> None:
    found = county.search("shebao")
    assert found[0].name == "社会保障卡申领"
    assert found[0].how == "pinyin_prefix"
    # 县社会保险事业中心 is 社保 for short: its items come after the ones named so.
    assert "职工参保登记" in [m.name for m in found if m.field == "department"]


def test_every_keystroke_keeps_the_target_in_the_results(county: SearchIndex) -> None:
    for word, target in (("shebaoka", "社会保障卡申领"), ("营业执照", "营业执照遗失补领"),
                         ("不动产登记", "不动产登记资料查询"), ("huzhao", "普通护照签发"), ("hz", "普通护照签发")):
        for end in range(1, len(word) + 1):
            assert target in names(county, word[:end]), word[:end]


def test_chinese_text_ranks_names_before_certificates(county: SearchIndex) -> None:
    found = county.search("营业执照")
    assert found[0].name == "营业执照遗失补领"
    assert (found[0].field, found[0].how, found[0].start, found[0].end) == ("name", "prefix", 0, 4)
    # Items that issue a business licence follow, matched on what they issue.
    assert {m.field for m in found[1:]} == {"certificate"}
    assert "个体工商户设立登记" in [m.name for m in found]


def test_property_registration(county: SearchIndex) -> None:
    found = county.search("不动产登记")
    assert [m.name for m in found[:2]] == ["不动产登记资料查询", "不动产登记结果邮寄送达申请"]
    assert all(m.field == "name" and m.how == "prefix" for m in found[:2])
    assert len(found) > 2


def test_hz_puts_passports_first(county: SearchIndex) -> None:
    found = county.search("hz")
    assert found[0].name == "普通护照签发"
    assert found[0].text[found[0].start:found[0].end] == "护照"
    # 行政 read as "hang zheng" is still found, but after every word read the right way.
    rest = [m.name for m in found]
    assert "行政事业性收费及非税收入代收" in rest
    assert rest.index("行政事业性收费及非税收入代收") > rest.index("普通护照换发补发")


def test_hukou_and_huji_are_the_same_thing(county: SearchIndex) -> None:
    assert "户籍证明开具" in names(county, "户口")
    assert "户口迁入审批（投靠亲属）" in names(county, "hj")


def test_everyday_short_forms(county: SearchIndex) -> None:
    assert names(county, "gjj")[0].startswith("住房公积金")
    assert names(county, "jiazhao")[0].startswith("机动车驾驶证")
    assert "医保电子凭证激活与参保信息查询" in names(county, "医保")
    assert "居民身份证申领" in names(county, "sfz")


# --- polyphones --------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["chongdu", "zhongdu", "zd", "cd", "重度"])
def test_zhong_and_chong_both_match(county: SearchIndex, query: str) -> None:
    assert "困难残疾人生活补贴和重度残疾人护理补贴申请" in names(county, query)


@pytest.mark.parametrize("query", ["yinhang", "yinxing", "yh", "yx"])
def test_hang_and_xing_both_match(county: SearchIndex, query: str) -> None:
    assert "住房公积金贷款银行签约" in names(county, query)


def test_the_reading_a_word_really_has_ranks_first() -> None:
    index = SearchIndex(items("重新申请", "中心咨询"))
    assert names(index, "zhongxin") == ["中心咨询", "重新申请"]
    assert names(index, "chongxin") == ["重新申请"]
    assert index.search("zhongxin")[1].how == "pinyin_prefix"


def test_u_umlaut_typed_as_v_or_u() -> None:
    index = SearchIndex(items("法律咨询"))
    for query in ("falv", "falu", "falü", "flzx"):
        assert names(index, query) == ["法律咨询"], query


# --- ranking -----------------------------------------------------------------------------------

def test_chinese_text_ranking() -> None:
    catalogue = {
        "hall": {"departments": [{"code": "crj", "name": "护照办理科"}, {"code": "x", "name": "综合科"}],
                 "categories": [{"prefix": "A", "name": "出入境"}]},
        "items": [
            {"code": "dept", "name": "出入境记录查询", "department": "crj", "category": "A"},
            {"code": "sub", "name": "普通护照换发", "department": "x", "category": "A"},
            {"code": "pre", "name": "护照签发", "department": "x", "category": "A"},
            {"code": "exact", "name": "护照", "department": "x", "category": "A"},
            {"code": "none", "name": "居住证申领", "department": "x", "category": "A"},
        ],
    }
    found = SearchIndex(catalogue).search("护照")
    assert [m.code for m in found] == ["exact", "pre", "sub", "dept"]
    assert [m.how for m in found] == ["exact", "prefix", "substring", "prefix"]
    assert (found[-1].field, found[-1].text) == ("department", "护照办理科")


def test_letter_ranking_initials_before_full_pinyin_before_departments() -> None:
    catalogue = items("沙发登记", "社会安全咨询", "大厦物业登记", "其他事项", "综合社会安全事项",
                      其他事项={"department": "沙河科"})
    catalogue.append({"code": "i6", "name": "消防", "department": "沙河科"})
    found = SearchIndex(catalogue).search("sha")
    assert [(m.name, m.how) for m in found] == [
        ("社会安全咨询", "initials_prefix"),   # s-h-a from the first character
        ("综合社会安全事项", "initials"),      # s-h-a inside
        ("沙发登记", "pinyin_prefix"),         # the syllable sha
        ("大厦物业登记", "pinyin"),            # sha inside
        ("消防", "pinyin_prefix"),             # by department, shorter name first
        ("其他事项", "pinyin_prefix"),
    ]
    assert {m.field for m in found[-2:]} == {"department"}


def test_ties_go_to_the_shorter_name_then_catalogue_order() -> None:
    index = SearchIndex(items("护照签发补发", "护照换发", "护照补发", "护照"))
    assert names(index, "护照") == ["护照", "护照换发", "护照补发", "护照签发补发"]
    assert names(index, "hz") == ["护照", "护照换发", "护照补发", "护照签发补发"]


def test_an_item_appears_once_with_its_best_match() -> None:
    catalogue = items("社会保障卡申领", 社会保障卡申领={"certificate": "社会保障卡", "department": "社保"})
    found = SearchIndex(catalogue).search("社会保障卡")
    assert len(found) == 1
    assert (found[0].field, found[0].how) == ("name", "prefix")


def test_own_aliases_and_keywords_are_matched() -> None:
    catalogue = items("老年人优待证办理", "临时救助申请",
                      老年人优待证办理={"aliases": ["老年证"]}, 临时救助申请={"keywords": "救急 困难"})
    found = SearchIndex(catalogue).search("lnz")
    assert [(m.code, m.field, m.text) for m in found] == [("i1", "alias", "老年证")]
    assert names(SearchIndex(catalogue), "救急") == ["临时救助申请"]


def test_highlight_spans_point_at_the_matched_characters() -> None:
    index = SearchIndex(items("普通护照签发"))
    for query in ("护照", "hz", "huzhao", "huzh", "护zh"):
        (match,) = index.search(query)
        assert (match.start, match.end) == (2, 4), query
        assert match.text[match.start:match.end] == "护照"


# --- input handling ----------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["", "   ", "\u3000", "'"])
def test_an_empty_query_finds_nothing(county: SearchIndex, query: str) -> None:
    assert county.search(query) == []


@pytest.mark.parametrize("query", ["SBK", "ＳＢＫ", "ｓｂｋ", " s b k ", "ＳｈｅＢａｏ　Ｋａ", "社保Ｋ", "she'bao'ka"])
def test_case_width_and_spaces_do_not_matter(county: SearchIndex, query: str) -> None:
    assert names(county, query)[0] == "社会保障卡申领"


def test_normalize_query() -> None:
    assert normalize_query(" Ｓｈｅ Bao\u3000ka ") == "shebaoka"
    assert normalize_query("lü") == "lv"


def test_nothing_matches_nonsense(county: SearchIndex) -> None:
    assert county.search("qqqqqq") == []
    assert county.search("火星") == []


def test_limit(county: SearchIndex) -> None:
    assert len(county.search("s", limit=10)) == 10
    assert county.search("s", limit=10) == county.search("s")[:10]


def test_plain_item_lists_with_ids_and_department_names() -> None:
    index = SearchIndex([{"id": 7, "name": "婚姻登记", "department": "mz"}], departments={"mz": "民政局"})
    (match,) = index.search("mzj")
    assert (match.code, match.field, match.text) == (7, "department", "民政局")
    with pytest.raises(ValueError):
        SearchIndex([{"name": "无编号"}])


# --- the demo town ------------------------------------------------------------------------------

def test_demo_town(demo: SearchIndex) -> None:
    # 医保 is what 城乡居民基本医疗保险参保登记 is called (its alias, a whole match)
    assert names(demo, "医保")[:2] == ["城乡居民基本医疗保险参保登记", "医保异地就医备案"]
    assert names(demo, "ybyd")[0] == "医保异地就医备案"
    assert names(demo, "gtgsh")[:2] == ["个体工商户设立登记", "个体工商户注销登记"]
    assert names(demo, "tuiyijunren")[0] == "退役军人优待证申领"
    assert names(demo, "不动产")[0] == "不动产登记申请（代收代办）"
    # The category 社会保障 is 社保 for short, a whole match: its items are found by it.
    by_department = {m.name: m for m in demo.search("shebao") if m.field in ("department", "category")}
    assert (by_department["失业登记"].field, by_department["失业登记"].text) == ("category", "社保")


# --- the citizen's words: aliases from the hall file, whole matches first -----------------------

def test_the_hall_files_aliases_reach_the_search(demo: SearchIndex, county: SearchIndex) -> None:
    """`aliases` of the hall file travel in the catalogue and are searched like names."""
    for index, query, name in ((demo, "低保", "最低生活保障申请"), (demo, "wb", "特困人员救助供养申请"),
                               (demo, "tudiliuzhuan", "农村土地经营权流转合同备案"),
                               (county, "结婚", "内地居民结婚登记"), (county, "gaolingbutie", "高龄津贴申领")):
        found = index.search(query)
        assert found and found[0].name == name, (query, [m.name for m in found[:3]])
        assert found[0].field == "alias"


def test_db_puts_the_minimum_living_allowance_above_words_inside_other_names(demo: SearchIndex) -> None:
    found = demo.search("DB")
    assert (found[0].name, found[0].text, found[0].how) == ("最低生活保障申请", "低保", "whole_initials")
    later = [m.name for m in found[1:]]
    assert "林木采伐许可证申请（代办）" in later and "不动产登记申请（代收代办）" in later


def test_a_whole_alias_ranks_above_a_name_prefix() -> None:
    catalogue = items("身份证明开具", "居民身份证申领", "护照签发", "普通护照", 居民身份证申领={"aliases": ["身份证"]})
    # 身份证 is the whole alias; 身份证明开具 only begins with those initials, though shorter.
    assert names(SearchIndex(catalogue), "sfz") == ["居民身份证申领", "身份证明开具"]
    assert SearchIndex(catalogue).search("sfz")[0].how == "whole_initials"
    assert names(SearchIndex(catalogue), "shenfenzheng") == ["居民身份证申领", "身份证明开具"]
    assert SearchIndex(catalogue).search("shenfenzheng")[0].how == "whole_pinyin"
    # a whole name too: 普通护照 is all of its initials, 护照签发 begins with them.
    assert names(SearchIndex(catalogue), "pthz") == ["普通护照"]
    catalogue = items("护照签发", "护照")
    assert [m.how for m in SearchIndex(catalogue).search("hz")] == ["whole_initials", "initials_prefix"]


# --- the hint's examples ---------------------------------------------------------------------------

def test_hint_examples_are_the_catalogues_own_and_find_their_item(demo: SearchIndex, county: SearchIndex) -> None:
    for index in (demo, county):
        examples = index.examples(2)
        assert len(examples) == 2
        for letters, word in examples:
            (first,) = index.search(letters, limit=1)
            assert word in (first.name, first.text), (letters, word, first)
    # the demo town has no 社保卡 and no 护照: SBK and HZ are never its examples
    assert not {"SBK", "HZ"} & {letters for letters, _ in demo.examples(10)}
    # the hall's most-taken items are tried first; their aliases before their names
    assert demo.examples(1, ["QS-MZ-001"]) == [("DB", "低保")]


def test_hint_examples_skip_words_whose_initials_find_another_item_first() -> None:
    catalogue = items("护照", "普通护照签发", "结婚登记", 普通护照签发={"aliases": ["护照"]})
    # 护照 (HZ) finds the item named 护照 first, so the second item gives no example
    assert SearchIndex(catalogue).examples(3) == [("HZ", "护照"), ("JHDJ", "结婚登记")]
    assert SearchIndex(items("社会保险费缴纳证明打印")).examples(2) == []   # too long to type


# --- the kiosk's memory ---------------------------------------------------------------------------

# A fresh kiosk process: the home's hint examples and a search, as the kiosk app builds them;
# then which modules it holds. pypinyin's dictionaries, once imported, take ~55 MB for good.
KIOSK_SEARCHES = """
import json, sys
from kiosk.app import KioskApp
from kiosk.model import KioskModel
model = KioskModel()
model.set_catalogue(json.load(sys.stdin))
app = KioskApp(model, take_ticket=None, print_ticket=None)
print(json.dumps({"examples": app.search_examples,
                  "found": [m.name for m in app.search_index.search("db", limit=1)],
                  "pypinyin": sorted(name for name in sys.modules if name.startswith("pypinyin"))}))
"""


def test_the_kiosk_searches_without_holding_pypinyins_dictionaries(tmp_path: Path) -> None:
    """The kiosk's search index reads its pinyin in a process of its own, so the kiosk's
    memory never holds pypinyin (found by bisecting its memory: 55 MB since the home screen's
    hint examples built the index on the first home screen; docs/kiosk.md#figures)."""
    catalogue = catalogue_view(load_hall(HALLS / "demo-town.toml"), 1)
    env = dict(os.environ, PYTHONPATH=str(HALLS.parent.parent), SDL_VIDEODRIVER="offscreen",
               KIVY_NO_ARGS="1", KIVY_NO_CONSOLELOG="1", KIVY_NO_FILELOG="1",
               KIVY_NO_CONFIG="1", KIVY_HOME=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", KIOSK_SEARCHES], input=json.dumps(catalogue),
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    kiosk = json.loads(done.stdout.splitlines()[-1])
    assert kiosk["pypinyin"] == []
    assert kiosk["found"] == ["最低生活保障申请"]
    assert [letters for letters, _ in kiosk["examples"]] == [
        letters for letters, _ in build_index(catalogue).examples(2, catalogue["popular"])]


def test_the_readings_from_another_process_are_pypinyins(county: SearchIndex) -> None:
    catalogue = catalogue_view(load_hall(HALLS / "county.toml"), 1)
    apart = SearchIndex(catalogue, reader=hanzi_readings_apart)
    for query in ("db", "sbk", "shebaoka", "重", "chongqing", "hz", "jhdj", "lv", "lu", "zhong"):
        assert apart.search(query) == county.search(query), query
