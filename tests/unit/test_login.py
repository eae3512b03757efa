"""How Claude Code signs in, told without a secret: the store's presence, the Keychain item's, a helper's."""

from __future__ import annotations

import hashlib
import json
import subprocess

from ccprompt.core.paths import Paths
from ccprompt.sources import login


def paths_in(tmp_path, **env) -> Paths:
    return Paths({"HOME": str(tmp_path), **env})


class Security:
    """A stand-in for macOS `security`: records argv, answers whether the item exists."""

    def __init__(self, exists: bool):
        self.exists, self.calls = exists, []

    def __call__(self, argv, **kwargs):
        self.calls.append(argv)
        return subprocess.CompletedProcess(argv, 0 if self.exists else 44)


def test_no_store_no_helper_is_no_login(tmp_path):
    assert not login.detect(paths_in(tmp_path), platform="linux")


def test_an_empty_or_odd_store_is_not_a_login(tmp_path):
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / ".credentials.json").write_text("")
    assert not login.detect(paths_in(tmp_path), platform="linux")
    (tmp_path / ".claude" / ".credentials.json").unlink()
    (tmp_path / ".claude" / ".credentials.json").mkdir()
    assert not login.detect(paths_in(tmp_path), platform="linux")


def test_the_store_follows_claude_code_s_own_directories(tmp_path):
    for env, where in (({}, tmp_path / ".claude"),
                       ({"CLAUDE_CONFIG_DIR": str(tmp_path / "cfg")}, tmp_path / "cfg"),
                       ({"CLAUDE_CONFIG_DIR": str(tmp_path / "cfg"), "CLAUDE_SECURESTORAGE_CONFIG_DIR": str(tmp_path / "sec")},
                        tmp_path / "sec"),
                       ({"CLAUDE_CONFIG_DIR": str(tmp_path / "cfg"), "CLAUDE_SECURESTORAGE_CONFIG_DIR": ""},
                        tmp_path / ".claude")):
        assert login.store_dir(paths_in(tmp_path, **env)) == str(where), env


def test_on_macos_the_keychain_item_is_asked_about_without_its_secret(tmp_path):
    security = Security(exists=True)
    found = login.detect(paths_in(tmp_path), platform="darwin", run=security)
    assert found.kind == "subscription" and "Keychain item 'Claude Code-credentials'" in found.where
    (argv,) = security.calls
    assert argv == ["security", "find-generic-password", "-s", "Claude Code-credentials"]
    assert "-w" not in argv and "-g" not in argv  # either would read the secret (and may prompt)
    assert not login.detect(paths_in(tmp_path), platform="darwin", run=Security(exists=False))


def test_the_keychain_service_carries_claude_code_s_suffix_for_another_config_dir(tmp_path):
    config = str(tmp_path / "work-claude")
    suffix = hashlib.sha256(config.encode()).hexdigest()[:8]
    assert login.keychain_service(paths_in(tmp_path, CLAUDE_CONFIG_DIR=config)) == f"Claude Code-credentials-{suffix}"
    assert login.keychain_service(paths_in(tmp_path)) == "Claude Code-credentials"


def test_linux_never_asks_a_keychain(tmp_path):
    security = Security(exists=True)
    assert not login.detect(paths_in(tmp_path), platform="linux", run=security)
    assert security.calls == []


def test_an_api_key_helper_is_noted_never_run(tmp_path):
    (tmp_path / ".claude").mkdir()
    ran = tmp_path / "ran"
    (tmp_path / ".claude" / "settings.json").write_text(json.dumps({"apiKeyHelper": f"touch {ran}"}))
    found = login.detect(paths_in(tmp_path), platform="linux")
    assert found.kind == "helper" and "never runs" in found.line() and not ran.exists()
    (tmp_path / ".claude" / "settings.json").write_text(json.dumps({"apiKeyHelper": ["not", "a", "string"]}))
    assert not login.detect(paths_in(tmp_path), platform="linux")


def test_a_subscription_wins_over_a_helper_and_both_say_the_same_thing(tmp_path):
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.json").write_text(json.dumps({"apiKeyHelper": "pass show claude"}))
    (tmp_path / ".claude" / ".credentials.json").write_text("{}")
    found = login.detect(paths_in(tmp_path), platform="linux")
    assert found.kind == "subscription" and found.where == "~/.claude/.credentials.json (not read)"
    assert found.line().endswith(login.WORDS)


def test_explain_asks_how_claude_code_signs_in_once(tmp_path, monkeypatch):
    from ccprompt.commands import explain
    from ccprompt.core.model import MonitorState
    from ccprompt.core.paths import Paths
    from ccprompt.sources import login

    asked = []
    monkeypatch.setattr(login, "detect", lambda paths: asked.append(paths) or login.Login("subscription", "here"))
    paths = Paths({"HOME": str(tmp_path), "PATH": "/usr/bin"})
    assert explain.credential_words(MonitorState(source="none"), paths).startswith("anonymous: subscription login")
    assert explain.keyless_words(paths).endswith("(here)")
    assert asked == [paths]
