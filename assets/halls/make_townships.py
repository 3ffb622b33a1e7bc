"""Generate `townships/*.toml`: the sixteen township 便民服务中心 of the fictional 青岚县.

What it models
    The seeds' world is a county: one 政务服务中心 (`county.toml`, made by `make_county.py`)
    and fifteen-odd township halls (requirements §1.1, F-M1, F-M3; issue 14). A township hall is
    small: 5 to 12 windows, each with an A岗 and one or two B岗 (「设置……八个窗口,每个窗口实行
    a、b岗」, 「各抽调两名工作人员,设置A、B岗位」), a 综合窗口 that takes the items of offices
    without a window of their own, and back rooms for the units sent by county departments
    (「国土、规划、公安等3个派出单位在原办公场所设立办理室」): here the 司法所, the
    市场监督管理所 (towns only) and the 林业站 (hill townships only), whose items are taken in at
    the 综合窗口. The sixteen halls range from 6 windows (the smaller 乡) to 12 (城关镇), with
    about two clerks per window (「镇便民服务中心共有18人」 for 8 windows).

    Windows are taken in order from TOWNSHIP_WINDOWS, so a hall of N windows has the first N.
    A category with no window of its own in a hall is folded into the category of the first
    window that serves it second (就业 into 社会保障, 残疾人服务 into 民政), or else into 综合受理.

Items shared with the county
    Most township items are county services taken in locally (城乡居民养老保险, 低保, 残疾人证,
    宅基地, 生育登记 …). Such an item is named in OFFICES by the county item's name, and gets the
    county item's code and name, its class, time limits, legal basis, conditions and materials;
    only the local fields differ: the department (the township office that takes it in), its
    category (window) and phone, and the summary and steps, which name that office and its
    window (the local fields of the county catalogue, queue_server.catalogue). So the county
    pushes the rest down with `queue-server catalogue publish county.toml`, and each township
    keeps these (docs/hall-config.md#县级事项目录-the-county-catalogue). Items only townships have
    (代办, 耕地地力保护补贴, 危房改造 …) are written with `it()` here and coded `CLS-xz-OFFICE-NNN`,
    the same code in every township.

Reused from make_county.py
    The clerk names (continuing the county's sequence, so no name repeats in the county), the
    holiday calendar, the hall rules (priority ratio, cut-off, rating reasons), item building,
    category lettering, the checks and the TOML writing. Badges run on from "5001" through the
    halls in order, so no badge is used twice in the county. Nothing is random: running the
    script twice gives identical bytes. No PINs, `demo = false`, as in the county file.

Usage
    .venv/bin/python assets/halls/make_townships.py [FOLDER]   # default: townships/ beside this
"""

from __future__ import annotations

import sys
from pathlib import Path

from make_county import (
    ALL_KINDS,
    HALL,
    NO_FEE,
    TOTAL_CLERKS,
    build_clerks,
    build_item,
    calendar,
    catalogue,
    check_rules,
    clerk_names,
    definition,
    dept,
    it,
    numbering,
    with_prefixes,
)

from queue_server.hall_toml import dump_hall

COUNTY = "青岚县"
SESSIONS = [["08:30", "12:00"], ["14:00", "17:30"]]
FIRST_BADGE = 5001

