"""Every process ccprompt starts is isolated from the current directory.

People run `ccprompt run claude` inside repositories they just cloned. A `ccprompt/`
package planted there must never be imported: not by the proxy's supervisor or server,
not by the supervisor a server starts when its own died, not by the status line's
detached refresh, nor by `refresh`, `probe` or `watch`. Each command runs from a
directory holding such a package, whose import would create a marker file.

ccprompt itself is started the two ways users start it: the installed console script
and `python -P -m ccprompt` (the words `executable_words` writes for a source checkout).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import TEST_KEY, assert_no_secret
from harness.wait import wait_until

from ccprompt.core.paths import python_module
from ccprompt.sources.proxy import lifecycle, supervisor
from ccprompt.sources.proxy.upstream import Upstream

CONSOLE_SCRIPT = Path(sys.executable).parent / "ccprompt"
WAYS = {
    "console script": [str(CONSOLE_SCRIPT)],
    "python -P -m": python_module("ccprompt"),
    "python 3.10 bootstrap": python_module("ccprompt", version=(3, 10)),
}


@pytest.fixture
def planted(tmp_path):
    """A cloned repository holding a `ccprompt/` package; the marker appears if it is ever imported."""
    repo = tmp_path / "cloned-repo"
    marker = tmp_path / "PLANTED-CODE-RAN"
    for package in ("ccprompt", "ccprompt/sources", "ccprompt/sources/proxy"):
        (repo / package).mkdir(parents=True)
        (repo / package / "__init__.py").write_text(
            f"open({str(marker)!r}, 'a').write(__name__ + '\\n')\n")
    for module in ("__main__", "entry", "sources/proxy/supervisor", "sources/proxy/server"):
        (repo / "ccprompt" / f"{module}.py").write_text(f"open({str(marker)!r}, 'a').write(__name__ + '\\n')\n")
    return repo, marker


@pytest.fixture
def env(cc_env):
    yield cc_env
    home = Path(cc_env["CCPROMPT_HOME"])
    for path in home.glob("proxy-*.json") if home.is_dir() else ():
        try:
            os.killpg(json.loads(path.read_text())["pid"], signal.SIGKILL)
        except (OSError, ValueError, KeyError):
            pass


def ccprompt(way, *args, env, cwd, **options):
    return subprocess.run(WAYS[way] + [str(a) for a in args], env=env, cwd=str(cwd), capture_output=True,
                          text=True, timeout=options.pop("timeout", 60), **options)


def key_of(env) -> str:
    return Upstream(env["ANTHROPIC_BASE_URL"], ca_file=env["SSL_CERT_FILE"]).key()


@pytest.mark.parametrize("way", list(WAYS))
def test_no_spawned_process_imports_a_package_in_the_current_directory(way, planted, env, fake_api):
    repo, marker = planted
    home = env["CCPROMPT_HOME"]

    # run: the detached supervisor, and the server it starts.
    result = ccprompt(way, "run", "--", sys.executable, "-c", "import os; print(os.environ['ANTHROPIC_BASE_URL'])",
                      env=env, cwd=repo)
    assert result.returncode == 0 and result.stdout.startswith("http://127.0.0.1:"), result.stderr
    state = lifecycle.read_state(home, key_of(env))
    port = state["port"]
    server = wait_until(lambda: supervisor.check_health(port, home=home, timeout=2), 10, what="the server")

    # The server, orphaned by a kill -9 of its supervisor, starts a new supervisor on its socket.
    os.kill(state["pid"], signal.SIGKILL)
    adopted = wait_until(lambda: (s := lifecycle.read_state(home, key_of(env))) and s["pid"] != state["pid"] and s,
                         10, what="the new supervisor")
    wait_until(lambda: (h := supervisor.check_health(port, home=home, timeout=2)) and h["pid"] != server["pid"],
               10, what="its server")
    os.killpg(adopted["pid"], signal.SIGTERM)

    # proxy in the foreground: its server.
    proxy = subprocess.Popen(WAYS[way] + ["proxy"], env=env, cwd=str(repo), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        line = proxy.stdout.readline()
        assert line.startswith("ccprompt proxy: http://127.0.0.1:"), proxy.stderr.read() if proxy.poll() else line
        own_port = int(line.split()[2].rsplit(":", 1)[1])
        wait_until(lambda: supervisor.check_health(own_port, home=home, timeout=2), 10, what="the proxy's server")
    finally:
        proxy.send_signal(signal.SIGTERM)
        proxy.wait(10)

    # The status line with a probe due: its detached refresh.
    before = fake_api.request_count
    shown = ccprompt(way, "statusline", env=env, cwd=repo, input=json.dumps({"session_id": "planted"}))
    assert shown.returncode == 0 and shown.stdout.strip(), shown.stderr
    wait_until(lambda: fake_api.request_count > before, 15, what="the status line's spawned probe")

    for args in (["refresh", "--sync"], ["probe"], ["watch", "--once"]):
        done = ccprompt(way, *args, env=env, cwd=repo)
        assert done.returncode in (0, 1), (args, done.stderr)
    time.sleep(0.5)
    assert not marker.exists(), marker.read_text()
    assert_no_secret(Path(home))
    assert TEST_KEY not in result.stdout + result.stderr


def test_the_planted_package_would_run_under_plain_python_m(planted, env):
    """The test can fail: the same directory does run the planted code under plain `-m`."""
    repo, marker = planted
    subprocess.run([sys.executable, "-m", "ccprompt.sources.proxy.supervisor"], env=env, cwd=str(repo),
                   capture_output=True, timeout=30)
    assert marker.exists() and "ccprompt" in marker.read_text()
