"""Inbound ingest through the API channel on SQLite vs a bare Litestar insert endpoint.

Budget (DESIGN.md): with one uvicorn process and 32 concurrent clients, `inbox serve` ingests
at least half the requests/s of bench/bare_app.py measured on the same machine in the same
run, and nothing acknowledged is lost (messages in the database == 2xx answers).

    .venv/bin/python bench/ingest.py                      # 10 s per server, 32 clients
    .venv/bin/python bench/ingest.py --duration 20 --rounds 3

Each server runs as its own subprocess on a fresh temporary SQLite file; the load comes from
bench/_loadgen.py in another process, posting unique external_ids (a pool of --customers
customers, so both new and continuing conversations occur).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import _common as c


def run_load(url: str, token: str, args: argparse.Namespace, prefix: str) -> dict[str, Any]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [
            c.PYTHON,
            str(c.BENCH / "_loadgen.py"),
            "--url",
            url,
            "--token",
            token,
            "--concurrency",
            str(args.clients),
            "--duration",
            str(args.duration),
            "--warmup",
            str(args.warmup),
            "--prefix",
            prefix,
            "--customers",
            str(args.customers),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"load generator failed:\n{proc.stderr}")
    result: dict[str, Any] = json.loads(proc.stdout)
    result["client_cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result


def measure(
    name: str, server: subprocess.Popen[Any], url: str, token: str, args: argparse.Namespace
) -> dict[str, Any]:
    cpu0, t0 = c.cpu_seconds(server.pid), time.monotonic()
    result = run_load(url, token, args, f"{name}-{time.time_ns()}")
    elapsed = time.monotonic() - t0
    result["server_cpu_pct"] = 100 * (c.cpu_seconds(server.pid) - cpu0) / elapsed
    result["client_cpu_pct"] = 100 * result["client_cpu_s"] / elapsed
    return result


def count(db_path: Path, sql: str) -> int:
    with sqlite3.connect(db_path) as conn:
        return int(conn.execute(sql).fetchone()[0])


def run_bare(workdir: Path, port: int, args: argparse.Namespace) -> dict[str, Any]:
    db_path = workdir / "bare.db"
    server = c.start_server(
        [c.PYTHON, str(c.BENCH / "bare_app.py"), "--port", str(port), "--db", str(db_path)],
        port,
        log=workdir / "bare.log",
    )
    try:
        result = measure(
            "bare", server, f"http://127.0.0.1:{port}/api/v1/inboxes/1/messages", "", args
        )
    finally:
        c.stop(server)
    result["stored"] = count(db_path, "SELECT COUNT(*) FROM bare_message")
    return result


def run_inbox(workdir: Path, port: int, args: argparse.Namespace) -> dict[str, Any]:
    db_path = workdir / "inbox.db"
    url = f"sqlite+aiosqlite:///{db_path}"
    c.cli(url, "migrate")
    inbox = c.cli_json(url, "create-inbox", "--kind", "api", "--name", "Bench API")
    server = c.start_inbox(url, port, log=workdir / "inbox.log")
    try:
        target = f"http://127.0.0.1:{port}/api/v1/inboxes/{inbox['id']}/messages"
        result = measure("inbox", server, target, inbox["token"], args)
    finally:
        c.stop(server)
    result["stored"] = count(
        db_path, f"SELECT COUNT(*) FROM message WHERE inbox_id = {int(inbox['id'])}"
    )
    result["conversations"] = count(db_path, "SELECT COUNT(*) FROM conversation")
    return result


def describe(name: str, r: dict[str, Any]) -> str:
    lost = r["ok"] - r["stored"]
    verdict = "OK" if lost == 0 and r["duplicates"] == 0 else "MISMATCH"
    return (
        f"  {name:6} {r['rps']:8.0f} req/s   p50 {r['latency_p50_ms']:6.1f} ms"
        f"  p99 {r['latency_p99_ms']:6.1f} ms   server CPU {r['server_cpu_pct']:3.0f}%"
        f"  client CPU {r['client_cpu_pct']:3.0f}%\n"
        f"         answers {r['statuses']} errors {r['errors'] or 0}; "
        f"2xx {r['ok']} vs rows stored {r['stored']} -> {verdict}"
        + (f"\n         first error body: {r['error_sample']}" if r["error_sample"] else "")
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="API-channel ingest vs a bare Litestar insert")
    parser.add_argument("--duration", type=float, default=10, help="measured seconds per server")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds before")
    parser.add_argument("--clients", type=int, default=32, help="concurrent connections")
    parser.add_argument("--customers", type=int, default=1000, help="distinct customers posted")
    parser.add_argument("--rounds", type=int, default=1, help="bare/inbox pairs to run")
    parser.add_argument("--port", type=int, default=8610)
    parser.add_argument("--keep", action="store_true", help="keep the temporary databases")
    args = parser.parse_args()

    print(f"ingest benchmark on {c.machine()}; load average {os.getloadavg()[0]:.2f}")
    print(f"  {args.clients} clients, {args.warmup:g} s warm-up + {args.duration:g} s measured")
    ratios, bare_rps, inbox_rps, ok = [], [], [], True
    for n in range(1, args.rounds + 1):
        workdir = Path(tempfile.mkdtemp(prefix="inbox-bench-ingest-"))
        print(f"round {n}/{args.rounds} (databases in {workdir})")
        bare = run_bare(workdir, c.free_port(args.port), args)
        print(describe("bare", bare), flush=True)
        inbox = run_inbox(workdir, c.free_port(args.port + 1), args)
        print(describe("inbox", inbox), flush=True)
        ratio = inbox["rps"] / bare["rps"] if bare["rps"] else float("nan")
        ratios.append(ratio)
        bare_rps.append(bare["rps"])
        inbox_rps.append(inbox["rps"])
        ok &= inbox["ok"] == inbox["stored"] and inbox["duplicates"] == 0
        ok &= bool(inbox["statuses"]) and set(inbox["statuses"]) <= {"201"}
        print(f"  ratio inbox/bare = {ratio:.2f} (target >= 0.50)")
        if not args.keep:
            for path in workdir.iterdir():
                path.unlink()
            workdir.rmdir()
    ratio = statistics.median(ratios)
    print(
        f"RESULT bare {statistics.median(bare_rps):.0f} req/s, inbox "
        f"{statistics.median(inbox_rps):.0f} req/s, ratio {ratio:.2f} "
        f"({'meets' if ratio >= 0.5 else 'MISSES'} the 0.50 target); "
        f"acknowledged == stored: {'yes' if ok else 'NO'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
