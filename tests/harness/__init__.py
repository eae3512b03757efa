"""Test harness for ccprompt: a fake Anthropic API, hostile peers, clean CLI runs, leak checks."""

from .cli import REPO_ROOT, make_cli_env, run_python
from .fakeapi import ERROR_TYPES, FakeAPI, RecordedRequest, Reply
from .leaks import TEST_KEY, assert_no_secret
from .peers import (
    ConnectProxy,
    PlainTCPServer,
    ProxyRequest,
    SilentServer,
    UntrustedTLSServer,
    WrongHostTLSServer,
    refused_port,
)
from .tls import LocalCA

__all__ = [
    "REPO_ROOT",
    "TEST_KEY",
    "ERROR_TYPES",
    "ConnectProxy",
    "FakeAPI",
    "LocalCA",
    "PlainTCPServer",
    "ProxyRequest",
    "RecordedRequest",
    "Reply",
    "SilentServer",
    "UntrustedTLSServer",
    "WrongHostTLSServer",
    "assert_no_secret",
    "make_cli_env",
    "refused_port",
    "run_python",
]
