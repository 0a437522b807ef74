"""The engine's row tables: one in-memory budget for all tables, nothing lost when spilling,
and the garbage-collector settings a run uses (restored afterwards)."""
from __future__ import annotations

import gc
import json
import random

import pytest

from decoder.gcpolicy import YOUNG_THRESHOLD, bulk
from decoder.pipeline import ROW_KEYS, Engine, Results


def _conn(i: int, ts: float) -> dict:
    return {"ts": ts, "first_frame": i, "uid": f"C{i}", "n": i}


def test_budget_holds_for_all_tables_together(tmp_path):
    res = Results(spill_dir=tmp_path / "spill", mem_rows=300)
    rng = random.Random(7)
    want: dict[str, list[dict]] = {"conn": [], "timeline": [], "dns": [], "tiny": []}
    peak = 0
    for i in range(6000):
        name = rng.choice(("conn", "timeline", "timeline", "dns"))
        row = _conn(i, rng.random() * 100) if name == "conn" else {"ts": float(i), "i": i}
        res.add(name, row)
        want[name].append(row)
        if i % 1000 == 0:
            res.add("tiny", {"ts": float(i), "i": i})
            want["tiny"].append({"ts": float(i), "i": i})
        peak = max(peak, sum(st.held for st in res.tables.values()))
    # the budget is checked every 256 rows: never more than the budget plus one check's worth
    assert peak <= 300 + 256
    assert any(st._spills for st in res.tables.values())
    # every row comes back; conn in its key order, the others in the order they were added
    assert list(res.tables["conn"]) == sorted(want["conn"], key=ROW_KEYS["conn"])
    for name in ("timeline", "dns", "tiny"):
        assert list(res.tables[name]) == want[name]
        assert len(res.tables[name]) == len(want[name])
    res.cleanup()


def test_small_tables_are_not_spilled_one_row_at_a_time(tmp_path):
    res = Results(spill_dir=tmp_path / "spill", mem_rows=100)
    for i in range(2000):
        res.add("big", {"ts": float(i)})
        if i % 100 == 0:
            res.add("small", {"ts": float(i)})
    assert res.tables["big"]._spills
    assert not res.tables["small"]._spills        # 20 rows: under the minimum worth a spill file
    assert len(res.tables["small"]) == 20
    res.cleanup()


def test_no_spill_folder_keeps_everything_in_memory():
    res = Results(spill_dir=None, mem_rows=10)
    for i in range(1000):
        res.add("t", {"ts": float(i)})
    assert res.tables["t"].held == 1000
    assert len(list(res.tables["t"])) == 1000


def test_engine_row_budget_comes_from_limits(tmp_path):
    from decoder.model import Limits

    e = Engine(limits=Limits(rows_in_memory=123), out_dir=tmp_path)
    assert e.results.mem_rows == 123


def test_bulk_gc_settings_are_restored():
    before = gc.get_threshold()
    with bulk():
        assert gc.get_threshold()[0] == max(YOUNG_THRESHOLD, before[0])
        assert gc.get_threshold()[1:] == before[1:]
        with bulk():                       # nested: leaves the outer settings alone
            assert gc.get_threshold()[0] == max(YOUNG_THRESHOLD, before[0])
        assert gc.get_threshold()[0] == max(YOUNG_THRESHOLD, before[0])
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_bulk_gc_still_collects_cycles():
    import weakref

    class Node:
        pass

    with bulk():
        a, b = Node(), Node()
        a.other, b.other = b, a
        ref = weakref.ref(a)
        del a, b
        gc.collect()
        assert ref() is None


def test_bulk_leaves_a_disabled_collector_alone():
    gc.disable()
    try:
        with bulk():
            assert not gc.isenabled()
            assert gc.get_freeze_count() == 0
    finally:
        gc.enable()


def test_patch_and_replace_twice_over_spilled_rows(tmp_path):
    """Two joins over the same spilled table (FTP's and TFTP's assemble both patch conn): the second one
    writes new spill files while it reads those the first one made, so their names must not meet."""
    from decoder.rows import RowStore

    st = RowStore("conn", tmp_path, mem_rows=10, key=lambda r: r["i"])
    for i in range(100):
        st.append({"i": i, "v": 0})
    st.patch_by("i", {i: {"v": 1} for i in range(100)})
    st.patch_by("i", {i: {"v": 2} for i in range(0, 100, 2)})
    assert [(r["i"], r["v"]) for r in st] == [(i, 2 if i % 2 == 0 else 1) for i in range(100)]
    st.replace(({**r, "w": r["i"] * 2} for r in st), mem_rows=7)
    st.replace(r for r in st if r["i"] % 3)
    rows = list(st)
    assert [r["i"] for r in rows] == [i for i in range(100) if i % 3] and len(st) == len(rows)
    assert all(r["w"] == 2 * r["i"] for r in rows) and st.mem_rows == 7
    assert len(list(tmp_path.iterdir())) == len(st._spills)      # the old spill files are gone


