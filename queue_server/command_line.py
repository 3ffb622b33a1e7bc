"""The `queue-server` program's entry and what its commands share: the options every command
takes, the simulated clock, and how a mistake is reported (one line in Chinese on stderr and
a non-zero exit, never a traceback).

`main` sends a village point's own commands (`point init`, `point serve`, `point backup`) to
`points/point_cli.py` and everything else to `cli.py`. A point's server runs all day on a
village PC: started this way it never imports the hall's modules (the hall schema with
SQLAlchemy's ORM, the hall file's reader, accounts, devices), about 12 MB less at rest
(docs/points.md#figures). This module imports only the standard library and SQLAlchemy's
errors for that reason.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from queue_server.store.database import DatabaseUnusable, DatabaseUrlError, default_url, explain, one_line

# The commands a village point runs on its own PC (`points/point_cli.py`).
POINT_COMMANDS = (("point", "init"), ("point", "serve"), ("point", "backup"))

# Options that name files: on Linux a file name may be any bytes, so these may hold bytes that
# are not UTF-8 (as lone surrogates); every other option is text that is stored or compared.
_PATH_OPTIONS = frozenset({"db", "file", "output", "out", "cert", "key"})

# The options before a command's name that take a value (`options`).
_VALUED_OPTIONS = frozenset({"--db", "--hall"})


class UserError(Exception):
    """A mistake the user can fix; printed as one line."""


def options(default: object) -> argparse.ArgumentParser:
    """The options every command takes. Sub-commands repeat them with SUPPRESS, so that `--db`
    works before or after the command name without the later parser resetting it."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="URL", default=default,
                        help="数据库地址 / database URL (默认 default: $QUEUE_DB 或 sqlite 数据文件)")
    common.add_argument("--hall", metavar="CODE", default=default,
                        help="大厅编码，库中只有一个大厅时可省略 / hall code, optional with one hall")
    return common


Command = Callable[..., argparse.ArgumentParser]
Group = Callable[[str, str], argparse._SubParsersAction]


def new_parser() -> tuple[argparse.ArgumentParser, Command, Group]:
    """The program's parser; `command(name, run, help, parent=...)` that adds a sub-command (to
    the top level unless `parent`, a group's sub-parsers, is given) and returns its parser; and
    `group(name, help)` that adds a group of sub-commands (`queue-server point …`)."""
    common = options(argparse.SUPPRESS)
    parser = argparse.ArgumentParser(
        prog="queue-server", parents=[options(None)],
        description="政务服务大厅排队服务器 / queue server for a government service hall")
    sub = parser.add_subparsers(dest="command", metavar="命令/command", required=True)

    def command(name: str, run: Callable[[argparse.Namespace], None], help_text: str,
                parent: argparse._SubParsersAction | None = None) -> argparse.ArgumentParser:
        p = (parent or sub).add_parser(name, parents=[common], help=help_text,
                                       description=help_text)
        p.set_defaults(run=run, command_parser=p)
        return p

    def group(name: str, help_text: str) -> argparse._SubParsersAction:
        parser = sub.add_parser(name, help=help_text, description=help_text)
        return parser.add_subparsers(dest=f"{name}_command", metavar="子命令/subcommand",
                                     required=True)

    return parser, command, group


def simulated_clock(simulate_from: str, zone: tzinfo, speed: float) -> Callable[[], datetime]:
    """A clock that starts at `simulate_from` (in `zone` unless it says) and runs `speed` times
    as fast, said on stderr."""
    try:
        start = datetime.fromisoformat(simulate_from)
    except ValueError:
        raise UserError(f"无法识别的时间：{simulate_from}（应如 2026-11-23T08:00）") from None
    start = start.replace(tzinfo=zone) if start.tzinfo is None else start.astimezone(zone)
    began = time.monotonic()
    print(f"模拟时钟：从 {start.isoformat(timespec='seconds')} 起，{speed:g} 倍速 / "
          "simulated clock", file=sys.stderr, flush=True)
    return lambda: start + timedelta(seconds=(time.monotonic() - began) * speed)


def _check_text_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse an option whose value is not UTF-8 (Python keeps such bytes as lone surrogates,
    which the database driver cannot store), naming the option and showing the bytes."""
    command = getattr(args, "command_parser", None)
    for action in [*parser._actions, *(command._actions if command else [])]:
        value = getattr(args, action.dest, None)
        if action.dest in _PATH_OPTIONS or not isinstance(value, str):
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            shown = value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
            name = action.option_strings[-1] if action.option_strings else action.dest
            raise UserError(f"{name} 的值“{shown}”不是 UTF-8 文本；请把终端或脚本的字符编码设为 "
                            "UTF-8 后重试 / not valid UTF-8") from None


def run(parser: argparse.ArgumentParser, argv: list[str] | None,
        mistakes: tuple[type[Exception], ...] = ()) -> int:
    """Parse `argv` and run its command. A `UserError`, a database that cannot be used and the
    `mistakes` a caller names are one line on stderr and exit 1; so is an error of the
    operating system's (a file that cannot be read, a port taken)."""
    args = parser.parse_args(argv)
    known: tuple[type[Exception], ...] = (UserError, DatabaseUrlError, DatabaseUnusable, *mistakes)
    try:
        _check_text_options(parser, args)
        args.run(args)
    except known as error:
        print(f"错误 / error: {one_line(error)}", file=sys.stderr)
        return 1
    except DBAPIError as error:
        message = explain(error, make_url(args.db or default_url()))
        if message is None:
            raise
        print(f"错误 / error: {message}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"错误 / error: {one_line(error.strerror or error)}：{error.filename or ''}",
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def command_words(argv: list[str]) -> tuple[str, ...]:
    """The first two words of `argv` that name a command, past the options before them."""
    words: list[str] = []
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word in _VALUED_OPTIONS:
            skip = True
        elif not word.startswith("-"):
            words.append(word)
            if len(words) == 2:
                break
    return tuple(words)


def main(argv: list[str] | None = None) -> int:
    """`queue-server`: a point's own commands by the light path, the rest by `cli.py`."""
    if command_words(sys.argv[1:] if argv is None else argv) in POINT_COMMANDS:
        from queue_server.points import point_cli
        return point_cli.main(argv)
    from queue_server import cli
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