# code, name, windows, clerks, hill township (has a 林业站), address after the township's name
TOWNSHIPS = [
    ("chengguan", "城关镇", 12, 28, False, "解放路36号（镇人民政府一楼）"),
    ("hekou", "河口镇", 11, 24, False, "滨河路8号（镇人民政府东侧）"),
    ("longtan", "龙潭镇", 10, 22, True, "龙潭街52号（镇人民政府院内）"),
    ("baisha", "白沙镇", 10, 21, False, "新街118号（镇人民政府西侧）"),
    ("shiqiao", "石桥镇", 9, 19, False, "石桥路15号（镇人民政府一楼）"),
    ("liulin", "柳林镇", 9, 20, True, "柳林大道66号（镇文化站旁）"),
    ("xindian", "新店镇", 8, 18, False, "商贸街21号（镇人民政府对面）"),
    ("maping", "马坪镇", 8, 17, False, "马坪街3号（镇人民政府院内）"),
    ("taoyuan", "桃源乡", 8, 17, False, "桃源路9号（乡人民政府一楼）"),
    ("dongling", "东岭乡", 7, 15, True, "东岭街12号（乡人民政府院内）"),
    ("xixi", "西溪乡", 7, 14, False, "溪口路27号（乡人民政府东侧）"),
    ("shuanghe", "双河乡", 7, 15, False, "双河街5号（乡人民政府一楼）"),
    ("yangjiaping", "杨家坪乡", 6, 13, True, "坪上街18号（乡人民政府院内）"),
    ("yuntai", "云台乡", 6, 12, True, "云台路2号（乡人民政府一楼）"),
    ("huangtuling", "黄土岭乡", 6, 13, True, "岭下街7号（乡人民政府西侧）"),
    ("gaofeng", "高峰乡", 6, 12, True, "高峰街1号（乡人民政府一楼）"),
]

# key, name, daily cap, kinds, main office; lettered A, B, … in this order among those a hall has
CATEGORIES = [
    ("zh", "综合受理", 150, ALL_KINDS, "bmzx"),
    ("sb", "社会保障", 150, ALL_KINDS, "sb"),
    ("mz", "民政救助", 80, ALL_KINDS, "mz"),
    ("yb", "医疗保障", 150, ALL_KINDS, "yb"),
    ("ny", "农业农村", 100, ALL_KINDS, "ny"),
    ("gj", "自然资源与规划建设", 60, ALL_KINDS, "gj"),
    ("ws", "卫生健康", 80, ALL_KINDS, "ws"),
    ("ty", "退役军人服务", 60, ALL_KINDS, "ty"),
    ("cl", "残疾人服务", 50, ALL_KINDS, "cl"),
    ("jy", "就业服务", 80, ALL_KINDS, "sb"),
]

# office, window name, categories by preference; a hall of N windows has the first N
TOWNSHIP_WINDOWS = [
    ("bmzx", "综合受理窗口", ["zh"]),
    ("sb", "社会保障窗口", ["sb", "jy"]),
    ("mz", "民政救助窗口", ["mz", "cl"]),
    ("yb", "医疗保障窗口", ["yb", "sb"]),
    ("ny", "农业农村窗口", ["ny", "gj"]),
    ("gj", "自然资源和规划建设窗口", ["gj", "ny"]),
    ("ws", "卫生健康窗口", ["ws", "mz"]),
    ("ty", "退役军人服务窗口", ["ty", "mz"]),
    ("cl", "残疾人服务窗口", ["cl", "mz"]),
    ("sb", "就业服务窗口", ["jy", "sb"]),
    ("bmzx", "综合受理窗口", ["zh"]),
    ("sb", "社会保障窗口", ["sb", "jy"]),
]

# --- the township offices and their items ------------------------------------------------------
#
# dept(code, name, laws, {category: items}) as in make_county.py, with the name a pattern:
# {town} is the township's name (城关镇), {short} without 镇/乡 (城关). An item is either the
# name of a county item (the same service: its code and guide come from the county) or it().
# has_office() says which halls have which office.

