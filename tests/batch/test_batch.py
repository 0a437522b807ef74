"""``wiretale batch``: finding captures, per-capture folders, combined Parquet, summary.csv, the index,
failures that do not stop the batch, exit codes; acceptance 1 over the shared captures."""
from __future__ import annotations

import csv
import gzip
import json
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from decoder import cli
from decoder.batch import capture_names, combine_tables, discover, unify_types
from tests.conftest import SAMPLES, SHARED, shared_captures

SAMPLE_FILES = sorted(SAMPLES.glob("*.pcap")) + sorted(SAMPLES.glob("*.pcapng"))


def _csv(p: Path) -> list[dict]:
    with open(p, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _conn_lines(out: Path) -> int:
    return sum(1 for line in (out / "tables" / "conn.jsonl").read_text(encoding="utf-8").split("\n") if line)


# ----------------------------------------------------------------------------- finding captures
def test_discover_files_folders_globs(tmp_path):
    src = SAMPLES / "http.pcapng"
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for rel in ("a.pcap", "sub/b.pcapng", "sub/deeper/c.cap", "sub/d.PCAP", ".hidden/e.pcap", "sub/.f.pcap"):
        shutil.copy(src, tmp_path / rel)
    (tmp_path / "sub" / "g.pcap.gz").write_bytes(gzip.compress(src.read_bytes()))
    (tmp_path / "notes.txt").write_text("not a capture")
    (tmp_path / "odd.bin").write_bytes(src.read_bytes())
    found, missing = discover([str(tmp_path)])
    rel = sorted(str(Path(p).relative_to(tmp_path)) for p in found)
    assert rel == ["a.pcap", "sub/b.pcapng", "sub/d.PCAP", "sub/deeper/c.cap", "sub/g.pcap.gz"]
    assert not missing
    found, missing = discover([str(tmp_path / "sub" / "*.pcap*"), str(tmp_path / "odd.bin"),
                               str(tmp_path / "a.pcap"), str(tmp_path / "a.pcap"), str(tmp_path / "nope.pcap"),
                               str(tmp_path / "zz*.pcap")])
    rel = [str(Path(p).relative_to(tmp_path)) for p in found]
    assert rel == ["sub/b.pcapng", "sub/g.pcap.gz", "odd.bin", "a.pcap"]   # explicit files whatever their name
    assert [m[0] for m in missing] == [str(tmp_path / "nope.pcap"), str(tmp_path / "zz*.pcap")]
    found, _ = discover([str(tmp_path / "**" / "*.cap")])
    assert [Path(p).name for p in found] == ["c.cap"]


def test_capture_names_are_unique_and_safe():
    names = capture_names(["/x/lab1/a.pcap", "/x/lab2/a.pcap", "/x/lab2/../lab2/b c.pcap", "/x/lab1/A.pcap",
                           "/x/lab1/<script>.pcap"])
    assert len({n.lower() for n in names}) == 5
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", n) for n in names)
    assert names[0].endswith("lab1__a.pcap") and names[1] == "lab2__a.pcap"
    assert capture_names(["/a/one.pcap", "/b/two.pcap"]) == ["one.pcap", "two.pcap"]


def test_unify_types():
    assert unify_types([pa.int64(), pa.int32()]) == pa.int64()
    assert unify_types([pa.int64(), pa.float64(), pa.null()]) == pa.float64()
    assert unify_types([pa.null(), pa.null()]) == pa.string()
    assert unify_types([pa.list_(pa.null()), pa.list_(pa.string())]) == pa.list_(pa.string())
    assert unify_types([pa.list_(pa.null())]) == pa.list_(pa.string())
    assert unify_types([pa.string(), pa.list_(pa.string())]) == pa.string()
    assert unify_types([pa.bool_(), pa.int64()]) == pa.string()


def test_combine_conflicting_schemas(tmp_path):
    """Columns typed differently by different captures still make one table pandas and DuckDB read."""
    pytest.importorskip("duckdb")
    import duckdb
    import pandas as pd

    caps = {"one": {"x": pa.array([1, 2]), "tags": pa.array([["a"], []]), "note": pa.array([None, None]),
                    "mixed": pa.array(['{"k": 1}', None])},
            "two": {"x": pa.array([2.5]), "tags": pa.array([[]], type=pa.list_(pa.null())),
                    "note": pa.array(["hi"]), "mixed": pa.array([[1, 2]]), "extra": pa.array([True])}}
    results = []
    for name, cols in caps.items():
        d = tmp_path / "captures" / name / "tables"
        d.mkdir(parents=True)
        pq.write_table(pa.table(cols), d / "t.parquet")
        results.append({"name": name, "out": f"captures/{name}", "tables": ["t"]})
    results.append({"name": "failed", "out": "captures/failed", "tables": []})
    assert combine_tables(results, tmp_path) == {"t": 3}
    df = pd.read_parquet(tmp_path / "tables" / "t.parquet")
    assert list(df.columns) == ["capture", "x", "tags", "note", "mixed", "extra"]
    assert df["capture"].tolist() == ["one", "one", "two"]
    assert df["x"].tolist() == [1.0, 2.0, 2.5]
    assert [list(v) for v in df["tags"]] == [["a"], [], []]
    assert pq.read_table(tmp_path / "tables" / "t.parquet").column("mixed").to_pylist() == ['{"k": 1}', None,
                                                                                           "[1, 2]"]
    con = duckdb.connect()
    rows = con.execute(f"SELECT capture, count(*) FROM read_parquet('{tmp_path / 'tables' / 't.parquet'}') "
                       "GROUP BY 1 ORDER BY 1").fetchall()
    assert rows == [("one", 2), ("two", 1)]


# ----------------------------------------------------------------------------- whole batches
def test_batch_samples_with_failures(tmp_path):
    """Samples (with HTML reports), a file that is not a capture and a missing path, on two processes."""
    bad = tmp_path / "in" / "garbage.pcap"
    bad.parent.mkdir()
    bad.write_bytes(b"\x00" * 100)
    hostile = tmp_path / "in" / 'x<b>"&.pcap'
    shutil.copy(SAMPLES / "smtp.pcapng", hostile)
    out = tmp_path / "out"
    code = cli.main(["batch", *map(str, SAMPLE_FILES), str(bad), str(hostile), str(tmp_path / "missing.pcap"),
                     "-o", str(out), "--workers", "2"])
    assert code == 0
    rows = _csv(out / "summary.csv")
    assert len(rows) == len(SAMPLE_FILES) + 3
    by_name = {r["capture"]: r for r in rows}
    failed = {r["capture"] for r in rows if r["status"] == "error"}
    assert failed == {"garbage.pcap", "missing.pcap"}
    assert all(by_name[n]["error"] for n in failed)
    html = (out / "index.html").read_text(encoding="utf-8")
    assert 'x<b>' not in html and "x&lt;b&gt;&#34;&amp;.pcap" in html     # captured names are escaped
    assert "http://" not in html and "https://" not in html
    for r in rows:
        assert r["capture"] in html
        if r["status"] == "ok":
            assert r["report"] and (out / r["report"]).exists()
            assert f'href="{r["report"]}"' in html
            # the capture's own folder is a complete `wiretale read` output
            cap = out / "captures" / r["capture"]
            assert (cap / "summary.json").exists() and (cap / "tables" / "conn.parquet").exists()
            n = pq.read_table(cap / "tables" / "conn.parquet").num_rows
            assert int(r["flows"]) == n
    import pandas as pd

    conn = pd.read_parquet(out / "tables" / "conn.parquet")
    assert conn.columns[0] == "capture"
    counts = conn.groupby("capture").size().to_dict()
    for r in rows:
        if r["status"] == "ok":
            assert counts.get(r["capture"], 0) == int(r["flows"])
    creds = pd.read_parquet(out / "tables" / "credentials.parquet")
    assert set(creds["capture"]) <= {r["capture"] for r in rows}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["totals"]["failed"] == 2 and summary["totals"]["read"] == len(SAMPLE_FILES) + 1


def test_every_capture_failed_exits_1(tmp_path, capsys):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"nope")
    assert cli.main(["batch", str(bad), str(tmp_path / "gone.pcap"), "-o", str(tmp_path / "out"),
                     "--workers", "1"]) == 1
    rows = _csv(tmp_path / "out" / "summary.csv")
    assert [r["status"] for r in rows] == ["error", "error"]
    assert "bad.pcap" in capsys.readouterr().err
    assert (tmp_path / "out" / "index.html").exists()


