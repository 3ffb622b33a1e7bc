"""The hall server process: the HallService behind an asyncio `websockets` server.

This version serves `GET /healthz` and keeps the hall's clock moving (a tick every few seconds
raises 脱岗 warnings, returns window-transferred tickets and closes the day at midnight). The
live WebSocket protocol at `/ws` is not served yet: it is answered with 503 and a plain message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime
from http import HTTPStatus

from sqlalchemy import text
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from queue_server import __version__
from queue_server import commands as cmd
from queue_server.hall_service import HallService

TICK_SECONDS = 5.0
SHUTDOWN_GRACE_SECONDS = 2.0


def _json_response(status: HTTPStatus, body: dict) -> Response:
    payload = json.dumps(body, ensure_ascii=False).encode()
    headers = Headers([("Content-Type", "application/json; charset=utf-8"),
                       ("Content-Length", str(len(payload))), ("Cache-Control", "no-store")])
    return Response(status.value, status.phrase, headers, payload)


def _text_response(status: HTTPStatus, message: str) -> Response:
    payload = (message + "\n").encode()
    headers = Headers([("Content-Type", "text/plain; charset=utf-8"),
                       ("Content-Length", str(len(payload)))])
    return Response(status.value, status.phrase, headers, payload)


class HallServer:
    def __init__(self, service: HallService):
        self.service = service
        self.started = time.monotonic()

    def health(self) -> dict:
        try:
            with self.service.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            database = "ok"
        except Exception as error:  # reported, not raised: this is the health page
            database = f"error: {error.__class__.__name__}"
        return {"version": __version__, "hall": self.service.definition.hall.code,
                "database": database, "uptime_s": round(time.monotonic() - self.started, 1),
                "service_day": self.service.state.day.isoformat(), "connections": {}}

    def process_request(self, connection: ServerConnection, request: Request) -> Response:
        if request.path == "/healthz":
            health = self.health()
            ok = health["database"] == "ok"
            return _json_response(HTTPStatus.OK if ok else HTTPStatus.SERVICE_UNAVAILABLE, health)
        if request.path == "/ws":
            return _text_response(HTTPStatus.SERVICE_UNAVAILABLE,
                                  "实时协议（/ws）尚未在此版本中提供 / live protocol not available yet")
        return _text_response(HTTPStatus.NOT_FOUND, "未找到 / not found")

    async def tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self.service.execute(cmd.Tick(), datetime.now(UTC))

    async def run(self, host: str, port: int, ready: Callable[[str], None]) -> None:
        stop = asyncio.get_running_loop().create_future()
        for sig in (signal.SIGINT, signal.SIGTERM):
            asyncio.get_running_loop().add_signal_handler(sig, stop.cancel)
        server = await serve(self._refuse, host, port, process_request=self.process_request)
        bound = server.sockets[0].getsockname()
        ready(f"http://{bound[0]}:{bound[1]}")
        ticker = asyncio.create_task(self.tick_forever())
        try:
            await stop
        except asyncio.CancelledError:
            pass
        finally:
            ticker.cancel()
            server.close()
            # A client holding an idle HTTP connection must not keep the hall server from
            # stopping: give connections a moment, then go.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), SHUTDOWN_GRACE_SECONDS)

    @staticmethod
    async def _refuse(connection: ServerConnection) -> None:
        await connection.close(1013, "not available")