OFFICES = [
    dept("bmzx", "{town}便民服务中心", [
        "《国务院办公厅关于加快推进政务服务标准化规范化便利化的指导意见》（国办发〔2022〕5号）",
    ], {
        "zh": [
            "政务服务综合咨询与导办",
            it("群众办事全程代办服务", "GG", "p", "i", "代办服务登记回执",
               "代办事项所需的申请材料@c;代办委托书", h="proxy",
               n="村（社区）代办员可上门收件，办结后由代办员送达或通知申请人领取"),
            "政务服务投诉受理",
        ],
    }),
    dept("sb", "{town}社会保障服务所", [
        "《国务院关于建立统一的城乡居民基本养老保险制度的意见》（国发〔2014〕8号）",
    ], {
        "sb": [
            "城乡居民基本养老保险参保登记",
            "城乡居民基本养老保险待遇申领",
            it("城乡居民基本养老保险待遇领取资格认证", "GG", "p", "i", "资格认证结果回执",
               "社会保障卡@oc", form=False,
               n="也可通过手机“刷脸”完成认证；行动不便的可预约工作人员上门认证"),
            "城乡居民基本养老保险关系转移",
            "养老保险遗属待遇申领",
            "个人权益记录查询打印",
            "社会保障卡申领",
            "社会保障卡挂失与补换",
        ],
        "jy": [
            "失业登记",
            "就业困难人员认定",
            "求职登记与岗位推荐",
            "就业创业证申领",
        ],
    }),
    dept("mz", "{town}民政办公室", [
        "《民政部等12部门关于进一步加强事实无人抚养儿童保障工作的意见》（民发〔2019〕62号）",
        "《中华人民共和国老年人权益保障法》第三十三条",
    ], {
        "mz": [
            "最低生活保障申请",
            "特困人员救助供养申请",
            "临时救助申请",
            "高龄津贴申领",
            "困难残疾人生活补贴和重度残疾人护理补贴申请",
            it("事实无人抚养儿童基本生活保障申请", "GG", "p", "30", "事实无人抚养儿童认定结果通知",
               "儿童居民户口簿@oc;父母重残、重病、服刑、失联等情形的证明材料@c",
               ident="监护人居民身份证@oc"),
            it("经济困难老年人养老服务补贴申请", "GG", "p", "20", "养老服务补贴审批表",
               "居民户口簿@oc;家庭经济困难证明@c", law=(1,)),
        ],
    }),
    dept("yb", "{town}医疗保障服务站", [
        "《中华人民共和国社会保险法》第二十五条",
    ], {
        "yb": [
            "城乡居民基本医疗保险参保登记",
            "异地就医备案",
            "门诊慢特病待遇认定",
            "零星医疗费用报销",
            "医疗救助申请",
            "医保电子凭证激活与参保信息查询",
        ],
    }),
    dept("ny", "{town}农业农村服务中心", [
        "《财政部 农业部关于全面推开农业“三项补贴”改革工作的通知》（财农〔2016〕26号）",
        "《中华人民共和国农村土地承包经营纠纷调解仲裁法》第七条",
    ], {
        "ny": [
            "农村土地经营权流转合同鉴证",
            "家庭农场名录录入",
            "农机购置与应用补贴申请",
            "病死畜禽无害化处理申报",
            "农业技术咨询服务",
            it("耕地地力保护补贴申报", "GG", "p", "20", "补贴面积核定确认单",
               "农村土地承包经营权证或承包合同@c;惠民惠农财政补贴资金“一卡通”@c"),
            it("农村土地承包经营纠纷调解", "GG", "p", "30", "调解协议书",
               "纠纷情况及调解请求说明;土地承包合同或承包经营权证@c", law=(1,), form=False),
        ],
    }),
    dept("gj", "{town}自然资源和规划建设办公室", [
        "《住房和城乡建设部 财政部 民政部 国家乡村振兴局关于做好农村低收入群体等重点对象"
        "住房安全保障工作的实施意见》（建村〔2021〕35号）",
        "《中华人民共和国土地管理法》第十四条",
    ], {
        "gj": [
            "农村村民宅基地审批",
            "乡村建设规划许可证核发",
            it("农村低收入群体等重点对象危房改造申请", "GG", "p", "30", "危房改造审批结果告知书",
               "低保、特困等困难身份证明@c;现住房照片"),
            it("土地权属争议调解处理", "GG", "b", "60/30", "土地权属争议调解书或处理决定书",
               "土地权属来源证据@c;争议土地位置示意图", law=(1,)),
        ],
    }),
    dept("ws", "{town}卫生健康办公室", [
        "《中华人民共和国基本医疗卫生与健康促进法》第三十一条",
    ], {
        "ws": [
            "生育登记",
            "农村部分计划生育家庭奖励扶助申请",
            "计划生育家庭特别扶助金申请",
            it("家庭医生签约服务", "GG", "p", "i", "家庭医生签约服务协议",
               "居民户口簿或居住证@c", form=False),
        ],
    }),
    dept("ty", "{town}退役军人服务站", [
        "《中华人民共和国退役军人保障法》",
    ], {
        "ty": [
            "退役军人优待证申领",
            "优抚对象定期抚恤补助申领",
            "光荣牌申领",
            it("退役军人和其他优抚对象信息采集", "GG", "p", "i", "信息采集回执",
               "退出现役证或优抚对象身份证明@oc;近期免冠照片", form=False),
        ],
    }),
    dept("cl", "{town}残疾人联合会", [], {
        "cl": [
            "残疾人证核发",
            "残疾人证换领补领",
            "残疾人辅助器具适配申请",
        ],
    }),
    dept("sf", COUNTY + "司法局{short}司法所", [], {
        "zh": [
            "人民调解申请",
            "公共法律服务咨询",
            "法律援助申请",
        ],
    }),
    dept("sj", COUNTY + "市场监督管理局{short}市场监督管理所", [], {
        "zh": [
            "个体工商户设立登记",
            "个体工商户变更登记",
            "个体工商户注销登记",
        ],
    }),
    dept("ly", COUNTY + "林业局{short}林业站", [], {
        "zh": [
            "林木采伐许可证核发",
            "公益林生态效益补偿申领",
            "森林防火期内野外用火审批",
        ],
    }),
]


