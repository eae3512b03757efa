"""Only the owner's own proxy ever gets the owner's requests, and the proxy's lifecycle.

Real processes throughout: `python -m ccprompt run|proxy`, the detached supervisor and its
server, the real TLS upstream, and the real second local user `nobody`, who squats ports,
answers health checks as a proxy would, and sends requests through the owner's proxy.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import TEST_KEY, assert_no_secret, make_cli_env, run_python
from harness.proxyrun import request
from harness.sseapi import Script, SSEUpstream, message_stream
from harness.wait import wait_until

from ccprompt.sources.proxy import lifecycle, supervisor
from ccprompt.sources.proxy.upstream import Upstream

SYSTEM_PYTHON = "/usr/bin/python3"  # one nobody can run (not under /root or the virtualenv)
NEEDS_ROOT = pytest.mark.skipif(os.geteuid() != 0 or not sys.platform.startswith("linux"),
                                reason="needs root on Linux, to act as the user nobody")

# One streaming request to wherever ANTHROPIC_BASE_URL points, then exit 3.
CLIENT = r"""
import http.client, json, os, ssl, sys, urllib.parse
base = urllib.parse.urlsplit(os.environ["ANTHROPIC_BASE_URL"])
if base.scheme == "https":
    conn = http.client.HTTPSConnection(base.hostname, base.port, timeout=20,
                                       context=ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"]))
else:
    conn = http.client.HTTPConnection(base.hostname, base.port, timeout=20)
conn.request("POST", base.path.rstrip("/") + "/v1/messages?beta=true", body=b'{"model":"m","stream":true,'
             b'"messages":[{"role":"user","content":"the secret prompt"}]}',
             headers={"x-api-key": os.environ["ANTHROPIC_API_KEY"], "content-type": "application/json"})
reply = conn.getresponse()
print(json.dumps({"base_url": os.environ["ANTHROPIC_BASE_URL"], "status": reply.status,
                  "body": reply.read().decode()}))
sys.exit(3)
"""

# nobody's squatter: binds the port, answers every health check the way a proxy used to
# (service name, the right upstream key, a made-up proof) and anything else with a 200,
# and writes every byte it receives to stdout.
SQUATTER = r"""
import json, socket, sys
port, key = int(sys.argv[1]), sys.argv[2]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    server.bind(("127.0.0.1", port))
except OSError as exc:
    print("BIND FAILED", exc.errno, flush=True)
    sys.exit(1)
server.listen(16)
print("BOUND", flush=True)
while True:
    conn, _ = server.accept()
    conn.settimeout(2)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            piece = conn.recv(65536)
            if not piece:
                break
            data += piece
        more = conn.recv(65536) if b"POST" in data[:8] else b""
        data += more
    except OSError:
        pass
    print("GOT", data.hex(), flush=True)
    body = json.dumps({"service": "ccprompt-proxy", "upstream_key": key, "pid": 1, "port": port,
                       "proof": "0" * 64}).encode()
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                 b"Connection: close\r\n\r\n%s" % (len(body), body))
    conn.close()
