"""The proxy's secret and its challenge: what proves a proxy, and what never does."""

from __future__ import annotations

import json

import pytest

from ccprompt.core.paths import python_module
from ccprompt.sources.proxy import trust


def test_the_secret_is_made_once_0600_and_read_back(tmp_path):
    first = trust.load_secret(str(tmp_path))
    path = tmp_path / trust.SECRET_FILE
    assert len(first) == 64 and path.stat().st_mode & 0o777 == 0o600
    assert trust.load_secret(str(tmp_path)) == first
    assert trust.load_secret(str(tmp_path / "missing"), create=False) is None


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_a_secret_others_can_read_is_refused(tmp_path, mode):
    trust.load_secret(str(tmp_path))
    (tmp_path / trust.SECRET_FILE).chmod(mode)
    with pytest.raises(trust.SecretError, match="readable or writable by others"):
        trust.load_secret(str(tmp_path))


def test_a_symlinked_secret_is_refused(tmp_path):
    (tmp_path / "elsewhere").write_text("a" * 64)
    (tmp_path / trust.SECRET_FILE).symlink_to(tmp_path / "elsewhere")
    with pytest.raises(trust.SecretError):
        trust.load_secret(str(tmp_path))


def document():
    return {"service": trust.SERVICE_NAME, "upstream_key": "k1", "pid": 7}


def test_only_a_caller_with_the_secret_gets_an_answer_and_it_names_the_port():
    secret = b"s" * 64
    path, nonce = trust.challenge_path(secret, 4000)
    status, body = trust.health_reply(secret, 4000, path, document)
    answer = json.loads(body)
    assert status == 200 and answer["proof"] == trust.answer_mac(secret, 4000, nonce, "k1")
    # The same question relayed to a proxy on another port: refused there.
    assert trust.health_reply(secret, 4001, path, document)[0] == 404
    # Without the secret, or with another one: a bare 404 that names nothing.
    for target in ("/__ccprompt/health", trust.challenge_path(b"x" * 64, 4000)[0],
                   f"/__ccprompt/health?nonce={nonce}&mac=" + "0" * 64):
        status, body = trust.health_reply(secret, 4000, target, document)
        assert status == 404 and b"ccprompt" not in body and b"k1" not in body
    # A proxy with no secret answers no one.
    assert trust.health_reply(None, 4000, path, document)[0] == 404


def test_python_module_never_puts_the_current_directory_first():
    assert python_module("m", "py", (3, 11)) == ["py", "-P", "-m", "m"]
    words = python_module("m", "py", (3, 10))
    assert words[:2] == ["py", "-c"] and "del sys.path[0]" in words[2] and words[3] == "m"


def test_a_challenge_with_a_non_ascii_mac_is_refused_not_raised():
    secret = b"s" * 64
    nonce = "a" * 32
    assert trust.asked_nonce(secret, 4000, f"{trust.HEALTH_PATH}?nonce={nonce}&mac=" + "%C3%A9" * 64) is None
    assert trust.asked_nonce(secret, 4000, f"{trust.HEALTH_PATH}?nonce={nonce}&mac=" + "%ED%A0%80" * 64) is None
    status, _ = trust.health_reply(secret, 4000, f"{trust.HEALTH_PATH}?nonce={nonce}&mac=" + "é" * 64, dict)
    assert status == 404


@pytest.mark.parametrize("body", [
    json.dumps({"service": trust.SERVICE_NAME, "upstream_key": "k", "proof": "é" * 64}).encode(),
    b"[" * 100000 + b"]" * 100000,
])
def test_a_squatter_answering_the_health_check_with_junk_is_no_proxy(body):
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def answer():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        assert trust.verify(port, None, b"s" * 64, timeout=5) is None
    finally:
        thread.join(5)
        listener.close()
