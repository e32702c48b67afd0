"""Twilio's REST API and media host on loopback: records every request, answers by route."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable

from tests.connectors.provider_server import Answer, ProviderServer, Recorded

__all__ = ["Answer", "FakeTwilio", "error_answer"]


class FakeTwilio(ProviderServer):
    """`routes[path]` answers GETs; POSTs to `.../Messages.json` create a message (`SM1`…)."""

    def __init__(self) -> None:
        super().__init__()
        self.routes: dict[str, Callable[[Recorded], Answer]] = {}  # type: ignore[assignment]
        self.send_answers: list[Answer] = []  # queued answers for message creation
        self._sids = itertools.count(1)

    def __enter__(self) -> FakeTwilio:
        super().__enter__()
        return self

    def sends(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    async def wait_sends(self, count: int, timeout: float = 10.0) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        while len(self.sends()) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.sends()

    def answer(self, request: Recorded) -> Answer:
        if request.method == "POST" and request.path.endswith("/Messages.json"):
            return self.send_answers.pop(0) if self.send_answers else self._created(request)
        if request.path in self.routes:
            return self.routes[request.path](request)
        return Answer(404, b'{"code": 20404, "message": "not found", "status": 404}')

    def _created(self, request: Recorded) -> Answer:
        form = request.form()
        body = {
            "sid": f"SMout{next(self._sids):029d}",
            "status": "queued",
            "to": form.get("To"),
            "from": form.get("From"),
            "body": form.get("Body"),
            "num_segments": "1",
        }
        return Answer(201, json.dumps(body).encode(), {"Content-Type": "application/json"})


def error_answer(status: int, code: int, message: str) -> Answer:
    """Twilio's JSON error body, as the SDK turns it into TwilioRestException."""
    body = {
        "code": code,
        "message": message,
        "status": status,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
    }
    return Answer(status, json.dumps(body).encode(), {"Content-Type": "application/json"})