"""


@pytest.fixture
def upstream(tls_ca):
    with SSEUpstream(tls_ca) as api:
        yield api


@pytest.fixture
def env(tmp_path, upstream):
    environment = make_cli_env(tmp_path, upstream.url + "/prefix", upstream.ca_file)
    yield environment
    home = Path(environment["CCPROMPT_HOME"])
    for state in home.glob("proxy-*.json") if home.is_dir() else ():
        try:
            pid = json.loads(state.read_text())["pid"]
            os.killpg(pid, signal.SIGKILL)  # the supervisor leads its own group, with its server in it
        except (OSError, ValueError, KeyError):
            pass


def key_of(env) -> str:
    return Upstream(env["ANTHROPIC_BASE_URL"], ca_file=env["SSL_CERT_FILE"]).key()


def run(env, *command, timeout=60):
    return run_python("-m", "ccprompt", "run", "--", *command, env=env, timeout=timeout)


def first_port(env) -> int:
    result = run(env, sys.executable, "-c", CLIENT)
    assert result.returncode == 3, result.stderr
    reply = json.loads(result.stdout)
    assert reply["status"] == 200
    return int(reply["base_url"].rsplit(":", 1)[1])


def state(env) -> dict | None:
    return lifecycle.read_state(env["CCPROMPT_HOME"], key_of(env))


def health(env, port) -> dict | None:
    return supervisor.check_health(port, key_of(env), home=env["CCPROMPT_HOME"], timeout=2)


def as_nobody(*argv) -> subprocess.Popen:
    # setpriv execs the command itself, so killing the Popen kills nobody's process.
    return subprocess.Popen(["setpriv", "--reuid=nobody", "--regid=65534", "--clear-groups", "--",
                             *map(str, argv)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd="/")


def squat(port: int, key: str) -> subprocess.Popen:
    squatter = as_nobody(SYSTEM_PYTHON, "-I", "-c", SQUATTER, port, key)
    first = squatter.stdout.readline()
    assert first.startswith("BOUND"), (first, squatter.stderr.read() if squatter.poll() is not None else "")
    return squatter


def received(squatter: subprocess.Popen) -> bytes:
    squatter.kill()
    out, _ = squatter.communicate(timeout=10)
    return b"".join(bytes.fromhex(line[4:]) for line in out.splitlines() if line.startswith("GOT "))


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# -- run trusts only a proxy that proves it holds the secret -------------------------------------------


@NEEDS_ROOT
def test_a_port_squatted_after_the_proxy_died_gets_no_key_and_no_prompt(env, upstream):
    port = first_port(env)
    dead = state(env)
    os.killpg(dead["pid"], signal.SIGKILL)  # supervisor and server at once: the port is free
    wait_until(lambda: port_free(port), 10, what="the port to be free")
    squatter = squat(port, key_of(env))
    try:
        result = run(env, sys.executable, "-c", CLIENT)
    finally:
        got = received(squatter)
    assert result.returncode == 3 and result.stderr == "", result.stderr
    reply = json.loads(result.stdout)
    assert reply["status"] == 200 and reply["body"] == b"".join(message_stream()).decode()
    assert reply["base_url"] != f"http://127.0.0.1:{port}"  # a new proxy, on another port
    assert b"GET /__ccprompt/health?nonce=" in got  # run did ask the squatter, and refused its answer
    assert TEST_KEY.encode() not in got and b"secret prompt" not in got and b"/v1/messages" not in got
    fresh = state(env)
    assert fresh["pid"] != dead["pid"] and fresh["port"] != port  # the stale state was replaced
    assert len(upstream.seen) == 2


@NEEDS_ROOT
def test_kill_9_of_the_supervisor_never_frees_the_port(env, upstream):
    port = first_port(env)
    before = state(env)
    server_pid = health(env, port)["pid"]
    os.kill(before["pid"], signal.SIGKILL)
    attempts = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:  # nobody tries to take the port all through the takeover
        squatter = as_nobody(SYSTEM_PYTHON, "-I", "-c", SQUATTER, port, key_of(env))
        line = squatter.stdout.readline()
        squatter.kill()
        squatter.wait(5)
        attempts.append(line.split()[0] if line else "")
        if state(env) and state(env)["pid"] != before["pid"] and len(attempts) >= 3:
            break
    assert attempts and set(attempts) == {"BIND"}, attempts  # every bind failed: the port was held
    after = wait_until(lambda: (s := state(env)) and s["pid"] != before["pid"] and s, 10,
                       what="a new supervisor")
    assert after["port"] == port and lifecycle.alive(after["pid"])
    answer = wait_until(lambda: health(env, port), 10, what="the new server")
    assert answer["pid"] != server_pid and answer["supervisor_pid"] == after["pid"]
    got = request("127.0.0.1", port, body=b'{"model":"m"}', headers=[("x-api-key", TEST_KEY)], timeout=10)
    assert got.status == 200 and got.body == b"".join(message_stream())


def test_a_stale_state_file_is_noticed_and_cleaned(env, upstream):
    home = Path(env["CCPROMPT_HOME"])
    home.mkdir(parents=True)
    key = key_of(env)
    path = home / f"proxy-{key}.json"
    # A supervisor that died, and one whose pid now belongs to another process (this test's).
    for pid, start in ((2 ** 22 + 12345, ""), (os.getpid(), "1")):
        path.write_text(json.dumps({"pid": pid, "pid_start": start, "port": 9, "upstream_key": key}))
        shown = run_python("-m", "ccprompt", "proxy", "status", env=env)
        assert shown.returncode == 0 and shown.stdout == "no proxy running\n", shown.stdout
        assert not path.exists()


def test_the_health_endpoint_tells_nothing_without_the_secret(env, upstream):
    port = first_port(env)
    for path in ("/__ccprompt/health", "/__ccprompt/health?nonce=" + "ab" * 16 + "&mac=" + "0" * 64):
        got = request("127.0.0.1", port, path, method="GET", timeout=5)
        assert got.status == 404
        for secret in (b"ccprompt", str(port).encode(), upstream.url.encode(), key_of(env).encode(),
                       str(state(env)["pid"]).encode()):
            assert secret not in got.body and all(secret not in v.encode() for _, v in got.headers)
    assert health(env, port)["upstream"] == upstream.url + "/prefix"  # with the secret it answers
    assert upstream.seen and all("__ccprompt" not in seen.path for seen in upstream.seen)
    secret = Path(env["CCPROMPT_HOME"]) / "proxy.secret"
    assert secret.stat().st_mode & 0o777 == 0o600 and secret.stat().st_uid == os.getuid()


# -- other users ---------------------------------------------------------------------------------------


NOBODY_CLIENT = r"""
import http.client, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
try:
    conn.request("POST", "/v1/messages?beta=true", body=b'{"model":"m","stream":true}',
                 headers={"x-api-key": "sk-ant-nobody", "content-type": "application/json"})
    reply = conn.getresponse()
    print(reply.status, reply.read().decode())
