"""What the proxy costs: one fake TLS upstream streaming SSE at a fixed pace, reached four ways in one run.

direct (TLS to the upstream), through `ccprompt`'s proxy (plain http on loopback, pooled TLS
upstream), through nginx (`proxy_buffering off`, upstream keepalive) as the reference, and
through a floor: a relay in Python on the same event loop (uvloop) that does nothing but pass
bytes between each client connection and its own TLS upstream connection. The floor is what
any proxy in Python pays before it reads a single header.
Sequential streams are interleaved way by way, in a rotating order and each after a quiet
pause, so all three see the same machine and none pays for another's after-work; every client
keeps its connection alive. Then 50 streams at once per way.
Usage: .venv/bin/python tests/bench/bench_proxy.py [streams] [events] [pace_ms]   (default 100 20 5)
"""

from __future__ import annotations

import http.client
import os
import pwd
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONCURRENT = 50
QUIET_S = 0.05  # before each sequential stream
BODY = b'{"model":"claude-bench","stream":true,"max_tokens":1024,"messages":[{"role":"user","content":"hi"}]}'

UPSTREAM = r"""
import sys, time
sys.path.insert(0, sys.argv[1])
from harness import LocalCA
from harness.sseapi import Script, SSEUpstream, message_stream
ca = LocalCA.create(sys.argv[2])
api = SSEUpstream(ca, Script(chunks=message_stream(n_deltas=int(sys.argv[3]), tool=None),
                             interval_s=float(sys.argv[4]) / 1000)).start()
print(api.port, flush=True)
sys.stdin.read()
"""

FLOOR = r"""
import asyncio, ssl, sys
import uvloop
upstream_port, context = int(sys.argv[1]), ssl.create_default_context(cafile=sys.argv[2])

class Up(asyncio.Protocol):
    def __init__(self, client): self.client = client
    def data_received(self, data): self.client.write(data)
    def connection_lost(self, exc): self.client.close()

class Client(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.up, self.early = transport, None, []
        asyncio.get_running_loop().create_task(self.connect())
    async def connect(self):
        loop = asyncio.get_running_loop()
        self.up, _ = await loop.create_connection(lambda: Up(self.transport), "127.0.0.1", upstream_port,
                                                   ssl=context, server_hostname="localhost")
        for data in self.early:
            self.up.write(data)
    def data_received(self, data):
        if self.up is None:
            self.early.append(data)
        else:
            self.up.write(data)
    def connection_lost(self, exc):
        if self.up is not None:
            self.up.close()

async def main():
    server = await asyncio.get_running_loop().create_server(Client, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()

uvloop.run(main())
"""

NGINX_CONF = """
worker_processes 1;
daemon off;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream api {{
        server 127.0.0.1:{upstream_port};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass https://api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host localhost:{upstream_port};
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_ssl_server_name on;
            proxy_ssl_name localhost;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate {ca_file};
            proxy_ssl_session_reuse on;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listening on {port}")


def rss_mb(pids) -> float:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def children(pid: int) -> list:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Way:
    def __init__(self, name: str, port: int, context: ssl.SSLContext | None = None):
        self.name, self.port, self.context = name, port, context
        self.ttfb, self.last, self.identical = [], [], True

    def connect(self) -> http.client.HTTPConnection:
        if self.context is not None:
            return http.client.HTTPSConnection("localhost", self.port, context=self.context, timeout=30)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def stream(self, conn, expected: bytes):
        """(ms to the first event, ms to the last, body identical) for one streamed reply."""
        started = time.perf_counter()
        conn.request("POST", "/v1/messages?beta=true", body=BODY,
                     headers={"content-type": "application/json", "x-api-key": "bench", "anthropic-version": "x"})
        response = conn.getresponse()
        parts, first = [], None
        while True:
            piece = response.read1(65536)
            if not piece:
                break
            if first is None:
                first = time.perf_counter()
            parts.append(piece)
        last = time.perf_counter()
        return (first - started) * 1000, (last - started) * 1000, b"".join(parts) == expected


def concurrent(way: Way, expected: bytes, events: int) -> tuple:
    results, errors = [], []
    barrier = threading.Barrier(CONCURRENT + 1)

    def one():
        conn = way.connect()
        try:
            barrier.wait(30)
            results.append(way.stream(conn, expected)[2])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=one) for _ in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    barrier.wait(30)
    started = time.perf_counter()
    for thread in threads:
        thread.join(120)
    wall = time.perf_counter() - started
    intact = sum(1 for ok in results if ok)
    return intact * events / wall, CONCURRENT - intact


def hostile_after(pid: int, port: int) -> tuple:
    """Part of `hostile_proxy.py`'s run against this same proxy (its huge SSE line needs an upstream of
    its own; run that script for it): 10,000 requests and a body flood. (RSS after, requests answered)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import hostile_proxy

    answered, _ = hostile_proxy.many_requests(port, path="/v1/messages")
    base = hostile_proxy.sockets_held(pid)
    hostile_proxy.body_flood(port, pid)
    hostile_proxy.wait_released(pid, base)
    time.sleep(3)
    return rss_mb([pid]), answered


