"""Acceptance 2 (part): one capture decoded on several processes, split by host pair, gives the same
tables, summary and files as a single-process ``wiretale read``.

The synthetic capture (tests/batch/synth.py) has fourteen host pairs with FTP control and data, TFTP
request and transfer, IPv4 fragments, IPv6, non-IP frames, idle timeouts, lingering finished flows and
port reuse; the shared captures add real traffic. Tables are compared as sorted canonical JSON (differences
said row by row), then byte for byte (the same order as the single run), and the HAR byte for byte; every
file of OUT, report included, on a corpus of ../shared/bench (the last test).

Until the engine change of docs/BATCH.md ("Engine change") is in — each kind of flow swept on its own
(``Engine.idle_lists``), events said at close attributed to the flow's last frame — a finished flow can
linger behind an open one in a single run and be closed later than in its share, and a close event carries
the frame of whichever flow delivered data last; the test then checks that ``conn.close_reason`` and
``timeline.frame`` are the only differences and reports xfail.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from decoder import cli
from decoder.commands.split import read_parallel
from decoder.share import owner
from decoder.capture import PcapFileSource
from decoder.pipeline import Engine
from tests.batch import synth
from tests.batch.util import differences, jsonl_tables, equal_ignoring
from tests.conftest import ROOT, shared_captures

SPLIT_SHARED = [p for p in shared_captures() if p.name.startswith((
    "ftp-active-retr", "ftp-passive-retr", "ftp-ipv6-all-data", "ftp-multi-transfer", "tftp-",
    "dns-ip-fragmented", "dns-tcp-udp-mixed", "http-appletv-images", "http-smtp-ftp-hackchallenge",
    "http-ipv4-and-ipv6", "imap-client-and-smtp", "http-linux-sll-json"))]


# what may differ until the engine change of docs/BATCH.md is in (then nothing may)
TRANSITIONAL = {"conn": ("close_reason",), "timeline": ("frame",)}


def _engine_patched() -> bool:
    return hasattr(Engine(registry=()), "idle_lists")


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("synth") / "synth.pcap"
    synth.build(p)
    return p


def _single(path: Path, out: Path, html: bool = False) -> None:
    argv = ["read", str(path), "-o", str(out), "--workers", "1"] + ([] if html else ["--no-html"])
    assert cli.main(argv) in (0, 1)


def _compare(path: Path, tmp: Path, workers: int = 2) -> None:
    _single(path, tmp / "single")
    read_parallel(path, tmp / "par", workers=workers, html=False)
    a, b = jsonl_tables(tmp / "single"), jsonl_tables(tmp / "par")
    assert set(a) == set(b)
    sa = json.loads((tmp / "single" / "summary.json").read_text())
    sb = json.loads((tmp / "par" / "summary.json").read_text())
    if a != b and not _engine_patched() and equal_ignoring(a, b, TRANSITIONAL):
        pytest.xfail("conn.close_reason / timeline.frame of close events differ: the engine change of "
                     "docs/BATCH.md is not in yet")
    assert a == b, "\n".join(differences(a, b))
    # and in the same order, byte for byte (rows merged by where each was made: EmitOrder)
    assert [t for t in a if (tmp / "single" / "tables" / f"{t}.jsonl").read_bytes()
            != (tmp / "par" / "tables" / f"{t}.jsonl").read_bytes()] == []
    assert sa == sb
    # extracted objects: same names, same bytes
    fa = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp / "single" / "files").glob("*")}
    fb = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (tmp / "par" / "files").glob("*")}
    assert fa == fb
    # the HAR (written by a side process in the parallel run): the same entries
    ha, hb = (tmp / "single" / "http.har"), (tmp / "par" / "http.har")
    assert ha.exists() == hb.exists()
    if ha.exists():
        da, db = (json.loads(h.read_text())["log"] for h in (ha, hb))
        assert ha.read_bytes() == hb.read_bytes()       # the same entries in the same order
        assert da["pages"] == db["pages"] and da["pages"][0]["startedDateTime"] == \
            min(e["startedDateTime"] for e in da["entries"])
    assert not (tmp / "par" / ".parts").exists()


def test_owner_is_symmetric_and_stable():
    from tests.builders import frame, tcp_packet

    seen = Counter()
    for i in range(64):
        for link in ("eth", "vlan", "sll", "raw", "null"):
            a = frame(tcp_packet(f"10.0.{i}.1", 1000 + i, f"192.168.{i}.9", 80, 1, 1, 0x10), link)
            b = frame(tcp_packet(f"192.168.{i}.9", 80, f"10.0.{i}.1", 1000 + i, 1, 1, 0x10), link)
            assert owner(*a, 4) == owner(*b, 4)
            if link == "eth":
                assert owner(*a, 4) == owner(*frame(tcp_packet(f"10.0.{i}.1", 1, f"192.168.{i}.9", 2, 1, 1, 0x10),
                                                    "vlan"), 4)   # the pair decides, not ports or link
                seen[owner(*a, 4)] += 1
        v6a = frame(tcp_packet(f"2001:db8::{i + 1:x}", 5, "2001:db8::ff", 80, 1, 1, 0x10))
        v6b = frame(tcp_packet("2001:db8::ff", 80, f"2001:db8::{i + 1:x}", 5, 1, 1, 0x10))
        assert owner(*v6a, 3) == owner(*v6b, 3)
    assert len(seen) == 4 and min(seen.values()) >= 6        # spread over every worker
    assert owner(1, b"\xff" * 6 + b"\x02" * 6 + b"\x08\x06" + bytes(28), 4) == 0   # ARP → worker 0
    assert owner(1, b"\x00" * 5, 4) == 0


def test_shares_are_balanced_by_packets_and_agree(monkeypatch):
    """Every frame is owned by exactly one share, both directions of a pair by the same one, whatever the link
    layer; a pair goes to the share with the fewest frames so far, so pairs of any sizes that come one after
    another end up at most one pair's packets apart; :meth:`FrameShare.mine` says
    afterwards what :meth:`FrameShare.owns` said; past ``MAX_PAIRS`` a new pair goes by :func:`owner`."""
    import decoder.share as share_mod
    from decoder.share import FrameShare
    from tests.builders import frame, tcp_packet

    def pkt(i: int, back: bool, link: str = "eth") -> tuple[int, bytes]:
        a, b = (f"10.9.{i}.1", 1000 + i), (f"172.16.{i}.2", 80)
        return frame(tcp_packet(*(b + a if back else a + b), 1, 1, 0x10), link)

    # 40 pairs one after another, of 5 to 54 packets, both ways and over three link layers
    sizes = [5 + i * 37 % 50 for i in range(40)]
    frames = [pkt(i, k % 2 == 1, ("eth", "vlan", "sll")[(i + k) % 3]) for i in range(40) for k in range(sizes[i])]
    frames.append((1, b"\xff" * 12 + b"\x08\x06" + bytes(28)))  # ARP: share 0
    for n in (2, 3):
        shares = [FrameShare(i, n) for i in range(n)]
        owned = [[s.owns(lt, d) for s in shares] for lt, d in frames]
        assert all(sum(o) == 1 for o in owned)
        counts = [sum(o[i] for o in owned) for i in range(n)]
        assert max(counts) - min(counts) <= max(sizes), counts     # at most one pair's worth apart
        assert owned[-1][0]
        for (lt, d), o in zip(frames, owned):
            assert [s.mine(lt, d) for s in shares] == o
    monkeypatch.setattr(share_mod, "MAX_PAIRS", 4)
    shares = [FrameShare(i, 2) for i in range(2)]
    owned = [[s.owns(lt, d) for s in shares] for lt, d in frames]
    assert all(sum(o) == 1 for o in owned)
    for (lt, d), o in zip(frames, owned):
        assert [s.mine(lt, d) for s in shares] == o
    late = pkt(25, False)          # the 26th pair: past the four remembered, it went by its hash
    assert [s.mine(*late) for s in shares] == [owner(*late, 2) == i for i in range(2)]


def test_synthetic_capture_is_split_and_equal(synthetic, tmp_path):
    shares = Counter(owner(lt, d, 2) for _i, _ts, lt, d, _w in PcapFileSource(synthetic).records())
    assert shares[0] > 40 and shares[1] > 40      # both workers have real work
    _compare(synthetic, tmp_path)


def test_synthetic_three_workers(synthetic, tmp_path):
    _compare(synthetic, tmp_path, workers=3)


def test_synthetic_one_worker_in_process(synthetic, tmp_path):
    """``read_parallel(workers=1)`` (the Python API) decodes in the calling process and merges the tables there
    (no pool): the same outputs as ``read --workers 1``."""
    _compare(synthetic, tmp_path, workers=1)


def test_html_report_from_parallel_run(synthetic, tmp_path):
    read_parallel(synthetic, tmp_path / "par", workers=2, html=True)
    out = tmp_path / "par"
    assert (out / "index.html").exists()
    conn = [json.loads(line) for line in (out / "tables" / "conn.jsonl").read_text().splitlines()]
    assert conn and all((out / "sessions" / f"{c['uid']}.html").exists() for c in conn)
    # the workers' transcripts reach the pages (small sessions from the workers' packs, removed after)
    pages = [(out / "sessions" / f"{c['uid']}.html").read_text(encoding="utf-8") for c in conn]
    assert sum('class="raw-data">[[' in p for p in pages) >= len(conn) // 2     # a chunk: an array (93eb760)
    assert not [p for p in (out / "streams").iterdir() if not p.name.endswith(".bin")]


def test_unreadable_capture(tmp_path):
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"this is not a capture at all, not even close")
    s = read_parallel(bad, tmp_path / "out", workers=2, html=False)
    assert s["errors"] and not s["captures"]
    with pytest.raises(ValueError):
        read_parallel("-", tmp_path / "out2", workers=2)


@pytest.mark.parametrize("capture", SPLIT_SHARED, ids=lambda p: p.name)
def test_shared_capture_split_equal(capture, tmp_path):
    _compare(capture, tmp_path)


def test_csv_tables_from_parallel_run(synthetic, tmp_path):
    """Other table formats take the rows path (the workers' rows merged, then written as a single run writes
    them); JSON lines without the report take the encoded path that _compare covers."""
    import csv

    assert cli.main(["read", str(synthetic), "-o", str(tmp_path / "single"), "--no-html", "--tables", "csv"]) in (0, 1)
    read_parallel(synthetic, tmp_path / "par", workers=2, html=False, tables="csv")

    def rows(out: Path) -> dict[str, list]:
        return {p.stem: sorted(map(tuple, csv.reader(p.open(encoding="utf-8"))))
                for p in (out / "tables").glob("*.csv")}

    a, b = rows(tmp_path / "single"), rows(tmp_path / "par")
    assert a == b and a["conn"] and a["http"]
    assert json.loads((tmp_path / "single" / "summary.json").read_text()) == \
        json.loads((tmp_path / "par" / "summary.json").read_text())


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_har_blocks_join_into_one_document(tmp_path, monkeypatch, kernel_copy):
    """The workers' HAR blocks make one valid document, their entries interleaved by the keys of their
    ``.idx`` files (runs of one worker's entries copied at once; ties in worker order), with
    copy_file_range or the read/write fallback."""
    from decoder.commands.split import _join_har_blocks
    from decoder.rows import dump_batches
    from reports.har import ENTRY_SEP

    entries = [{"startedDateTime": f"e{i}", "n": i, "blob": "x" * (i * 40_000)} for i in range(7)]
    raw = [json.dumps(e).encode() for e in entries]
    # entry i has key i, except entries 5 and 6 of two workers made at the same place (key 5)
    owners = {0: [0, 3, 4], 1: [1, 2, 5], 2: [6]}
    keys = [0, 1, 2, 3, 4, 5, 5]
    blocks = []
    for w, mine in owners.items():
        p = tmp_path / str(w) / "rows" / "http.har.part"
        p.parent.mkdir(parents=True)
        body, index = b"", []
        for i in mine:
            body += ENTRY_SEP + raw[i]
            index.append((keys[i], len(body)))
        p.write_bytes(body)
        dump_batches(p.with_suffix(".idx"), index)
        blocks.append((p, 10.0 + w))
    if not kernel_copy:
        def refuse(*a, **k):
            raise OSError(38, "Function not implemented")
        monkeypatch.setattr(os, "copy_file_range", refuse)
    out = tmp_path / "http.har"
    _join_har_blocks(out, blocks)
    doc = json.loads(out.read_text())["log"]
    assert doc["entries"] == entries
    assert doc["pages"][0]["startedDateTime"].startswith("1970-01-01T00:00:10")
    assert out.read_bytes().count(b"\n") == len(doc["entries"]) + 2


def test_workers_zero_means_every_usable_core(synthetic, tmp_path, capsys, monkeypatch):
    """``read --workers 0`` splits over the cores this process may use (its affinity mask) and gives the
    single run's tables; a negative or non-numeric count is a usage error, not a traceback."""
    from decoder.commands.options import usable_cores

    if hasattr(os, "sched_getaffinity"):
        assert usable_cores() == len(os.sched_getaffinity(0))
    monkeypatch.setattr("decoder.commands.options.usable_cores", lambda: 2)    # the same on a one-core runner
    _single(synthetic, tmp_path / "single")
    capsys.readouterr()
    assert cli.main(["read", str(synthetic), "-o", str(tmp_path / "all"), "--no-html", "--workers", "0"]) in (0, 1)
    assert "on 2 workers" in capsys.readouterr().out
    assert jsonl_tables(tmp_path / "single") == jsonl_tables(tmp_path / "all")
    for bad in ("-1", "two"):
        with pytest.raises(SystemExit) as e:
            cli.main(["read", str(synthetic), "-o", str(tmp_path / "bad"), "--workers", bad])
        assert e.value.code == 2
        assert "a number of processes" in capsys.readouterr().err


def test_default_splits_a_large_file_only(synthetic, tmp_path, capsys, monkeypatch):
    """Without ``--workers``, ``read`` splits one capture file of at least SPLIT_MIN_BYTES over every usable
    core (same tables as one process) and reads a smaller one, several inputs, or stdin in one process;
    ``--workers 1`` forces one process whatever the size (issue 26)."""
    from decoder.commands import options

    monkeypatch.setattr(options, "usable_cores", lambda: 2)
    _single(synthetic, tmp_path / "single")
    capsys.readouterr()
    assert cli.main(["read", str(synthetic), "-o", str(tmp_path / "small"), "--no-html"]) in (0, 1)
    assert "workers" not in capsys.readouterr().out          # under the threshold: one process
    monkeypatch.setattr(options, "SPLIT_MIN_BYTES", synthetic.stat().st_size)
    assert cli.main(["read", str(synthetic), "-o", str(tmp_path / "auto"), "--no-html"]) in (0, 1)
    assert "on 2 workers" in capsys.readouterr().out
    assert jsonl_tables(tmp_path / "single") == jsonl_tables(tmp_path / "auto")
    assert cli.main(["read", str(synthetic), "-o", str(tmp_path / "one"), "--no-html", "--workers", "1"]) in (0, 1)
    assert "workers" not in capsys.readouterr().out
    assert options.split_workers(None, [str(synthetic), str(synthetic)]) == 1
    assert options.split_workers(None, ["-"]) == 1
    assert options.split_workers(None, [str(tmp_path / "absent.pcap")]) == 1
    assert options.split_workers(3, ["-"]) == 3


def test_batch_of_one_large_capture_splits_it(synthetic, tmp_path, monkeypatch):
    """``batch`` of one capture file of at least SPLIT_MIN_BYTES splits it over its processes (as ``read``
    does without ``--workers``), with the tables of one process; ``batch --workers 1`` keeps one process
    (issue 26)."""
    import pandas as pd

    from decoder.commands import options, split

    monkeypatch.setattr(options, "usable_cores", lambda: 2)
    monkeypatch.setattr(options, "SPLIT_MIN_BYTES", synthetic.stat().st_size)
    calls = []
    real = split.read_parallel

    def spy(*a, **k):
        calls.append(k.get("workers", a[2] if len(a) > 2 else None))
        return real(*a, **k)

    monkeypatch.setattr(split, "read_parallel", spy)
    assert cli.main(["batch", str(synthetic), "-o", str(tmp_path / "one"), "--no-html", "--workers", "1"]) == 0
    assert calls == []
    assert cli.main(["batch", str(synthetic), "-o", str(tmp_path / "split"), "--no-html"]) == 0
    assert calls == [2]

    def tables(out: Path) -> dict[str, list[str]]:
        return {p.stem: sorted(json.dumps(r, sort_keys=True, default=str)
                               for r in pd.read_parquet(p).to_dict("records"))
                for p in sorted((out / "captures" / "synth.pcap" / "tables").glob("*.parquet"))}

    a, b = tables(tmp_path / "one"), tables(tmp_path / "split")
    assert a and a == b, "\n".join(differences(a, b))


BENCH = ROOT.parent / "shared" / "bench" / "make_corpus.py"


def _every_file(out: Path) -> dict[str, bytes]:
    """OUT's files by relative path, but the run's own metadata (its record and lock)."""
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and p.name not in (".wiretale-run.json", ".wiretale.lock")}


