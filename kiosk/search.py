"""Type-ahead search over the service catalogue, for the kiosk's search box.

Citizens type Chinese, pinyin initials ("sbk"), full pinyin ("shebaoka"), or a mix ("社保k"),
one keystroke at a time, so the index does the expensive part once: every text that can be
searched is split into characters, and each character carries everything a keystroke may mean
for it: the character itself, each of its toneless readings (all of them, so that 重 matches both
"zhong" and "chong" and 行 both "xing" and "hang"), and its initials ("z" and "zh" for 重). A query
then walks those characters left to right; nothing is converted at query time.

Colloquial short forms that are not substrings of the official names (社保卡 for 社会保障卡, 医保
for 医疗保险, 驾照 for 驾驶证 …) are added as alias texts, together with any `aliases` or
`keywords` an item brings, because that is what people type.

Ranking, best first (see docs/kiosk.md and tests): a whole match — the query is the whole
name, its whole initials or its whole pinyin ("db" for 低保) — then name prefix, name
substring, initials from the start of the name, initials inside it, full pinyin from the start,
full pinyin inside; aliases count as names, each level just after the name at the same level;
then the certificate an item issues; then the item's department or category. Ties go to the
shorter name, then catalogue order.

Pure Python, no kivy: the kiosk screen and the tests use the same code.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Short forms people use for long official words, longest first within a family. Applied to
# names, department and category names to make one alias text each.
ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("社会保障卡", "社保卡"),
    ("社会保险", "社保"),
    ("社会保障", "社保"),
    ("医疗保险", "医保"),
    ("医疗保障", "医保"),
    ("住房公积金", "公积金"),
    ("居民身份证", "身份证"),
    ("机动车驾驶证", "驾照"),
    ("驾驶证", "驾照"),
    ("不动产权证书", "房产证"),
    ("往来港澳通行证", "港澳通行证"),
    ("往来台湾通行证", "台湾通行证"),
    ("出生医学证明", "出生证"),
    ("残疾人证", "残疾证"),
    ("户籍", "户口"),
    ("户口", "户籍"),
)

# Item fields that name the item in other words; matched like the name, ranked just after it.
ALIAS_FIELDS = ("aliases", "alias", "keywords", "short_name")
# Item fields worth matching below the names: what the citizen walks away with.
EXTRA_FIELDS = ("certificate",)

# How a text matched, from best to worst. A whole match (the query is the whole text, its
# whole initials, or its whole pinyin: "db" for 低保) ranks above any prefix or inner match, so
# what an item is called beats a word met inside another name (低保 before …（代办）).
(EXACT, WHOLE_INITIALS, WHOLE_PINYIN, PREFIX, SUBSTRING, INITIALS_PREFIX, INITIALS,
 PINYIN_PREFIX, PINYIN) = range(9)
HOW = ("exact", "whole_initials", "whole_pinyin", "prefix", "substring", "initials_prefix",
       "initials", "pinyin_prefix", "pinyin")

# Field families, from best to worst; aliases rank with the name, one step behind it.
_GROUP = {"name": 0, "alias": 0, "certificate": 1, "department": 2, "category": 2}
_FIELD_RANK = {"name": 0, "alias": 1, "certificate": 0, "department": 0, "category": 1}

# What a character was consumed as: literally, by an initial, or by (part of) a syllable.
_LITERAL, _INITIAL, _SYLLABLE = 0, 1, 2

_HANZI_RUN = re.compile(r"[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_DROPPED = re.compile(r"[\s'’‘`·]+")
_ABBREVIATION = re.compile("|".join(re.escape(long) for long, _ in ABBREVIATIONS))
_SHORT = dict(ABBREVIATIONS)


@dataclass(frozen=True, slots=True)
class Match:
    """One search result: which item, and what to highlight.

    `text[start:end]` is the part that matched, in `field` ("name", "alias", "certificate",
    "department" or "category"); for pinyin matches it is the Chinese characters the letters
    stood for, so the screen can highlight them in the name.
    """

    code: str
    name: str
    field: str
    text: str
    start: int
    end: int
    how: str


def normalize_query(query: str) -> str:
    """Fold what the keyboard may produce: full-width forms, case, spaces, apostrophes, ü."""
    folded = unicodedata.normalize("NFKC", query).lower()
    return _DROPPED.sub("", folded).replace("ü", "v")


def _fold_char(ch: str) -> str:
    folded = unicodedata.normalize("NFKC", ch).lower()
    return folded if len(folded) == 1 else ch.lower()


# One character as a query may consume it: its folded self, then (spelling, off_context) pairs
# for its syllables and its initials. off_context marks readings the word does not use here.
_Char = tuple[str, tuple[tuple[str, bool], ...], tuple[tuple[str, bool], ...]]


class _Readings:
    """Toneless readings of the Hanzi of a catalogue's texts, worked out once for all of them
    (`hanzi_readings`): each run's readings in its context, and every reading of each character."""

    def __init__(self, table: Mapping[str, Mapping[str, Sequence[str]]]) -> None:
        self._runs = table["runs"]
        self._all = table["chars"]

    def chars(self, folded: str) -> list[_Char]:
        """Each character with every reading, flagging those the word does not use here."""
        context: dict[int, str] = {}
        for run in _HANZI_RUN.finditer(folded):
            for offset, reading in enumerate(self._runs[run.group(0)]):
                context[run.start() + offset] = reading
        chars: list[_Char] = []
        for position, ch in enumerate(folded):
            if position not in context:
                chars.append((ch, (), ()))
                continue
            here = context[position]
            readings = [here] + [r for r in self._all[ch] if r != here]
            syllables: dict[str, bool] = {}
            initials: dict[str, bool] = {}
            for reading in readings:
                if not (reading.isascii() and reading.isalpha()):
                    continue
                off = reading != here
                # pypinyin writes ü as v (lv, nve); people also type u.
                for spelling in (reading, reading.replace("v", "u")):
                    syllables.setdefault(spelling, off)
                    initials.setdefault(spelling[0], off)
                    if spelling[:2] in ("zh", "ch", "sh"):
                        initials.setdefault(spelling[:2], off)
            chars.append((ch, tuple(syllables.items()), tuple(initials.items())))
        return chars


