"""The Python API (issue 23): analyze has a real signature and docstring, keeps files where the caller
says, and gives timezone-aware UTC datetimes in DataFrames while the rows keep epoch seconds."""
from __future__ import annotations

import inspect
import json
from datetime import timezone

import pandas as pd
import pytest

from tests.conftest import SAMPLES


def test_analyze_has_a_real_signature_and_docstring():
    from decoder import analyze

    sig = inspect.signature(analyze)
    params = list(sig.parameters.values())
    assert params[0].name == "paths" and params[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params[1:])
    assert {"out_dir", "limits", "keylogs", "strict"} <= set(sig.parameters)
    assert sig.parameters["out_dir"].default is None
    doc = inspect.getdoc(analyze)
    assert "out_dir" in doc and "temporary folder" in doc and "UTC" in doc
    with pytest.raises(TypeError):
        analyze(SAMPLES / "http.pcapng", None)          # everything after the paths is by keyword


def test_files_are_kept_in_out_dir(tmp_path):
    from decoder import analyze

    out = tmp_path / "mine"
    with analyze(SAMPLES / "http.pcapng", out_dir=out) as a:
        paths = list(a.tables["files"]["path"])
    assert paths and all((out / p).is_file() for p in paths)     # still there after close()


def test_without_out_dir_files_go_when_closed():
    from decoder import analyze

    a = analyze(SAMPLES / "http.pcapng")
    root = a.out_dir
    assert any((root / p).is_file() for p in a.tables["files"]["path"])
    a.close()
    assert not root.exists()


def test_times_are_utc_datetimes_in_frames_and_epoch_seconds_in_rows(tmp_path):
    from decoder import analyze
    from decoder import cli

    with analyze(SAMPLES / "http.pcapng", out_dir=tmp_path / "a") as a:
        conn, files = a.tables["conn"], a.tables["files"]
        assert isinstance(conn["ts"].dtype, pd.DatetimeTZDtype) and conn["ts"].dt.tz == timezone.utc
        assert isinstance(files["close_ts"].dtype, pd.DatetimeTZDtype)
        first = a.rows["conn"][0]
        assert isinstance(first["ts"], float)
        assert conn["ts"].iloc[0] == pd.Timestamp(first["ts"], unit="s", tz="UTC").round("us")
    # the written tables keep epoch seconds, like Zeek's logs
    assert cli.main(["read", str(SAMPLES / "http.pcapng"), "-o", str(tmp_path / "r"), "--no-html"]) == 0
    row = json.loads((tmp_path / "r" / "tables" / "conn.jsonl").read_text().splitlines()[0])
    assert row["ts"] == pytest.approx(first["ts"])
