"""A real nginx on 127.0.0.1 as the proxy's upstream: it logs every request it reads, with the headers
that matter, so a header hidden inside another (a bare LF, CR or NUL) or a request smuggled in a body
shows up as a line of its log.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

CONF = """
worker_processes 1;
daemon off;
{user}
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    log_format seen '$request_method $request_uri key=[$http_x_api_key] xff=[$http_x_forwarded_for] '
                    'length=[$http_content_length] te=[$http_transfer_encoding]';
    access_log {tmp}/access.log seen;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        keepalive_timeout 30s;
        location / {{
            default_type application/json;
            return 200 '{{"type":"message","key":"$http_x_api_key","xff":"$http_x_forwarded_for"}}';
        }}
    }}
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.path.exists(p)), None)


class NginxUpstream:
    """`with NginxUpstream() as nginx:` then `nginx.url` and `nginx.seen()` (the lines of its access log)."""

    def __init__(self) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="ccprompt-nginx-"))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name};" if os.geteuid() == 0 else ""
        (self.work / "nginx.conf").write_text(CONF.format(tmp=self.work, user=user, port=self.port))
        self.process = subprocess.Popen([nginx_binary(), "-p", str(self.work), "-c", str(self.work / "nginx.conf")],
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("nginx did not start")

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.work, ignore_errors=True)

    def seen(self, settle_s: float = 0.3) -> list:
        """The requests nginx read, one line each (nginx writes its log as each request ends)."""
        time.sleep(settle_s)
        log = self.work / "access.log"
        return log.read_text(errors="replace").splitlines() if log.exists() else []
