"""docs/TABLES.md is generated from the Records (reports/tabledoc.py) and must be current; the core
tables' columns come from their Records in decoder/model.py, every column documented."""
from __future__ import annotations

import dataclasses

from decoder.model import CORE_RECORDS
from reports import tabledoc
from reports.tables import CORE, LEAD, schema


def test_table_reference_is_current() -> None:
    assert tabledoc.DOC.read_text(encoding="utf-8") == tabledoc.render(), \
        "docs/TABLES.md is stale: run python -m reports.tabledoc"
    assert tabledoc.main(["--check"]) == 0


def test_core_schema_comes_from_the_records() -> None:
    assert [cls.TABLE for cls in CORE_RECORDS] == list(CORE)
    conn = schema("conn")
    assert conn[:len(LEAD)] == LEAD and conn[len(LEAD):len(LEAD) + 2] == ("proto", "service")
    assert "from" in schema("emails") and "from_" not in schema("emails")
    for cls in CORE_RECORDS:
        undocumented = [f.name for f in dataclasses.fields(cls) if f.name != "ts" and not f.metadata.get("doc")]
        assert undocumented == [], f"{cls.TABLE}: columns without a meaning: {undocumented}"


def test_every_written_table_is_in_the_reference() -> None:
    text = tabledoc.render()
    for name in tabledoc.schema_types():
        assert f"### `{name}`" in text
    assert "| `conn_state` | VARCHAR |" in text and "`is_attachment`" in text
