"""How `run` knows the process on a port is this user's own proxy, and the proxy knows its caller.

A secret of 32 random bytes lives in the private state directory (`proxy.secret`, 0600,
owned by the user, in a directory `files.unsafe_dir` accepts). Only this user can read it.

The health endpoint answers only a caller that knows it: the request carries a fresh
nonce and `HMAC(secret, "ask", port, nonce)`; the answer carries
`HMAC(secret, "answer", port, nonce, upstream key)`. Both name the port the proxy itself
listens on, so an answer relayed from the real proxy on another port by whoever holds
this one fails. A process that squats a remembered port sees one nonce and one MAC,
and learns nothing it can use.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import stat
from urllib.parse import parse_qs

SECRET_FILE = "proxy.secret"
HEALTH_PATH = "/__ccprompt/health"
SERVICE_NAME = "ccprompt-proxy"
TIMEOUT_S = 0.2
_SECRET_BYTES = 32


class SecretError(OSError):
    """The secret file exists but is not safe to trust (another owner, readable by others, not a file)."""


def _check(fd: int, path: str) -> None:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise SecretError(f"{path} is not a regular file")
    if info.st_uid != os.getuid():
        raise SecretError(f"{path} belongs to another user (uid {info.st_uid})")
    if info.st_mode & 0o077:
        raise SecretError(f"{path} is readable or writable by others (mode {info.st_mode & 0o777:o})")


def load_secret(home: str, create: bool = True) -> bytes | None:
    """The secret in `home`, made on first use (O_EXCL, 0600). None when absent and not `create`.

    Raises SecretError for a file that is not the user's alone; the caller then trusts no proxy.
    """
    path = os.path.join(home, SECRET_FILE)
    flags = os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
    for _ in range(3):
        try:
            fd = os.open(path, flags)
        except FileNotFoundError:
            if not create:
                return None
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            except FileExistsError:
                continue  # another process made it first: read theirs
            try:
                os.fchmod(fd, 0o600)
                value = os.urandom(_SECRET_BYTES).hex().encode()
                os.write(fd, value)
                os.fsync(fd)
            finally:
                os.close(fd)
            return value
        except OSError as exc:
            raise SecretError(f"cannot read {path}: {exc.strerror}") from None
        try:
            _check(fd, path)
            value = os.read(fd, 256).strip()
        finally:
            os.close(fd)
        if len(value) < 32:  # a file still being written by its maker, or emptied
            if not create:
                return None
            continue
        return value
    raise SecretError(f"cannot make {path}")


def ask_mac(secret: bytes, port: int, nonce: str) -> str:
    return hmac.new(secret, f"ccprompt-proxy ask\0{port}\0{nonce}".encode(), hashlib.sha256).hexdigest()


def answer_mac(secret: bytes, port: int, nonce: str, upstream_key: str) -> str:
    message = f"ccprompt-proxy answer\0{port}\0{nonce}\0{upstream_key}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def challenge_path(secret: bytes, port: int) -> tuple[str, str]:
    """(the health request's path with a fresh nonce and its MAC, the nonce)."""
    nonce = os.urandom(16).hex()
    return f"{HEALTH_PATH}?nonce={nonce}&mac={ask_mac(secret, port, nonce)}", nonce


def asked_nonce(secret: bytes | None, port: int, target: str) -> str | None:
    """The nonce of a health request whose MAC is right for this port, else None (the proxy's side)."""
    if not secret or "?" not in target:
        return None
    query = parse_qs(target.split("?", 1)[1], max_num_fields=4)
    nonce, mac = query.get("nonce", [""])[0], query.get("mac", [""])[0]
    if not (16 <= len(nonce) <= 64) or len(mac) != 64:
        return None
    return nonce if _same(mac, ask_mac(secret, port, nonce)) else None


def _same(given: str, expected: str) -> bool:
    """`hmac.compare_digest` for text from outside: it raises on a non-ASCII str, so bytes are compared."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())


def verify(port: int, upstream_key: str | None, secret: bytes, host: str = "127.0.0.1",
           timeout: float = TIMEOUT_S) -> dict | None:
    """The health document of this user's proxy on `port` (for this upstream when a key is given), else None.

    None for anything that cannot prove it holds the secret: no answer in time, another
    service, a copied or relayed answer, or a proxy for another upstream.
    """
    path, nonce = challenge_path(secret, port)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        if response.status != 200:
            return None
        data = json.loads(response.read(65536))
    except (OSError, ValueError, RecursionError, http.client.HTTPException):
        return None
    finally:
        conn.close()
    if not isinstance(data, dict) or data.get("service") != SERVICE_NAME:
        return None
    key = data.get("upstream_key")
    proof = data.get("proof")
    if not isinstance(key, str) or not isinstance(proof, str):
        return None
    if not _same(proof, answer_mac(secret, port, nonce, key)):
        return None
    if upstream_key is not None and key != upstream_key:
        return None
    return data


def health_reply(secret: bytes | None, port: int, target: str, document) -> tuple[int, bytes]:
    """(status, body) for a request to the health path: the document and its proof, or a bare 404.

    `document` is called only for a caller that proved it knows the secret.
    """
    nonce = asked_nonce(secret, port, target)
    if nonce is None:
        return 404, b'{"type":"error","error":{"type":"not_found_error","message":"not found"}}'
    data = dict(document())
    data["proof"] = answer_mac(secret, port, nonce, str(data.get("upstream_key", "")))
    return 200, json.dumps(data).encode()