def test_sorted_spills_are_merged_and_unsorted_ones_concatenated(tmp_path):
    """A sorted store merges its spill files at iteration (one chunk each in memory), so they are merged in
    levels of 16; an unsorted store reads them one after the other, so they are only concatenated (256 at a
    time, byte for byte), which bounds their number without reading a row."""
    from decoder.rows import _CONCAT, _FANIN, RowStore

    keyed = RowStore("k", tmp_path / "k", mem_rows=10, key=lambda r: r["i"])
    plain = RowStore("p", tmp_path / "p", mem_rows=10)
    n = 10 * _FANIN * 3 + 5
    for i in range(n):
        keyed.append({"i": (i * 7919) % n})
        plain.append({"i": i})
    assert len(keyed._spills) < _FANIN and [r["i"] for r in keyed] == list(range(n))
    assert len(plain._spills) == n // 10 and [r["i"] for r in plain] == list(range(n))
    assert len(list((tmp_path / "k").iterdir())) == len(keyed._spills)
    many = RowStore("m", tmp_path / "m", mem_rows=3)
    m = 3 * (_CONCAT * 2 + 7) + 1
    for i in range(m):
        many.append({"i": i, "s": "x" * (i % 50)})
    assert len(many._spills) == 2 + 7 and many._levels[:2] == [1, 1]
    assert [r["i"] for r in many] == list(range(m)) and len(many) == m
    assert len(list((tmp_path / "m").iterdir())) == len(many._spills)


def test_an_encoded_store_spills_its_rows_final_lines(tmp_path):
    """Rows written once: a store given the JSON-lines encoder spills the rows' lines themselves (no
    pickle), concatenates them like any unsorted store, and hands the writer the same bytes the writer
    makes from the rows; iterating it reads the lines back (JSON values: tuples become lists)."""
    import json

    from decoder.rows import _CONCAT, RowStore
    from reports.export import JsonlEncoder, write_row_tables

    cols = ("ts", "uid", "kind", "fields")
    enc = JsonlEncoder(cols)
    rows = [{"ts": i / 3, "uid": f"C{i}", "kind": "é" * (i % 3), "fields": {"t": (i, "x"), "n": None},
             **({"extra": i} if i % 7 == 0 else {})} for i in range(3 * (_CONCAT + 5))]
    rows[5]["ts"] = float("inf")           # json.dumps' Infinity, read back by json
    rows[6]["kind"] = "\ud800"             # a lone surrogate: written with \u escapes
    store = RowStore("timeline", tmp_path / "spill", mem_rows=3, encoder=enc)
    plain = RowStore("timeline", tmp_path / "plain", mem_rows=3)
    for r in rows:
        store.append(r)
        plain.append(r)
    assert store._spills and all(p.suffix == ".jsonl" for p in store._spills)
    assert len(store._spills) < len(rows) // 3          # concatenated in levels, as pickled ones are
    want = b"".join(enc(rows))
    assert b"".join(store.encoded()) == want
    back = list(store)
    assert len(back) == len(rows) == len(store)
    assert [json.dumps(r, sort_keys=True) for r in back] == \
        [json.dumps(json.loads(line), sort_keys=True) for line in want.splitlines()]
    # the table file: the store's lines, byte for byte what the writer makes of the same rows
    write_row_tables({"timeline": store}, tmp_path / "a", only=["timeline"])
    write_row_tables({"timeline": plain}, tmp_path / "b", only=["timeline"])
    assert (tmp_path / "a" / "timeline.jsonl").read_bytes() == (tmp_path / "b" / "timeline.jsonl").read_bytes()
    # a store without one has no encoded rows
    with pytest.raises(ValueError):
        next(plain.encoded())
    with pytest.raises(ValueError):
        next(store.encoded_pairs())


def test_a_sorted_encoded_store_merges_key_and_line_pairs(tmp_path):
    """A sorted store with the encoder (a split run's worker) spills (key, line) pairs, merges them in levels
    by key, and gives the lines in the order its rows would come in: equal keys keep their order."""
    from decoder.rows import _FANIN, RowStore
    from reports.export import JsonlEncoder

    enc = JsonlEncoder(("ts", "uid", "n"))
    key = lambda r: (r["ts"], r["uid"])          # noqa: E731
    rows = [{"ts": float((i * 7919) % 97), "uid": f"C{i % 3}", "n": i, "t": (i,)} for i in range(10 * _FANIN * 2 + 7)]
    store = RowStore("t", tmp_path / "e", mem_rows=10, key=key, encoder=enc)
    plain = RowStore("t", tmp_path / "p", mem_rows=10, key=key)
    for r in rows:
        store.append(r)
        plain.append(r)
    assert store._spills and all(p.suffix == ".pairs" for p in store._spills) and len(store._spills) < _FANIN
    ordered = list(plain)
    assert ordered == sorted(rows, key=key)
    assert [k for k, _ in store.encoded_pairs()] == [key(r) for r in ordered]
    assert b"".join(store.encoded()) == b"".join(enc(ordered))
    assert [r["n"] for r in store] == [r["n"] for r in ordered] and next(iter(store))["t"] == list(ordered[0]["t"])


