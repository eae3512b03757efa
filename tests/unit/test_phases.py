"""Phase arithmetic from libcurl's cumulative timers, including the failure rules."""

from ccprompt.core.text import redact_url
from ccprompt.sources.probe import error_type_for, phases_from_timers

OK = {"namelookup": 12000, "connect": 42000, "appconnect": 87000, "pretransfer": 88000,
      "starttransfer": 468000, "total": 470000}


def test_success_phases():
    phases, reused, failed = phases_from_timers(OK, True, True)
    assert phases == {"dns": 12.0, "tcp": 30.0, "tls": 45.0, "ttfb": 380.0, "total": 470.0}
    assert failed is None and reused == {}


def test_plain_http_has_no_tls():
    timers = dict(OK, appconnect=0)
    phases, _, _ = phases_from_timers(timers, True, False)
    assert phases["tls"] is None and phases["tcp"] == 30.0


def test_reused_connection():
    timers = dict(OK, namelookup=0, connect=0, appconnect=0)
    phases, reused, _ = phases_from_timers(timers, True, True)
    assert phases["dns"] is None and reused == {"dns": True, "tcp": True, "tls": True}


def test_failure_trusts_the_chain_up_to_its_first_zero():
    # TLS never completed: DNS and TCP are real, TLS failed, TTFB unknown.
    timers = dict(OK, appconnect=0, pretransfer=2_000_000, starttransfer=2_000_000, total=2_000_000)
    phases, _, failed = phases_from_timers(timers, False, True, 35)
    assert failed == "tls"
    assert phases == {"dns": 12.0, "tcp": 30.0, "tls": None, "ttfb": None, "total": 2000.0}


def test_ttfb_failure_ignores_elapsed_pretransfer():
    timers = dict(OK, pretransfer=2_000_000, starttransfer=2_000_000, total=2_000_000)
    phases, _, failed = phases_from_timers(timers, False, True, 28)
    assert failed == "ttfb" and phases["ttfb"] is None and phases["tls"] == 45.0


def test_dns_failure():
    timers = dict.fromkeys(OK, 0) | {"total": 5000}
    phases, _, failed = phases_from_timers(timers, False, True, 6)
    assert failed == "dns" and phases["dns"] is None and phases["total"] == 5.0


def test_connection_refused_is_tcp():
    timers = dict(OK, connect=0, appconnect=0)
    _, _, failed = phases_from_timers(timers, False, True, 7)
    assert failed == "tcp"


def test_error_types():
    assert error_type_for(200, None) == "success"
    assert error_type_for(0, None) == "connection_error"
    assert error_type_for(504, None) == "timeout_error"
    assert error_type_for(529, None) == "overloaded_error"
    assert error_type_for(418, None) == "client_error"
    assert error_type_for(502, None) == "server_error"
    assert error_type_for(500, "overloaded_error") == "overloaded_error"  # the body wins
    assert error_type_for(402, None) == "billing_error"
    assert error_type_for(413, None) == "request_too_large"


def test_proxy_credentials_are_redacted():
    assert redact_url("http://user:pw@proxy:3128") == "http://***@proxy:3128"
    assert redact_url("http://proxy:3128") == "http://proxy:3128"
    for password in ("p@ss", "p:a:ss", "p%40ss", "@@", "a@b:c@d"):
        shown = redact_url(f"https://user:{password}@gateway.example:8443/anthropic?x=1")
        assert shown == "https://***@gateway.example:8443/anthropic?x=1", shown
    assert redact_url("user:pw@host/path") == "***@host/path"