@pytest.mark.skipif(not BENCH.exists(), reason="../shared/bench is absent")
@pytest.mark.parametrize("html", [True, False], ids=["report", "no-html"])
def test_bench_corpus_split_is_byte_identical(tmp_path, html):
    """Issue 26: on a small corpus of ../shared/bench (every protocol, sessions interleaved, idle sweeps,
    tftp rows folded by the assemble hook, tables spilled: a row budget of 200), ``read --workers 2``
    writes every file — tables row for row in the same order, extracted files, e-mails, http.har, summary
    and each report page — byte for byte as ``read --workers 1`` does. Before the merge by where rows were
    made, tables other than conn came out sorted by time, the HAR worker by worker."""
    import subprocess
    import sys

    cap = tmp_path / "corpus.pcap"
    subprocess.run([sys.executable, str(BENCH), "-o", str(cap), "--size-mb", "3", "--concurrency", "16"],
                   check=True, capture_output=True)
    shares = Counter(owner(lt, d, 2) for _i, _ts, lt, d, _w in PcapFileSource(cap).records())
    assert min(shares.values()) > len(shares) and len(shares) == 2      # both workers decode
    outs = {}
    for w in (1, 2):
        outs[w] = tmp_path / f"w{w}"
        argv = ["read", str(cap), "-o", str(outs[w]), "--workers", str(w), "--limit", "rows_in_memory=200"]
        assert cli.main(argv + ([] if html else ["--no-html"])) in (0, 1)
    a, b = _every_file(outs[1]), _every_file(outs[2])
    assert sorted(a) == sorted(b)
    assert [k for k in a if a[k] != b[k]] == []
    lines = {p: len(a[p].splitlines()) for p in ("tables/timeline.jsonl", "tables/tftp.jsonl", "http.har")}
    assert min(lines.values()) > 2, lines
    assert html == ("index.html" in a)
