"""Display width and line wrapping for a thermal printer in Chinese mode.

A printer in Chinese mode prints every single-byte (ASCII) character in a 12-dot-wide cell and
every multi-byte character (a Hanzi, but also full-width punctuation, `·`, `—`, `①` …) in a
24-dot cell. So a character's width in columns is 1 for printable ASCII and 2 for anything else,
whatever Unicode's East Asian Width says: the printer decides by the encoded byte length.
"""

from __future__ import annotations

import math
import re

from hall.guide import NBSP, no_break

# Characters that must not start a line (they close something) or end one (they open something);
# a light form of the Chinese line-breaking rules (避头尾).
NO_LINE_START = frozenset("，。、；：？！）》」』】〕〉”’…%‰℃,.;:?!)]}")
NO_LINE_END = frozenset("（《「『【〔〈“‘([{￥$#")

# An unbreakable run of ASCII: words, numbers, phone numbers, dates, times, URLs.
_WORD = re.compile(r"[0-9A-Za-z_\-./:@%?=&#+~]+")


def char_cells(ch: str) -> int:
    """Columns one character takes: 1 for printable ASCII, 2 for everything else."""
    return 1 if " " <= ch <= "~" or ch == NBSP else 2


def display_width(text: str) -> int:
    """Columns a string takes on the paper (a 48-column line is 576 dots at normal size); a
    no-break space is printed as a space."""
    return sum(1 if " " <= ch <= "~" or ch == NBSP else 2 for ch in text)


def clean(text: str) -> str:
    """One line of printable text: tabs, newlines and other control characters become spaces,
    runs of spaces collapse, ends trimmed."""
    text = "".join(" " if ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 else ch for ch in text)
    return re.sub(r" {2,}", " ", text).strip()


def _tokens(text: str) -> list[str]:
    """Pieces that are never split across lines unless one alone is wider than the line."""
    raw: list[str] = []
    pos = 0
    while pos < len(text):
        match = _WORD.match(text, pos)
        if match:
            raw.append(match.group())
            pos = match.end()
        else:
            raw.append(text[pos])
            pos += 1
    # Keep what a no-break space joins (a number and its unit: `1 份`, `2 号窗口`) in one piece.
    joined: list[str] = []
    for token in raw:
        if joined and (token == NBSP or joined[-1].endswith(NBSP)):
            joined[-1] += token
        else:
            joined.append(token)
    raw = joined
    # Glue closing punctuation to what precedes it and opening punctuation to what follows.
    glued: list[str] = []
    carry = ""
    for token in raw:
        if token in NO_LINE_START and glued and glued[-1] != " " and not carry:
            glued[-1] += token
        elif token in NO_LINE_END:
            carry += token
        else:
            glued.append(carry + token)
            carry = ""
    if carry:
        glued.append(carry)
    return glued


def _split_hard(token: str, cols: int) -> list[str]:
    parts, current = [], ""
    for ch in token:
        if current and display_width(current) + char_cells(ch) > cols:
            if ch in NO_LINE_START and len(current) > 1:
                parts.append(current[:-1])      # take a character along: no `，` at a start
                current = current[-1]
            else:
                parts.append(current)
                current = ""
        current += ch
    if current:
        parts.append(current)
    return parts


def wrap(text: str, cols: int, indent: int = 0, lead: int = 0) -> list[str]:
    """Lines of at most `cols` columns; the first starts with `lead` spaces, the others with
    `indent` spaces.

    Breaks between Hanzi anywhere, keeps ASCII words and numbers whole, and keeps closing
    punctuation off the start of a line where it can. Nothing is dropped but spaces at a break.
    An indent of more than half the line is not kept.
    """
    indent, lead = _margins(cols, indent, lead)
    return _fill(text, cols, indent, lead)


def _margins(cols: int, indent: int, lead: int) -> tuple[int, int]:
    if cols < 2:
        raise ValueError(f"line too narrow: {cols} columns")
    if indent > cols // 2 or cols - indent < 2:
        indent = 0
    if lead > cols // 2 or cols - lead < 2:
        lead = 0
    return indent, lead


def _fill(text: str, cols: int, indent: int, lead: int) -> list[str]:
    """The lines, each number kept with its unit as on the kiosk's screen (`hall.guide.no_break`);
    the no-break spaces that keep them together are printed as plain spaces (GB18030 has no
    one-byte no-break space: U+00A0 would go out as four bytes the printer shows as junk)."""
    return [line.replace(NBSP, " ") for line in _fill_joined(no_break(clean(text)), cols,
                                                               indent, lead)]


def _fill_joined(text: str, cols: int, indent: int, lead: int) -> list[str]:
    lines: list[str] = []
    current = " " * lead
    tokens: list[str] = []
    for token in _tokens(text):       # a joined piece wider than a line is joined no more
        if NBSP in token and display_width(token) > cols - max(indent, lead):
            tokens += _tokens(token.replace(NBSP, " "))
        else:
            tokens.append(token)
    for token in tokens:
        room = cols - display_width(current)
        if display_width(token) <= room:
            if not (token == " " and current.strip() == ""):
                current += token
            continue
        if token == " ":          # a break falls on the space: drop it
            lines.append(current.rstrip())
            current = " " * indent
            continue
        if current.strip():
            lines.append(current.rstrip())
            current = " " * indent
        pieces = _split_hard(token, cols - display_width(current))
        for piece in pieces[:-1]:
            lines.append(current + piece)
            current = " " * indent
        current += pieces[-1]
    if current.strip() or not lines:
        lines.append(current.rstrip())
    return lines


def wrap_even(text: str, cols: int, indent: int = 0, lead: int = 0) -> list[str]:
    """Like `wrap`, but a last line of a few columns (an orphan, `口` alone under
    `社会保障（劳动保障）窗`) is avoided by narrowing the lines as little as needed, as long as
    that takes no extra line."""
    indent, lead = _margins(cols, indent, lead)
    lines = _fill(text, cols, indent, lead)

    def orphan(candidate: list[str]) -> bool:
        return display_width(candidate[-1].strip()) * 4 < cols - indent

    if len(lines) < 2 or not orphan(lines):
        return lines
    for narrower in range(cols - 1, max(indent, lead) + 1, -1):
        attempt = _fill(text, narrower, indent, lead)
        if len(attempt) > len(lines):
            break
        if not orphan(attempt):
            return attempt
    return lines


def balanced_wrap(text: str, cols: int, max_lines: int = 2) -> list[str] | None:
    """A title split into lines of nearly equal length (`青山镇便民` / `服务中心` rather than
    `青山镇便民服务中` / `心`), or None if it needs more than `max_lines` lines."""
    text = clean(text)
    width = display_width(text)
    if width <= cols:
        return [text]
    count = math.ceil(width / cols)
    if count > max_lines:
        return None
    target = math.ceil(width / count)
    for goal in range(target, cols + 1):
        lines = wrap(text, goal)
        if len(lines) <= count:
            return lines
    return None