def pct(values, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    n_deltas = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    pace_ms = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    work = Path(tempfile.mkdtemp(prefix="ccprompt-bench-proxy-"))
    processes = []
    try:
        upstream = subprocess.Popen([sys.executable, "-c", UPSTREAM, str(ROOT / "tests"), str(work), str(n_deltas),
                                     str(pace_ms)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        processes.append(upstream)
        upstream_port = int(upstream.stdout.readline())
        ca_file = str(work / "ca.pem")
        sys.path.insert(0, str(ROOT / "tests"))
        from harness.sseapi import message_stream

        expected = b"".join(message_stream(n_deltas=n_deltas, tool=None))
        events = expected.count(b"\n\n")

        proxy = subprocess.Popen([sys.executable, "-m", "ccprompt.sources.proxy.server", "--upstream",
                                  f"https://localhost:{upstream_port}", "--ca-file", ca_file, "--home",
                                  str(work / "home")], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                                 env={**os.environ, "PYTHONPATH": str(ROOT)})
        processes.append(proxy)
        proxy_port = int(proxy.stdout.readline().split("http://127.0.0.1:", 1)[1].split()[0])

        floor = subprocess.Popen([sys.executable, "-c", FLOOR, str(upstream_port), ca_file], stdout=subprocess.PIPE,
                                 text=True)
        processes.append(floor)
        floor_port = int(floor.stdout.readline())

        nginx_port = free_port()
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
        (work / "nginx.conf").write_text(NGINX_CONF.format(tmp=work, user=user, upstream_port=upstream_port,
                                                           port=nginx_port, ca_file=ca_file))
        server = subprocess.Popen([nginx, "-p", str(work), "-c", str(work / "nginx.conf")],
                                  stderr=subprocess.DEVNULL)
        processes.append(server)
        wait_for_port(nginx_port)

        context = ssl.create_default_context(cafile=ca_file)
        ways = [Way("direct", upstream_port, context), Way("ccprompt", proxy_port), Way("nginx", nginx_port),
                Way("floor", floor_port)]
        conns = {way.name: way.connect() for way in ways}
        for _ in range(5):  # warm-up: connections, pools, caches
            for way in ways:
                way.stream(conns[way.name], expected)
        time.sleep(1.0)
        idle_rss = rss_mb([proxy.pid])
        for round_ in range(runs):
            # Each round starts with a different way, and each stream starts on a quiet machine:
            # what one way does after its stream (ccprompt's analysis and state writes) must not
            # land in the next way's measurement.
            for way in ways[round_ % len(ways):] + ways[:round_ % len(ways)]:
                time.sleep(QUIET_S)
                ttfb, last, same = way.stream(conns[way.name], expected)
                way.ttfb.append(ttfb)
                way.last.append(last)
                way.identical &= same
        back_to_back = {}  # each way alone, the next request sent the moment a stream ends
        for way in ways:
            # A new client connection, warmed up: the upstream may have closed the floor's idle one.
            conns[way.name].close()
            conns[way.name] = way.connect()
            for _ in range(2):
                way.stream(conns[way.name], expected)
            time.sleep(QUIET_S * 4)
            back_to_back[way.name] = [way.stream(conns[way.name], expected)[0] for _ in range(max(20, runs // 2))]
        throughput = {way.name: concurrent(way, expected, events) for way in ways}
        rss = {"ccprompt": rss_mb([proxy.pid]), "nginx": rss_mb([server.pid, *children(server.pid)]),
               "floor": rss_mb([floor.pid])}
        hostile_rss = hostile_after(proxy.pid, proxy_port)
    finally:
        for process in reversed(processes):
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()

    direct, ours, ref, bare = ways
    added = {way.name: (pct(way.ttfb, 50) - pct(direct.ttfb, 50), pct(way.ttfb, 99) - pct(direct.ttfb, 99),
                        statistics.median(way.last) - statistics.median(direct.last)) for way in (ours, ref, bare)}
    print(f"ccprompt proxy benchmark: {runs} sequential streams per way, {events} SSE events each at "
          f"{pace_ms:g} ms pace; then {CONCURRENT} concurrent streams per way. Loopback, TLS upstream.\n")
    print(f"{'':34}{'direct':>10}{'ccprompt':>10}{'nginx':>10}{'floor':>10}")
    rows = [
        ("TTFB p50 (ms)", [pct(w.ttfb, 50) for w in ways]),
        ("TTFB p99 (ms)", [pct(w.ttfb, 99) for w in ways]),
        ("last event p50 (ms)", [statistics.median(w.last) for w in ways]),
        ("added TTFB p50 (ms)", [None] + [added[w.name][0] for w in (ours, ref, bare)]),
        ("added TTFB p99 (ms)", [None] + [added[w.name][1] for w in (ours, ref, bare)]),
        ("added time to last event p50 (ms)", [None] + [added[w.name][2] for w in (ours, ref, bare)]),
        ("added TTFB p50, back to back (ms)", [None] + [pct(back_to_back[w.name], 50) - pct(back_to_back["direct"], 50)
                                                       for w in (ours, ref, bare)]),
        (f"events/s, {CONCURRENT} concurrent", [throughput[w.name][0] for w in ways]),
    ]
    for label, values in rows:
        print(f"{label:34}" + "".join(f"{'-':>10}" if v is None else f"{v:>10.2f}" for v in values))
    print(f"{'streams lost of ' + str(CONCURRENT):34}" + "".join(f"{throughput[w.name][1]:>10}" for w in ways))
    print(f"{'byte-identical':34}" + "".join(f"{str(w.identical):>10}" for w in ways))
    print(f"{'RSS (MB)':34}{'-':>10}{rss['ccprompt']:>10.1f}{rss['nginx']:>10.1f}{rss['floor']:>10.1f}")
    ours_p50, ref_p50 = added["ccprompt"][0], added["nginx"][0]
    proxied = pct(ours.ttfb, 50) / pct(ref.ttfb, 50)
    events_ratio = throughput["ccprompt"][0] / throughput["nginx"][0]
    after_rss, answered = hostile_rss
    print("\ngoals")
    print(f"  proxied TTFB p50 <= 1.15x nginx {proxied:8.2f} x    {verdict(proxied <= 1.15)}"
          f"   (ccprompt {pct(ours.ttfb, 50):.2f} ms, nginx {pct(ref.ttfb, 50):.2f} ms)")
    print(f"  added TTFB p50 <= 0.4 ms        {ours_p50:8.2f} ms   {verdict(ours_p50 <= 0.4)}")
    print(f"  added TTFB p99 <= 2 ms          {added['ccprompt'][1]:8.2f} ms   {verdict(added['ccprompt'][1] <= 2)}")
    print(f"  events/s >= 0.9x nginx          {events_ratio:8.2f} x    {verdict(events_ratio >= 0.9)}")
    print(f"  byte-identical streams          {str(ours.identical):>8}      {verdict(ours.identical)}")
    print(f"  {CONCURRENT} concurrent, nothing lost     {throughput['ccprompt'][1]:>8} lost "
          f"{verdict(throughput['ccprompt'][1] == 0)}")
    print(f"  RSS idle <= 40 MB               {idle_rss:8.1f} MB   {verdict(idle_rss <= 40)}")
    print(f"  RSS after the runs <= 80 MB     {rss['ccprompt']:8.1f} MB   {verdict(rss['ccprompt'] <= 80)}")
    print(f"  RSS after hostile runs <= 80 MB {after_rss:8.1f} MB   {verdict(after_rss <= 80)}"
          f"   (10,000 requests, {answered} answered; a 12 x 64 MiB body flood)")
    floor_p50 = added["floor"][0]
    print(f"\n  the floor (Python, passing bytes only) adds {floor_p50:.2f} ms: "
          + (f"{floor_p50 / ref_p50:.2f}x nginx" if ref_p50 > 0 else "nginx added nothing")
          + f"; ccprompt adds {ours_p50 - floor_p50:.2f} ms over the floor")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
