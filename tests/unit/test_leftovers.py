"""What `uninstall all --purge` would remove of the state directory: only one named for ccprompt."""

from __future__ import annotations

from ccprompt.core.paths import Paths
from ccprompt.surfaces import leftovers


def _survey(tmp_path, state):
    home = tmp_path / "home"
    state.mkdir(parents=True, exist_ok=True)
    (state / "state.json").write_text("{}")
    return leftovers.survey((), Paths({"HOME": str(home), "CCPROMPT_HOME": str(state)}))


def test_a_state_directory_named_for_ccprompt_is_ccpromptss_own(tmp_path):
    for state in (tmp_path / "home" / ".claude" / "ccprompt", tmp_path / "state" / "CCprompt-work"):
        found = _survey(tmp_path, state)
        assert str(state) in [path for path, _ in found["ours"]], found


def test_a_shared_directory_set_as_ccprompt_home_is_listed_never_purged(tmp_path):
    for state in (tmp_path / "home" / ".local" / "state", tmp_path / "home"):
        (state / "other-tool.db").parent.mkdir(parents=True, exist_ok=True)
        (state / "other-tool.db").write_text("not ccprompt's")
        found = _survey(tmp_path, state)
        assert str(state) not in [path for path, _ in found["ours"]], found
        assert str(state) in [path for path, _ in found["kept"]], found
        leftovers.purge(found)
        assert (state / "other-tool.db").read_text() == "not ccprompt's"
