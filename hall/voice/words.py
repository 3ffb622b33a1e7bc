"""How speech is worded (pure): a call's sentence and running text with its digits as words.

`call_text()` builds a call ("请 A 零 一 二 号 到 十二 号窗口办理": the ticket's digits one by one,
the window as a cardinal) and `speakable()` rewrites digits in running text into the words a
person would say. espeak-ng's Mandarin voice reads digits wrongly for announcements (012 as
零十二, 105 as 一百五) and reads Latin letters followed by a digit as pinyin with a tone ("A4" as
à), so nothing with a digit in it may reach it; the clip engine can only say these words.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence

DIGIT_WORDS = "零一二三四五六七八九"
PHONE_ONE = "幺"  # how 1 is said in phone numbers, so that it is not heard as 7

# --- numbers as words ---------------------------------------------------------------------------

_SECTION_UNITS = ("", "万", "亿", "万亿")


def _section(n: int) -> str:
    """0 < n < 10000, with 零 where a zero digit sits between non-zero ones (一千零五)."""
    words: list[str] = []
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // value % 10
        if digit == 0:
            zero = zero or bool(words)
            continue
        if zero:
            words.append("零")
            zero = False
        words.append(DIGIT_WORDS[digit] + unit)
    return "".join(words)


def cardinal(n: int) -> str:
    """A whole number as it is read out: 10 → 十, 12 → 十二, 101 → 一百零一, 110 → 一百一十."""
    if n < 0:
        return "负" + cardinal(-n)
    if n == 0:
        return "零"
    sections: list[int] = []
    while n:
        sections.append(n % 10000)
        n //= 10000
    if len(sections) > len(_SECTION_UNITS):
        raise ValueError("数字太大，无法朗读")
    words = ""
    gap = False
    for index in reversed(range(len(sections))):
        section = sections[index]
        if section == 0:
            gap = gap or bool(words)
            continue
        if words and (gap or section < 1000):
            words += "零"
        words += _section(section) + _SECTION_UNITS[index]
        gap = False
    # 十二, not 一十二, when the number starts with it (but 一百一十 keeps its 一).
    return words[1:] if words.startswith("一十") else words


def read_digits(digits: str, *, one: str = "一", sep: str = " ") -> str:
    """Digits one by one: "012" → "零 一 二"."""
    return sep.join(one if d == "1" else DIGIT_WORDS[int(d)] for d in digits)


# --- calls ---------------------------------------------------------------------------------------

_TICKET = re.compile(r"([A-Z]+)(\d+)")


def spell_ticket(ticket: str) -> str:
    """A ticket number as said in a call: "A012" → "A 零 一 二", "AB105" → "A B 一 零 五".

    Letters are spaced one by one: espeak-ng reads a single letter by its name, but a run of
    letters as an English word.
    """
    number = unicodedata.normalize("NFKC", ticket).strip().upper()
    found = _TICKET.fullmatch(number)
    if not found:
        raise ValueError(f"票号 {ticket!r} 格式不对：应为字母加数字，如 A012")
    letters, digits = found.groups()
    return " ".join([*letters, read_digits(digits)])


def call_text(ticket: str, window: int) -> str:
    """The words of a call: call_text("A012", 12) == "请 A 零 一 二 号 到 十二 号窗口办理"."""
    if isinstance(window, bool) or not isinstance(window, int) or window < 1:
        raise ValueError(f"窗口号 {window!r} 不对：应为正整数")
    return f"请 {spell_ticket(ticket)} 号 到 {cardinal(window)} 号窗口办理"


CLAUSE_BREAK = "，"  # between the calls of a merged sentence; the clip engine reads it as a pause


def merged_call_text(calls: Sequence[tuple[str, int]]) -> str:
    """Several calls as one sentence, said once when calls bunch up (`hall.voice.call_queue`):
    [("A012", 3), ("A013", 5)] → "请 A 零 一 二 号 到 三 号窗口办理，A 零 一 三 号 到 五 号窗口办理".
    One call is its `call_text()`."""
    if not calls:
        raise ValueError("没有要合并的叫号")
    clauses = [call_text(ticket, window).removeprefix("请 ") for ticket, window in calls]
    return "请 " + CLAUSE_BREAK.join(clauses)


# --- running text --------------------------------------------------------------------------------

# Full-width digits and Latin letters, as typed on Chinese keyboards, to their ASCII forms.
_FULL_WIDTH = {code: code - 0xFEE0 for code in itertools.chain(
    range(0xFF10, 0xFF1A), range(0xFF21, 0xFF3B), range(0xFF41, 0xFF5B))}
# What a number may count; a number right before one of these is an amount, not a code.
_UNITS = "个份张位名件本次天日月年周时分秒元角万亿人户号项种页岁倍平米克斤吨度元%％"
_TWO_BEFORE = "个份张位名件本次天周项种页岁倍"  # 2 before these is 两 (两个工作日)

_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_TICKET_IN_TEXT = re.compile(r"(?<![A-Za-z\d])([A-Z]{1,2})(\d{3})(?![\d.])")
_DATE = re.compile(r"(?<![\d.])(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?![\d.])")
_YEAR = re.compile(r"(?<![\d.])(\d{4})\s*年")
_PHONES = (
    re.compile(r"(?<![\d.])0\d{2,3}[-－]\d{7,8}(?![\d.])"),              # 0871-12345678
    re.compile(r"(?<![\d.])1[3-9]\d{9}(?![\d.])"),                       # mobile
    re.compile(r"(?<![\d.])[48]00[-－]?\d{3}[-－]?\d{4}(?![\d.])"),       # 400/800 lines
    re.compile(rf"(?<![\d.¥￥])(?:12\d{{3}}|95\d{{3}})(?![\d.]|\s*[{_UNITS}])"),  # 12345, 95598
)
_RANGE = re.compile(r"(?<=\d)\s*[-－~～–—]\s*(?=\d)")
_TIME = re.compile(r"(?<![\d:：])(\d{1,2})[:：](\d{2})(?![\d:：])")
_MONEY_SIGN = re.compile(r"[¥￥]\s*(\d+(?:\.\d{1,2})?)(?![\d.])\s*元?")
_MONEY_YUAN = re.compile(r"(?<![\d.])(\d+(?:\.\d{1,2})?)\s*元")
_PERCENT = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*[%％]")
_DECIMAL = re.compile(r"(?<![\d.])(\d+)\.(\d+)(?![\d.])")
_TWO = re.compile(rf"(?<![\d.第])2(?=\s*(?:[{_TWO_BEFORE}]|小时))")
_INTEGER = re.compile(r"\d+")
_LATIN_RUN = re.compile(r"[A-Za-z]{2,}")


def _phone(found: re.Match[str]) -> str:
    groups = re.split(r"[-－]", found.group(0))
    return "，".join(read_digits(group, one=PHONE_ONE) for group in groups)


def _date(found: re.Match[str]) -> str:
    year, month, day = found.group(1), int(found.group(2)), int(found.group(3))
    if not (1 <= month <= 12 and 1 <= day <= 31):
        return found.group(0)
    return f"{read_digits(year, sep='')}年{cardinal(month)}月{cardinal(day)}日"


def _time(found: re.Match[str]) -> str:
    hour, minute = int(found.group(1)), int(found.group(2))
    if hour > 24 or minute > 59:
        return found.group(0)
    if minute == 0:
        return f"{cardinal(hour)}点"
    said = cardinal(minute) if minute >= 10 else "零" + DIGIT_WORDS[minute]
    return f"{cardinal(hour)}点{said}分"


def _decimal(number: str) -> str:
    whole, _, fraction = number.partition(".")
    words = cardinal(int(whole))
    return words + "点" + read_digits(fraction, sep="") if fraction else words


def _money(found: re.Match[str]) -> str:
    whole, _, fraction = found.group(1).partition(".")
    yuan = int(whole)
    jiao, fen = (int(d) for d in (fraction + "00")[:2])
    words = ""
    if yuan or not (jiao or fen):
        words = ("两" if yuan == 2 else cardinal(yuan)) + "元"
    if jiao:
        words += DIGIT_WORDS[jiao] + "角"
    if fen:
        words += ("零" if words and not jiao else "") + DIGIT_WORDS[fen] + "分"
    return words


def _integer(found: re.Match[str]) -> str:
    digits = found.group(0)
    if len(digits) > 1 and digits.startswith("0"):
        return read_digits(digits, sep="")         # codes: 007
    if len(digits) >= 7:
        return read_digits(digits, one=PHONE_ONE, sep="")  # phone numbers and codes
    return cardinal(int(digits))


def speakable(text: str) -> str:
    """Running text with every digit rewritten as words, ready for espeak-ng.

    Phone numbers digit by digit (1 as 幺), times as 八点三十分, amounts of money in 元/角/分,
    dates and years with the year digit by digit, percentages, decimals, ranges (1-3 → 一到三),
    counts (3个工作日 → 三个工作日, 2个 → 两个), ticket numbers as in calls; any other number as a
    cardinal, unless it starts with 0 or has seven digits or more (a code: digit by digit).
    Latin letter runs are spaced, so that each is read as a letter name.
    """
    text = text.translate(_FULL_WIDTH)
    text = _THOUSANDS.sub("", text)
    text = _TICKET_IN_TEXT.sub(lambda m: spell_ticket(m.group(0)), text)
    text = _DATE.sub(_date, text)
    text = _YEAR.sub(lambda m: read_digits(m.group(1), sep="") + "年", text)
    for pattern in _PHONES:
        text = pattern.sub(_phone, text)
    text = _RANGE.sub("到", text)
    text = _TIME.sub(_time, text)
    text = _MONEY_SIGN.sub(_money, text)
    text = _MONEY_YUAN.sub(_money, text)
    text = _PERCENT.sub(lambda m: "百分之" + _decimal(m.group(1)), text)
    text = _DECIMAL.sub(lambda m: _decimal(m.group(0)), text)
    text = _TWO.sub("两", text)
    text = _INTEGER.sub(_integer, text)
    return _LATIN_RUN.sub(lambda m: " ".join(m.group(0).upper()), text)

