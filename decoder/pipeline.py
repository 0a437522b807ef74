"""The engine: one run over capture files, put together from its three parts.

DESIGN.md section 2; docs/ARCHITECTURE.md, "The engine". :class:`Engine` joins

* reading and reassembly (:mod:`decoder.reassembly`: frames → link/IP → defragmentation → flows →
  ordered bytes, the ``conn`` and ``tcp_control`` rows),
* the dissector host (:mod:`decoder.host`: detection, dissector calls, routing their items), and
* the results (:mod:`decoder.results`: the row stores, ``summary.json``),

and reads capture files through them (:meth:`Engine.run`; live capture feeds frames with
:meth:`~Engine.feed_records`). Files are processed in order and their flows do not mix: each file is
closed before the next. A split run (``read --workers``) is the same engine given a
:class:`~decoder.share.FrameShare`: it decodes only its share's frames, the others only move its clock.

Everything runs on capture time: idle timeouts, expectation TTLs and fragment timeouts use packet
timestamps, so results are deterministic. :func:`run_engine` runs the captures, then session assembly
(:mod:`decoder.session`). The rows' and summary's names are re-exported here (``Results``, ``ROW_KEYS``,
``build_summary``, ``count_for_summary``), where the commands and tests have always found them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, Sequence

from decoder.artifacts import ArtifactStore
from decoder.capture import CaptureError, CaptureInfo, Frame, PcapFileSource
from decoder.flows import WELL_KNOWN_SERVER_PORTS, Flow
from decoder.gcpolicy import bulk
from decoder.host import DissectorHost
from decoder.keylog import Keyring
from decoder.model import DissectorSpec, Limits
from decoder.reassembly import Reassembly
from decoder.results import (  # noqa: F401  (re-exported: the engine's public names)
    ROW_KEYS, Chunk, Results, build_summary, count_for_summary, plain, undecodable_reason,
)
from decoder.share import FrameShare


class Engine:
    """One run: captures in, rows and files out (``results``, ``store``)."""

    def __init__(self, limits: Limits | None = None, registry: Sequence[DissectorSpec] | None = None,
                 out_dir: Path | None = None, strict: bool = False, keep_streams: bool | set[str] = False,
                 decode: bool = True, progress: Callable[[int], None] | None = None,
                 transcripts: bool = False, on_row: Callable[[str, dict], None] | None = None,
                 detect_only: bool = False, keylogs: Sequence[str | Path] = (),
                 spill_dir: Path | None = None, share: FrameShare | None = None) -> None:
        """``decode=False``: reassembly only, no detection (``follow`` and the oracle tests).
        ``detect_only=True``: flows get their service by detection (ports, probes, content), then nothing
        is decoded (``sessions --no-decode``); data flows of FTP and TFTP, found by decoding their
        control flow, stay without a service. ``spill_dir``: where tables spill rows (default
        ``out_dir/.spill``; ``read`` gives a private temporary folder). ``share``: decode only the frames
        of this share of a split run (:mod:`decoder.share`); the others only advance the clock."""
        if registry is None:
            from dissectors import REGISTRY
            registry = REGISTRY
        self.limits = limits = limits or Limits()
        self.share = share
        self.registry = registry = tuple(registry) if decode else ()
        self.detect_only = detect_only
        self.strict = strict
        self.progress = progress
        self.out_dir = out_dir
        self.keyring = Keyring()        # TLS secrets: --keylog files, then pcapng DSBs as they are read
        for k in keylogs:
            self.keyring.add_file(k)
        self.store = ArtifactStore(out_dir, limits)
        if spill_dir is None and out_dir is not None:
            spill_dir = out_dir / ".spill"
        self.results = Results(spill_dir=spill_dir, mem_rows=limits.rows_in_memory, listener=on_row)
        self.reassembly = Reassembly(limits, self.results,
                                     WELL_KNOWN_SERVER_PORTS | frozenset(p for s in registry for p in s.ports),
                                     [s.idle_timeout for s in registry if s.idle_timeout], share)
        self.host = DissectorHost(limits, registry, self.results, self.store, self.keyring,
                                  self.reassembly.anomaly, self.reassembly.retime, strict=strict,
                                  detect_only=detect_only, keep_streams=keep_streams, transcripts=transcripts,
                                  out_dir=out_dir)
        self.reassembly.connect(self.host)
        self.capture_no = 0
        # (capture, frame) of a commented packet → its session's uid; False: another share's packet
        self._comment_uid: dict[tuple[int, int], str | None | bool] = {}

    def _reset_capture_state(self) -> None:
        self.capture_no = len(self.results.captures)
        self.reassembly.reset(self.capture_no)
        self.host.new_capture()

    def run(self, path: str | Path) -> CaptureInfo | None:
        """Process one capture file. Returns its facts, or None when it could not be read."""
        try:
            src = PcapFileSource(path)
        except CaptureError as e:
            self.results.errors.append(str(e))
            return None
        info = src.info
        src.on_secrets = self.keyring.add_dsb
        self._reset_capture_state()
        counts_before = sum(self.results.packets.values())
        try:
            progress = self.progress
            next_report = 1 << 22
            commented = info.commented
            for _block in src.each(self.reassembly.each_frame):
                if commented:              # pcapng packet comments: the packet was just decoded
                    self._commented_frames(commented)
                if progress is not None and src.bytes_read > next_report:
                    next_report = src.bytes_read + (1 << 22)
                    progress(src.bytes_read)
        except CaptureError as e:
            self.results.errors.append(str(e))
            return None
        finally:
            src.close()
            self.finish_capture()
        self.capture_rows(info)
        for w in info.warnings:
            self.results.add("anomalies", {"ts": info.last_ts, "uid": None, "orig_h": None, "orig_p": None,
                                           "resp_h": None, "resp_p": None, "name": "capture_truncated",
                                           "detail": f"{info.path}: {w}", "source": "capture",
                                           "frame": info.frames, "direction": None})
        self.results.captures.append({
            "path": info.path, "format": info.format, "size": info.size, "gzip": info.gzip,
            "linktypes": sorted(info.linktypes), "frames": info.frames, "first_ts": info.first_ts,
            "last_ts": info.last_ts, "warnings": list(info.warnings),
            "packets_counted": sum(self.results.packets.values()) - counts_before,
        })
        return info

    def _commented_frames(self, commented: list[tuple[int, int, bytes]]) -> None:
        """The sessions of packets that carry comments (looked up again after the packet was decoded)."""
        for frame, lt, data in commented:
            self._comment_uid[(self.capture_no, frame)] = (self.frame_session(lt, data)
                                                           if self.owns_frame(lt, data) else False)
        commented.clear()

    def frame_session(self, lt: int, data: bytes) -> str | None:
        """The uid of the open session a frame belongs to (None: not IP, a fragment, no such flow)."""
        return self.reassembly.session_of(lt, data)

    def owns_frame(self, lt: int, data: bytes) -> bool:
        """Whether this engine writes the rows of a frame already read (all, unless it decodes a split run's
        share)."""
        return self.share is None or self.share.mine(lt, data)

    def capture_rows(self, info: CaptureInfo) -> None:
        """Rows about the capture file itself: its pcapng comments (``comments`` table, with the session
        of a packet's comment)."""
        for c in info.comments:
            uid = self._comment_uid.get((self.capture_no, c.frame)) if c.scope == "packet" else None
            # a comment of the file or an interface is about no packet: written by whoever owns non-IP frames
            if uid is not False and (c.scope == "packet" or self.owns_frame(-1, b"")):
                self.results.add("comments", {"ts": c.ts, "frame": c.frame, "scope": c.scope, "text": c.text,
                                              "uid": uid})

    def tick(self, now: float) -> None:
        """Live capture: time passes without packets; close flows idle by ``now``."""
        self.reassembly.tick(now)

    def feed_frames(self, frames: Iterable[Frame], info: CaptureInfo) -> None:
        """Process frames from a source other than a file (live capture); call
        :meth:`finish_capture` at the end. ``info`` is updated as frames arrive."""
        for fr in frames:
            info.frames = fr.index
            if info.first_ts is None:
                info.first_ts = fr.ts
            info.last_ts = fr.ts
            info.linktypes.add(fr.linktype)
            self.frame(fr)

    def feed_records(self, records: list[tuple[int, float, int, bytes, int]], info: CaptureInfo) -> None:
        """Process a batch of frames as the capture reader's plain tuples ``(index, ts, linktype, data,
        wirelen)`` through the same per-frame path as :meth:`run` (live capture from dumpcap's file); call
        :meth:`finish_capture` at the end. ``info`` is updated for the batch."""
        if not records:
            return
        fast = self.reassembly.each_frame
        links = info.linktypes
        for rec in records:
            fast(*rec)
            if rec[2] not in links:
                links.add(rec[2])
        if info.first_ts is None:
            info.first_ts = records[0][1]
        info.frames = records[-1][0]
        info.last_ts = records[-1][1]

    def flush_counts(self) -> None:
        """Add the packets of closed flows still counted apart to ``results.packets``."""
        self.reassembly.flush_counts()

    def finish_capture(self) -> None:
        """The capture ended: every flow and every object still open is closed."""
        self.reassembly.finish_capture()
        self.host.close_files(self.reassembly.now)
        self.reassembly.flush_counts()

    def anomaly(self, ts: float, name: str, detail: str, flow: Flow | None = None,
                direction: int | None = None, source: str = "engine", frame: int | None = None) -> None:
        """An ``anomalies`` row, at the frame being read unless ``frame`` is given."""
        self.reassembly.anomaly(ts, name, detail, flow, direction, source, frame)

    def frame(self, fr: Frame) -> None:
        self.reassembly.each_frame(fr.index, fr.ts, fr.linktype, fr.data)


def run_engine(engine: Engine, paths: Sequence[str | Path]) -> Engine:
    """Run every capture through ``engine`` and assemble sessions (rows stay in RowStores)."""
    from decoder.session import assemble

    with bulk():
        for p in paths:
            engine.run(p)
        assemble(engine)
    return engine
