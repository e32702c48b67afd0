"""Twilio's REST API and media host on loopback: records every request, answers by route."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}


@dataclass
class Answer:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class FakeTwilio:
    """`routes[path]` answers GETs; POSTs to `.../Messages.json` create a message (`SM1`…)."""

    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self.routes: dict[str, Callable[[Seen], Answer]] = {}
        self.send_answers: list[Answer] = []  # queued answers for message creation
        self._sids = itertools.count(1)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def log_message(self, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeTwilio:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def sends(self) -> list[Seen]:
        return [r for r in self.requests if r.method == "POST"]

    async def wait_sends(self, count: int, timeout: float = 10.0) -> list[Seen]:
        deadline = time.monotonic() + timeout
        while len(self.sends()) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.sends()

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        seen = Seen(method, handler.path, {k.lower(): v for k, v in handler.headers.items()},
                    handler.rfile.read(length))
        self.requests.append(seen)
        if method == "POST" and handler.path.endswith("/Messages.json"):
            answer = self.send_answers.pop(0) if self.send_answers else self._created(seen)
        elif handler.path in self.routes:
            answer = self.routes[handler.path](seen)
        else:
            answer = Answer(404, b'{"code": 20404, "message": "not found", "status": 404}')
        handler.send_response(answer.status)
        for name, value in answer.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(answer.body)))
        handler.end_headers()
        handler.wfile.write(answer.body)

    def _created(self, seen: Seen) -> Answer:
        form = seen.form()
        body = {"sid": f"SMout{next(self._sids):029d}", "status": "queued", "to": form.get("To"),
                "from": form.get("From"), "body": form.get("Body"), "num_segments": "1"}
        return Answer(201, json.dumps(body).encode(), {"Content-Type": "application/json"})


def error_answer(status: int, code: int, message: str) -> Answer:
    """Twilio's JSON error body, as the SDK turns it into TwilioRestException."""
    body = {"code": code, "message": message, "status": status,
            "more_info": f"https://www.twilio.com/docs/errors/{code}"}
    return Answer(status, json.dumps(body).encode(), {"Content-Type": "application/json"})
