"""`files.read_pipe`: the status line's stdin, read whole when the writer is done, bounded when not."""

import os
import subprocess
import sys
import threading
import time

from ccprompt.core import files
from harness import REPO_ROOT


def pipe_with(data: bytes, close: bool = True):
    read_fd, write_fd = os.pipe()
    os.write(write_fd, data)
    if close:
        os.close(write_fd)
        return read_fd, None
    return read_fd, write_fd


def test_a_closed_pipe_is_read_whole_and_left_blocking():
    read_fd, _ = pipe_with(b'{"a": 1}' * 1000)
    try:
        assert files.read_pipe(read_fd) == b'{"a": 1}' * 1000
        assert os.get_blocking(read_fd)
    finally:
        os.close(read_fd)


def test_a_socketpair_as_node_hands_it_over_is_read_whole_and_left_blocking():
    import socket

    ours, theirs = socket.socketpair()
    theirs.sendall(b'{"session_id": "s"}')
    theirs.close()
    try:
        assert files.read_pipe(ours.fileno()) == b'{"session_id": "s"}'
        assert os.get_blocking(ours.fileno())
    finally:
        ours.close()


def test_a_writer_that_lingers_is_waited_for_and_its_later_bytes_kept():
    read_fd, write_fd = pipe_with(b"first ", close=False)

    def later():
        time.sleep(0.05)
        os.write(write_fd, b"second")
        os.close(write_fd)

    writer = threading.Thread(target=later)
    writer.start()
    try:
        assert files.read_pipe(read_fd) == b"first second"
        assert os.get_blocking(read_fd)
    finally:
        writer.join()
        os.close(read_fd)


def test_a_writer_that_never_closes_gets_what_it_sent():
    read_fd, write_fd = pipe_with(b"partial", close=False)
    try:
        assert files.read_pipe(read_fd) == b"partial"
        assert os.get_blocking(read_fd)
    finally:
        os.close(write_fd)
        os.close(read_fd)


def test_more_than_the_limit_is_cut_at_the_limit():
    read_fd, write_fd = os.pipe()
    data = b"x" * (files.PIPE_LIMIT + 70_000)

    def feed():
        try:
            os.write(write_fd, data)
        except BrokenPipeError:
            pass
        finally:
            os.close(write_fd)

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        assert files.read_pipe(read_fd) == data[:files.PIPE_LIMIT]
    finally:
        os.close(read_fd)
        writer.join()


def test_a_file_is_read_as_before(tmp_path):
    (tmp_path / "payload").write_bytes(b"{}\n")
    fd = os.open(tmp_path / "payload", os.O_RDONLY)
    try:
        assert files.read_pipe(fd) == b"{}\n"
    finally:
        os.close(fd)


def test_a_finished_writer_needs_no_select_module():
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from ccprompt.core import files; "
            "data = files.read_pipe(0); print(len(data), 'select' in sys.modules, 'os' in sys.modules)")
    read_fd, _ = pipe_with(b"y" * 5000)  # written and closed before the reader starts, as Claude Code does
    try:
        done = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(REPO_ROOT)], stdin=read_fd,
                              capture_output=True, timeout=30)
    finally:
        os.close(read_fd)
    assert done.stdout.split() == [b"5000", b"False", b"False"], done.stderr
