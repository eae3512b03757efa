"""The README's commands are the ones CI runs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _code_lines(text: str) -> list:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    test_command = readme.split("**Run the whole test suite**", 1)[1].split("```sh", 1)[1].split("```", 1)[0].strip()
    assert "pytest" in test_command
    assert test_command in _code_lines((ROOT / ".ci" / "run").read_text())


def test_readme_install_command_is_the_installer():
    readme = (ROOT / "README.md").read_text()
    install = readme.split("**Install and run the first probe**", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    assert install.strip() == "./install.sh"
    assert (ROOT / "install.sh").stat().st_mode & 0o111


def _tools_the_tests_need() -> set:
    """Every program a test looks up with shutil.which (ccprompt itself and the Python tools aside).

    The benchmarks are run by hand, not by the suite: one of them needs valgrind, which CI need not install.
    """
    import re

    found = set()
    for path in (ROOT / "tests").rglob("*.py"):
        if "bench" in path.relative_to(ROOT / "tests").parts:
            continue
        found |= set(re.findall(r'shutil\.which\("([a-z_]+)"', path.read_text()))
    return found - {"ccprompt", "ruff", "pipx", "uv", "git", "curl", "dash", "node", "npm"}


def test_the_readme_and_ci_name_every_tool_the_tests_drive():
    readme = (ROOT / "README.md").read_text()
    prerequisites = readme.split("**Run the whole test suite**", 1)[1].split("## ", 1)[0].lower()
    ci = (ROOT / ".ci" / "run").read_text()
    for tool in sorted(_tools_the_tests_need()):
        named = tool.replace("fish_indent", "fish")  # fish_indent comes with fish
        assert named in prerequisites, f"the README's test prerequisites leave out {tool}"
        assert named in ci, f".ci/run does not install {tool}"
