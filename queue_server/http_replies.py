"""The server's plain HTTP answers: a body with its headers, a short text, a page, a JSON, and a
file of the web pages (nothing outside their folder, no hidden files, no listings)."""

from __future__ import annotations

import email.utils
import hashlib
import json
import mimetypes
from collections.abc import Sequence
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from websockets.datastructures import Headers
from websockets.http11 import Response


def reply(status: HTTPStatus, body: bytes, content_type: str,
          extra: Sequence[tuple[str, str]] = ()) -> Response:
    headers = Headers([("Content-Type", content_type), ("Content-Length", str(len(body))),
                       ("X-Content-Type-Options", "nosniff"), *extra])
    return Response(status.value, status.phrase, headers, body)


def text_reply(status: HTTPStatus, message: str) -> Response:
    return reply(status, (message + "\n").encode(), "text/plain; charset=utf-8",
                 [("Cache-Control", "no-store")])


def page(status: HTTPStatus, html: str) -> Response:
    return reply(status, html.encode(), "text/html; charset=utf-8", [("Cache-Control", "no-cache")])


def json_reply(status: HTTPStatus, value: Any) -> Response:
    return reply(status, json.dumps(value, ensure_ascii=False).encode(),
                 "application/json; charset=utf-8", [("Cache-Control", "no-store")])


def file(root: Path, path: str, headers: Headers) -> Response:
    """A file under `root` (resolved); nothing outside it, no hidden files, no listings."""
    relative = unquote(path).lstrip("/")
    parts = [p for p in relative.split("/") if p]
    if any(p.startswith(".") or "\\" in p or "\0" in p for p in parts):
        return text_reply(HTTPStatus.NOT_FOUND, "未找到 / not found")
    target = root.joinpath(*parts)
    if target.is_dir():
        target = target / "index.html"
    try:
        target = target.resolve(strict=True)
    except (FileNotFoundError, OSError):
        return text_reply(HTTPStatus.NOT_FOUND, "未找到 / not found")
    if not target.is_relative_to(root) or not target.is_file():
        return text_reply(HTTPStatus.NOT_FOUND, "未找到 / not found")
    stat = target.stat()
    etag = '"' + hashlib.sha1(f"{stat.st_mtime_ns}-{stat.st_size}".encode()).hexdigest()[:16] + '"'
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/javascript", "application/json"):
        kind += "; charset=utf-8"
    cache = "no-cache" if target.suffix == ".html" else "public, max-age=3600"
    extra = [("Cache-Control", cache), ("ETag", etag),
             ("Last-Modified", email.utils.formatdate(stat.st_mtime, usegmt=True))]
    if headers.get("If-None-Match") == etag:
        return Response(304, "Not Modified", Headers(extra), b"")
    return reply(HTTPStatus.OK, target.read_bytes(), kind, extra)


def is_page(path: str) -> bool:
    """Whether `path` names an HTML page (a folder's index included), not a style sheet, a
    script or a font."""
    parts = [p for p in unquote(path).split("/") if p]
    return not parts or not parts[-1].count(".") or parts[-1].endswith(".html")
