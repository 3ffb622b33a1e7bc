"""`kiosk`: the touchscreen kiosk app. It is built by its own issue; until then it says so."""

import sys


def main() -> int:
    print("取号机程序尚未实现（见 issue 4）/ the kiosk app is not built yet (issue 4)",
          file=sys.stderr)
    return 1
