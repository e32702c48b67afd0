"""The README's quick start: `scripts/demo` sets up, loads the story and serves a live inbox."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def demo(tmp_path):
    port = free_port()
    log = tmp_path / "demo.log"
    env = {
        **os.environ,
        "INBOX_VENV": sys.prefix,  # the suite's own venv: setup is already done
        "PORT": str(port),
        "INBOX_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}",
    }
    for name in ("INBOX_REDIS_URL", "INBOX_ENV"):
        env.pop(name, None)
    with log.open("w") as out:
        process = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "demo")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield f"http://127.0.0.1:{port}", process, log
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


def wait_healthy(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/health", timeout=1).json() == {"status": "ok"}:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"the demo server never answered:\n{log.read_text()}")


def test_the_demo_command_serves_an_inbox_with_the_story(demo):
    url, process, log = demo
    wait_healthy(url, process, log)
    output = log.read_text()
    assert f"{url}/login" in output
    assert "admin@example.com / demo-password" in output
    token = re.search(r"admin API token: (agt_[\w-]+)", output).group(1)
    headers = {"Authorization": f"Bearer {token}"}
    conversations = httpx.get(f"{url}/api/v1/conversations", headers=headers).json()["items"]
    customers = httpx.get(f"{url}/api/v1/customers", headers=headers).json()["items"]
    assert len(conversations) >= 5
    # Sarah wrote by email, through the shop's API and by SMS: one customer, one timeline.
    sarah = next(c for c in customers if c["name"] == "Sarah Kim")
    timeline = httpx.get(f"{url}/api/v1/customers/{sarah['id']}/timeline", headers=headers).json()[
        "items"
    ]
    assert {m["channel"] for m in timeline} >= {"email", "api", "sms"}
