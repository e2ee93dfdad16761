"""The real process with authentication on (the default): the first start shows an admin token
once on stderr and never in the log file, a second start shows none, and the token works."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil

from tests.conftest import free_port
from tests.integration.test_process import wait_healthy

TOKEN = re.compile(r"vpr_[A-Za-z0-9_-]{43}")


def run_once(tmp_path: Path, name: str, port: int) -> tuple[str, str | None, set[str]]:
    """Start `viper run`, call it with any token it printed, stop it; returns its stderr, that
    token, and the addresses it listened on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIPER__")}
    err_path = tmp_path / f"{name}.stderr"
    with err_path.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "viper", "run", "--port", str(port)],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
            env=env,
        )
        try:
            wait_healthy(port, 30.0)  # the test is not about start-up time
            listening = {c.laddr.ip for c in psutil.Process(proc.pid).net_connections("tcp")}
            stderr = err_path.read_text()
            found = TOKEN.findall(stderr)
            token = found[0] if found else None
            base = f"http://127.0.0.1:{port}"
            assert httpx.get(f"{base}/api/portfolio").status_code == 401
            if token is not None:
                headers = {"Authorization": f"Bearer {token}"}
                assert httpx.get(f"{base}/api/portfolio", headers=headers).status_code == 200
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=15)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0
    return err_path.read_text(), token, listening


def test_first_start_prints_the_admin_token_once_on_stderr_never_in_the_log(
    tmp_path: Path,
) -> None:
    port = free_port()
    first, token, listening = run_once(tmp_path, "first", port)
    assert token is not None
    assert TOKEN.findall(first) == [token]
    assert "first start" in first and "Authorization: Bearer" in first
    assert listening == {"127.0.0.1"}  # the default bind keeps the API off the network
    log = (tmp_path / "logs" / "viper.jsonl").read_text()
    assert "issued the first admin token" in log
    assert token not in log and TOKEN.search(log) is None

    second, again, _ = run_once(tmp_path, "second", port)
    assert again is None and TOKEN.search(second) is None
    assert "first start" not in second
