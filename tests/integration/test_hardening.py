"""Hostile servers, other local users, broken disks and odd files never get past ccprompt.

Each test drives the real command (`python -m ccprompt ...`) against real files, real
users (a throwaway account made with useradd) and the real TLS fake API.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hardening_support import (  # noqa: F401  (fixtures)
    NEEDS_ROOT,
    TREE,
    cli,
    fill,
    nobody,
    open_tmp,
    other_user,
    popen,
    settle,
    statusline,
    timed_statusline,
    tiny_tmpfs,
    wait_until,
)
from harness import TEST_KEY, assert_no_secret, refused_port
from harness.wait import all_ended, decisions, log_records, wait_until

HOSTILE = "\x1b]52;c;aGFja2Vk\x07\x1b[2J\x1b]0;pwned\x07\u009b31m\u202e\u2066x\u200d"
RAW_BAD = ["\x1b", "\x07", "\u009b", "\u202e", "\u2066", "\u200d"]


@pytest.fixture
def env(cc_env):
    return {**cc_env, "NO_COLOR": "1"}


def home(env) -> Path:
    return Path(env["CCPROMPT_HOME"])


def payload(tmp_path, **extra):
    data = {"session_id": "hardening-1", "model": {"id": "claude-test", "display_name": "Opus"},
            "workspace": {"current_dir": str(tmp_path)}, "cost": {"total_duration_ms": 10}}
    data.update(extra)
    return data


# -- §1 a state directory someone else controls ---------------------------------------------


@NEEDS_ROOT
def test_s1_a_state_dir_of_another_user_is_refused_in_one_line(env, fake_api, other_user, open_tmp, tmp_path):
    shared = open_tmp / "shared"
    other_user.run("mkdir", "-m", "755", shared)
    env = {**env, "CCPROMPT_HOME": str(shared)}
    for args in (["probe"], ["refresh", "--sync"], ["watch", "--once"]):
        result = cli(*args, env=env, timeout=30)
        assert result.returncode != 0, (args, result.stdout, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and str(shared) in lines[0], (args, result.stderr)
        assert "Traceback" not in result.stderr
    line, _ = statusline(env, payload(tmp_path))
    assert "⚪ state dir unsafe" in line.stdout
    assert fake_api.request_count == 0
    assert sorted(os.listdir(shared)) == []  # nothing written into someone else's directory


@NEEDS_ROOT
def test_s1_a_group_writable_state_dir_names_the_fix(env, fake_api, tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    result = cli("probe", env={**env, "CCPROMPT_HOME": str(shared)})
    assert result.returncode != 0
    assert str(shared) in result.stderr and "chmod 700" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@NEEDS_ROOT
def test_s1_init_never_runs_a_planted_init_cache(env, other_user, tmp_path):
    state = tmp_path / "shared"
    tmp_path.chmod(0o755)
    env = {**env, "CCPROMPT_HOME": str(state)}
    first = cli("init", "bash", env=env)
    assert first.returncode == 0
    caches = [p for p in (state / "init").iterdir()] if (state / "init").is_dir() else []
    marker = tmp_path / "pwned"
    script = f"touch {marker}\n"
    if caches:  # plant code behind the valid header, then hand the directory to the other user
        for cache in caches:
            header, _, rest = cache.read_bytes().partition(b"\n")
            cache.write_bytes(header + b"\n" + script.encode() + rest)
    else:
        (state / "init").mkdir(parents=True, exist_ok=True)
    subprocess.run(["chown", "-R", f"{other_user.uid}:{other_user.gid}", str(state)], check=True)
    subprocess.run(["chmod", "-R", "go+rX", str(state)], check=True)
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                             f'eval "$({sys.executable} -m ccprompt init bash)"; echo done'],
                            env=env, cwd=str(TREE), capture_output=True, text=True, timeout=30)
    assert "done" in result.stdout
    assert not marker.exists()


@NEEDS_ROOT
@pytest.mark.parametrize("name", ["watch.pid", "history.jsonl", "debug.log"])
def test_s1_a_symlink_in_the_state_dir_never_redirects_a_write(name, env, fake_api, tmp_path):
    state = home(env)
    state.mkdir(parents=True, mode=0o700)
    victim = tmp_path / "bashrc"
    victim.write_text("# the victim's rc file\n")
    before = victim.read_bytes()
    (state / name).symlink_to(victim)
    env = {**env, "CCPROMPT_DEBUG": "1"}
    if name == "watch.pid":
        proc = popen("watch", "--interval", "300", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(3)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)
    else:
        cli("probe", env=env)
        cli("statusline", env=env, input=json.dumps(payload(tmp_path)))
    settle(state)
    assert victim.read_bytes() == before
    assert (state / name).is_symlink() or not (state / name).exists() or (state / name).is_file()


@NEEDS_ROOT
def test_s1_a_shared_textfile_dir_never_overwrites_or_chmods_a_victim_file(env, fake_api, other_user, open_tmp):
    assert cli("probe", env=env).returncode == 0
    shared = open_tmp / "textfiles"
    shared.mkdir()
    shared.chmod(0o777)  # shared, not sticky
    victim = open_tmp / "victim-secret"
    victim.write_text("top secret\n")
    victim.chmod(0o600)
    # The other user plants symlinks under the temp names a writer could guess: the ones
    # built from the next process ids, and the final name's own.
    last = int(Path("/proc/sys/kernel/ns_last_pid").read_text())
    names = [f".ccprompt.prom.{pid}.tmp" for pid in range(last + 1, last + 400)]
    other_user.run("sh", "-c", 'target=$1; shift; for n; do ln -s "$target" "$n"; done', "sh", victim, *names,
                   cwd=str(shared))
    result = cli("metrics", "--textfile", shared, env=env)
    assert victim.read_text() == "top secret\n"
    assert stat.S_IMODE(victim.stat().st_mode) == 0o600
    assert result.returncode == 0, result.stderr
    prom = shared / "ccprompt.prom"
    assert prom.is_file() and not prom.is_symlink()


def test_s1_a_missing_claude_dir_made_by_init_is_0700_under_umask_022(env, tmp_path):
    claude = Path(env["HOME"]) / ".claude"
    assert not claude.exists()
    result = cli("init", "bash", env=env, umask=0o022)
    assert result.returncode == 0, result.stderr
    for directory in (claude, home(env)):
        if directory.exists():
            assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


PAYLOAD_FORMAT = "{{{{ cycler.__init__.__globals__.os.system('touch {marker}') }}}}"


def _user_config(env, text: str) -> Path:
    config = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(text)
    return config


@NEEDS_ROOT
def test_s1_a_config_cache_planted_in_a_state_dir_of_another_user_never_runs(env, fake_api, nobody, open_tmp,
                                                                                tmp_path):
    """Round three, finding 1: `nobody` makes a world-writable CCPROMPT_HOME and plants a format,
    a state and a prompt cache; neither the status line nor any command uses them."""
    assert cli("probe", env=env).returncode == 0  # a real state to copy, in the user's own home
    state = json.loads((home(env) / "monitoring.json").read_text())
    state.update(status="unknown", reason="PLANTED-STATE")
    config = _user_config(env, '[statusline]\nseparator = " | "\n')
    info = config.stat()
    shared = open_tmp / "ccprompt-home"
    nobody.run("mkdir", "-m", "777", shared)
    marker = open_tmp / "pwned-by-cache"
    planted = {"key": [str(config), info.st_mtime_ns, info.st_size],
               "config": {"statusline": {"format": PAYLOAD_FORMAT.format(marker=marker)}}}
    for name, text in (("config.cache.json", json.dumps(planted)), ("monitoring.json", json.dumps(state)),
                       ("prompt", "ccprompt-prompt v1\n0\nunknown\n⚪\n\n\n⚪\n⚪ PLANTED\n⚪ PLANTED\n")):
        nobody.run("sh", "-c", 'cat > "$1"', "sh", shared / name, input=text)
    env = {**env, "CCPROMPT_HOME": str(shared)}
    for _ in range(2):
        line, _ = statusline(env, payload(tmp_path))
        assert line.returncode == 0 and "Traceback" not in line.stderr
        assert not marker.exists(), "the planted format ran"
        assert "⚪ state dir unsafe" in line.stdout, line.stdout
        assert line.stdout.strip() != "0" and "PLANTED" not in line.stdout
    status = cli("status", env=env)
    assert status.returncode != 0 and str(shared) in status.stderr, status.stderr
    assert len(status.stderr.strip().splitlines()) == 1
    for args in (["status", "--json"], ["config", "show"], ["sessions"], ["explain"], ["metrics"], ["history"]):
        result = cli(*args, env=env)
        assert "Traceback" not in result.stderr, (args, result.stderr)
        assert "PLANTED" not in result.stdout + result.stderr, args
        assert str(marker) not in result.stdout and not marker.exists(), args


SANDBOX_ESCAPES = [
    "{{ cycler.__init__.__globals__.os.system('touch MARKER') }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}{{ lipsum.__globals__['os'].system('touch MARKER') }}",
    "{{ joiner.__init__.__globals__['__builtins__']['open']('MARKER', 'w') }}",
    "{{ '{0.__class__.__mro__}'.format(status) }}{{ self._TemplateReference__context.cycler.__init__"
    ".__globals__.os.popen('touch MARKER').read() }}",
    "{{ segments.update({'network': 'x'}) }}{{ namespace.__init__.__globals__ }}",
]


@pytest.mark.parametrize("template", SANDBOX_ESCAPES)
def test_s1_a_format_cannot_leave_the_jinja2_sandbox(template, env, fake_api, tmp_path):
    marker = tmp_path / "escaped"
    _user_config(env, '[statusline]\nformat = "{{ icon }} up {{ model }}"\n')
    assert "up Opus" in statusline(env, payload(tmp_path))[0].stdout  # a plain format renders
    _user_config(env, "[statusline]\nformat = '''" + template.replace("MARKER", str(marker)) + "'''\n")
    line, _ = statusline(env, payload(tmp_path))
    assert line.returncode == 0 and "Traceback" not in line.stderr
    assert not marker.exists(), "the format left the sandbox"
    text = line.stdout.strip()
    assert "format refused" in text, text
    assert "<class" not in text and "function" not in text, text


# -- §2 a server writes to your terminal ----------------------------------------------------


def _hostile_headers():
    # Header names travel as bytes; non-latin-1 characters go out as their UTF-8 bytes.
    name = ("anthropic-ratelimit-" + HOSTILE.replace("\u009b", "")).encode("utf-8").decode("latin-1")
    name = name.replace("\n", "").replace("\r", "").replace(":", "")
    return {name + "-limit": "100", "anthropic-ratelimit-requests-remaining": "7" + "\u009b2J".encode().decode("latin-1")}


def test_s2_hostile_error_type_and_header_names_never_reach_the_terminal_raw(env, fake_api):
    fake_api.respond(status=429, headers=_hostile_headers(),
                     body={"type": "error", "error": {"type": "rate_limit" + HOSTILE, "message": "m" + HOSTILE}})
    verbose = cli("probe", "--verbose", env=env)
    as_json = cli("probe", "--json", env=env)
    status = cli("status", "--json", env=env)
    assert fake_api.request_count == 2
    for result in (verbose, as_json, status):
        for bad in RAW_BAD:
            assert bad not in result.stdout and bad not in result.stderr, (bad, result.args)
    assert "rate_limit" in verbose.stdout
    document = json.loads(as_json.stdout)
    assert "rate_limit" in json.dumps(document)
    assert "\\u001b" in as_json.stdout  # escaped, not dropped silently from JSON


# -- §3 when the state cannot be saved --------------------------------------------------------


@NEEDS_ROOT
def test_s3_a_full_disk_probes_once_for_ten_renders_and_says_why(env, fake_api, tiny_tmpfs, tmp_path):
    state = tiny_tmpfs / "ccprompt"
    state.mkdir(mode=0o700)
    fill(tiny_tmpfs)
    assert os.statvfs(tiny_tmpfs).f_bavail == 0
    env = {**env, "CCPROMPT_HOME": str(state)}
    lines = []
    for _ in range(10):
        result, _ = statusline(env, payload(tmp_path))
        lines.append(result.stdout.strip())
        settle(state)
    assert fake_api.request_count <= 1, (fake_api.request_count, lines)
    assert all(line for line in lines)
    assert "cannot save state: disk full" in lines[-1], lines


def test_s3_a_state_path_that_is_a_directory_probes_once_and_says_why(env, fake_api, tmp_path):
    state = home(env)
    state.mkdir(parents=True, mode=0o700)
    (state / "monitoring.json").mkdir()
    (state / "endpoints").mkdir(mode=0o700)
    from ccprompt.core.paths import endpoint_key

    (state / "endpoints" / f"{endpoint_key(fake_api.messages_url)}.json").mkdir()
    lines = []
    for _ in range(10):
        result, _ = statusline(env, payload(tmp_path))
        lines.append(result.stdout.strip())
        settle(state)
    assert fake_api.request_count <= 1, (fake_api.request_count, lines)
    assert "cannot save state: state path is a directory" in lines[-1], lines


def test_s3_a_lone_surrogate_in_the_error_message_is_stored_replaced(env, fake_api, tmp_path):
    body = b'{"type":"error","error":{"type":"overloaded_error","message":"bad \\ud800 message"}}'
    fake_api.respond(status=529, body=body)
    result = cli("probe", "--json", env=env)
    assert "Traceback" not in result.stderr
    raw = (home(env) / "monitoring.json").read_bytes()
    raw.decode("utf-8")  # strict: no lone surrogate on disk
    message = json.loads(raw)["network"]["error_message"]
    assert message.startswith("bad ") and message.endswith(" message")  # the surrogate replaced
    line, _ = statusline(env, payload(tmp_path))
    assert line.returncode == 0 and "probing" not in line.stdout
    assert fake_api.request_count == 1


# -- §4 secrets inside URLs -----------------------------------------------------------------

PASSWORDS = ["p@ss:w0rd%40x", "s3cr:et@@y", "pw%40only"]


def _secret_parts(password):
    """The password, decoded too, and every tail of it after an `@` or a `:` (a split redaction)."""
    parts = {password, password.replace("%40", "@")}
    for sep in "@:":
        for index, char in enumerate(password):
            if char == sep:
                parts.add(password[index + 1:])
    return {part for part in parts if len(part) >= 4}


@pytest.mark.parametrize("password", PASSWORDS)
def test_s4_userinfo_in_the_base_url_never_lands_anywhere(password, env, fake_api, tmp_path):
    base = fake_api.url.replace("https://", f"https://alice:{password}@", 1)
    env = {**env, "ANTHROPIC_BASE_URL": base, "CCPROMPT_DEBUG": "1"}
    outputs = [cli("probe", env=env), cli("probe", "--verbose", env=env), cli("probe", "--json", env=env),
               cli("status", "--json", env=env), cli("metrics", env=env)]
    writes = len(log_records(home(env), "state_write"))
    statusline(env, payload(tmp_path))
    if decisions(home(env))[-1].get("spawned"):  # a detached probe: it writes under the lock settle() waits on
        wait_until(lambda: len(log_records(home(env), "state_write")) > writes, 15,
                   what="the detached probe's state write")
    settle(home(env))
    textfiles = tmp_path / "prom"
    textfiles.mkdir()
    outputs.append(cli("metrics", "--textfile", textfiles, env=env))
    for part in _secret_parts(password):
        assert_no_secret(home(env), textfiles, *outputs, secret=part)
    assert (home(env) / "history.jsonl").exists() and (home(env) / "debug.log").exists()


@pytest.mark.parametrize("password", PASSWORDS)
def test_s4_a_proxy_password_never_lands_anywhere(password, env, fake_api, tmp_path):
    proxy = f"http://bob:{password}@127.0.0.1:{refused_port()}"
    env = {**env, "HTTPS_PROXY": proxy, "https_proxy": proxy, "CCPROMPT_DEBUG": "1"}
    outputs = [cli("probe", env=env), cli("probe", "--verbose", env=env), cli("probe", "--json", env=env),
               cli("status", "--json", env=env), cli("metrics", env=env), cli("watch", "--once", env=env)]
    assert outputs[0].returncode != 0
    for part in _secret_parts(password):
        assert_no_secret(home(env), *outputs, secret=part)
    assert fake_api.request_count == 0


# -- §5 credentials with bad characters -----------------------------------------------------


@pytest.mark.parametrize("key, words", [
    (TEST_KEY + "\r\nX-Injected: 1", "line break"),
    (TEST_KEY[:10] + "\u00a0" + TEST_KEY[10:], "ANTHROPIC_API_KEY"),
])
def test_s5_a_key_with_bad_characters_is_refused_and_never_sent(key, words, env, fake_api, tmp_path):
    env = {**env, "ANTHROPIC_API_KEY": key}
    result = cli("probe", env=env)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    message = (result.stderr + result.stdout).strip().splitlines()
    assert len(message) == 1 and words in message[0], message
    assert all(req.header("x-injected") is None for req in fake_api.requests)
    assert fake_api.request_count == 0
    for _ in range(3):
        line, _ = statusline(env, payload(tmp_path))
        settle(home(env))
    assert fake_api.request_count == 0


@pytest.mark.parametrize("key", [TEST_KEY + "\r\nX-Injected: 1", TEST_KEY[:10] + "\u00a0" + TEST_KEY[10:]])
def test_s5_the_line_never_sticks_on_probing_for_a_refused_key(key, env, fake_api, tmp_path):
    env = {**env, "ANTHROPIC_API_KEY": key}
    for _ in range(3):
        line, _ = statusline(env, payload(tmp_path))
        settle(home(env))
    assert "probing" not in line.stdout, line.stdout


def test_s5_an_idn_base_url_is_punycoded_or_reported_clearly(env, fake_api, tmp_path):
    port = fake_api.url.rsplit(":", 1)[1]
    env = {**env, "ANTHROPIC_BASE_URL": f"https://bücher.invalid:{port}"}
    result = cli("probe", "--verbose", env=env)
    assert "Traceback" not in result.stderr and "UnicodeEncodeError" not in result.stderr
    assert "xn--bcher-kva" in result.stdout + result.stderr
    for _ in range(3):
        line, _ = statusline(env, payload(tmp_path))
        settle(home(env))
    assert line.returncode == 0 and "probing" not in line.stdout, line.stdout


# -- §6 FIFOs, devices and other people's .git ----------------------------------------------


def test_s6_a_fifo_transcript_and_a_fifo_git_head_never_hang_the_line(env, fake_api, tmp_path):
    transcript = tmp_path / "t.jsonl"
    os.mkfifo(transcript)
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    os.mkfifo(project / ".git" / "HEAD")
    data = payload(project, transcript_path=str(transcript), workspace={"current_dir": str(project)})
    out, took = timed_statusline(env, data, limit_s=10)
    assert out is not None and out.strip(), "hung"
    assert took < 3, took


@NEEDS_ROOT
def test_s6_a_git_dir_of_another_user_is_not_trusted(env, fake_api, other_user, open_tmp, tmp_path):
    shared = open_tmp / "sharedtmp"
    shared.mkdir()
    shared.chmod(0o1777)
    other_user.run("mkdir", "-p", shared / ".git")
    other_user.run("sh", "-c", f"echo 'ref: refs/heads/SPOOFED' > {shared}/.git/HEAD")
    work = shared / "work"
    work.mkdir()
    data = payload(work, workspace={"current_dir": str(work)})
    result, _ = statusline(env, data)
    assert "SPOOFED" not in result.stdout
    # Control: the user's own repository is shown.
    own = tmp_path / "own"
    (own / ".git").mkdir(parents=True)
    (own / ".git" / "HEAD").write_text("ref: refs/heads/mine\n")
    result, _ = statusline(env, payload(own, workspace={"current_dir": str(own)}))
    assert "mine" in result.stdout


# -- §7 deadlines everywhere ----------------------------------------------------------------


def test_s7_a_stopped_probe_holding_the_lock_makes_probe_give_up_in_time(env, fake_api):
    fake_api.respond(hang=True)
    holder = popen("probe", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        fake_api.wait_for_requests(1, timeout=15)
        os.kill(holder.pid, signal.SIGSTOP)
        fake_api.respond()
        started = time.monotonic()
        result = cli("probe", "--timeout-ms", "2000", env=env, timeout=30)
        took = time.monotonic() - started
        assert f"another probe is in flight (pid {holder.pid})" in result.stderr + result.stdout
        assert result.returncode != 0
        assert took < 2 + 3, took  # its own timeout, plus starting Python
        assert not (home(env) / "monitoring.json").exists()
        assert fake_api.request_count == 1
    finally:
        holder.kill()
        os.kill(holder.pid, signal.SIGCONT)
        holder.wait(timeout=10)


def test_s7_the_detached_refresh_child_inherits_no_descriptors(env, fake_api, tmp_path):
    fake_api.respond(hang=True)
    marker = tmp_path / "inherit-me"
    marker.write_text("x")
    fd = os.open(marker, os.O_RDONLY)  # inheritable, at a number above 2
    try:
        cli("statusline", env=env, input=json.dumps(payload(tmp_path)), pass_fds=(fd,))
        fake_api.wait_for_requests(1, timeout=15)
        lock = home(env) / "probe.lock"
        # The lock's record is "<pid> <note>": the holder's pid first.
        pid = wait_until(lambda: ((lock.read_text().split() or [None])[0]) if lock.exists() else None)
        assert pid and pid.isdigit()
        targets = []
        for entry in os.listdir(f"/proc/{pid}/fd"):
            try:
                targets.append(os.readlink(f"/proc/{pid}/fd/{entry}"))
            except OSError:
                pass
        assert str(marker) not in targets, targets
        assert not any(t.startswith("pipe:") for t in targets), targets  # not the caller's stdout pipe either
    finally:
        os.close(fd)
        fake_api.respond()
        record = (home(env) / "probe.lock").read_text().split() if (home(env) / "probe.lock").exists() else []
        pid = record[0] if record else ""
        if pid.isdigit():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass


def test_s7_watch_stops_cleanly_on_sighup(env, fake_api):
    proc = popen("watch", "--interval", "300", env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert wait_until(lambda: (home(env) / "monitoring.json").exists(), timeout=20)
        proc.send_signal(signal.SIGHUP)
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert not (home(env) / "watch.pid").exists() or not (home(env) / "watch.pid").read_text().strip()
    finally:
        if proc.poll() is None:
            proc.kill()


# -- §9 leftovers ---------------------------------------------------------------------------


def test_s9_old_temp_files_left_by_killed_writers_are_swept(env, fake_api):
    state = home(env)
    state.mkdir(parents=True, mode=0o700)
    # Real orphans: writers killed in the middle of their writes.
    fake_api.respond(delay_s=0.05)
    for _ in range(8):
        proc = popen("probe", env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.35)
        proc.kill()
        proc.wait()
    fake_api.respond()
    planted = [state / f".monitoring.json.{n:012x}.tmp" for n in range(3)] + [state / ".prompt.4242.tmp"]
    for path in planted:
        path.write_text("partial")
    old = time.time() - 120
    for path in state.iterdir():
        if path.name.endswith(".tmp"):
            os.utime(path, (old, old))
    young = state / ".monitoring.json.0000000000ff.tmp"
    young.write_text("in flight")
    assert cli("probe", env=env).returncode == 0
    left = sorted(p.name for p in state.iterdir() if p.name.endswith(".tmp"))
    assert left == [young.name], left


# -- what must stay true --------------------------------------------------------------------


def test_keep_200_concurrent_renders_on_a_cold_state_make_one_probe_and_no_blank_line(env, fake_api, tmp_path):
    # One probe for the one moment, however long 200 renders take on a busy machine: the rules
    # that make a later probe due by the clock (a path check 20 s on, a confirmation or a
    # backoff 10 s on, a baseline) are put hours away, so a second request can only be a
    # second probe for the same moment. The session's COLD rule keeps its defaults: the first
    # probe records the session, so no render of it may start another at any time.
    config = Path(env["XDG_CONFIG_HOME"]) / "ccprompt" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text("path_interval_s = 0\nred_interval_s = 3600\ngreen_interval_s = 86400\n")
    fake_api.respond(delay_s=0.3)
    text = json.dumps(payload(tmp_path))
    procs = [popen("statusline", env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                   text=True) for _ in range(200)]
    outputs = [p.communicate(text, timeout=120) for p in procs]
    failed = [(p.returncode, err[-300:]) for p, (_, err) in zip(procs, outputs) if p.returncode != 0]
    assert not failed, failed[:3]
    blank = [err[-300:] for out, err in outputs if not out.strip()]
    assert not blank, (len(blank), blank[:3])
    fake_api.wait_for_requests(1, timeout=60)
    all_ended(env["CCPROMPT_HOME"])  # every child the renders started has probed or given up
    history = home(env) / "history.jsonl"
    probes = [(r.get("mode"), r.get("ts")) for r in map(json.loads, history.read_text().splitlines())]
    assert fake_api.request_count == 1, probes
    assert [mode for mode, _ in probes] == ["COLD"], probes


def test_keep_the_key_is_never_in_a_file_an_output_or_an_argv(env, fake_api, tmp_path):
    fake_api.respond(delay_s=1.5)
    proc = popen("statusline", env={**env, "CCPROMPT_DEBUG": "1"}, stdin=subprocess.PIPE,
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(json.dumps(payload(tmp_path)), timeout=30)
    fake_api.wait_for_requests(1, timeout=15)
    argvs = []
    ours = f"CCPROMPT_HOME={env['CCPROMPT_HOME']}".encode()
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:  # only this test's processes (the machine is shared): they carry its CCPROMPT_HOME
                if ours in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                    argvs.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" "))
            except OSError:
                pass
    assert argvs, "the detached probe was not found"
    settle(home(env))
    outputs = [cli("probe", "--verbose", env=env), cli("probe", "--json", env=env), cli("status", "--json", env=env),
               cli("metrics", env=env), cli("history", env=env)]
    assert_no_secret(out, err, *argvs, *outputs, home(env), Path(env["HOME"]))


# -- §6 the shell readers -------------------------------------------------------------------

SHELL_RUN = {
    "bash": (["bash", "--noprofile", "--norc", "-c"], 'source "$1"; __ccprompt_hook; printf "[%s]\\n" "$CCPROMPT_SEGMENT"'),
    "zsh": (["zsh", "-f", "-c"], 'source "$1"; __ccprompt_precmd; printf "[%s]\\n" "$CCPROMPT_SEGMENT"'),
    "fish": (["fish", "--no-config", "--private", "-c"], 'source $argv[-1]; __ccprompt_hook; printf "[%s]\\n" "$CCPROMPT_SEGMENT"'),
}


def _odd_cache(kind, path: Path):
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        path.symlink_to("/dev/zero")
    else:
        with open(path, "wb") as handle:
            handle.write(b"ccprompt-prompt v1" + b"x" * (50 << 20))


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "50mb-line"])
@pytest.mark.parametrize("shell", ["bash", "zsh", "fish", "sh"])
def test_s6_an_odd_prompt_cache_never_hangs_or_slows_a_shell_prompt(shell, kind, env, tmp_path):
    import shutil

    if shell != "sh" and shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    state = home(env)
    state.mkdir(parents=True, mode=0o700)
    env = {**env, "TERM": "dumb"}
    if shell == "sh":
        if kind == "50mb-line":
            pytest.skip("dash's read has no -n: a huge cache is read whole (see the report)")
        script = TREE / "shell" / "ccprompt-prompt.sh"
        argv, program = ["sh", str(script)], None
    else:
        init = cli("init", shell, "--no-refresh", env=env)
        assert init.returncode == 0, init.stderr
        script = tmp_path / f"init.{shell}"
        script.write_text(init.stdout)
        base, program = SHELL_RUN[shell]
        argv = base + [program, shell, str(script)]
    _odd_cache(kind, state / "prompt")
    started = time.monotonic()
    try:
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=10)
        took = time.monotonic() - started
    except subprocess.TimeoutExpired:
        pytest.fail(f"{shell} hung on a {kind} cache (> 10 s)")
    assert took < 1.0, took
    assert "⚪" in result.stdout, result.stdout[:200]
