"""Run by test_store.py as a separate process: takes tickets as fast as it can through
HallService and prints each number only after its commit returned, until it is killed."""

import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from queue_server import commands as cmd
from queue_server.hall_service import HallService
from queue_server.store.database import open_engine

url, start = sys.argv[1], datetime.fromisoformat(sys.argv[2]).replace(tzinfo=ZoneInfo("Asia/Shanghai"))
service = HallService(open_engine(url), None, start)
for i in range(100_000):
    now = start + timedelta(milliseconds=i)
    prefix = "AB"[i % 2]
    [event] = service.execute(cmd.TakeTicket(prefix), now)
    print(event.data.number, flush=True)
