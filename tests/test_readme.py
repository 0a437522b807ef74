"""The README's two commands stay true: CI runs the README's test command, the install command names a sample that exists."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", text, flags=re.S)[:2]


def test_ci_runs_the_readme_test_commands():
    _, test = _commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert [line for line in test.splitlines() if line.strip()] == ["pip install -e '.[test]'", "python -m pytest -q"]
    for line in test.splitlines():
        assert line in ci


def test_the_first_command_installs_only_what_running_needs():
    install, _ = _commands()
    assert "pip install -e . " in install and "[test]" not in install


def test_readme_links_only_to_files_of_the_project():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#]+)\)", text)
    assert links
    for link in links:
        if not link.startswith(("http://", "https://")):
            assert not link.startswith(".."), link
            assert (ROOT / link).exists(), link


def test_install_command_runs_on_a_bundled_sample():
    install, _ = _commands()
    sample = re.search(r"wiretale read (\S+)", install).group(1)
    assert (ROOT / sample).is_file()