Reader = Callable[[list[str]], Mapping[str, Mapping[str, Sequence[str]]]]


def hanzi_readings(texts: Iterable[str]) -> dict[str, dict[str, list[str]]]:
    """pypinyin's toneless readings for the Hanzi of `texts` (folded): `runs`, each run of
    Hanzi read in its context (重庆 → chong qing), and `chars`, every reading of each character
    (重 → zhong, chong). Loading pypinyin's dictionaries costs a process about 55 MB for good;
    the kiosk asks `hanzi_readings_apart` instead."""
    from pypinyin import Style, lazy_pinyin, pinyin

    runs = {run.group(0) for text in texts for run in _HANZI_RUN.finditer(text)}
    return {
        "runs": {run: [r.lower() for r in lazy_pinyin(run)] for run in runs},
        "chars": {ch: [r.lower() for r in pinyin(ch, style=Style.NORMAL, heteronym=True)[0]
                       if r.isascii() and r.isalpha()] for ch in set("".join(runs))},
    }


def hanzi_readings_apart(texts: list[str]) -> dict[str, dict[str, list[str]]]:
    """`hanzi_readings` worked out by a Python process of its own (`python -m kiosk.search`,
    about 0.5 s), so that pypinyin's dictionaries never stay in the kiosk's memory."""
    package_root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [package_root, *filter(None, [os.environ.get("PYTHONPATH")])]))
    done = subprocess.run([sys.executable, "-m", "kiosk.search"], input=json.dumps(texts),
                          capture_output=True, text=True, env=env, timeout=60, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"拼音读音没有算出来（{done.returncode}）：{done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


class _Text:
    """A searchable text, folded, with per-character readings and quick rejection data."""

    __slots__ = ("alphabet", "chars", "folded", "original", "starts")

    def __init__(self, original: str):
        self.original = original
        self.folded = "".join(_fold_char(ch) for ch in original)

    def read(self, readings: _Readings) -> None:
        """Take this text's readings, once those of the whole catalogue are known."""
        self.chars = tuple(readings.chars(self.folded))
        starts: dict[str, list[int]] = {}
        alphabet: set[str] = set()
        for position, (ch, syllables, _) in enumerate(self.chars):
            alphabet.add(ch)
            for first in {ch, *(s[0] for s, _ in syllables)}:
                starts.setdefault(first, []).append(position)
            for syllable, _ in syllables:
                alphabet.update(syllable)
        self.starts = {first: tuple(p) for first, p in starts.items()}
        self.alphabet = frozenset(alphabet)

    def best(self, query: str, plain: bool) -> tuple[bool, int, int, int] | None:
        """(off_context, how, start, end) of the best way `query` matches, or None.

        `plain` says the query has no Latin letters, so only literal matching can apply.
        """
        if plain:
            start = self.folded.find(query)
            if start < 0:
                return None
            end = start + len(query)
            if start == 0:
                return False, (EXACT if end == len(self.folded) else PREFIX), start, end
            return False, SUBSTRING, start, end
        if not self.alphabet.issuperset(query):
            return None
        found: tuple[bool, int, int, int] | None = None
        for start in self.starts.get(query[0], ()):
            walked = _walk(query, 0, self.chars, start)
            if walked is None:
                continue
            off, level, end = walked
            if level == _LITERAL:
                how = (EXACT if end == len(self.chars) else PREFIX) if start == 0 else SUBSTRING
            elif level == _INITIAL:
                how = ((WHOLE_INITIALS if end == len(self.chars) else INITIALS_PREFIX)
                       if start == 0 else INITIALS)
            else:
                how = ((WHOLE_PINYIN if end == len(self.chars) else PINYIN_PREFIX)
                       if start == 0 else PINYIN)
            candidate = (off, how, start, end)
            if found is None or candidate < found:
                found = candidate
            if candidate[:2] == (False, EXACT):
                break
        return found


def _walk(query: str, j: int, chars: Sequence[_Char], k: int) -> tuple[bool, int, int] | None:
    """Consume query[j:] from character k on: (off_context, worst kind used, end), best first.

    Each character takes its literal self, one of its initials, or one of its syllables; the
    query may stop inside the last syllable ("shebaok" → 社保卡). Texts are short, so plain
    backtracking is fast enough and keeps the rules obvious.
    """
    if j == len(query):
        return False, _LITERAL, k
    if k == len(chars):
        return None
    literal, syllables, initials = chars[k]
    best: tuple[bool, int, int] | None = None

    def consider(off: bool, kind: int, rest: tuple[bool, int, int] | None) -> None:
        nonlocal best
        if rest is None:
            return
        candidate = (off or rest[0], max(kind, rest[1]), rest[2])
        if best is None or candidate < best:
            best = candidate

    if query[j] == literal:
        consider(False, _LITERAL, _walk(query, j + 1, chars, k + 1))
    if not syllables:
        return best
    remaining = len(query) - j
    initial_spellings = dict(initials)
    for initial, off in initials:
        if query.startswith(initial, j):
            consider(off, _INITIAL, _walk(query, j + len(initial), chars, k + 1))
    for syllable, off in syllables:
        if query.startswith(syllable, j):
            kind = _INITIAL if syllable in initial_spellings else _SYLLABLE
            consider(off, kind, _walk(query, j + len(syllable), chars, k + 1))
        elif remaining < len(syllable) and syllable.startswith(query[j:]):
            kind = _INITIAL if query[j:] in initial_spellings else _SYLLABLE
            consider(off, kind, (False, _LITERAL, k + 1))
    return best


def _texts_of(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, Iterable) and not isinstance(value, Mapping):
        return [v for v in value if isinstance(v, str) and v.strip()]
    return []


def abbreviated(text: str) -> str | None:
    """The text with its official long words in their everyday short form, if any applies."""
    short = _ABBREVIATION.sub(lambda m: _SHORT[m.group(0)], text)
    return short if short != text else None


@dataclass(frozen=True, slots=True)
class _Entry:
    field: str
    text: _Text


class SearchIndex:
    """Built once per catalogue; `search()` answers each keystroke.

    `catalogue` is the `catalogue` payload (a dict with `items` and `hall`), or a plain list of
    item dicts; then `departments` and `categories` may map the codes the items carry to names.
    Items are identified by their `code` (or `id`), returned as given. `reader` works out the
    readings of all the texts' Hanzi at once (`hanzi_readings`, or `hanzi_readings_apart`).
    """

    def __init__(self, catalogue: Mapping[str, Any] | Sequence[Mapping[str, Any]], *,
                 departments: Mapping[str, str] | None = None,
                 categories: Mapping[str, str] | None = None,
                 reader: Reader = hanzi_readings):
        if isinstance(catalogue, Mapping):
            items = list(catalogue.get("items", ()))
            hall = catalogue.get("hall") or {}
            department_names = {d["code"]: d["name"] for d in hall.get("departments", ())}
            category_names = {c["prefix"]: c["name"] for c in hall.get("categories", ())}
        else:
            items = list(catalogue)
            department_names, category_names = {}, {}
        department_names.update(departments or {})
        category_names.update(categories or {})

        self._codes: list[str] = []
        self._names: list[str] = []
        self._entries: list[list[_Entry]] = []
        # Departments and categories are shared by many items: matched once per query.
        self._groups: dict[tuple[str, str], list[_Text]] = {}
        self._members: dict[tuple[str, str], list[int]] = {}
        for order, item in enumerate(items):
            code = item.get("code", item.get("id"))
            if code is None:
                raise ValueError(f"catalogue item {order + 1} has neither 'code' nor 'id'")
            name = str(item.get("name", ""))
            self._codes.append(code)
            self._names.append(name)
            entries = [_Entry("name", _Text(name))]
            aliases = [a for field in ALIAS_FIELDS for a in _texts_of(item.get(field))]
            short = abbreviated(name)
            if short:
                aliases.append(short)
            seen = {name}
            for alias in aliases:
                if alias not in seen:
                    seen.add(alias)
                    entries.append(_Entry("alias", _Text(alias)))
            for field in EXTRA_FIELDS:
                for extra in _texts_of(item.get(field)):
                    entries.append(_Entry(field, _Text(extra)))
            self._entries.append(entries)
            for field, key, names in (("department", item.get("department"), department_names),
                                      ("category", item.get("category"), category_names)):
                if not isinstance(key, str) or not key:
                    continue
                group = (field, key)
                if group not in self._groups:
                    label = names.get(key, key)
                    texts = [_Text(label)]
                    short = abbreviated(label)
                    if short:
                        texts.append(_Text(short))
                    self._groups[group] = texts
                    self._members[group] = []
                self._members[group].append(order)
        texts = ([entry.text for entries in self._entries for entry in entries]
                 + [text for group_texts in self._groups.values() for text in group_texts])
        readings = _Readings(reader(sorted({text.folded for text in texts})))
        for text in texts:
            text.read(readings)

    def __len__(self) -> int:
        return len(self._codes)

    def search(self, query: str, limit: int | None = None) -> list[Match]:
        """Items matching what has been typed so far, best first; nothing for an empty query."""
        q = normalize_query(query)
        if not q:
            return []
        plain = not any("a" <= ch <= "z" for ch in q)
        ranked: dict[int, tuple[tuple[int | bool, ...], Match]] = {}

        def offer(order: int, field: str, text: _Text, found: tuple[bool, int, int, int]) -> None:
            off, how, start, end = found
            name = self._names[order]
            key = (_GROUP[field], off, how, _FIELD_RANK[field], len(name), order)
            held = ranked.get(order)
            if held is None or key < held[0]:
                ranked[order] = (key, Match(self._codes[order], name, field, text.original,
                                            start, end, HOW[how]))

        for order, entries in enumerate(self._entries):
            for entry in entries:
                found = entry.text.best(q, plain)
                if found is not None:
                    offer(order, entry.field, entry.text, found)
        for group, texts in self._groups.items():
            best: tuple[tuple[bool, int, int, int], _Text] | None = None
            for text in texts:
                found = text.best(q, plain)
                if found is not None and (best is None or found < best[0]):
                    best = (found, text)
            if best is not None:
                for order in self._members[group]:
                    offer(order, group[0], best[1], best[0])
        results = [match for _, match in sorted(ranked.values(), key=lambda pair: pair[0])]
        return results if limit is None else results[:limit]

    def examples(self, count: int = 2, prefer: Sequence[Any] = ()) -> list[tuple[str, str]]:
        """Examples for the search box's hint, from this catalogue: (initials, word) pairs, such
        as ("SBK", "社保卡"), whose initials, typed on the kiosk, find the word's item first.

        Words are the items' aliases (the short words people use), else their names, of two to
        four Chinese characters; items in `prefer` (codes, e.g. the hall's most-taken) are
        tried first, then the catalogue's order; one example per item."""
        first = {code: n for n, code in enumerate(prefer)}
        orders = sorted(range(len(self._codes)),
                        key=lambda order: (first.get(self._codes[order], len(first)), order))
        found: list[tuple[str, str]] = []
        for order in orders:
            if len(found) == count:
                break
            entries = self._entries[order]
            for entry in [e for e in entries if e.field == "alias"] + [entries[0]]:
                text = entry.text
                if not 2 <= len(text.chars) <= 4 or not all(c[1] for c in text.chars):
                    continue
                # the reading the word has here comes first among each character's syllables
                letters = "".join(syllables[0][0][0] for _, syllables, _ in text.chars)
                hits = self.search(letters, limit=1)
                if hits and hits[0].code == self._codes[order]:
                    found.append((letters.upper(), text.original))
                    break
        return found


def build_index(catalogue: Mapping[str, Any] | Sequence[Mapping[str, Any]], **names: Any) -> SearchIndex:
    """The index for a catalogue; see `SearchIndex`."""
    return SearchIndex(catalogue, **names)


if __name__ == "__main__":      # hanzi_readings_apart's helper process: texts in, readings out
    json.dump(hanzi_readings(json.load(sys.stdin)), sys.stdout)
