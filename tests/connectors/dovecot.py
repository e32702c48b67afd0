"""A throwaway Dovecot IMAP server on loopback for the email tests (its own config, maildirs and
logs in a temporary folder). Skips with the reason when Dovecot is not installed or cannot start:
`scripts/install-test-tools` installs Debian's dovecot-imapd."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

USER, PASSWORD = "support", "imap-test-secret"
CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
{ssl}
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = {uid}
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""


@dataclass
class Dovecot:
    port: int
    root: Path
    imaps_port: int = 0  # implicit TLS, when started with a certificate
    ca_file: Path | None = None  # the CA that signed that certificate

    def config(self, mailbox: str = "INBOX", **extra: object) -> dict[str, object]:
        return {
            "imap_host": "127.0.0.1",
            "imap_port": self.port,
            "imap_user": USER,
            "imap_password": PASSWORD,
            "imap_mailbox": mailbox,
            "imap_security": "none",
            **extra,
        }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(name="dovecot")
def dovecot_fixture() -> Iterator[Dovecot]:
    yield from _run_dovecot(tls=False)


@pytest.fixture(name="dovecot_tls")
def dovecot_tls_fixture() -> Iterator[Dovecot]:
    """Dovecot that also listens with implicit TLS, its certificate from a trustme test CA."""
    yield from _run_dovecot(tls=True)


def _run_dovecot(tls: bool) -> Iterator[Dovecot]:
    binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
    if not os.path.exists(binary):
        pytest.skip("Dovecot is not installed (run scripts/install-test-tools)")
    account = pwd.getpwnam("dovecot") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    root = Path(tempfile.mkdtemp(prefix="dovecot-"))
    root.chmod(0o755)  # the mail user must reach its maildir
    for sub in ("mail", "home"):
        (root / sub).mkdir()
        if os.geteuid() == 0:
            os.chown(root / sub, account.pw_uid, account.pw_gid)
    port, imaps_port, ca_file, ssl = _free_port(), 0, None, "ssl = no"
    if tls:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        cert.cert_chain_pems[0].write_to_path(str(root / "cert.pem"))
        cert.private_key_pem.write_to_path(str(root / "key.pem"))
        ca_file = root / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        imaps_port = _free_port()
        ssl = f"ssl = yes\nssl_cert = <{root}/cert.pem\nssl_key = <{root}/key.pem"
    (root / "dovecot.conf").write_text(
        CONFIG.format(
            root=root,
            port=port,
            uid=account.pw_uid,
            gid=account.pw_gid,
            password=PASSWORD,
            ssl=ssl,
            imaps_port=imaps_port,
        )
    )
    process = subprocess.Popen(
        [binary, "-F", "-c", str(root / "dovecot.conf")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode() if process.stdout else ""
                    logged = root / "dovecot.log"
                    log = logged.read_text() if logged.exists() else ""
                    pytest.skip(f"Dovecot could not start: {output[-500:]} {log[-500:]}")
                time.sleep(0.05)
        if imaps_port:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", imaps_port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.skip("Dovecot's TLS listener did not start")
                    time.sleep(0.05)
        yield Dovecot(port, root, imaps_port, ca_file)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)
