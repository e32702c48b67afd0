"""Shared helpers of the benchmarks: servers as subprocesses, CLI calls, percentiles, CPU time.

Not a benchmark itself. Every script under bench/ starts its own servers on a temporary
database and stops them (and only them) when it ends, even on Ctrl-C.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
VENV_BIN = Path(sys.executable).parent
INBOX = str(VENV_BIN / "inbox")
PYTHON = sys.executable

_children: list[subprocess.Popen[Any]] = []


def _cleanup() -> None:
    for proc in list(_children):
        stop(proc)


atexit.register(_cleanup)


def _on_term(signum: int, _frame: Any) -> None:
    _cleanup()
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _on_term)


def free_port(preferred: int) -> int:
    """`preferred` if it is free, else the next free port above it (bench uses 8600-8699)."""
    for port in range(preferred, preferred + 100):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port from {preferred}")


def inbox_env(database_url: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["INBOX_DATABASE_URL"] = database_url
    env.setdefault("INBOX_PUBLIC_URL", "http://127.0.0.1:8600")
    env.update(extra)
    return env


def cli(database_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `inbox ARGS` against the database; raise with its stderr when it fails."""
    proc = subprocess.run(
        [INBOX, *args], env=inbox_env(database_url), capture_output=True, text=True, check=False
    )
    if check and proc.returncode != 0:
        raise RuntimeError(f"inbox {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def cli_json(database_url: str, *args: str) -> dict[str, Any]:
    out = cli(database_url, *args, "--json").stdout.strip().splitlines()
    return json.loads(out[-1])  # type: ignore[no-any-return]


def agent_token(database_url: str, email: str, name: str, admin: bool = False) -> dict[str, Any]:
    """Create the agent, or issue it a fresh token when it exists (a reused database)."""
    args = ["create-agent", "--email", email, "--name", name, "--password", "bench-password-1"]
    if admin:
        args.append("--admin")
    proc = cli(database_url, *args, "--json", check=False)
    if proc.returncode == 0:
        return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
    return cli_json(database_url, "reset-token", "--agent", email)


def start(
    argv: list[str], env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[Any]:
    """Start a child in its own process group; it is stopped when the benchmark exits."""
    out = open(log, "ab") if log else subprocess.DEVNULL
    proc = subprocess.Popen(
        argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    _children.append(proc)
    return proc


def start_server(
    argv: list[str], port: int, env: dict[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[Any]:
    proc = start(argv, env, log)
    wait_http(f"http://127.0.0.1:{port}/health", proc, log)
    return proc


def start_inbox(database_url: str, port: int, log: Path | None = None) -> subprocess.Popen[Any]:
    """`inbox serve` on 127.0.0.1:port (one uvicorn process, as shipped)."""
    argv = [INBOX, "serve", "--host", "127.0.0.1", "--port", str(port)]
    env = inbox_env(database_url, INBOX_PUBLIC_URL=f"http://127.0.0.1:{port}")
    return start_server(argv, port, env, log)


def wait_http(url: str, proc: subprocess.Popen[Any], log: Path | None, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
            raise RuntimeError(f"server exited with {proc.returncode} before answering\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def stop(proc: subprocess.Popen[Any], timeout: float = 15) -> None:
    """SIGINT (uvicorn shuts down cleanly), then SIGKILL; only this child's process group."""
    if proc in _children:
        _children.remove(proc)
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; `values` need not be sorted."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def machine() -> str:
    cpus = os.cpu_count()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        model = "unknown CPU"
    return f"{cpus} CPUs ({model}), Python {sys.version.split()[0]}"
