"""Golden tables: every capture in samples/ through the whole pipeline, every table compared
to tests/golden/<sample>/<table>.jsonl. ``pytest --update-golden`` rewrites them (review the diff!).

The golden files are wiretale's own output, so they guard against *unintended change*; whether the
output is *right* is checked elsewhere against independent facts (samples/expected/*.json written by
the recording script, and tshark on the shared captures).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import SAMPLES

GOLDEN = Path(__file__).resolve().parent
CAPTURES = sorted(SAMPLES.glob("*.pcap*"))


def _lines(rows) -> list[str]:
    from reports.export import _jsonable

    return [json.dumps(_jsonable(r), sort_keys=True, ensure_ascii=False) for r in rows]


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_golden_tables(capture, update_golden):
    from decoder.api import analyze

    folder = GOLDEN / capture.name
    with analyze(capture, strict=True) as a:
        tables = {name: _lines(rows) for name, rows in a.rows.items() if rows}
    if update_golden:
        folder.mkdir(exist_ok=True)
        for old in folder.glob("*.jsonl"):
            old.unlink()
        for name, lines in tables.items():
            (folder / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
        return
    assert folder.is_dir(), f"no golden tables for {capture.name}: run pytest --update-golden and review them"
    expected = {p.stem: p.read_text(encoding="utf-8").splitlines() for p in folder.glob("*.jsonl")}
    assert sorted(tables) == sorted(expected), "the set of non-empty tables changed"
    for name, lines in tables.items():
        assert lines == expected[name], f"table {name} of {capture.name} changed"