def has_office(code: str, town: str, hill: bool) -> bool:
    """市场监督管理所 are set up in towns (镇), 林业站 in the hill townships; the rest everywhere."""
    return {"sj": town.endswith("镇"), "ly": hill}.get(code, True)


# --- building the halls --------------------------------------------------------------------------


def county_items() -> dict[str, tuple[dict, dict, str]]:
    """The county's items by name: (department, spec, code)."""
    return {spec["name"]: (d, spec, code) for d, _, spec, code in catalogue()}


def township_items() -> list[tuple[dict, str, dict, dict, str]]:
    """Every office's items as (office, category key, spec, the department whose laws and
    condition the spec refers to, item code), in file order."""
    county = county_items()
    out = []
    for office in OFFICES:
        next_code = numbering(f"xz-{office['code']}")
        for category, entries in office["items"].items():
            for entry in entries:
                if isinstance(entry, str):
                    source, spec, code = county[entry]
                else:
                    source, spec, code = office, entry, next_code(entry["cls"])
                out.append((office, category, spec, source, code))
    return out


def build_windows(count: int) -> list[dict]:
    """The first `count` windows of TOWNSHIP_WINDOWS on one floor, the first half in A区; a
    name used twice is numbered （1）（2）."""
    chosen = TOWNSHIP_WINDOWS[:count]
    names = [name for _, name, _ in chosen]
    windows = []
    for i, (office, name, cats) in enumerate(chosen):
        label = name if names.count(name) == 1 else f"{name}（{names[:i + 1].count(name)}）"
        windows.append({"number": i + 1, "name": label, "department": office,
                        "categories": list(cats), "zone": "A区" if i < (count + 1) // 2 else "B区",
                        "floor": "一楼"})
    return windows


