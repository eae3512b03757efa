"""Round three, finding 5: `metrics --serve` in a browser's neighbourhood.

The real `ccprompt metrics --serve` on 127.0.0.1, real sockets: a DNS-rebinding `Host` gets no
data, 500 slow connections hold a handful of threads, and a bare `--serve` means 127.0.0.1:9464.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
from hardening_support import popen, wait_until

from harness import refused_port
from harness.sessionfiles import place_transcript


def _start(env, *args):
    proc = popen("metrics", *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = b""
    deadline = time.monotonic() + 20
    while b"serving" not in line and time.monotonic() < deadline and proc.poll() is None:
        line = proc.stderr.readline()
    return proc, line.decode()


def _stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _get(port: int, host_header: str | None, path: str = "/metrics") -> tuple[int, str]:
    head = f"GET {path} HTTP/1.1\r\n" + (f"Host: {host_header}\r\n" if host_header is not None else "")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall((head + "Connection: close\r\n\r\n").encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    text = data.decode("utf-8", "replace")
    parts = text.split(" ", 2)
    return (int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0), text  # 0: closed unanswered


def _scrape_ok(port: int) -> bool:
    try:
        return _get(port, f"127.0.0.1:{port}")[0] == 200
    except OSError:
        return False


@pytest.fixture
def served(cc_env, run_cli):
    assert run_cli("probe", env=cc_env).returncode == 0
    place_transcript(cc_env, "transcript-cc-2.1.197-529.jsonl", waiting=True)
    port = refused_port()
    proc, line = _start(cc_env, "--serve", f"127.0.0.1:{port}", "--by-session")
    assert "serving" in line, (line, proc.stderr.read() if proc.poll() is not None else "")
    try:
        yield proc, port
    finally:
        _stop(proc)


def test_s5_a_rebinding_host_gets_no_data(served):
    _, port = served
    status, text = _get(port, f"127.0.0.1:{port}")
    assert status == 200 and "ccprompt_" in text and "session" in text
    for host in (f"localhost:{port}", "127.0.0.1", f"[::1]:{port}"):
        assert _get(port, host)[0] == 200, host
    for host in ("rebind.attacker.example", f"rebind.attacker.example:{port}", "127.0.0.1.nip.io",
                 "localhost.attacker.example", "", None):
        status, text = _get(port, host)
        assert status in (421, 403), (host, status)
        assert "ccprompt_" not in text and "claude" not in text.lower(), host


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def test_s5_five_hundred_slow_connections_hold_a_few_threads(served):
    proc, port = served
    before = _threads(proc.pid)
    slow = []
    try:
        for _ in range(500):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the blank line
            slow.append(sock)
        time.sleep(1.5)
        during = _threads(proc.pid)
        assert during <= before + 4 and during < 30, (before, during)
    finally:
        for sock in slow:
            sock.close()
    # The slow ones time out or are closed; then a scrape is answered again.
    assert wait_until(lambda: _scrape_ok(port), timeout=30)
    assert proc.poll() is None


def test_s5_a_bare_serve_listens_on_127_0_0_1_9464(cc_env):
    busy = socket.socket()
    try:
        busy.bind(("127.0.0.1", 9464))
        free = True
    except OSError:
        free = False
    finally:
        busy.close()
    proc, line = _start(cc_env, "--serve", "--by-session")
    try:
        if free:
            assert "serving http://127.0.0.1:9464/metrics" in line, line
            assert _get(9464, "127.0.0.1:9464")[0] == 200
        else:  # another program has the port: said in one line, no traceback
            proc.wait(timeout=20)
            err = line + proc.stderr.read().decode()
            assert proc.returncode != 0 and "127.0.0.1:9464" in err and "Traceback" not in err, err
    finally:
        _stop(proc)
    assert Path(cc_env["HOME"]).exists()


def test_s5_clients_dripping_their_headers_hold_the_workers_no_longer_than_head_s(served):
    import threading

    from ccprompt.ops import metrics_serve

    _, port = served
    stop = threading.Event()
    drippers = []
    for _ in range(metrics_serve.WORKERS + metrics_serve.QUEUED):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET /metrics HTTP/1.1\r\n")
        drippers.append(sock)

    def drip():  # a header byte a second, each well inside the 5 s read timeout, for as long as the test runs
        while not stop.wait(1.0):
            for sock in drippers:
                try:
                    sock.send(b"X")
                except OSError:
                    pass

    thread = threading.Thread(target=drip, daemon=True)
    thread.start()
    try:
        time.sleep(1.5)
        assert not _answered_within(port, 2.0)  # every worker and the whole queue held by drippers
        assert wait_until(lambda: _scrape_ok(port), timeout=metrics_serve.HEAD_S + 10)
        assert thread.is_alive()  # answered while they still drip
    finally:
        stop.set()
        thread.join(5)
        for sock in drippers:
            sock.close()


def _answered_within(port: int, seconds: float) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=seconds) as sock:
            sock.sendall(f"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
            return sock.recv(16).startswith(b"HTTP/1.0 200")
    except OSError:
        return False
