"""The session pages' rows wait partitioned by uid (reports.page_rows) and come back as a sorted store gives
them: in (page uid, serial) order, whatever the uids look like and however large a partition grows."""
from __future__ import annotations

import random

from decoder.model import short_uid
from decoder.rows import RowStore
from reports.collect import SORT_KEY, ReportCollector
from reports.page_rows import PartitionSink


def _items(uids: list[str], n: int, seed: int = 7) -> list[tuple]:
    rnd = random.Random(seed)
    return [(rnd.choice(uids), serial, rnd.choice(("timeline", "dns", "http")), {"i": serial})
            for serial in range(1, n + 1)]


def _sink(tmp_path, mem_rows: int, stores: list) -> PartitionSink:
    def store(name: str, key) -> RowStore:
        s = RowStore(name, tmp_path / "spill", mem_rows=mem_rows, key=key)
        stores.append(s)
        return s

    return PartitionSink(tmp_path / "spill", store, SORT_KEY, mem_rows=mem_rows)


def test_engine_uids_come_back_sorted_from_partitions_sorted_in_memory(tmp_path):
    uids = [short_uid("C", i) for i in range(300)]
    items = _items(uids, 3_000)
    stores: list = []
    sink = _sink(tmp_path, 300, stores)
    for it in items:
        sink.append(it)
    assert len(list((tmp_path / "spill").glob("pages-*.pkl"))) > 30     # spread over the partitions
    assert list(sink) == sorted(items, key=SORT_KEY)
    assert list(sink) == sorted(items, key=SORT_KEY)                   # read twice (a renderer died)
    assert not stores                                                  # no partition outgrew memory
    sink.clear()
    assert not list((tmp_path / "spill").glob("pages-*.pkl"))


def test_other_uids_in_one_partition_are_sorted_through_a_store(tmp_path):
    uids = ["CHTTP1", "CHTTP2", "a-session", "B", "", "Cz", "C0", "~"]
    items = _items(uids, 2_000, seed=3)
    stores: list = []
    sink = _sink(tmp_path, 50, stores)
    for it in items:
        sink.append(it)
    assert list(sink) == sorted(items, key=SORT_KEY)
    assert stores and all(s.key is SORT_KEY for s in stores)          # the large partitions went through one


def test_a_collector_groups_the_same_through_partitions_as_in_memory(tmp_path):
    rows = {"conn": [], "timeline": []}
    for i in range(200):
        uid = short_uid("C", "t", i)
        rows["conn"].append({"uid": uid, "ts": float(i), "orig_bytes": 10, "resp_bytes": 0})
        rows["timeline"] += [{"uid": uid, "ts": float(i) + k / 10, "frame": 3 * i + k} for k in range(3)]
    on_disk = ReportCollector(_sink(tmp_path, 64, []))
    on_disk.feed_all(rows)
    in_memory = ReportCollector()
    in_memory.feed_all(rows)

    def seen(col: ReportCollector) -> list:
        return [([c["uid"] for c in g.conns], {t: dict(per) for t, per in g.rows.items()}) for g in col.groups()]

    got = seen(on_disk)
    assert got == seen(in_memory) and len(got) == 200
