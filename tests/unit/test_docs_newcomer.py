"""The README and docs a newcomer reads: the test command in its own section, a repository URL the
reader can see is a placeholder, the license, a troubleshooting page, install.md consistent on
completions, and a picture that says what it is and shows every state."""

from __future__ import annotations

import re
from pathlib import Path

from ccprompt.cli import table

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def section(text: str, heading: str) -> str:
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_test_command_has_its_own_section_not_inside_install():
    assert "**Run the whole test suite**" not in section(README, "Install")
    assert "**Run the whole test suite**" in section(README, "Run the tests")
    assert "pytest" not in section(README, "Install")


def test_the_repository_url_is_a_visible_placeholder_with_where_to_put_it():
    install = section(README, "Install")
    assert "git clone <REPOSITORY-URL> ccprompt" in install
    assert "`<REPOSITORY-URL>` is a placeholder: put the URL of the repository" in install
    guide = (ROOT / "docs" / "install.md").read_text()
    assert "<repository URL>" not in guide and "git+<REPOSITORY-URL>" in guide
    assert "`<REPOSITORY-URL>` below is a placeholder" in guide


def test_the_license_file_matches_pyproject_and_the_readme_names_it():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n") and "Copyright (c) 2026 the ccprompt authors" in text
    assert 'license = { text = "MIT" }' in (ROOT / "pyproject.toml").read_text()
    assert "MIT: see [LICENSE](LICENSE)." in section(README, "License")


def test_the_troubleshooting_page_answers_each_question_with_commands_that_exist():
    page = (ROOT / "docs" / "troubleshooting.md").read_text()
    for heading in ("The line always says `⚪ probing…`", "The line is always 🟡",
                    "The line is red, but Claude Code works", "Without an API key: what you can see",
                    "The proxy will not start"):
        assert f"\n## {heading}\n" in page, heading
    assert "docs/troubleshooting.md" in README
    known = {command.name for command in table.COMMANDS}
    named = set(re.findall(r"`ccprompt ([a-z]+(?: [a-z]+)?)", page))
    for words in named:
        assert words in known or words.split()[0] in known, words  # no advice to run what does not exist


def test_install_md_does_not_promise_completions_for_every_method():
    guide = (ROOT / "docs" / "install.md").read_text()
    opening = guide.split("\n\n", 2)[1]
    assert "completions" not in opening.split("Completions differ")[0]
    assert "Completions differ: install.sh" in opening
    assert "Completions, with pipx or uv (install.sh wrote them already):" in guide


def test_the_picture_says_what_it_is_and_shows_each_state():
    caption = README.split("](docs/statusline.svg)", 1)[1].split("\n\n", 2)[1]
    assert "local fake API on 127.0.0.1" in caption and "Captured from real runs" not in caption
    assert "ccprompt statusline --preview" in caption
    svg = (ROOT / "docs" / "statusline.svg").read_text()
    text = re.sub(r"&#160;|\s+", " ", re.sub(r"<[^>]+>", "", svg)).replace("&#8203;", "")
    for state in ("🟢", "🟡", "529 overloaded", "DNS: no such host", "Claude Code is retrying", "⏳ 45s",
                  "network ok", "answering (seen in session)"):
        assert state in text, state
    assert "webapp" in text and "feature/login" in text
    assert not re.search(r"\| (\S+) \| ⎇ \1 \|", text)  # never `main | ⎇ main`
