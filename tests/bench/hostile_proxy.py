"""A hostile run against a real proxy server process: what it holds, and its RSS before and after.

The proxy (`python -m ccprompt.sources.proxy.server`, uvloop, default limits) forwards to a TLS
upstream (uvloop) on 127.0.0.1. In turn:
  1. one SSE reply whose single `data:` line is SIZE bytes long (default 11 GB), read whole;
  2. 10,000 requests, 8 keep-alive clients at once;
  3. a body flood: 12 clients each announce 64 MiB and send as fast as the proxy reads, for 3 s;
  4. 2,000 sockets opened and left idle, then one ordinary request on a new connection;
  5. a slowloris: 50 heads sent at one byte a second.
After each, the proxy's RSS and its open sockets; at the end, RSS after a few quiet seconds.
Usage: .venv/bin/python tests/bench/hostile_proxy.py [size_gb]   (default 11)
"""

from __future__ import annotations

import http.client
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BODY = b'{"model":"claude-hostile","stream":true,"messages":[]}'

UPSTREAM = r"""
import asyncio, sys
import uvloop
sys.path.insert(0, sys.argv[1])
from harness import LocalCA
ca = LocalCA.create(sys.argv[2])
context = ca.server_context("localhost", "127.0.0.1")
SMALL = b'event: ping\ndata: {"type":"ping"}\n\n'
STEP = 1 << 20

class Reply(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer, self.paused = transport, b"", None
    def pause_writing(self):
        self.paused = asyncio.get_running_loop().create_future()
    def resume_writing(self):
        if self.paused is not None and not self.paused.done():
            self.paused.set_result(None)
    def data_received(self, data):
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, rest = self.buffer.partition(b"\r\n\r\n")
            length = next((int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")), 0)
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            target = head.split(b" ")[1]
            if target.startswith(b"/huge/"):
                asyncio.get_running_loop().create_task(self.huge(int(target.split(b"/")[2])))
            else:
                self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n%s"
                                     % (len(SMALL), SMALL))
    async def huge(self, size):
        self.transport.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        line = b"x" * STEP
        self.transport.write(b"%x\r\ndata: \r\n" % 6)
        left = size
        while left > 0:
            piece = line if left >= STEP else line[:left]
            left -= len(piece)
            self.transport.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            if self.paused is not None:
                await self.paused
                self.paused = None
        self.transport.write(b"2\r\n\n\n\r\n0\r\n\r\n")

async def main():
    server = await asyncio.get_running_loop().create_server(Reply, "127.0.0.1", 0, ssl=context)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()

uvloop.run(main())
"""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sockets_held(pid: int) -> int:
    count = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            count += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return count


def huge_line(port: int, size: int) -> tuple[int, float]:
    """Read the huge reply whole through the proxy: (body bytes, seconds)."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("POST", f"/huge/{size}", body=BODY)
    response = conn.getresponse()
    total = 0
    while piece := response.read1(1 << 20):
        total += len(piece)
    conn.close()
    return total, time.monotonic() - started


def many_requests(port: int, count: int = 10_000, clients: int = 8, path: str = "/v1/messages") -> tuple[int, float]:
    ok = []
    started = time.monotonic()

    def client(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        good = 0
        for _ in range(n):
            conn.request("POST", path, body=BODY)
            response = conn.getresponse()
            good += response.status == 200 and response.read().startswith(b"event")
        conn.close()
        ok.append(good)

    threads = [threading.Thread(target=client, args=(count // clients,)) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(ok), time.monotonic() - started


def body_flood(port: int, pid: int, clients: int = 12, seconds: float = 3.0) -> tuple[int, float]:
    """(bytes the proxy accepted, the proxy's highest RSS meanwhile)."""
    socks, sent, peak = [], 0, 0.0
    piece = b"x" * (256 * 1024)
    for _ in range(clients):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (64 << 20))
        sock.setblocking(False)
        socks.append(sock)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for sock in socks:
            try:
                sent += sock.send(piece)
            except (BlockingIOError, ConnectionError):
                pass
        peak = max(peak, rss_mb(pid))
        time.sleep(0.01)
    for sock in socks:
        sock.close()
    return sent, peak


