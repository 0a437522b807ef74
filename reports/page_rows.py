"""Where the rows of session pages wait on disk between the tables and the pages: partitioned by uid.

:class:`PartitionSink` is the :class:`~reports.collect.SessionSink` of ``wiretale read``: items ``(page uid,
serial, table, row)`` come in as the tables are written (in table order, sessions interleaved) and must
come back sorted by :data:`~reports.collect.SORT_KEY`, one page group after the other. A general external
sort (a sorted :class:`decoder.rows.RowStore`) pickles every row at each of its merge levels and merges
with a Python key per row; here the uids themselves are the order: a uid's partition is the range of
:data:`BOUNDS` it falls in (two per second character of a ``C`` + base64-letters uid,
:func:`decoder.model.short_uid`), so the partitions in turn are in uid order. Rows are appended to their
partition's file (pickled lists, one per partition per spill: every row pickled once), and read back one
partition at a time, sorted in memory (unpickled once).

Bounds: at most ``mem_rows`` items are held before they are written, and at most ``mem_rows`` are sorted
in memory; a larger partition (a capture with more than about 124 × ``mem_rows`` page rows, or uids of
another form, which all fall in one partition) is sorted through ``store`` (the collector's sorted store:
spilled, merged) instead. Order and contents are those of a sorted store either way.
"""
from __future__ import annotations

import os
import pickle
from bisect import bisect_right
from itertools import chain
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterable, Iterator

_LETTERS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#: partition boundaries, in order: ``C`` and each letter a uid's second character may be (but the first), and
#: the middle of each letter's range by the third (``C0V``): 124 partitions of about equal size
BOUNDS = tuple(sorted({"C" + c for c in _LETTERS[1:]} | {"C" + c + "V" for c in _LETTERS}))


class PartitionSink:
    """Items ``(page uid, serial, table, row)`` sorted by (page uid, serial) on reading, partitioned by uid
    on ``folder``; ``store(name, key)``: a sorted store for a partition too large to sort in memory."""

    def __init__(self, folder: Path, store: Callable[[str, Callable[[Any], Any]], Any],
                 key: Callable[[Any], Any], mem_rows: int = 1_000) -> None:
        self.folder = folder
        self.store = store
        self.key = key
        self.mem_rows = mem_rows
        n = len(BOUNDS) + 1
        self._held: list[list] = [[] for _ in range(n)]
        self._n_held = 0
        self._files: list[BinaryIO | None] = [None] * n
        self._sizes = [0] * n           # items of each partition

    def append(self, item: Any) -> None:
        p = bisect_right(BOUNDS, item[0])
        self._held[p].append(item)
        self._sizes[p] += 1
        self._n_held += 1
        if self._n_held >= self.mem_rows:
            self._spill()

    def _spill(self) -> None:
        for p, items in enumerate(self._held):
            if items:
                fh = self._files[p]
                if fh is None:
                    self.folder.mkdir(parents=True, exist_ok=True)
                    # unbuffered: a pickle writes its frames whole, and 124 buffers would cost 1 MB
                    fh = self._files[p] = open(self._path(p), "wb", buffering=0)
                pickle.dump(items, fh, protocol=pickle.HIGHEST_PROTOCOL)
                self._held[p] = []
        self._n_held = 0

    def _path(self, p: int) -> Path:
        return self.folder / f"pages-{p:03d}.pkl"

    @property
    def n_parts(self) -> int:
        return len(self._held)

    @staticmethod
    def part_of(uid: str) -> int:
        """The partition of the items of page ``uid``."""
        return bisect_right(BOUNDS, uid)

    def __iter__(self) -> Iterator[Any]:
        return self.partitions(range(len(self._held)))

    def partitions(self, parts: Iterable[int]) -> Iterator[Any]:
        """The items of partitions ``parts`` (numbers in increasing order), sorted; each partition read when its
        turn comes (forked renderers read theirs: the files are written whole, unbuffered)."""
        return chain.from_iterable(map(self._partition, parts))

    def _partition(self, p: int) -> Iterable[Any]:
        items = chain(_load(self._path(p)) if self._files[p] is not None else (), self._held[p])
        if self._sizes[p] <= self.mem_rows:
            return sorted(items, key=self.key)
        big = self.store(f"pages-{p:03d}-{os.getpid()}", self.key)   # (its own sorted store; a renderer's own)
        for item in items:
            big.append(item)
        return big

    def clear(self) -> None:
        """Close and remove the partitions' files."""
        for p, fh in enumerate(self._files):
            if fh is not None:
                fh.close()
                self._path(p).unlink(missing_ok=True)
                self._files[p] = None
        self._held = [[] for _ in self._held]
        self._n_held = 0


def _load(path: Path) -> Iterator[Any]:
    with open(path, "rb") as fh:
        while True:
            try:
                yield from pickle.load(fh)
            except EOFError:
                return
