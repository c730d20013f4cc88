"""rackd loads TLS only when a region is configured (system.notls).

The real agent is started in a fresh process with a config of its own (its
directories under the test's temporary directory, metrics off), and what it
has mapped is read from /proc once its control socket is up: a standalone
rackd has neither cryptography's bindings nor pyOpenSSL in memory; a rackd
with a region (dialled on a loopback port nobody listens on) has both.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def tls_mapped(tmp_path, extra=""):
    """Whether the running rackd has cryptography or pyOpenSSL mapped."""
    config = tmp_path / "rackd.yaml"
    config.write_text(f"state_dir: {tmp_path}/state\nrun_dir: {tmp_path}/run\n"
                      f"metrics: false\n{extra}")
    sock = tmp_path / "run" / "control.sock"
    agent = subprocess.Popen([sys.executable, "-m", "provisioningserver.cli.rackd",
                              "--config", str(config)], cwd=ROOT,
                             env={**os.environ, "PYTHONPATH": ROOT},
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            if agent.poll() is not None:
                pytest.fail(f"rackd exited: {agent.stderr.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail("rackd's control socket did not appear within 30 s")
            time.sleep(0.05)
        with open(f"/proc/{agent.pid}/maps") as maps:
            text = maps.read()
        return "/cryptography/" in text or "/OpenSSL/" in text
    finally:
        agent.send_signal(signal.SIGTERM)
        try:
            agent.wait(timeout=30)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait()


def test_a_standalone_rackd_holds_no_tls(tmp_path):
    """With no region, neither cryptography nor pyOpenSSL is in rackd's memory."""
    assert tls_mapped(tmp_path) is False


def test_a_rackd_with_a_region_loads_tls(tmp_path):
    """With a region configured, rackd loads TLS to dial it, as before."""
    (tmp_path / "secret").write_text("00" * 32)
    assert tls_mapped(tmp_path, "region: ['127.0.0.1:9']\n"
                                f"region_fingerprint: '{'ab' * 32}'\n"
                                f"secret_file: {tmp_path}/secret\n") is True