except OSError as exc:
    print("ERROR", exc)
"""


@NEEDS_ROOT
def test_requests_of_another_user_are_refused_and_change_nothing(env, upstream):
    port = first_port(env)
    home = Path(env["CCPROMPT_HOME"])
    wait_until(lambda: '"ttfb_ms"' in (home / "monitoring.json").read_text(), 10,
               what="the owner's own request in the state")
    time.sleep(1)  # and its other writes
    before = {name: (home / name).read_bytes() for name in ("requests.jsonl", "monitoring.json")}
    seen = len(upstream.seen)
    upstream.script(*[Script(status=529, chunks=[b'{"type":"error","error":{"type":"overloaded_error"}}'],
                             headers=(("content-type", "application/json"),))] * 3)
    for _ in range(3):
        nobody = as_nobody(SYSTEM_PYTHON, "-I", "-c", NOBODY_CLIENT, port)
        out, err = nobody.communicate(timeout=30)
        assert out.startswith("403 ") or out.startswith("ERROR"), (out, err)
    time.sleep(0.5)
    assert len(upstream.seen) == seen  # nothing of nobody's reached the upstream
    after = {name: (home / name).read_bytes() for name in before}
    assert after == before  # nor the owner's records or state
    assert health(env, port)["other_users_refused"] == 3
    assert "529" not in run_python("-m", "ccprompt", "status", env=env).stdout
    # The owner's own requests still go through, and get the first 529 scripted for nobody's.
    got = request("127.0.0.1", port, body=b'{"model":"m"}', headers=[("x-api-key", TEST_KEY)], timeout=10)
    assert got.status == 529 and len(upstream.seen) == seen + 1


@NEEDS_ROOT
def test_an_explicit_port_that_is_taken_exits_2_and_never_moves(env, upstream):
    with socket.socket() as spare:
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    squatter = squat(port, "x")
    try:
        result = run_python("-m", "ccprompt", "proxy", "--port", port, env=env, timeout=30)
    finally:
        received(squatter)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(f"ccprompt: port {port} is in use")
    assert not list(Path(env["CCPROMPT_HOME"]).glob("proxy-*.json"))


# -- lifecycle ---------------------------------------------------------------------------------------


def test_status_lists_the_proxy_and_its_clients_and_stop_stops_it(env, upstream):
    port = first_port(env)
    sleeper = subprocess.Popen([sys.executable, "-m", "ccprompt", "run", "--", "sleep", "30"], env=env)
    try:
        home = env["CCPROMPT_HOME"]
        wait_until(lambda: lifecycle.live_clients(home, key_of(env)) == [sleeper.pid], 15,
                   what="the client to register")
        shown = run_python("-m", "ccprompt", "proxy", "status", env=env)
        assert shown.returncode == 0, shown.stderr
        header, row = shown.stdout.splitlines()
        assert header.split()[:4] == ["URL", "PID", "SERVER", "CLIENTS"]
        cells = row.split()
        the_state = state(env)
        assert cells[0] == f"http://127.0.0.1:{port}" and cells[1] == str(the_state["pid"])
        assert cells[2] == str(health(env, port)["pid"]) and cells[3] == "1" and cells[5] == "run"
        as_json = json.loads(run_python("-m", "ccprompt", "proxy", "status", "--json", env=env).stdout)
        assert as_json["proxies"][0]["clients"] == [sleeper.pid]

        stopped = run_python("-m", "ccprompt", "proxy", "stop", env=env)
        assert stopped.returncode == 0, stopped.stderr
        assert stopped.stdout == (f"stopped the proxy on port {port} (pid {the_state['pid']}); 1 command(s) started "
                                  f"through it still run (pids {sleeper.pid}) and now reach no proxy on that port\n")
        assert not lifecycle.alive(the_state["pid"]) and port_free(port)
        assert not list(Path(home).glob("proxy-*.json"))
        assert run_python("-m", "ccprompt", "proxy", "stop", env=env).stdout == "no proxy running\n"
        assert run_python("-m", "ccprompt", "proxy", "status", env=env).stdout == "no proxy running\n"
    finally:
        sleeper.kill()
        sleeper.wait()
    assert_no_secret(Path(env["CCPROMPT_HOME"]))


def test_a_proxy_run_started_stops_by_itself_once_idle(env, upstream):
    idle = {**env, "CCPROMPT_PROXY_IDLE_STOP_S": "2"}
    started = time.monotonic()
    result = run(idle, "sleep", "4")  # a client for 4 s: longer than the idle time
    assert result.returncode == 0, result.stderr
    the_state = state(env)
    assert the_state is not None and the_state["idle_stop_s"] == 2
    assert lifecycle.alive(the_state["pid"])  # still there after 4 s with a client
    wait_until(lambda: not lifecycle.alive(the_state["pid"]), 10, what="the idle proxy to stop")
    stopped_after = time.monotonic() - started
    assert state(env) is None and port_free(the_state["port"])
    assert 4 + 2 <= stopped_after < 4 + 2 + 6, stopped_after
    log = (Path(env["CCPROMPT_HOME"]) / "proxy.log").read_text()
    assert "no client for 2s; stopping" in log


@NEEDS_ROOT
@pytest.mark.parametrize("family, host", [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_the_owner_of_a_connecting_socket_is_told_by_netlink_and_by_proc(family, host):
    from ccprompt.sources.proxy.peers import PeerOwners, _proc_net

    with socket.socket(family) as server:
        server.bind((host, 0))
        server.listen()
        port = server.getsockname()[1]
        theirs = as_nobody(SYSTEM_PYTHON, "-I", "-c", "import socket, sys, time; "
                           f"s = socket.create_connection(({host!r}, {port})); print('ok', flush=True); "
                           "time.sleep(5)")
        mine = socket.create_connection((host, port))
        owners = PeerOwners()
        try:
            assert theirs.stdout.readline().startswith("ok")
            seen = {}
            for _ in range(2):
                accepted, peer = server.accept()
                seen[peer[1]] = (owners.owner(peer, accepted.getsockname()), _proc_net(peer, accepted.getsockname()))
                accepted.close()
            nobody_uid = 65534
            assert seen[mine.getsockname()[1]] == (os.getuid(), os.getuid())
            assert [value for key, value in seen.items() if key != mine.getsockname()[1]] == [(nobody_uid,) * 2]
            assert owners.owner((host, 1), (host, port)) is None  # no such connection
        finally:
            owners.close()
            mine.close()
            theirs.kill()
            theirs.wait()


def host_address() -> str | None:
    """This machine's first non-loopback IPv4 address, if it has one."""
    found = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True, timeout=10).stdout.split()
    addresses = [word.split("/")[0] for word in found if "/" in word and not word.startswith("127.")]
    return addresses[0] if addresses else None


