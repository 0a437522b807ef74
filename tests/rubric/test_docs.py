"""docs/COURSEWORK.md lists exactly the tables and columns a check can query, names every bundled rubric,
and its rubric example is accepted as written."""
from __future__ import annotations

import re
from pathlib import Path

from reports import rubric as rb
from tests.conftest import SAMPLES

DOC = Path(__file__).resolve().parents[2] / "docs" / "COURSEWORK.md"


def test_the_schema_in_the_docs_is_the_one_checks_see():
    text = DOC.read_text(encoding="utf-8")
    block = re.search(r"<!-- schema:[^\n]*-->\n(.*?)<!-- /schema -->", text, re.S)
    assert block, "the generated schema block is missing"
    assert block.group(1) == rb.schema_markdown(), "regenerate it with reports.rubric.schema_markdown()"


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