def test_nothing_found_is_a_usage_error(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli.main(["batch", str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 2
    assert "no capture files" in capsys.readouterr().err


def test_no_html_skips_capture_reports_not_index(tmp_path):
    out = tmp_path / "out"
    assert cli.main(["batch", str(SAMPLES / "ftp.pcapng"), str(SAMPLES / "tftp.pcapng"), "-o", str(out),
                     "--no-html", "--workers", "1"]) == 0
    assert (out / "index.html").exists()
    assert not list((out / "captures").glob("*/index.html"))
    assert 'href="captures/ftp.pcapng/summary.json"' in (out / "index.html").read_text()


# ----------------------------------------------------------------------------- acceptance 1
@pytest.mark.skipif(not shared_captures(), reason="../shared/captures is absent")
def test_batch_over_shared_captures(tmp_path):
    """The index lists every shared capture; each capture's connection count equals a single
    ``wiretale read``; the combined Parquet tables load with pandas and DuckDB."""
    duckdb = pytest.importorskip("duckdb")
    import pandas as pd

    out = tmp_path / "batch"
    assert cli.main(["batch", str(SHARED), "-o", str(out), "--no-html", "--workers", "2"]) == 0
    files, _ = discover([str(SHARED)])
    names = capture_names(files)
    rows = {r["capture"]: r for r in _csv(out / "summary.csv")}
    assert set(rows) == set(names) and len(names) >= len(shared_captures())
    html = (out / "index.html").read_text(encoding="utf-8")
    assert html.count('<tr class="ok">') + html.count('<tr class="failed">') == len(names)
    assert all(n in html for n in names)
    conn = pd.read_parquet(out / "tables" / "conn.parquet")
    by_capture = conn.groupby("capture").size().to_dict()
    con = duckdb.connect()
    duck = dict(con.execute(f"SELECT capture, count(*) FROM read_parquet('{out / 'tables' / 'conn.parquet'}') "
                            "GROUP BY capture").fetchall())
    for path, name in zip(files, names):
        single = tmp_path / "single" / name
        cli.main(["read", path, "-o", str(single), "--no-html"])
        n = _conn_lines(single)
        assert rows[name]["status"] == "ok", rows[name]["error"]
        assert int(rows[name]["flows"]) == n, name
        assert by_capture.get(name, 0) == n == duck.get(name, 0), name
    for t in sorted((out / "tables").glob("*.parquet")):
        df = pd.read_parquet(t)
        assert df.columns[0] == "capture"
        got = con.execute(f"SELECT count(*) FROM read_parquet('{t}')").fetchone()[0]
        assert got == len(df), t.name