@pytest.mark.skipif(not sys.platform.startswith("linux") or host_address() is None, reason="needs a non-loopback address")
@pytest.mark.parametrize("remote", [False, True], ids=["local-socket", "another-host"])
def test_a_connection_whose_owner_cannot_be_told_is_forwarded_but_never_recorded(remote, upstream, tmp_path):
    from harness.proxyrun import ProxyThread

    events_file = tmp_path / "requests.jsonl"
    seen_events = []
    with ProxyThread(Upstream(upstream.url, ca_file=upstream.ca_file), host="0.0.0.0",
                     events_path=str(events_file), on_event=seen_events.append) as proxy:
        if remote:  # what the kernel says of a peer on another host: no local socket
            proxy.server.peers.owner = lambda peer, local: None
        got = request(host_address(), proxy.port, body=b'{"model":"m"}', headers=[("x-api-key", TEST_KEY)],
                      timeout=10)
        time.sleep(0.5)
    assert got.status == 200 and got.body == b"".join(message_stream())
    recorded = [json.loads(line) for line in events_file.read_text().splitlines()] if events_file.exists() else []
    if remote:
        assert recorded == [] and seen_events == []
    else:  # a local socket on a non-loopback address is told like any other: the owner's, recorded
        assert [e["status"] for e in recorded if e["kind"] == "attempt"] == [200] and seen_events


