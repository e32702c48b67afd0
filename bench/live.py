"""Webhook -> agent websocket latency: API-channel posts fanned out to many agent sockets.

Budget (DESIGN.md): p99 <= 25 ms at 200 messages/s with 200 connected agent sockets of one
inbox (40,000 message frames/s), on SQLite, one `inbox serve` process.

    .venv/bin/python bench/live.py                           # 200 sockets, 200 msg/s, 10 s
    .venv/bin/python bench/live.py --sockets 50 --rate 50    # a lighter point

`inbox serve` runs as a subprocess on a fresh SQLite file with one `api` inbox and one agent
who belongs to it; --client-procs processes (bench/_wsclients.py) hold the agent websockets
(`/ws?token=`), and bench/_loadgen.py posts at a fixed rate (open loop) with the wall-clock
send time in each message's text. Latency is frame arrival minus that send time, for every
`message.created` frame on every socket, so it includes the HTTP request, the ingest commit,
the event bus and the fan-out. Each message also produces a `conversation.updated` frame;
frames/s counts both.
"""

from __future__ import annotations

import argparse
import array
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import _common as c

TARGET_P99_MS = 25.0


def main() -> int:
    parser = argparse.ArgumentParser(description="webhook -> agent websocket latency")
    parser.add_argument("--sockets", type=int, default=200, help="agent websockets")
    parser.add_argument("--rate", type=float, default=200, help="messages posted per second")
    parser.add_argument("--duration", type=float, default=10, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=2, help="posting before measuring")
    parser.add_argument("--client-procs", type=int, default=2, help="websocket client processes")
    parser.add_argument("--post-connections", type=int, default=16, help="HTTP connections")
    parser.add_argument(
        "--no-compression",
        action="store_true",
        help="do not offer permessage-deflate (browsers do offer it)",
    )
    parser.add_argument("--port", type=int, default=8650)
    args = parser.parse_args()

    print(f"live benchmark on {c.machine()}; load average {os.getloadavg()[0]:.2f}")
    workdir = Path(tempfile.mkdtemp(prefix="inbox-bench-live-"))
    url = f"sqlite+aiosqlite:///{workdir / 'inbox.db'}"
    c.cli(url, "migrate")
    inbox = c.cli_json(url, "create-inbox", "--kind", "api", "--name", "Bench API")
    agent = c.agent_token(url, "bench-live@example.com", "Bench Live")
    c.cli(url, "add-member", "--agent", "bench-live@example.com", "--inbox", str(inbox["id"]))
    port = c.free_port(args.port)
    server = c.start_inbox(url, port, log=workdir / "server.log")
    clients: list[subprocess.Popen[Any]] = []
    try:
        per = [
            args.sockets // args.client_procs + (i < args.sockets % args.client_procs)
            for i in range(args.client_procs)
        ]
        for i, count in enumerate(per):
            proc = subprocess.Popen(
                [
                    c.PYTHON,
                    str(c.BENCH / "_wsclients.py"),
                    "--sockets",
                    str(count),
                    "--url",
                    f"ws://127.0.0.1:{port}/ws?token={agent['token']}",
                    "--out",
                    str(workdir / f"lat{i}.bin"),
                ]
                + (["--no-compression"] if args.no_compression else []),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            c._children.append(proc)
            clients.append(proc)
        for proc in clients:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"websocket client failed to connect: {line!r}")
        print(
            f"{args.sockets} agent sockets connected in {len(clients)} client processes; "
            f"posting {args.rate:g} msg/s for {args.warmup:g} s + {args.duration:g} s"
        )
        cpu0, t0 = c.cpu_seconds(server.pid), time.monotonic()
        post = subprocess.run(
            [
                c.PYTHON,
                str(c.BENCH / "_loadgen.py"),
                "--url",
                f"http://127.0.0.1:{port}/api/v1/inboxes/{inbox['id']}/messages",
                "--token",
                inbox["token"],
                "--rate",
                str(args.rate),
                "--duration",
                str(args.duration),
                "--warmup",
                str(args.warmup),
                "--concurrency",
                str(args.post_connections),
                "--customers",
                "500",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if post.returncode != 0:
            raise RuntimeError(f"poster failed:\n{post.stderr}")
        posted = json.loads(post.stdout)
        time.sleep(2)  # let the last frames arrive
        elapsed = time.monotonic() - t0
        server_cpu = 100 * (c.cpu_seconds(server.pid) - cpu0) / elapsed
        counts = []
        for proc in clients:
            out, _ = proc.communicate(timeout=60)  # closes stdin: the client stops and reports
            counts.append(json.loads(out.strip().splitlines()[-1]))
            c._children.remove(proc)
    finally:
        for proc in clients:
            c.stop(proc)
        c.stop(server)

    latencies = array.array("d")
    for i in range(len(clients)):
        path = workdir / f"lat{i}.bin"
        with open(path, "rb") as fh:
            latencies.frombytes(fh.read())
    # Only messages sent after the warm-up count; the send time is in each frame we kept.
    measure_from = posted["measured_from_wall"]
    values = [
        lat * 1000
        for sent, lat in zip(latencies[::2], latencies[1::2], strict=True)
        if sent >= measure_from
    ]
    frames = sum(x["frames"] for x in counts)
    created = sum(x["message_created"] for x in counts)
    span = max(x["span"] for x in counts) or 1.0
    expected = posted["ok"] * args.sockets
    p50, p99 = c.percentile(values, 50), c.percentile(values, 99)
    print(
        f"  posted {posted['sent']} ({posted['statuses']}, errors {posted['errors'] or 0}); "
        f"POST p50 {posted['latency_p50_ms'] or 0:.1f} ms p99 {posted['latency_p99_ms'] or 0:.1f}"
        f" ms; poster lag p99 {posted['send_lag_p99_ms'] or 0:.1f} ms; achieved "
        f"{posted['ok'] / posted['elapsed_s']:.1f} msg/s of {args.rate:g} asked"
    )
    print(
        f"  frames received {frames:,} ({frames / span:,.0f}/s over {span:.1f} s), "
        f"message.created {created:,} of {expected:,} expected "
        f"({100 * created / max(expected, 1):.1f}%), sockets closed by server "
        f"{sum(x['closed'] for x in counts)}"
    )
    print(
        f"  permessage-deflate negotiated: {any(x['compression'] for x in counts)}; "
        f"server CPU {server_cpu:.0f}%, client CPU "
        f"{sum(x['cpu_s'] for x in counts) / elapsed * 100:.0f}% (all client processes)"
    )
    print(
        f"  latency POST send -> frame: p50 {p50:.1f} ms, p90 {c.percentile(values, 90):.1f} ms,"
        f" p99 {p99:.1f} ms, max {max(values, default=float('nan')):.1f} ms"
    )
    verdict = "meets" if p99 <= TARGET_P99_MS and created >= expected else "MISSES"
    print(
        f"RESULT p99 {p99:.1f} ms at {args.rate:g} msg/s x {args.sockets} sockets "
        f"({verdict} the {TARGET_P99_MS:.0f} ms target), {frames / span:,.0f} frames/s"
    )
    for path in workdir.iterdir():
        path.unlink()
    workdir.rmdir()
    return 0 if verdict == "meets" else 1


if __name__ == "__main__":
    raise SystemExit(main())