@pytest.mark.parametrize("sorted_store", [False, True])
def test_the_mark_of_a_vouched_row_reaches_the_encoder_with_its_row(tmp_path, sorted_store):
    """A row appended with ``plain=True`` reaches the encoder with its mark, in spills (a sorted store's rows
    are reordered: the marks follow them) and in the rows held at the end; rows without it are checked."""
    from decoder.rows import RowStore
    from reports.export import JsonlEncoder

    inner = JsonlEncoder(("ts", "n"))
    seen: dict[int, bool] = {}

    def spy(batch, plain):
        assert plain is not None and len(plain) == len(batch)
        seen.update(zip((r["n"] for r in batch), plain))
        return inner(batch, plain)

    key = (lambda r: (r["ts"], r["n"])) if sorted_store else None
    store = RowStore("t", tmp_path / "s", mem_rows=7, key=key, encoder=spy)
    rows = [{"ts": float((i * 31) % 11), "n": i} for i in range(40)]
    for r in rows:
        store.append(r, plain=r["n"] % 3 != 0)
    out = b"".join(store.encoded())
    assert seen == {r["n"]: r["n"] % 3 != 0 for r in rows}
    want = sorted(rows, key=key) if key else rows
    assert out == b"".join(inner(want))


def test_the_writer_reencodes_a_store_encoded_for_other_columns(tmp_path):
    """The lines a store holds are written as the table only when its encoder is the table's (same
    schema columns); otherwise the rows are read back and encoded by the writer."""
    from decoder.rows import RowStore
    from reports.export import JsonlEncoder, write_row_tables
    from reports.tables import schema

    cols = tuple(schema("dns"))
    store = RowStore("dns", tmp_path / "s", mem_rows=2, encoder=JsonlEncoder(("query",) + cols))
    for i in range(10):
        store.append({c: None for c in cols} | {"query": f"q{i}", "ts": float(i)})
    write_row_tables({"dns": store}, tmp_path / "o", only=["dns"])
    lines = (tmp_path / "o" / "dns.jsonl").read_bytes().splitlines()
    assert [next(iter(json.loads(x))) for x in lines] == [cols[0]] * 10      # schema order, not the store's


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("sample", ["dns.pcapng", "ftp.pcapng", "http.pcapng"])
def test_read_without_the_report_writes_the_encoded_tables_as_before(tmp_path, monkeypatch, sample, workers):
    """``read --no-html`` encodes the tables nothing reads back as their rows spill (rows written once; a
    split run's workers as (key, line) pairs): with a row budget small enough to spill, every table and
    file is the bytes of a run that keeps rows as they are (the encoder switched off)."""
    from pathlib import Path

    from decoder.cli import main
    from decoder.commands import written_once as wo
    from decoder.rows import RowStore

    cap = Path(__file__).resolve().parents[2] / "samples" / sample
    args = ["read", str(cap), "--no-html", "--workers", str(workers), "--limit", "rows_in_memory=8"]
    log = tmp_path / "log"          # written by the workers too (forked: they run the patched code)

    def note(what: str, name: str) -> None:
        with open(log, "a") as fh:
            fh.write(f"{what} {name}\n")

    real, real_lines, real_pairs = wo.written_once, RowStore._lines, RowStore._pairs

    def watched(registry):
        enc = real(registry)
        return lambda table: (note("encoder", table) if (e := enc(table)) is not None else None, e)[1]

    monkeypatch.setattr(wo, "written_once", watched)
    monkeypatch.setattr(RowStore, "_lines", lambda st, *a: (note("lines", st.name), real_lines(st, *a))[1])
    monkeypatch.setattr(RowStore, "_pairs", lambda st, *a: (note("pairs", st.name), real_pairs(st, *a))[1])
    assert main(args + ["-o", str(tmp_path / "encoded")]) == 0
    seen = {tuple(line.split()) for line in log.read_text().splitlines()}
    encoded = {t for w, t in seen if w == "encoder"}
    assert "timeline" in encoded and not encoded & wo.READ_AFTER_THE_RUN
    spilled = {t for w, t in seen if w in ("lines", "pairs")}     # a split run's workers keep the engine's
    assert "timeline" in spilled and spilled <= encoded       # order too: lines, keyed when handed over
    monkeypatch.setattr(wo, "written_once", lambda registry: lambda table: None)
    assert main(args + ["-o", str(tmp_path / "kept")]) == 0

    def tree(root: Path) -> dict:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file() and not p.name.startswith(".wiretale")}

    a, b = tree(tmp_path / "encoded"), tree(tmp_path / "kept")
    assert a.keys() == b.keys() and "tables/timeline.jsonl" in a
    assert [k for k in a if a[k] != b[k]] == []
