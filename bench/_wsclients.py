"""Agent websocket clients for bench/live.py, run as a separate process.

Opens --sockets connections to --url, prints "ready" once all are open, then notes each
frame's arrival; a `message.created` frame's payload text carries `bench-ts=<wall-clock send
time>` (put there by bench/_loadgen.py), so its latency is arrival minus that. Stops when its
stdin closes and writes the latencies (float64 seconds, raw pairs: send time, latency) to --out
and one JSON line of counts to stdout.

The opening handshake is the `websockets` library's (sans-I/O `ClientProtocol`); frames are then
read by a small parser of our own. A full client library spends ~15 µs of Python per frame,
and 200 sockets at 200 messages/s are 80,000 frames/s: on the benchmark's 2-core machine the
clients, not the server, would be measured.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import os
import struct
import sys
import time
from typing import Any

from websockets.client import ClientProtocol
from websockets.http11 import Response
from websockets.uri import parse_uri

MARK = b"bench-ts="
COUNTS = {"frames": 0, "message_created": 0, "closed": 0, "bad": 0}
LATENCIES = array.array("d")  # pairs: send time, latency
SPAN: list[float] = []


def _pong(payload: bytes) -> bytes:
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x8A, 0x80 | len(payload)]) + mask + masked


class Client(asyncio.Protocol):
    def __init__(self, url: str, ready: asyncio.Future[bool]) -> None:
        self.handshake = ClientProtocol(parse_uri(url))
        self.ready = ready
        self.open = False
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.handshake.send_request(self.handshake.connect())
        transport.write(b"".join(self.handshake.data_to_send()))

    def data_received(self, data: bytes) -> None:
        if not self.open:
            self.handshake.receive_data(data)
            for event in self.handshake.events_received():
                if isinstance(event, Response):
                    self.open = event.status_code == 101
                    if not self.ready.done():
                        self.ready.set_result(self.open)
            # Frames in the same packet as the handshake would be in the library's buffer;
            # the server sends none before an event arrives.
            return
        now = time.time()
        self.buf += data
        self._frames(now)

    def _frames(self, now: float) -> None:
        buf, pos, end = self.buf, 0, len(self.buf)
        while end - pos >= 2:
            opcode, length = buf[pos] & 0x0F, buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if end - pos < 4:
                    break
                (length,) = struct.unpack_from("!H", buf, pos + 2)
                head = 4
            elif length == 127:
                if end - pos < 10:
                    break
                (length,) = struct.unpack_from("!Q", buf, pos + 2)
                head = 10
            if end - pos < head + length:
                break
            start, stop = pos + head, pos + head + length
            self._frame(opcode, start, stop, now)
            pos = stop
        del buf[:pos]

    def _frame(self, opcode: int, start: int, stop: int, now: float) -> None:
        buf = self.buf
        if opcode == 0x9 and self.transport is not None:
            self.transport.write(_pong(bytes(buf[start:stop])))
            return
        if opcode == 0x8:
            COUNTS["closed"] += 1
            return
        COUNTS["frames"] += 1
        if not SPAN:
            SPAN.extend((now, now))
        SPAN[1] = now
        mark = buf.find(MARK, start, stop)
        if mark < 0:
            return
        number_end = buf.find(b" ", mark, stop)
        if number_end < 0:
            COUNTS["bad"] += 1
            return
        sent = float(buf[mark + len(MARK) : number_end])
        COUNTS["message_created"] += 1
        LATENCIES.append(sent)
        LATENCIES.append(now - sent)


def _dump(path: str) -> None:
    with open(path, "wb") as fh:
        LATENCIES.tofile(fh)


async def main(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    uri = parse_uri(args.url)
    clients = []
    for _ in range(args.sockets):
        ready: asyncio.Future[bool] = loop.create_future()
        _, client = await loop.create_connection(
            lambda ready=ready: Client(args.url, ready), uri.host, uri.port
        )
        if not await asyncio.wait_for(ready, 30):
            raise SystemExit("websocket handshake refused")
        clients.append(client)
    print("ready", flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    for client in clients:
        if client.transport is not None:
            client.transport.close()
    _dump(args.out)
    counts: dict[str, Any] = dict(COUNTS)
    counts["compression"] = False  # this client offers no permessage-deflate
    counts["span"] = SPAN[1] - SPAN[0] if SPAN else 0.0
    counts["cpu_s"] = time.process_time()
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--sockets", type=int, default=100)
    parser.add_argument("--out", required=True)
    parser.add_argument("--no-compression", action="store_true", help="(always: none offered)")
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] ships it
        asyncio.run(main(parser.parse_args()))
    else:
        uvloop.run(main(parser.parse_args()))
