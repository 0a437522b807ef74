"""Append-only row tables whose memory does not grow with the capture.

A :class:`RowStore` keeps at most ``mem_rows`` row dicts in memory; past that
the batch is sorted (when a key is given) and pickled to a spill file in the
output folder's ``.spill/`` (removed at the end). Iteration yields every row:
with a sort key, the spilled batches and the in-memory tail are merged
(``heapq.merge``), so a table of 10 million connections is written in start
order while memory holds one batch. A sorted store's spill files are compacted in
levels (16 files of one level are merged, streaming, into one file of the next), so a
merge reads from at most ``15 × levels`` files — memory stays logarithmic in the table
size instead of one pickled chunk per spill file. A store without a key is read one
file after the other (one chunk in memory however many files there are), so its files
are not merged (that read and wrote every row once more per level: twice for the 1 GB
benchmark's timeline) but concatenated byte for byte, 256 at a time, which only bounds
how many there are. This keeps ``wiretale read``'s memory a
function of open flows, as DESIGN.md section 1.7 asks, not of the file size.

Rows written once: a store may be given an ``encoder`` (the JSON-lines writer's,
:class:`reports.export.JsonlEncoder`) when its rows are only ever written out as JSON lines. Without a
sort key its spill files then hold the rows' final lines instead of pickles, and :meth:`RowStore.encoded`
gives the writer those bytes as they are, then the lines of the rows still held; with a sort key (a split
run's worker) they hold pickled (key, line) pairs, merged by key (:meth:`RowStore.encoded_pairs`): a row
is encoded once, never pickled and unpickled whole. Iterating such a store still works (a late reader, a join) but reads the lines back as
JSON: tuples come back as lists, and every schema column is present (None where the row had none).

A row appended with ``plain=True`` is one whose values its maker vouches for (the dissector host's rows:
values made by :func:`decoder.results.plain`, which orjson writes as json.dumps would or refuses): a store
with an encoder keeps that mark beside the row and hands it to the encoder with the batch, which then skips
its own check of those rows' values (reports.export.JsonlEncoder). Rows read back or replaced carry no mark.
"""
from __future__ import annotations

import heapq
import json
import pickle
import shutil
from itertools import chain, islice
from operator import itemgetter
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

import orjson

_FIRST, _SECOND = itemgetter(0), itemgetter(1)     # of (key, line) pairs

#: turns a batch of rows into their JSON lines, one bytes (ending in a newline) per row, in order; the second
#: argument says which rows are vouched plain (see the module's docstring), or is None for none
Encoder = Callable[[list, Sequence[bool] | None], list]