def wait_released(pid: int, base: int, limit_s: float = 90.0) -> float:
    """Seconds until the proxy holds no more sockets than `base` + 2: a parked body whose client has
    closed is noticed only when its body timeout ends it (a paused socket reads nothing, not even the close)."""
    started = time.monotonic()
    while time.monotonic() - started < limit_s and sockets_held(pid) > base + 2:
        time.sleep(0.5)
    time.sleep(1.0)
    return time.monotonic() - started


def idle_sockets(port: int, pid: int, count: int = 2000) -> tuple[int, int, bool]:
    """(sockets opened, sockets the proxy held, an ordinary request then went through)."""
    socks = []
    for _ in range(count):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            break
    time.sleep(1.0)
    held = sockets_held(pid)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/v1/messages", body=BODY)
        through = conn.getresponse().status == 200
    except OSError:
        through = False
    conn.close()
    for sock in socks:
        sock.close()
    return len(socks), held, through


def slowloris(port: int, count: int = 50, seconds: float = 14.0) -> int:
    """Heads sent one byte a second: how many the proxy had closed by the end."""
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    line = b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"y" * 100
    closed = set()
    for second in range(int(seconds)):
        for index, sock in enumerate(socks):
            if index in closed:
                continue
            try:
                sock.send(line[second:second + 1])
            except OSError:
                closed.add(index)
        time.sleep(1.0)
    for index, sock in enumerate(socks):
        sock.setblocking(False)
        try:
            if sock.recv(4096).startswith(b"HTTP/1.1 408"):
                closed.add(index)
        except (BlockingIOError, OSError):
            pass
        sock.close()
    return len(closed)


def main() -> None:
    size = int(float(sys.argv[1] if len(sys.argv) > 1 else 11) * 1_000_000_000)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    work = Path(tempfile.mkdtemp(prefix="ccprompt-hostile-"))
    upstream = subprocess.Popen([sys.executable, "-c", UPSTREAM, str(ROOT / "tests"), str(work)],
                                stdout=subprocess.PIPE, text=True)
    upstream_port = int(upstream.stdout.readline())
    proxy = subprocess.Popen([sys.executable, "-m", "ccprompt.sources.proxy.server", "--upstream",
                              f"https://localhost:{upstream_port}", "--ca-file", str(work / "ca.pem"),
                              "--home", str(work / "home")], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        port = int(proxy.stdout.readline().split("http://127.0.0.1:", 1)[1].split()[0])
        many_requests(port, 200, 4)  # warm: pool, imports
        pid = proxy.pid
        rows = [("idle, warm", rss_mb(pid), sockets_held(pid), "")]
        got, seconds = huge_line(port, size)
        rows.append((f"{size / 1e9:g} GB SSE line", rss_mb(pid), sockets_held(pid),
                     f"{got / 1e9:.2f} GB read whole in {seconds:.0f} s" if got >= size else f"only {got} bytes"))
        ok, seconds = many_requests(port)
        rows.append(("10,000 requests", rss_mb(pid), sockets_held(pid), f"{ok} answered in {seconds:.1f} s"))
        base = sockets_held(pid)
        sent, peak = body_flood(port, pid)
        rows.append(("body flood, 12 x 64 MiB", rss_mb(pid), sockets_held(pid),
                     f"{sent / 2**20:.0f} MiB sent into the sockets; RSS at most {peak:.1f} MB during"))
        waited = wait_released(pid, base)
        rows.append(("  the parked bodies timed out", rss_mb(pid), sockets_held(pid), f"after {waited:.0f} s"))
        opened, held, through = idle_sockets(port, pid)
        rows.append(("2,000 idle sockets", rss_mb(pid), sockets_held(pid),
                     f"{opened} opened, {held} held at once, a new request {'went through' if through else 'FAILED'}"))
        cut = slowloris(port)
        rows.append(("slowloris, 50 heads at 1 byte/s", rss_mb(pid), sockets_held(pid), f"{cut} of 50 closed"))
        time.sleep(3)
        rows.append(("after, 3 s quiet", rss_mb(pid), sockets_held(pid), ""))
    finally:
        proxy.terminate()
        upstream.terminate()
        for process in (proxy, upstream):
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
    print(f"{'phase':34}{'RSS MB':>8}{'sockets':>9}  notes")
    for name, rss, held, note in rows:
        print(f"{name:34}{rss:8.1f}{held:9d}  {note}")
    after = rows[-1][1]
    print(f"\nRSS after the hostile run: {after:.1f} MB ({'PASS' if after <= 80 else 'FAIL'}: goal <= 80 MB)")


if __name__ == "__main__":
    main()
