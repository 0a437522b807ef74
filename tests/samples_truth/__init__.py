"""Ground-truth tests: wiretale's output on the recorded samples against the facts
``samples/record.py`` wrote into ``samples/expected/<capture>.json``.

Every expected value comes from the JSON (what the script served, sent, typed or
set), from the script's own deterministic generators, or from an independent
oracle (tshark, Python's ``email`` parser on bytes whose sha256 the script
recorded) — never from wiretale's output.
"""
from __future__ import annotations

import functools
import hashlib
import json
import tempfile
from pathlib import Path

import pytest

from tests.conftest import SAMPLES


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.lru_cache(maxsize=None)
def _load(name: str, transcripts: bool):
    from decoder.api import analyze

    cap = SAMPLES / name
    facts = json.loads((SAMPLES / "expected" / (cap.stem + ".json")).read_text())
    # the facts describe this exact capture
    assert sha256(cap.read_bytes()) == facts["capture_sha256"]
    out = tempfile.mkdtemp(prefix=f"wt-truth-{cap.stem}-")
    return analyze(cap, out_dir=out, strict=True, transcripts=transcripts), facts


def load(name: str, transcripts: bool = False):
    """``(analysis, facts)`` for ``samples/<name>`` (analysed once per test run)."""
    if not (SAMPLES / name).is_file():
        pytest.skip(f"samples/{name} is absent")
    pytest.importorskip("decoder.pipeline")
    return _load(name, transcripts)


def file_bytes(analysis, row: dict) -> bytes:
    """The bytes wiretale extracted for a ``files`` row."""
    return (Path(analysis.out_dir) / row["path"]).read_bytes()


def sessions(analysis, service: str, resp_p: int | set[int] | None = None) -> list[str]:
    """uids of the ``service`` connections (optionally to ``resp_p``), in start order."""
    ports = {resp_p} if isinstance(resp_p, int) else resp_p
    rows = [r for r in analysis.rows["conn"] if r["service"] == service
            and (ports is None or r["resp_p"] in ports)]
    return [r["uid"] for r in sorted(rows, key=lambda r: r["ts"])]


def rows_of(analysis, table: str, uid: str) -> list[dict]:
    """Rows of ``table`` for one connection, in time order."""
    return sorted((r for r in analysis.rows.get(table, []) if r["uid"] == uid), key=lambda r: r["ts"])


def by_fuid(analysis, table: str = "files") -> dict[str, dict]:
    return {r["fuid"]: r for r in analysis.rows.get(table, [])}
