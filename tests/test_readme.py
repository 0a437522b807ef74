"""The README's two commands stay true: CI runs the README's test command, the install command names a sample that exists."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", text, flags=re.S)[:2]


def test_ci_runs_the_readme_test_command():
    install, test = _commands()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test.strip() in ci.splitlines()
    assert "pip install -e '.[test]'" in install and "pip install -q -e '.[test]'" in ci


def test_install_command_runs_on_a_bundled_sample():
    install, _ = _commands()
    sample = re.search(r"wiretale read (\S+)", install).group(1)
    assert (ROOT / sample).is_file()
