"""`satisfaction-pad`: the window's rating pad. It is built by its own issue; until then it says so."""

import sys


def main() -> int:
    print("评价器程序尚未实现（见 issue 6）/ the satisfaction pad is not built yet (issue 6)",
          file=sys.stderr)
    return 1
