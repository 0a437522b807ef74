"""The Python API: :func:`analyze` decodes captures into pandas DataFrames (:class:`Analysis`).

A front door beside the command line: it runs the engine (:class:`decoder.pipeline.Engine`,
:func:`decoder.pipeline.run_engine`) and turns its rows into DataFrames with the report's table schemas
(:mod:`reports.tables`), so, like the commands, it may import both; the engine imports neither it nor
the reports. ``decoder.analyze`` is this :func:`analyze`.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

from decoder.model import DissectorSpec, Limits
from decoder.pipeline import Engine, build_summary, run_engine


class Analysis:
    """What :func:`analyze` returns: DataFrames, the summary, and where files went.

    ``tables``: one DataFrame per table, times (``ts``, ``*_ts``) as timezone-aware UTC datetimes;
    ``rows``: the same rows as dicts with times in epoch seconds (as the JSON tables and Zeek keep
    them). When no ``out_dir`` was given, extracted objects live in a temporary folder that is
    removed by :meth:`close` (or when the object is garbage collected).
    """

    def __init__(self, engine: Engine, tmp: tempfile.TemporaryDirectory | None, snapshot: bool = False) -> None:
        from reports.tables import frames, utc_times

        self._tmp = tmp
        self.engine = engine
        self.out_dir: Path | None = engine.out_dir
        self.summary = build_summary(engine)
        self.rows = {name: st.to_list() for name, st in engine.results.tables.items()}
        if not snapshot:      # a snapshot (live --refresh) leaves the spilled rows for the next one
            engine.results.cleanup()
        self.tables = {name: utc_times(df) for name, df in frames(self.rows).items()}
        self.captures = engine.results.captures
        self.errors = engine.results.errors
        self.streams = engine.results.streams
        self._transcripts: Any = None

    def __getitem__(self, table: str):
        return self.tables[table]

    def transcript_head(self, uid: str, per_direction: int) -> tuple[list[tuple], str]:
        """A session's transcript, at most ``per_direction`` bytes of each direction
        (:meth:`decoder.transcripts.Transcripts.head`): what the report shows of it."""
        from decoder.transcripts import Transcripts

        if self._transcripts is None:     # one for the report: it reads the packs' index once
            self._transcripts = Transcripts(self.out_dir, self.streams)
        return self._transcripts.head(uid, per_direction)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "Analysis":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def analyze(paths: str | Path | Sequence[str | Path], *, out_dir: str | Path | None = None,
            limits: Limits | None = None, keylogs: Sequence[str | Path] = (), strict: bool = False,
            transcripts: bool = False, keep_streams: bool | set[str] = False, decode: bool = True,
            progress: Callable[[int], None] | None = None,
            registry: Sequence[DissectorSpec] | None = None) -> Analysis:
    """Decode one or more captures (pcap or pcapng, gzip-compressed or not) into pandas DataFrames.

    ``paths``: a capture file, or several read one after the other as one run.

    ``out_dir``: where the extracted files, e-mails and session streams are kept (``files/``,
    ``emails/``, ``streams/`` inside it, as ``wiretale read`` writes them). Without it they go to a
    temporary folder that is deleted by :meth:`Analysis.close` (or at the end of a ``with`` block):
    give ``out_dir`` to keep them.

    ``limits``: the caps (:class:`decoder.model.Limits`); ``keylogs``: TLS secret files in the
    SSLKEYLOGFILE format; ``strict``: re-raise wiretale's own bugs instead of recording them as
    ``dissector_error`` anomalies; ``transcripts``: keep each session's reassembled bytes in
    ``out_dir/streams`` (the HTML report needs them); ``keep_streams``: also keep them in memory
    (``Analysis.streams``), for all sessions or a set of uids; ``decode=False``: reassembly only, no
    protocol decoding; ``progress``: called with the bytes read so far; ``registry``: the dissectors
    to use (default: all).

    Returns an :class:`Analysis`: ``tables`` (DataFrames: one per table, ``ts`` and the other times as
    timezone-aware UTC datetimes), ``rows`` (the same rows as dicts, times in epoch seconds as in the
    JSON tables), ``summary`` (what ``summary.json`` holds), ``errors`` and ``out_dir``.

    >>> from decoder import analyze
    >>> with analyze("samples/http.pcapng", out_dir="out") as a:     # doctest: +SKIP
    ...     a.tables["http"][["ts", "host", "uri", "status_code"]]
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    tmp = None
    if out_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="wiretale-")
        root = Path(tmp.name)
    else:
        root = Path(out_dir)
        root.mkdir(parents=True, exist_ok=True)
    engine = Engine(limits=limits, registry=registry, out_dir=root, strict=strict,
                    keep_streams=keep_streams, decode=decode, progress=progress, transcripts=transcripts,
                    keylogs=keylogs)
    run_engine(engine, paths)
    return Analysis(engine, tmp)
