"""``wiretale check --tables`` lists exactly the tables and columns a check can query; docs/COURSEWORK.md
names every bundled rubric, and its rubric example is accepted as written."""
from __future__ import annotations

import re
from pathlib import Path

from decoder import cli
from reports import rubric as rb
from tests.conftest import SAMPLES

DOC = Path(__file__).resolve().parents[2] / "docs" / "COURSEWORK.md"


def test_check_tables_lists_every_table_and_column(capsys):
    from reports.tables import names_for, schema

    assert cli.main(["check", "--tables"]) == 0
    lines = capsys.readouterr().out.splitlines()
    tables = [re.match(r"- \*\*(\w+)\*\*: ", ln).group(1) for ln in lines]
    # every table written even when empty, and those written only when they have rows (empty for a check)
    assert tables == sorted(set(names_for({})) | {"comments", "tcp_control"})
    for ln, table in zip(lines, tables):
        assert re.findall(r"`([^`]+)` [A-Z]", ln) == list(schema(table))


def test_check_without_a_rubric_is_a_usage_error(capsys):
    assert cli.main(["check", str(SAMPLES / "ftp.pcapng")]) == 2
    assert "needs a CAPTURE and --rubric" in capsys.readouterr().err


def test_every_bundled_rubric_is_named():
    text = DOC.read_text(encoding="utf-8")
    for p in sorted((SAMPLES / "rubrics").glob("*.toml")):
        assert f"`{p.stem}`" in text


def test_the_example_rubric_is_valid(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    example = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    p = tmp_path / "example.toml"
    p.write_text(example, encoding="utf-8")
    r = rb.load_rubric(p)
    assert [c.id for c in r.checks] == ["passive-retr", "login"] and r.max_points == 3