def build_township(index: int, row: tuple, names: list[str], first_badge: int,
                   items: list[tuple]) -> dict:
    """One township hall: its offices, windows, clerks (`names`, badges from `first_badge`)
    and those of `items` (township_items()) whose office it has."""
    code, town, window_count, _, hill, address = row
    short = town[:-1]
    phone_block = f"0000-68{21 + index}"
    offices = [o for o in OFFICES if has_office(o["code"], town, hill)]
    office_of = {}
    departments = []
    for k, o in enumerate(offices):
        office_of[o["code"]] = {"code": o["code"], "name": o["name"].format(town=town, short=short),
                                "phone": f"{phone_block}1{k + 1:02d}"}
        departments.append(office_of[o["code"]])

    windows = build_windows(window_count)
    clerks = build_clerks(windows, names, first_badge)
    own = {w["categories"][0] for w in windows}

    def served_as(key: str) -> str:
        """A category without a window of its own joins the first that serves it second."""
        if key in own:
            return key
        return next((w["categories"][0] for w in windows if key in w["categories"]), "zh")

    # where a category's applications are handed in: the first window that calls it first
    desk = {cats[0]: name for _, name, cats in reversed(TOWNSHIP_WINDOWS[:window_count])}
    built = []
    for office, category, spec, source, item_code in items:
        if office["code"] not in office_of:
            continue
        handler = dict(source, **office_of[office["code"]])
        queue = served_as(category)
        built.append(build_item(handler, queue, spec, item_code, desk[queue]))
    for w in windows:
        w["categories"] = [c for c in w["categories"] if c in own]
    categories = with_prefixes([c for c in CATEGORIES if c[0] in own], windows, built)

    hall = dict(HALL, level="township", code=f"qinglan-{code}", name=f"{town}便民服务中心",
                address=f"{COUNTY}{town}{address}", consultation_phone=f"{phone_block}100",
                complaint_phone=f"{phone_block}315", sessions=SESSIONS, **calendar())
    result = {"hall": hall, "departments": departments, "categories": categories,
              "clerks": clerks, "windows": windows, "items": built}
    check(result, window_count)
    return result


def build() -> list[dict]:
    total = sum(row[3] for row in TOWNSHIPS)
    names = clerk_names(TOTAL_CLERKS + total)[TOTAL_CLERKS:]
    items = township_items()
    halls = []
    taken = 0
    for index, row in enumerate(TOWNSHIPS):
        clerks = row[3]
        halls.append(build_township(index, row, names[taken:taken + clerks], FIRST_BADGE + taken, items))
        taken += clerks
    return halls


def check(h: dict, window_count: int) -> None:
    """A township's scale, and the rules every generated hall keeps."""
    assert len(h["windows"]) == window_count and 6 <= window_count <= 12, window_count
    assert 2 * window_count <= len(h["clerks"]) <= 3 * window_count, len(h["clerks"])
    assert h["windows"][0]["name"].startswith("综合受理窗口"), "a township hall has a 综合窗口"
    for item in h["items"]:
        # build_item words fees and 便民服务 items for the county hall
        assert item["fee"] == NO_FEE and not item["code"].startswith("BM-"), item["name"]
    check_rules(h)


def render(h: dict) -> str:
    county = {code for *_, code in catalogue()}
    shared = sum(item["code"] in county for item in h["items"])
    header = (
        f"# {h['hall']['name']}：大厅定义文件（虚构的{COUNTY}的乡镇便民服务中心，用于多大厅与规模测试）。\n"
        "# 由 assets/halls/make_townships.py 生成，请勿手工修改；格式见 docs/hall-config.md。\n"
        f"# 规模：{len(h['departments'])} 个部门，{len(h['categories'])} 个号段，"
        f"{len(h['windows'])} 个窗口，{len(h['clerks'])} 名工作人员，{len(h['items'])} 个事项"
        f"（其中 {shared} 个与县政务服务中心的事项同编码）。\n")
    return dump_hall(definition(h), header=header)


def files() -> dict[str, str]:
    """Each township's file name and text."""
    return {f"{h['hall']['code']}.toml": render(h) for h in build()}


def main(argv: list[str]) -> int:
    folder = Path(argv[1]) if len(argv) > 1 else Path(__file__).with_name("townships")
    folder.mkdir(exist_ok=True)
    for name, text in files().items():
        (folder / name).write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {len(TOWNSHIPS)} township halls to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
