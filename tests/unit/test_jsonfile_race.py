"""The compare-and-swap of a shared JSON file, with the other editor's moves placed exactly
in the windows between ccprompt's own system calls (real files, the real renameat2)."""

from __future__ import annotations

import json
import os

import pytest

from ccprompt.surfaces import jsonfile
from ccprompt.surfaces.jsondiff import GONE, changes, make_again


def _write_over(path, change) -> None:
    """The other editor: read, change, write a new file, rename it over `path`."""
    data = json.loads(open(path).read())
    change(data)
    temp = f"{path}.other"
    with open(temp, "w") as handle:
        json.dump(data, handle)
    os.replace(temp, path)


def _interleave(monkeypatch, moves):
    """Run `moves[n]()` just before ccprompt's n-th exchange."""
    real = jsonfile._exchange
    calls = []

    def exchange(first, second):
        if len(calls) < len(moves) and moves[len(calls)]:
            moves[len(calls)]()
        calls.append(first)
        return real(first, second)

    monkeypatch.setattr(jsonfile, "_exchange", exchange)
    return calls


@pytest.fixture
def settings(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"model": "opus"}))
    if not jsonfile._exchange(str(path), str(path)):
        pytest.skip("no RENAME_EXCHANGE on this filesystem")
    return path


def _install(settings):
    line = {"type": "command", "command": "ccprompt statusline"}
    if settings.get("statusLine") == line:
        return False
    settings["statusLine"] = line
    return True


def test_a_write_between_the_check_and_the_swap_is_given_back_and_kept(settings, monkeypatch):
    path = str(settings)
    calls = _interleave(monkeypatch, [lambda: _write_over(path, lambda d: d.update(w1=1))])
    jsonfile.edit(path, _install)
    final = json.loads(settings.read_text())
    assert final["w1"] == 1 and "ccprompt" in final["statusLine"]["command"] and final["model"] == "opus"
    assert len(calls) >= 3  # the swap, the swap back, the swap of the edit made again
    assert sorted(p.name for p in settings.parent.iterdir()) == sorted(
        ["settings.json"] + [p.name for p in settings.parent.glob("settings.json.ccprompt-*.bak")])


def test_a_write_on_top_of_ours_while_it_was_on_show_is_made_again_not_dropped(settings, monkeypatch):
    """The window that lost writes under load: someone writes between the check and the swap
    (w1), and another edit lands on top of ccprompt's stale file before the swap back (w2,
    and the removal of `model`). Every one of them is in the final file, and ccprompt's too."""
    path = str(settings)
    seen_on_show = []

    def on_top_of_ours():
        seen_on_show.append(json.loads(open(path).read()))
        _write_over(path, lambda d: (d.update(w2=2), d.pop("model")))

    _interleave(monkeypatch, [lambda: _write_over(path, lambda d: d.update(w1=1)), on_top_of_ours])
    jsonfile.edit(path, _install)
    assert "w1" not in seen_on_show[0] and "statusLine" in seen_on_show[0]  # the stale file was on show
    final = json.loads(settings.read_text())
    assert final["w1"] == 1 and final["w2"] == 2 and "model" not in final, final
    assert "ccprompt" in final["statusLine"]["command"]
    assert not list(settings.parent.glob(".settings.json.ccprompt-*.tmp"))


def test_changes_and_made_again_on_newer_content():
    old = {"a": 1, "keep": {"x": 1, "y": [1]}, "gone": True}
    new = {"a": 2, "keep": {"x": 1, "y": [2], "z": None}, "added": "s"}
    found = changes(old, new)
    assert sorted((p, v) for p, v in found if v is not GONE) == [(("a",), 2), (("added",), "s"),
                                                                  (("keep", "y"), [2]), (("keep", "z"), None)]
    assert [p for p, v in found if v is GONE] == [("gone",)]
    newer = {"a": 1, "keep": {"x": 5, "y": [1]}, "gone": True, "theirs": 1}
    assert make_again(newer, found)
    assert newer == {"a": 2, "keep": {"x": 5, "y": [2], "z": None}, "added": "s", "theirs": 1}
    assert not make_again(newer, found)  # made already: nothing to change
