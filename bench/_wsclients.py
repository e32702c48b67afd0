"""Agent websocket clients for bench/live.py, run as a separate process.

Opens --sockets connections to --url with the `websockets` library, prints "ready" once all are
open, then for every frame notes its arrival; a `message.created` frame's payload text carries
`bench-ts=<wall-clock send time>` (put there by bench/_loadgen.py), so its latency is arrival
minus that. Stops when its stdin closes and writes the latencies (float64 seconds, raw) to --out
(as pairs: send time, latency) and one JSON line of counts to stdout.
"""

from __future__ import annotations

import argparse
import array
import asyncio
import json
import sys
import time

from websockets.asyncio.client import ClientConnection, connect

MARK = "bench-ts="


def dump(path: str, values: array.array[float]) -> None:
    with open(path, "wb") as fh:
        values.tofile(fh)


async def main(args: argparse.Namespace) -> None:
    latencies = array.array("d")  # pairs: send time, latency
    counts = {"frames": 0, "message_created": 0, "closed": 0, "bad": 0}
    first_last: list[float] = []

    async def reader(ws: ClientConnection) -> None:
        try:
            async for frame in ws:
                now = time.time()
                counts["frames"] += 1
                if not first_last:
                    first_last.extend((now, now))
                first_last[1] = now
                if not isinstance(frame, str) or '"message.created"' not in frame:
                    continue
                start = frame.find(MARK)
                if start < 0:
                    counts["bad"] += 1
                    continue
                start += len(MARK)
                end = frame.find(" ", start)
                counts["message_created"] += 1
                sent = float(frame[start:end])
                latencies.append(sent)
                latencies.append(now - sent)
        except Exception:
            pass
        counts["closed"] += 1

    compression = None if args.no_compression else "deflate"
    sockets = []
    for _ in range(args.sockets):
        sockets.append(
            await connect(args.url, compression=compression, max_queue=None, open_timeout=30)
        )
    negotiated = any(
        "permessage-deflate" in (ws.response.headers.get("Sec-WebSocket-Extensions") or "")
        for ws in sockets
        if ws.response
    )
    tasks = [asyncio.ensure_future(reader(ws)) for ws in sockets]
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    for ws in sockets:
        await ws.close()
    for task in tasks:
        task.cancel()
    dump(args.out, latencies)
    counts["compression"] = negotiated
    counts["span"] = first_last[1] - first_last[0] if first_last else 0.0
    counts["cpu_s"] = time.process_time()
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--sockets", type=int, default=100)
    parser.add_argument("--out", required=True)
    parser.add_argument("--no-compression", action="store_true")
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] ships it
        asyncio.run(main(parser.parse_args()))
    else:
        uvloop.run(main(parser.parse_args()))