class RowStore:
    def __init__(self, name: str, spill_dir: Path | None, mem_rows: int = 20_000,
                 key: Callable[[dict], object] | None = None, encoder: Encoder | None = None) -> None:
        """``encoder``: spill the JSON lines made by it instead of pickled rows (see the module's
        docstring); with a sort key, (key, line) pairs: a merge needs the keys, not the rows."""
        self.name = name
        self.spill_dir = spill_dir
        self.mem_rows = mem_rows
        self.key = key
        self.encoder = encoder
        self._rows: list[dict] = []
        self._plain: list[bool] = []     # beside _rows when there is an encoder: the row's maker vouched for it
        self._spills: list[Path] = []
        self._levels: list[int] = []     # compaction level of each spill file
        self._serial = 0
        self._n = 0

    def append(self, row: dict, plain: bool = False) -> None:
        """Add a row; ``plain``: its maker vouches that its values are plain (see the module's docstring)."""
        self._rows.append(row)
        if self.encoder is not None:
            self._plain.append(plain)
        self._n += 1
        if self.spill_dir is not None and len(self._rows) >= self.mem_rows:
            self._spill()

    @property
    def held(self) -> int:
        """Rows held in memory now."""
        return len(self._rows)

    def spill(self) -> None:
        """Write the rows held in memory to a spill file now (nothing when there is no spill folder)."""
        if self.spill_dir is not None and self._rows:
            self._spill()

    def extend(self, rows: Iterable[dict]) -> None:
        for r in rows:
            self.append(r)

    def _spill(self) -> None:
        assert self.spill_dir is not None
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        p = self._new_path()
        if self.encoder is None:
            if self.key is not None:
                self._rows.sort(key=self.key)
            dump_batches(p, self._rows)
        elif self.key is None:
            with open(p, "wb") as fh:
                fh.writelines(self._lines(self._rows, self._plain))
        else:
            dump_batches(p, self._pairs(*self._sorted_tail()))
        self._spills.append(p)
        self._levels.append(0)
        self._rows = []
        self._plain = []
        self._compact()

    def _new_path(self) -> Path:
        assert self.spill_dir is not None
        self._serial += 1
        ext = "pkl" if self.encoder is None else "jsonl" if self.key is None else "pairs"
        return self.spill_dir / f"{self.name}-{self._serial:06d}.{ext}"

    def _lines(self, rows: list[dict], plain: list[bool]) -> Iterator[bytes]:
        """``rows`` (their marks ``plain``) as the encoder's JSON lines, a batch per encoder call."""
        assert self.encoder is not None
        step = getattr(self.encoder, "batch", _CHUNK)
        for i in range(0, len(rows), step):
            yield b"".join(self.encoder(rows[i:i + step], plain[i:i + step]))

    def _pairs(self, rows: list[dict], plain: list[bool], keys: list) -> Iterator[tuple]:
        """``rows`` (sorted; their marks ``plain``, their sort ``keys``) as (sort key, JSON line) pairs."""
        assert self.encoder is not None
        step = getattr(self.encoder, "batch", _CHUNK)
        for i in range(0, len(rows), step):
            yield from zip(keys[i:i + step], self.encoder(rows[i:i + step], plain[i:i + step]))

    def _sorted_tail(self) -> tuple[list[dict], list[bool], list]:
        """The rows held, their marks and their sort keys, in key order (a sorted store with an encoder; each
        row's key made once)."""
        assert self.key is not None
        keys = list(map(self.key, self._rows))
        order = sorted(range(len(keys)), key=keys.__getitem__)    # stable, as list.sort
        return [self._rows[i] for i in order], [self._plain[i] for i in order], [keys[i] for i in order]

    def encoded_pairs(self) -> Iterator[tuple]:
        """A sorted store's rows as (sort key, JSON line) pairs in key order: its spill files merged by key,
        with the rows held (a store made with a key and an ``encoder`` only)."""
        if self.encoder is None or self.key is None:
            raise ValueError(f"table {self.name}: only a sorted store with an encoder has encoded pairs")
        sources = [_load_iter(p) for p in self._spills] + [self._pairs(*self._sorted_tail())]
        return heapq.merge(*sources, key=_FIRST) if len(sources) > 1 else sources[0]

    def encoded(self) -> Iterator[bytes]:
        """All rows as the encoder's JSON lines, in order, in blocks: an unsorted store's spill files' bytes as
        they are, then the rows held; a sorted store's lines merged by key (a store with an ``encoder`` only)."""
        if self.encoder is None:
            raise ValueError(f"table {self.name}: a store without an encoder has no encoded rows")
        if self.key is not None:
            lines = map(_SECOND, self.encoded_pairs())
            while chunk := list(islice(lines, 1000)):
                yield b"".join(chunk)
            return
        for p in self._spills:
            with open(p, "rb") as fh:
                while block := fh.read(1 << 20):
                    yield block
        yield from self._lines(self._rows, self._plain)

    def _compact(self) -> None:
        """Join the last spill files when enough share a level (order kept): a sorted store's ``_FANIN``
        files are merged (streaming), an unsorted store's ``_CONCAT`` files are concatenated byte for byte
        (a file of pickled lists followed by another is one), which bounds their number without reading
        a row."""
        fanin = _FANIN if self.key is not None else _CONCAT
        while len(self._levels) >= fanin and len(set(self._levels[-fanin:])) == 1:
            level = self._levels[-1]
            group = self._spills[-fanin:]
            p = self._new_path()
            if self.key is not None:
                key = self.key if self.encoder is None else _FIRST      # rows, or (key, line) pairs
                dump_batches(p, heapq.merge(*[_load_iter(q) for q in group], key=key))
            else:
                with open(p, "wb") as out:
                    for q in group:
                        with open(q, "rb") as fh:
                            shutil.copyfileobj(fh, out, 1 << 20)
            for q in group:
                q.unlink(missing_ok=True)
            del self._spills[-fanin:]
            del self._levels[-fanin:]
            self._spills.append(p)
            self._levels.append(level + 1)

    def __len__(self) -> int:
        return self._n

    def __bool__(self) -> bool:
        return self._n > 0

    def _sources(self) -> list[Iterator[dict]]:
        tail = sorted(self._rows, key=self.key) if self.key is not None else self._rows
        load = _load_lines if self.encoder is not None else _load_iter
        return [load(p) for p in self._spills] + [iter(tail)]

    def __iter__(self) -> Iterator[dict]:
        if self.encoder is not None and self.key is not None:
            return map(_decode_line, map(_SECOND, self.encoded_pairs()))
        sources = self._sources()
        if self.key is not None and len(sources) > 1:
            return heapq.merge(*sources, key=self.key)
        return chain.from_iterable(sources)

    def to_list(self) -> list[dict]:
        return list(self)

    def replace(self, rows: Iterable[dict], mem_rows: int | None = None) -> None:
        """Put ``rows`` in place of this store's rows. They may be read from this very store (a join
        or a patch over it): they are streamed into new spill files first, numbered after this store's
        own so that no file being read is written, and the old files go once the new rows are whole.
        ``mem_rows``: rows held in memory from now on (default: as before)."""
        new = RowStore(self.name, self.spill_dir, mem_rows or self.mem_rows, self.key, self.encoder)
        new._serial = self._serial
        new.extend(rows)
        self.clear()
        self._rows, self._plain, self._spills, self._levels = new._rows, new._plain, new._spills, new._levels
        self._n = new._n
        self._serial, self.mem_rows = new._serial, new.mem_rows

    def clear_spills(self) -> None:
        """Forget the spill files (after the rows were read for the last time)."""
        for p in self._spills:
            p.unlink(missing_ok=True)

    def clear(self) -> None:
        for p in self._spills:
            p.unlink(missing_ok=True)
        self._spills = []
        self._levels = []
        self._rows = []
        self._plain = []
        self._n = 0

    def patch_by(self, field: str, patches: dict[object, dict]) -> None:
        """Merge ``patches[row[field]]`` into each row that has one (its keys overwrite, the row's
        other keys stay). Streams through a new store, so memory holds no more than one batch."""
        if not patches:
            return

        def patched() -> Iterator[dict]:
            for r in self:
                p = patches.get(r.get(field))
                yield {**r, **p} if p is not None else r

        self.replace(patched())


