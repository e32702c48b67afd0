"""A small HTTP/1.1 load generator for the API channel, run in its own process.

Raw asyncio streams on uvloop with keep-alive connections: far cheaper per request than an
HTTP client library, so on a 2-core machine the client takes as little CPU from the server as
Python allows. Prints one JSON object with what happened.

Closed loop (`--rate 0`): `--concurrency` connections each post, wait for the answer, post
again, for `--warmup` + `--duration` seconds; throughput counts the answers that arrived in the
measured window. Open loop (`--rate R`): posts are scheduled R per second over a pool of
connections and the message text carries the wall-clock time of the send
(`bench-ts=<time.time()>`), so a websocket client can measure delivery latency.

Every request in flight at the end is waited for, so `ok` is exactly the number of posts the
server acknowledged with a 2xx.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

try:
    import uvloop
except ImportError:  # pragma: no cover - uvicorn[standard] ships it
    uvloop = None  # type: ignore[assignment]

WORDS = "order refund shipping invoice delivery 배송 환불 주문 late broken thanks help".split()


class Stats:
    def __init__(self, window_start: float, window_end: float) -> None:
        self.window_start = window_start
        self.window_end = window_end
        self.statuses: Counter[int] = Counter()
        self.errors: Counter[str] = Counter()
        self.ok = 0
        self.duplicates = 0
        self.in_window = 0
        self.latencies: list[float] = []
        self.send_lag: list[float] = []
        self.sent = 0
        self.error_sample: str | None = None

    def record(self, status: int, body: bytes, started: float, finished: float) -> None:
        self.statuses[status] += 1
        if 200 <= status < 300:
            self.ok += 1
            if status == 200:
                self.duplicates += 1
        elif self.error_sample is None:
            self.error_sample = body[:300].decode(errors="replace")
        if self.window_start <= finished < self.window_end:
            self.in_window += 1
            self.latencies.append(finished - started)


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            await self.open()
        assert self.reader is not None and self.writer is not None
        self.writer.write(head + body)
        raw = await self.reader.readuntil(b"\r\n\r\n")
        status = int(raw[9:12])
        length = 0
        close = False
        for line in raw.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
            elif name == b"transfer-encoding":
                raise RuntimeError("chunked responses are not supported")
        payload = await self.reader.readexactly(length) if length else b""
        if close:
            self.close()
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def build_head(path: str, host: str, token: str, length: int) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def build_body(args: argparse.Namespace, n: int, stamp: float | None) -> bytes:
    customer = n % args.customers
    words = " ".join(WORDS[(n + i) % len(WORDS)] for i in range(6))
    text = f"bench-ts={stamp:.6f} {words}" if stamp is not None else f"bench message {n} {words}"
    payload = {
        "external_id": f"{args.prefix}-{n}",
        "customer": {"name": f"Bench Customer {customer}", "email": f"c{customer}@bench.example"},
        "text": text,
    }
    return json.dumps(payload, ensure_ascii=False).encode()


async def closed_loop(args: argparse.Namespace) -> dict[str, Any]:
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    begin = time.monotonic()
    stats = Stats(begin + args.warmup, begin + args.warmup + args.duration)
    counter = iter(range(10**12))

    async def worker() -> None:
        conn = Connection(host, port)
        while time.monotonic() < stats.window_end:
            n = next(counter)
            body = build_body(args, n, None)
            head = build_head(url.path, url.netloc, args.token, len(body))
            started = time.monotonic()
            stats.sent += 1
            try:
                status, payload = await asyncio.wait_for(conn.request(head, body), args.timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                stats.errors[type(exc).__name__] += 1
                conn.close()
                continue
            stats.record(status, payload, started, time.monotonic())
        conn.close()

    await asyncio.gather(*(worker() for _ in range(args.concurrency)))
    return report(stats, args.duration)


async def open_loop(args: argparse.Namespace) -> dict[str, Any]:
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    begin = time.monotonic() + 0.2
    begin_wall = time.time() + 0.2
    total = int(args.rate * (args.warmup + args.duration))
    stats = Stats(begin + args.warmup, begin + args.warmup + args.duration + 10)
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()

    async def worker() -> None:
        conn = Connection(host, port)
        await conn.open()
        while (item := await queue.get()) is not None:
            n, due = item
            stamp = time.time()
            started = time.monotonic()
            stats.send_lag.append(started - due)
            body = build_body(args, n, stamp)
            head = build_head(url.path, url.netloc, args.token, len(body))
            stats.sent += 1
            try:
                status, payload = await asyncio.wait_for(conn.request(head, body), args.timeout)
            except (TimeoutError, OSError, asyncio.IncompleteReadError) as exc:
                stats.errors[type(exc).__name__] += 1
                conn.close()
                continue
            stats.record(status, payload, started, time.monotonic())
        conn.close()

    workers = [asyncio.ensure_future(worker()) for _ in range(args.concurrency)]
    for n in range(total):
        due = begin + n / args.rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((n, due))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    result = report(stats, args.duration)
    lags = sorted(stats.send_lag)
    result["measured_from_wall"] = begin_wall + args.warmup
    result["elapsed_s"] = time.monotonic() - begin
    result["send_lag_p99_ms"] = lags[int(len(lags) * 0.99) - 1] * 1000 if lags else None
    return result


def report(stats: Stats, duration: float) -> dict[str, Any]:
    lat = sorted(stats.latencies)

    def pct(p: float) -> float | None:
        return lat[max(0, int(len(lat) * p) - 1)] * 1000 if lat else None

    return {
        "sent": stats.sent,
        "ok": stats.ok,
        "duplicates": stats.duplicates,
        "statuses": {str(k): v for k, v in sorted(stats.statuses.items())},
        "errors": dict(stats.errors),
        "error_sample": stats.error_sample,
        "in_window": stats.in_window,
        "rps": stats.in_window / duration,
        "latency_p50_ms": pct(0.50),
        "latency_p99_ms": pct(0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="http://host:port/path to POST to")
    parser.add_argument("--token", default="")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--rate", type=float, default=0, help="posts/s (open loop); 0 = closed")
    parser.add_argument("--prefix", default=f"bench{int(time.time())}")
    parser.add_argument("--customers", type=int, default=1000, help="distinct customers")
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    work = open_loop(args) if args.rate else closed_loop(args)
    result = uvloop.run(work) if uvloop is not None else asyncio.run(work)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