def test_a_secret_others_can_read_means_no_proxy_is_trusted_and_the_command_runs_direct(env, upstream):
    home = Path(env["CCPROMPT_HOME"])
    home.mkdir(parents=True)
    secret = home / "proxy.secret"
    secret.write_text("ab" * 32)
    secret.chmod(0o644)
    result = run(env, sys.executable, "-c", CLIENT)
    assert result.returncode == 3
    assert json.loads(result.stdout)["base_url"] == env["ANTHROPIC_BASE_URL"]  # straight to the upstream
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ccprompt: proxy unavailable (") and "proxy.secret" in lines[0]
    assert "readable or writable by others" in lines[0]
    assert not list(home.glob("proxy-*.json"))


BIND_EVERY_WAY = r"""
import socket, sys
port = int(sys.argv[1])
for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
    for options in ((), ("SO_REUSEADDR",), ("SO_REUSEADDR", "SO_REUSEPORT")):
        sock = socket.socket(family)
        for option in options:
            sock.setsockopt(socket.SOL_SOCKET, getattr(socket, option), 1)
        try:
            sock.bind((host, port))
            sock.listen()
            print("BOUND", host, options)
        except OSError as exc:
            print("refused", exc.errno)
        sock.close()
"""


@NEEDS_ROOT
def test_while_the_proxy_runs_no_other_user_can_bind_its_port_any_way(env, upstream):
    port = first_port(env)
    attempt = as_nobody(SYSTEM_PYTHON, "-I", "-c", BIND_EVERY_WAY, port)
    out, err = attempt.communicate(timeout=30)
    lines = out.splitlines()
    assert len(lines) == 9 and all(line.startswith("refused") for line in lines), (out, err)
