"""`display-board`: the hall's LED-style board. It is built by its own issue; until then it says so."""

import sys


def main() -> int:
    print("显示屏程序尚未实现（见 issue 5）/ the display board is not built yet (issue 5)",
          file=sys.stderr)
    return 1