_CHUNK = 100    # rows per pickle in a spill file: a merge holds one chunk per file it reads
_FANIN = 16     # a sorted store's files merged into one
_CONCAT = 256   # an unsorted store's files concatenated into one


def dump_batches(p: Path, items: Iterable[Any]) -> None:
    """Write ``items`` to ``p`` as pickled lists of ``_CHUNK`` (what :func:`_load_iter` reads back): small
    pickles, so a merge holds one batch per file it reads. Spill files, and a split run's worker files."""
    it = iter(items)
    with open(p, "wb") as fh:
        while batch := list(islice(it, _CHUNK)):
            pickle.dump(batch, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _load_iter(p: Path) -> Iterator[Any]:
    """The rows of a file of pickled row lists (a spill file, or a worker's rows in decoder.commands.split),
    one list in memory at a time."""
    return chain.from_iterable(_load_batches(p))


def _load_lines(p: Path) -> Iterator[dict]:
    """The rows of a spill file of JSON lines, read back (json for what orjson refuses: the
    ``Infinity`` and ``NaN`` that json.dumps writes)."""
    with open(p, "rb") as fh:
        yield from map(_decode_line, fh)


def _decode_line(line: bytes) -> dict:
    """A row from its JSON line (json for what orjson refuses: the ``Infinity`` and ``NaN`` json.dumps writes)."""
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return json.loads(line)


def _load_batches(p: Path) -> Iterator[list[dict]]:
    with open(p, "rb") as fh:
        while True:
            try:
                yield pickle.load(fh)
            except EOFError:
                return
