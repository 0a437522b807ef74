"""The report's collector holds little per session and sorts what can be large on disk (issue 22): grouped
through spilling stores, scans, floods and the sessions left over are what the in-memory collector finds."""
from __future__ import annotations

from pathlib import Path

import pytest

from decoder.api import analyze
from decoder.rows import RowStore
from reports.collect import Entry, ReportCollector
from tests.reports import scale_captures as sc


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("probes")
    sc.write_scan(d / "scan.pcap", hosts=2, ports=30)        # 60 rejected connections from one host
    sc.write_flood(d / "flood.pcap", 45)                      # 45 unanswered SYNs from 45 hosts
    return analyze([d / "scan.pcap", d / "flood.pcap"], out_dir=d / "out").rows


def _groups(col: ReportCollector) -> tuple:
    col.finish()
    probes = [(g.kind, g.key, g.count, g.label(), [m["uid"] for m in g.members]) for g in col.groups_of_probes()]
    return probes, sorted(e["uid"] for e in col.entries())


def test_scans_and_floods_grouped_through_spilled_stores_as_in_memory(rows, tmp_path):
    spilled: list[RowStore] = []

    def store(name: str, key) -> RowStore:
        s = RowStore(name, tmp_path / "spill", mem_rows=4, key=key)
        spilled.append(s)
        return s

    on_disk = ReportCollector(store=store)
    on_disk.feed_all(rows)
    in_memory = ReportCollector()
    in_memory.feed_all(rows)
    probes = next(s for s in spilled if s.name == "probes")
    assert len(probes) >= 100 and list((tmp_path / "spill").glob("probes-*.pkl"))
    got, want = _groups(on_disk), _groups(in_memory)
    assert got == want
    kinds = sorted(k for k, *_ in got[0])
    assert kinds == ["flood", "scan"], got[0]
    flood = next(g for g in got[0] if g[0] == "flood")
    assert flood[2] == 45 and len(flood[4]) == 25          # first 25 members listed, in the order fed
    assert flood[4] == [r["uid"] for r in rows["conn"] if r["uid"] in set(flood[4])]


def test_an_index_entry_reads_like_the_dict_it_replaced(rows):
    col = ReportCollector()
    col.feed_all(rows)
    col.finish()
    e = next(col.entries())
    assert isinstance(e, Entry)
    conn = next(r for r in rows["conn"] if r["uid"] == e["uid"])
    assert e.get("resp_p") == conn["resp_p"] and e["orig_h"] == conn["orig_h"] and e.get("nope", 7) == 7
    assert "uid" in e and "nope" not in e and dict(e)["ts"] == conn["ts"]
    with pytest.raises(KeyError):
        e["nope"]
    e["grp"] = "g1"
    assert e.get("grp") == "g1"


def test_event_counts_spilled_past_their_bound_sum_as_a_counter(tmp_path):
    from collections import Counter

    from reports.collect import EventCounts, with_counts

    uids = [f"C{i % 37:03d}" for i in range(1_000)] + ["C999"] * 5
    stores: list[RowStore] = []

    def store(name: str, key) -> RowStore:
        stores.append(RowStore(name, tmp_path / "spill", mem_rows=10, key=key))
        return stores[-1]

    counts = EventCounts(store, most=8)
    for u in uids:
        counts.add(u)
    assert stores and len(stores[0]) > 8                     # spilled, more than once
    assert list(counts.sorted()) == sorted(Counter(uids).items())
    entries = [(u, k, (), True) for k, u in enumerate(["C000", "C001", "C500", "C999"])]
    assert [n for _, n in with_counts(iter(entries), counts.sorted())] == [28, 27, 0, 5]


def test_an_entry_takes_its_values_in_the_order_of_the_index_keys():
    from reports.collect import INDEX_KEYS

    e = Entry(tuple(range(len(INDEX_KEYS))), True)
    assert [e[k] for k in INDEX_KEYS] == list(range(len(INDEX_KEYS))) and e["page"] is True
