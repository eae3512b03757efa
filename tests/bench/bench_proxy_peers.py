"""What refusing other users costs: the per-connection owner check, against the same proxy without it.

Two proxy servers in their own processes, the same fake TLS upstream behind both: one checks
the owner of every connecting socket (the default), one does not. Each request comes on a NEW
connection (the worst case: Claude Code keeps its connections alive, so it pays this once per
connection, not per request), interleaved A/B in rotating order after a quiet pause. Then the
lookup alone: the netlink query the server uses, and reading /proc/net/tcp as the fallback does.
Usage: .venv/bin/python tests/bench/bench_proxy_peers.py [requests]   (default 300)
"""

from __future__ import annotations

import http.client
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUIET_S = 0.02

UPSTREAM = r"""
import sys
sys.path.insert(0, sys.argv[1])
from harness import LocalCA
from harness.sseapi import Script, SSEUpstream, message_stream
ca = LocalCA.create(sys.argv[2])
api = SSEUpstream(ca, Script(chunks=message_stream(n_deltas=3, tool=None))).start()
print(api.port, ca.ca_file, flush=True)
sys.stdin.read()
"""

PROXY = r"""
import asyncio, sys
sys.path.insert(0, sys.argv[1])
from ccprompt.sources.proxy.server import ProxyServer, run_loop
from ccprompt.sources.proxy.upstream import Upstream

async def main():
    server = ProxyServer(Upstream(sys.argv[2], ca_file=sys.argv[3]), owner_only=sys.argv[4] == "1")
    print(await server.start(), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await server.stop()

run_loop(main())
"""


def ttfb(port: int) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    started = time.perf_counter()
    conn.request("POST", "/v1/messages", body=b'{"model":"m","stream":true}',
                 headers={"content-type": "application/json", "x-api-key": "bench"})
    reply = conn.getresponse()
    reply.read1(1)
    took = time.perf_counter() - started
    reply.read()
    conn.close()
    return took * 1000


def lookups(n: int) -> tuple[float, float]:
    sys.path.insert(0, str(ROOT))
    from ccprompt.sources.proxy.peers import PeerOwners, _proc_net

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname())
    accepted, peer = server.accept()
    local = accepted.getsockname()
    owners = PeerOwners()
    started = time.perf_counter()
    for _ in range(n):
        owners.owner(peer, local)
    netlink = (time.perf_counter() - started) / n * 1e6
    started = time.perf_counter()
    for _ in range(n // 10):
        _proc_net(peer, local)
    proc = (time.perf_counter() - started) / (n // 10) * 1e6
    for sock in (client, accepted, server):
        sock.close()
    owners.close()
    return netlink, proc


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    with tempfile.TemporaryDirectory() as tmp:
        upstream = subprocess.Popen([sys.executable, "-c", UPSTREAM, str(ROOT / "tests"), tmp], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
        port, ca_file = upstream.stdout.readline().split()
        proxies, ports = [], {}
        for name, check in (("owner check", "1"), ("no check", "0")):
            proxy = subprocess.Popen([sys.executable, "-c", PROXY, str(ROOT), f"https://localhost:{port}", ca_file,
                                      check], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            proxies.append(proxy)
            ports[name] = int(proxy.stdout.readline())
        try:
            times = {name: [] for name in ports}
            names = list(ports)
            for name in names:  # warm both: the pool's first TLS connection
                ttfb(ports[name])
            for i in range(n):
                for name in names[i % 2:] + names[:i % 2]:
                    time.sleep(QUIET_S)
                    times[name].append(ttfb(ports[name]))
        finally:
            for process in proxies + [upstream]:
                process.stdin.close()
                process.wait(10)
    netlink, proc = lookups(20000)
    p50 = {name: statistics.median(values) for name, values in times.items()}
    p99 = {name: statistics.quantiles(values, n=100)[98] for name, values in times.items()}
    print(f"{n} requests per way, each on a new connection")
    print(f"{'':24}{'owner check':>14}{'no check':>12}")
    print(f"{'TTFB p50 (ms)':24}{p50['owner check']:>14.3f}{p50['no check']:>12.3f}")
    print(f"{'TTFB p99 (ms)':24}{p99['owner check']:>14.3f}{p99['no check']:>12.3f}")
    print(f"ratio p50 owner check / no check: {p50['owner check'] / p50['no check']:.3f}")
    print(f"added p50: {(p50['owner check'] - p50['no check']) * 1000:+.0f} us per connection")
    print(f"one owner lookup: netlink {netlink:.1f} us, /proc/net/tcp {proc:.1f} us "
          f"({sum(1 for _ in open('/proc/net/tcp')) - 1} sockets listed)")


if __name__ == "__main__":
    main()
