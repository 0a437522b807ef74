"""The engine: frames → link/IP → defragmentation → flows → TCP reassembly → detection → dissectors.

DESIGN.md section 2. One :class:`Engine` processes any number of capture files
in order (their flows do not mix: each file is closed before the next) and
collects rows for the tables:

* ``conn`` (one row per flow, written when the flow ends),
* ``timeline`` (one row per dissector event, with the frame that delivered it),
* ``anomalies`` (packet, reassembly and dissector anomalies, with frame and uid),
* ``files`` and ``emails`` (from the artifact store), ``credentials``,
* one table per :class:`~decoder.model.Record` ``TABLE``.

Everything runs on capture time: idle timeouts, expectation TTLs and fragment
timeouts use packet timestamps, so results are deterministic.

Our own bugs inside a dissector are caught at the ``feed`` boundary: the flow
gets a ``dissector_error`` anomaly and falls back to raw; ``strict=True``
re-raises instead (the tests and ``--strict`` use it).
"""
from __future__ import annotations

import dataclasses
import enum
import shutil
import struct
from array import array
from collections import OrderedDict, Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from decoder.artifacts import ArtifactStore
from decoder.capture import CaptureError, CaptureInfo, Frame, PcapFileSource
from decoder.defrag import Defragmenter
from decoder.detect import ATTACHED, RAW, STOPPED, UNDECIDED, Detector
from decoder.expect import ExpectationTable
from decoder.gcpolicy import bulk
from decoder.keylog import Keyring
from decoder.flows import WELL_KNOWN_SERVER_PORTS, Flow, addr_str, group_address
from decoder.link import Skip, ip as parse_ip, l3
from decoder.rows import RowStore
from decoder.share import FrameShare
from decoder.tcp import TAIL_CHUNKS
from decoder.transcripts import TranscriptSpool
from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Direction, DissectorSpec, Event, Expect, FileClose,
    FileData, FileGap, FileOpen, FlowContext, Limits, Record, StopParsing, SWITCHES, Transport, Violation,
    make_fuid,
)

_TCP = struct.Struct("!HHIIBBH")
_UDP = struct.Struct("!HHH")
# from byte 12 of an Ethernet frame: EtherType, IPv4 version/IHL, total length, flags/fragment offset, protocol
_ETH_IP4 = struct.Struct("!HBxHxxHxB")
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
DIRS = (ORIG, RESP)

IP_PROTO_NAMES = {1: "ICMP", 2: "IGMP", 4: "IP-in-IP", 41: "IPv6-in-IPv4", 47: "GRE", 50: "ESP",
                  51: "AH", 58: "ICMPv6", 89: "OSPF", 103: "PIM", 112: "VRRP", 132: "SCTP"}


_PORTS = struct.Struct("!HH")
#: history letter → the flags of the tcp_control row it makes
_CONTROL_NAMES = {"S": "SYN", "H": "SYN-ACK", "A": "ACK", "F": "FIN", "R": "RST"}


def flow_key(src: bytes, sport: int, dst: bytes, dport: int) -> bytes:
    """A flow table key: the addresses and ports as they are on the wire (src, dst, sport, dport,
    network order), so the fast path takes it from an IPv4 header with one slice."""
    return src + dst + _PORTS.pack(sport, dport)


_ITEM_KINDS = (Event, Record, Anomaly, FileData, FileOpen, FileGap, FileClose, Expect, Confirm, Violation,
               StopParsing)   # in this order: the first that matches decides


def _item_kind(it: Any) -> type | None:
    """Which of the item kinds a dissector's item is (its class or a base); None: not an item."""
    return next((k for k in _ITEM_KINDS if isinstance(it, k)), None)


_SCALARS = frozenset({str, int, float, bool})   # exact types plain() returns as they are


def plain(v: Any) -> Any:
    """A record field as a JSON-friendly value (lists stay lists)."""
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    if type(v) is list or type(v) is tuple:     # the common containers: scalars need no call
        return [x if x is None or type(x) in _SCALARS else plain(x) for x in v]
    if isinstance(v, enum.Enum):
        return v.value if not isinstance(v, Direction) else ("orig" if v is ORIG else "resp")
    if isinstance(v, (list, tuple, set, frozenset)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).decode("utf-8", "backslashreplace")
    if dataclasses.is_dataclass(v):
        return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
    return str(v)


@dataclass
class Chunk:
    """Reassembled stream data kept for ``follow`` (``data`` is None for a gap)."""

    direction: int
    data: bytes | None
    gap: int
    ts: float
    frame: int


_NO_HEADS = (b"", b"")   # a decided flow's detection window (never written to: detection is over)
_NO_BUFFER: tuple = ()   # a decided flow's replay buffer (likewise)


class Handler:
    """Per-flow detection state and the attached dissector."""

    __slots__ = ("state", "spec", "dissector", "confirmed", "buffer", "heads", "port_specs",
                 "ctx", "udp_datagrams", "recent")

    def __init__(self) -> None:
        self.state = UNDECIDED
        self.spec: DissectorSpec | None = None
        self.dissector = None
        self.confirmed = False
        # detection's replay buffer and window, made by the first chunk to detect (a flow without payload,
        # as the 100,000 open flows of a SYN flood, never needs them)
        self.buffer: list[tuple[int, bytes | None, int, float, int]] | tuple = _NO_BUFFER
        self.heads: list[bytes] | tuple = _NO_HEADS
        self.port_specs: tuple = ()
        self.ctx: FlowContext | None = None
        self.udp_datagrams = 0
        self.recent: Recent | None = None


RECENT_FRAMES = 64


class Recent:
    """The time and frame of the last :data:`RECENT_FRAMES` packets fed to a flow's dissector (one entry
    per distinct time), so an event stamped with an earlier packet's time (a Telnet line at its first
    keystroke, a transfer's end at its last data packet, reported at close) gets that packet's frame. An
    event older than all of them (a typed line of more than about 30 echoed keystrokes) is placed at the
    oldest packet still recorded.
    Two fixed arrays: 1 KiB per decoded flow, no object per packet."""

    __slots__ = ("ts", "frames", "n")

    def __init__(self) -> None:
        self.ts = array("d", bytes(8 * RECENT_FRAMES))
        self.frames = array("q", bytes(8 * RECENT_FRAMES))
        self.n = 0          # packets recorded; slot n % RECENT_FRAMES is the next

    def add(self, ts: float, frame: int) -> None:
        n = self.n
        if n and self.ts[(n - 1) % RECENT_FRAMES] == ts:
            return
        i = n % RECENT_FRAMES
        self.ts[i] = ts
        self.frames[i] = frame
        self.n = n + 1

    def at(self, ts: float, default: int) -> tuple[float, int]:
        """The time and frame for an event stamped ``ts``: ``ts`` and the frame of the latest packet recorded
        at or before it; when ``ts`` is older than every packet still recorded, the oldest one's time and
        frame (the row stays at one packet: its time and frame agree); ``default`` when none was recorded."""
        n = self.n
        if not n:
            return ts, default
        lo = max(0, n - RECENT_FRAMES)
        for k in range(n - 1, lo - 1, -1):
            i = k % RECENT_FRAMES
            if self.ts[i] <= ts:
                return ts, self.frames[i]
        i = lo % RECENT_FRAMES
        return self.ts[i], self.frames[i]


ROW_KEYS: dict[str, Callable[[dict], Any]] = {"conn": lambda r: (r["ts"], r["first_frame"])}


_BUDGET_CHECK = 256      # rows added between two looks at the in-memory total
_MIN_SPILL = 64          # a table holding fewer rows is not worth a spill file of its own


@dataclass
class Results:
    """Rows gathered by the engine (plain dicts in :class:`RowStore` tables that spill to
    disk, so memory does not grow with the capture; :mod:`reports.tables` makes DataFrames).

    ``mem_rows`` is one budget for all tables together (``Limits.rows_in_memory``): when
    the rows held in memory pass it, the tables holding most spill until half the budget
    is left. A per-table limit would let memory grow with the number of tables a capture
    fills (twenty-odd at 2,000 rows each held ~30 MB at 1 GB; benchmarks/README.md)."""

    spill_dir: Path | None = None
    mem_rows: int = 5000
    tables: dict[str, RowStore] = field(default_factory=dict)
    captures: list[dict] = field(default_factory=list)
    packets: Counter = field(default_factory=Counter)
    limits_hit: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    streams: dict[str, list[Chunk]] = field(default_factory=dict)
    #: each table's sort key (None: the order rows came in); a split run's workers sort every table
    #: by the key the parent merges on (decoder.commands.split.merge_key), so their stores come out merge-ready
    row_key: Callable[[str], Callable[[dict], Any] | None] = ROW_KEYS.get
    _since_check: int = 0

    def store(self, table: str) -> RowStore:
        st = self.tables.get(table)
        if st is None:
            st = self.tables[table] = RowStore(table, self.spill_dir, mem_rows=self.mem_rows,
                                               key=self.row_key(table))
        return st

    listener: Callable[[str, dict], None] | None = None   # sees every row as it is made (live mode)

    def add(self, table: str, row: dict) -> None:
        st = self.tables.get(table)
        if st is None:
            st = self.store(table)
        st.append(row)
        if self.listener is not None:
            self.listener(table, row)
        self._since_check += 1
        if self._since_check >= _BUDGET_CHECK:
            self._since_check = 0
            self._keep_budget()

    def _keep_budget(self) -> None:
        """Spill the tables holding most rows while more than ``mem_rows`` are held in all."""
        if self.spill_dir is None:
            return
        held = sum(st.held for st in self.tables.values())
        if held <= self.mem_rows:
            return
        for st in sorted(self.tables.values(), key=lambda t: t.held, reverse=True):
            if held <= self.mem_rows // 2 or st.held < _MIN_SPILL:
                break
            held -= st.held
            st.spill()

    def cleanup(self) -> None:
        for st in self.tables.values():
            st.clear_spills()
        if self.spill_dir is not None:
            shutil.rmtree(self.spill_dir, ignore_errors=True)


class Engine:
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
        self.limits = limits or Limits()
        self.share = share
        # what each frame goes through: the hot path, or the share's filter in front of it
        self._each_frame = self._fast if share is None else self._shared
        self.keyring = Keyring()        # TLS secrets: --keylog files, then pcapng DSBs as they are read
        for k in keylogs:
            self.keyring.add_file(k)
        self.registry = tuple(registry) if decode else ()
        self.detect_only = detect_only
        self.detector = Detector(self.registry)
        self.strict = strict
        self.keep_streams = keep_streams
        self.progress = progress
        self.out_dir = out_dir
        self.transcripts = transcripts and out_dir is not None
        self._watched = bool(self.transcripts or keep_streams)   # someone reads raw bytes of undecoded flows
        self._tx = (TranscriptSpool(out_dir / "streams", self.limits.max_transcript)
                    if transcripts and out_dir is not None else None)
        self.store = ArtifactStore(out_dir, self.limits)
        if spill_dir is None and out_dir is not None:
            spill_dir = out_dir / ".spill"
        self.results = Results(spill_dir=spill_dir,
                               mem_rows=self.limits.rows_in_memory, listener=on_row)
        self._file_eps: dict[str, tuple] = {}
        self._fuids: dict[tuple[str, str], str] = {}   # open objects only
        self._fields: dict[type, tuple[tuple[str, str], ...]] = {}
        self._efields: dict[type, tuple[str, ...]] = {}
        self._kinds: dict[type, type | None] = {}       # item class → its kind (see _route)
        self.server_ports = WELL_KNOWN_SERVER_PORTS | frozenset(
            p for s in self.registry for p in s.ports)
        self._reset_capture_state()
        self.capture_no = 0
        # (capture, frame) of a commented packet → its session's uid; False: another share's packet
        self._comment_uid: dict[tuple[int, int], str | None | bool] = {}

    # ------------------------------------------------------------------ per capture
    def _reset_capture_state(self) -> None:
        # flow key (both orientations) → flow; the direction is which of flow.key0/key1 the packet's key equals
        # (a (flow, direction) tuple per key was 112 bytes per open flow)
        self.tcp: dict[bytes, Flow] = {}
        self.udp: dict[bytes, Flow] = {}
        self.active: dict[Flow, None] = {}      # every open flow (order: creation)
        # the same flows by timeout, each least recently active first and with one timeout per list, so a sweep
        # closes exactly the flows whose time is up whatever other flows exist (a run split by host pair
        # agrees). Keyed by the Limits field holding the list's timeout: tcp_idle_timeout, udp_idle_timeout,
        # tcp_close_delay (TCP flows ended by FIN or RST) and any a service names as its own UDP idle
        # timeout (DissectorSpec.idle_timeout, e.g. dns_idle_timeout)
        self.idle_lists: dict[str, OrderedDict[Flow, None]] = {
            "tcp_idle_timeout": OrderedDict(), "udp_idle_timeout": OrderedDict(), "tcp_close_delay": OrderedDict()}
        for spec in self.registry:
            if spec.idle_timeout:
                self.idle_lists.setdefault(spec.idle_timeout, OrderedDict())
        self.defrag = Defragmenter(self.limits)
        self.expect = ExpectationTable(self.limits.max_expectations)
        self.frame_no = 0
        self.cur_frame = 0
        self.cur_ts = 0.0
        self.now = 0.0
        self._flush_counts()
        self._next_sweep = 0.0

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
        self.capture_no = len(self.results.captures)
        self._flush_counts()
        counts_before = sum(self.results.packets.values())
        try:
            progress = self.progress
            next_report = 1 << 22
            commented = info.commented
            for _block in src.each(self._each_frame):
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
        try:
            ver, off = l3(lt, data)
            src, dst, proto, start, end, frag = parse_ip(data, off, ver)
        except Skip:
            return None
        if frag is not None or proto not in (6, 17) or end - start < 8:
            return None
        sport, dport = _PORTS.unpack_from(data, start)
        key = flow_key(src, sport, dst, dport)
        ent = self.tcp.get(key) if proto == 6 else self.udp.get(key)
        flow = ent[0] if proto == 6 and ent is not None else ent
        return flow.uid if flow is not None else None

    def owns_frame(self, lt: int, data: bytes) -> bool:
        """Whether this engine writes the rows of this frame (all, unless it decodes a split run's share)."""
        return self.share is None or self.share.owns(lt, data)

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
        if now >= self._next_sweep and now >= self.now:
            self._sweep(now)

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
        fast = self._each_frame
        links = info.linktypes
        for rec in records:
            fast(*rec)
            if rec[2] not in links:
                links.add(rec[2])
        if info.first_ts is None:
            info.first_ts = records[0][1]
        info.frames = records[-1][0]
        info.last_ts = records[-1][1]

    def _flush_counts(self) -> None:
        pk = self.results.packets
        if getattr(self, "n_tcp", 0):
            pk["tcp"] += self.n_tcp
        if getattr(self, "n_udp", 0):
            pk["udp"] += self.n_udp
        self.n_tcp = 0
        self.n_udp = 0

    def finish_capture(self) -> None:
        for flow in list(self.active):
            # a flow that had ended (FIN both ways, RST) and lingered for its last ACKs is "finished",
            # whether its linger was up or not: its row does not depend on when the capture stopped
            self._close_flow(flow, self.now, "finished" if flow.finished else "end of capture")
        self.defrag.expire(None)
        self._defrag_events()
        for row in self.store.close_all(self.now):
            self._file_closed(row)
        self._flush_counts()

    # ------------------------------------------------------------------ frames
    def anomaly(self, ts: float, name: str, detail: str, flow: Flow | None = None,
                direction: int | None = None, source: str = "engine", frame: int | None = None) -> None:
        row = {"ts": ts, "uid": None, "orig_h": None, "orig_p": None, "resp_h": None, "resp_p": None}
        if flow is not None:
            row.update(uid=flow.uid, orig_h=flow.orig_h, orig_p=flow.orig_p, resp_h=flow.resp_h,
                       resp_p=flow.resp_p)
        row.update(name=name, detail=detail, source=source,
                   frame=self.frame_no if frame is None else frame,
                   direction=None if direction is None else ("orig" if direction == ORIG else "resp"))
        self.results.add("anomalies", row)
        if name.endswith(("_too_long", "_too_many", "_too_deep", "_capped", "_limit")):
            self.results.limits_hit[name] += 1

    def frame(self, fr: Frame) -> None:
        self._each_frame(fr.index, fr.ts, fr.linktype, fr.data)

    def _shared(self, index: int, ts: float, lt: int, data: bytes, _wirelen: int = 0) -> None:
        """A split run's frame: decoded when the share owns it, else it only moves the clock, as in a
        single pass."""
        if self.share.owns(lt, data):      # type: ignore[union-attr]
            self._fast(index, ts, lt, data)
            return
        self.frame_no = index
        self.now = ts
        if ts >= self._next_sweep:
            self._sweep(ts)

    def _fast(self, index: int, ts: float, lt: int, data: bytes, _wirelen: int = 0) -> None:
        """The per-frame hot path: Ethernet + IPv4 + TCP/UDP without options of interest parsed inline
        with ``struct``; everything else goes through :meth:`_slow`."""
        self.frame_no = index
        self.now = ts
        if ts >= self._next_sweep:
            self._sweep(ts)
        if lt == 1 and len(data) >= 34:
            etype, vihl, total, frag, proto = _ETH_IP4.unpack_from(data, 12)
        else:
            etype = 0
        if etype == 0x0800 and vihl == 0x45:
            # Ethernet II, IPv4 without options
            end = 14 + total
            if not frag & 0x3FFF and end <= len(data):      # (a total under 40 or 28 falls through to _slow)
                if proto == 6 and total >= 40:
                    sport, dport, seq, ack, offb, flags, _w = _TCP.unpack_from(data, 34)
                    doff = (offb >> 4) * 4
                    if doff >= 20 and 34 + doff <= end:
                        key = data[26:38]  # the flow key is the header's own src, dst, sport, dport bytes
                        if flags == ACK or flags == ACK | PSH:
                            # the two most frequent segments (nine in ten on the benchmark capture) of a known,
                            # unfinished flow, with nothing queued either way: a pure ACK, and in-order data.
                            # What _tcp and Half.segment/Half.ack would do, without their calls
                            ent = self.tcp.get(key)
                            if ent is not None:
                                flow, d, me, other = ent
                                plen = end - 34 - doff
                                if not flow.finished and not other.starts and (
                                        (not plen and flags == ACK) or (plen and seq == me.expect)):
                                    flow.idle.move_to_end(flow)
                                    flow.last_ts = ts
                                    flow.last_frame = index
                                    me.pkts += 1
                                    me.seg_bytes += total - 20
                                    if other.base is not None:
                                        other.raw_ack = ack    # kept raw, unwrapped when it matters (Half.ack)
                                    if not plen:
                                        if me.base is None:
                                            me.base = seq
                                            me.rearm()
                                        if not me.seen_a:
                                            me.seen_a = True
                                            self._control(flow, d, "A", ts, index)
                                        return
                                    payload = data[34 + doff:end]
                                    nxt = me.next
                                    me.next = nxt + plen
                                    me.expect = (seq + plen) & 0xFFFFFFFF
                                    tail = me.tail         # the last chunks delivered (Half._remember)
                                    if not tail:
                                        tail = me.tail = []
                                    tail.append((nxt, payload))
                                    if len(tail) > TAIL_CHUNKS:
                                        del tail[0]
                                    me.data_bytes += plen
                                    if not me.seen_d:
                                        me.seen_d = True
                                        flow.mark(d, "D")
                                    if flow.handler.state < RAW or self._watched:
                                        self._deliver(flow, d, [(False, payload)], ts, index)
                                    return
                        self._tcp(key, sport, dport, seq, ack, flags, data[34 + doff:end], total - 20, ts, index)
                        return
                elif proto == 17 and total >= 28:
                    sport, dport, ulen = _UDP.unpack_from(data, 34)
                    pend = end if not (8 <= ulen <= total - 20) else 34 + ulen
                    self._udp(data[26:38], sport, dport, data[42:pend], total - 20, ts, index)
                    return
        self._slow(index, ts, lt, data)

    def _slow(self, index: int, ts: float, lt: int, data: bytes) -> None:
        pk = self.results.packets
        try:
            ver, off = l3(lt, data)
            src, dst, proto, start, end, frag = parse_ip(data, off, ver)
        except Skip as s:
            pk["skipped: " + s.reason] += 1
            if s.broken:
                self.anomaly(ts, "packet_malformed", s.reason)
            return
        if frag is not None:
            pk["ip fragment"] += 1
            res = self.defrag.add(frag, ts, index)
            if self.defrag.events:
                self._defrag_events()
            if res is None:
                return
            ver, src, dst, data, proto = res
            start, end = 0, len(data)
            if ver == 6 and proto in (0, 43, 60):
                while proto in (0, 43, 60) and start + 2 <= end:
                    nxt = data[start]
                    start += (data[start + 1] + 1) * 8
                    proto = nxt
            self._transport(proto, src, dst, data, start, end, ts, index, counted=True)
            return
        self._transport(proto, src, dst, data, start, end, ts, index, counted=False)

    def _defrag_events(self) -> None:
        for ev in self.defrag.events:
            self.anomaly(ev.ts, ev.name, ev.detail, source="ip", frame=ev.frame)
        self.defrag.events.clear()

    def _transport(self, proto: int, src: bytes, dst: bytes, data: bytes, start: int, end: int,
                   ts: float, frame: int, counted: bool) -> None:
        pk = self.results.packets
        if proto == 6:
            if end - start < 20:
                if not counted:
                    pk["skipped: truncated TCP header"] += 1
                self.anomaly(ts, "packet_malformed", "truncated TCP header", source="tcp")
                return
            sport, dport, seq, ack, offb, flags, _win = _TCP.unpack_from(data, start)
            doff = (offb >> 4) * 4
            if doff < 20 or start + doff > end:
                if not counted:
                    pk["skipped: bad TCP header length"] += 1
                self.anomaly(ts, "packet_malformed", f"TCP data offset {doff} is invalid", source="tcp")
                return
            if counted:
                self.n_tcp -= 1      # a flow counts its packets (_close_flow); a reassembled one is an "ip fragment"
            self._tcp(flow_key(src, sport, dst, dport), sport, dport, seq, ack, flags, data[start + doff:end],
                      end - start, ts, frame)
        elif proto == 17:
            if end - start < 8:
                if not counted:
                    pk["skipped: truncated UDP header"] += 1
                self.anomaly(ts, "packet_malformed", "truncated UDP header", source="udp")
                return
            sport, dport, ulen = _UDP.unpack_from(data, start)
            pend = end
            if 8 <= ulen <= end - start:
                pend = start + ulen
            if counted:
                self.n_udp -= 1
            self._udp(flow_key(src, sport, dst, dport), sport, dport, data[start + 8:pend], end - start, ts, frame)
        else:
            if not counted:
                pk["other IP protocol: " + IP_PROTO_NAMES.get(proto, str(proto))] += 1

    # ------------------------------------------------------------------ flows
    def _new_flow(self, proto: str, orig: tuple[bytes, int], resp: tuple[bytes, int], ts: float,
                  frame: int, guessed: bool, flipped: bool = False) -> Flow:
        flow = Flow(proto, orig, resp, ts, frame, guessed, self.limits, self.capture_no)
        if flipped:
            flow.hist += "^"
        k1 = flow_key(orig[0], orig[1], resp[0], resp[1])
        k2 = flow_key(resp[0], resp[1], orig[0], orig[1])
        flow.key0, flow.key1 = k1, k2
        if proto == "tcp":
            h0, h1 = flow.halves
            self.tcp[k2] = (flow, RESP, h1, h0)
            self.tcp[k1] = (flow, ORIG, h0, h1)
        else:
            self.udp[k2] = flow
            self.udp[k1] = flow
        self.active[flow] = None
        idle = flow.idle = self.idle_lists["tcp_idle_timeout" if proto == "tcp" else "udp_idle_timeout"]
        idle[flow] = None
        if len(self.active) > self.limits.max_flows:
            # the least recently active: the oldest of the fronts of the per-kind idle lists
            fronts = [next(iter(lst)) for lst in self.idle_lists.values() if lst]
            oldest = min((f for f in fronts if f is not flow), key=lambda f: f.last_ts, default=flow)
            self.anomaly(ts, "flows_too_many",
                         f"more than {self.limits.max_flows} open flows; the least recently active was closed",
                         flow=oldest, source="engine")
            self._close_flow(oldest, ts, "evicted")
        # expectation first (both orientations: a data flow may be seen mid-stream)
        m = self.expect.match(proto, flow.orig_h, flow.orig_p, flow.resp_h, flow.resp_p, ts)
        h = Handler()
        flow.handler = h
        if m is not None:
            spec = self.detector.by_name.get((proto, m.service))
            flow.expectation = m
            if spec is not None:
                self._attach(flow, spec, ts)
                if m.meta.get("tls") and h.state == ATTACHED:
                    # announced as a TLS session of its own (FTP data under PROT P, RFC 4217): TLS first, the
                    # expected protocol inside it
                    self._switch(flow, h, StopParsing(ts, "tls"))
                if m.nat:
                    self.anomaly(ts, "expectation_nat_match",
                                 f"{m.service} flow matched an expectation of {m.parent_uid} by port only "
                                 "(the announced address differs: NAT)", flow=flow, source="engine")
        if h.state == UNDECIDED:
            h.port_specs = self.detector.port_candidates(proto, flow.resp_p, flow.orig_p, flow.roles_guessed)
            if not self.registry:
                h.state = RAW
        return flow

    def _announced(self, proto: str, orig: bytes, orig_p: int, resp: bytes, resp_p: int, ts: float) -> bool:
        """Whether a pending expectation foresees this flow with these roles (a look: nothing is used up)."""
        return bool(self.expect) and self.expect.match(proto, addr_str(orig), orig_p, addr_str(resp), resp_p, ts,
                                                       consume=False) is not None

    def _tcp(self, key: bytes, sport: int, dport: int, seq: int, ack: int, flags: int,
             payload: bytes, seglen: int, ts: float, frame: int) -> None:
        """One TCP segment; ``key`` is :func:`flow_key` of its (src, sport, dst, dport)."""
        ent = self.tcp.get(key)
        flow = None
        if ent is not None:
            flow, d, me, other = ent
            if (flags & (SYN | ACK)) == SYN and (flow.finished or any(flow.fin) or any(flow.rst)):
                if d != ORIG or not me.seen_syn or me.base != ((seq + 1) & 0xFFFFFFFF):
                    self._close_flow(flow, ts, "port reused")
                    flow = None
        if flow is None:
            half = (len(key) - 4) >> 1
            src, dst = key[:half], key[half:2 * half]
            if flags & SYN and not flags & ACK:
                orig, resp, guessed = (src, sport), (dst, dport), False
            elif flags & SYN and flags & ACK:
                orig, resp, guessed = (dst, dport), (src, sport), False
            elif self._announced("tcp", src, sport, dst, dport, ts):
                # no handshake seen, but a control session announced this connection (FTP PASV/PORT…):
                # the roles are the announcement's, whichever side the first packet came from
                orig, resp, guessed = (src, sport), (dst, dport), False
            elif self._announced("tcp", dst, dport, src, sport, ts):
                orig, resp, guessed = (dst, dport), (src, sport), False
            else:
                guessed = True
                sp, dp = sport in self.server_ports, dport in self.server_ports
                if (sp and not dp) or (sp == dp and sport < dport):
                    orig, resp = (dst, dport), (src, sport)
                else:
                    orig, resp = (src, sport), (dst, dport)
            flow = self._new_flow("tcp", orig, resp, ts, frame, guessed, flipped=orig[0] != src or orig[1] != sport)
            flow, d, me, other = self.tcp[key]
        else:
            flow.idle.move_to_end(flow)
        flow.last_ts = ts
        flow.last_frame = frame
        me.pkts += 1
        me.seg_bytes += seglen
        if flow.finished:
            return
        out_other: list = []
        out: list = []
        if flags & SYN:
            if flags & ACK:
                flow.synack = True
                self._control(flow, d, "H", ts, frame)
            else:
                flow.syn = True
                self._control(flow, d, "S", ts, frame)
            me.syn(seq)
        if flags & ACK:
            if me.base is None and not flags & SYN:
                me.base = seq & 0xFFFFFFFF
            other.ack(ack, out_other)
            if not payload and not flags & (SYN | FIN | RST) and not me.seen_a:
                me.seen_a = True
                self._control(flow, d, "A", ts, frame)
        if flags & RST:
            flow.rst[d] = True
            self._control(flow, d, "R", ts, frame)
        if payload or flags & FIN:
            retrans = me.retrans
            differs = me.segment(seq, payload, bool(flags & FIN), out)
            if payload:
                me.data_bytes += len(payload)
                if not me.seen_d:
                    me.seen_d = True
                    flow.mark(d, "D")
            if me.retrans != retrans:
                flow.mark(d, "T")
            if me.cap_hit is not None:
                self.anomaly(ts, me.cap_hit,
                             f"more than {self.limits.tcp_hole_buffer} bytes or {self.limits.tcp_max_pending_segments} "
                             "separate ranges waited above a hole; the hole was declared a gap", flow=flow, direction=d,
                             source="tcp")
                me.cap_hit = None
            if differs:
                self.anomaly(ts, "tcp_overlap_differs",
                             "a retransmitted or overlapping segment carried different bytes; "
                             "the first copy was kept", flow=flow, direction=d, source="tcp")
        if flags & FIN:
            flow.fin[d] = True
            self._control(flow, d, "F", ts, frame)
        me.rearm()                 # for the in-order path of _fast
        other.rearm()
        if out_other:
            self._deliver(flow, 1 - d, out_other, ts, frame)
        if out:
            self._deliver(flow, d, out, ts, frame)
        if flags & RST or (flow.fin[0] and flow.fin[1] and me.closed and other.closed
                           and not me.starts and not other.starts):
            self._finish(flow, ts)

    def _control(self, flow: Flow, d: int, letter: str, ts: float, frame: int) -> None:
        """Mark a history letter; the first SYN, SYN-ACK, FIN and RST of each side, and the originator's
        first pure ACK after a SYN-ACK (the handshake's third packet), also become a ``tcp_control`` row at
        their packet (the ladder draws them)."""
        ch = letter if d == ORIG else letter.lower()
        if ch in flow.hist:
            return
        flow.mark(d, letter)
        if letter == "A" and (d != ORIG or "h" not in flow.hist):
            return
        self.results.add("tcp_control", {
            "ts": ts, "uid": flow.uid, "orig_h": flow.orig_h, "orig_p": flow.orig_p, "resp_h": flow.resp_h,
            "resp_p": flow.resp_p, "frame": frame, "direction": "orig" if d == ORIG else "resp",
            "flags": _CONTROL_NAMES[letter]})

    def _udp(self, key: bytes, sport: int, dport: int, payload: bytes, iplen: int,
             ts: float, frame: int) -> None:
        """One UDP datagram; ``key`` is :func:`flow_key` of its (src, sport, dst, dport)."""
        flow = self.udp.get(key)
        if flow is None:
            half = (len(key) - 4) >> 1
            src, dst = key[:half], key[half:2 * half]
            # roles from content when a spec on these ports can tell a reply from a request (the peer that
            # asked is the originator, never a group address), else from the ports
            reply = self.detector.sent_by_responder("udp", sport, dport, payload)
            if self._announced("udp", dst, dport, src, sport, ts):
                # a transfer announced by a request (TFTP) whose first datagram seen came from its receiver:
                # the roles are the announcement's
                reply = flip = True
            elif reply is None:
                flip = sport in self.server_ports and dport not in self.server_ports
            else:
                flip = reply and not group_address(dst)
            if flip and self.expect.match("udp", addr_str(src), sport, addr_str(dst), dport, ts, consume=False) is None:
                flow = self._new_flow("udp", (dst, dport), (src, sport), ts, frame, reply is None, flipped=True)
            else:
                flow = self._new_flow("udp", (src, sport), (dst, dport), ts, frame, False)
        else:
            flow.idle.move_to_end(flow)
        d = ORIG if key == flow.key0 else RESP
        flow.last_ts = ts
        flow.last_frame = frame
        n = flow.n
        n[d] += 1
        n[2 + d] += iplen
        n[4 + d] += len(payload)
        self._deliver(flow, d, [(False, payload)], ts, frame)

    # ------------------------------------------------------------------ dissection
    def _deliver(self, flow: Flow, d: int, chunks: list, ts: float, frame: int) -> None:
        h: Handler = flow.handler
        if h.state >= RAW and not self._watched:
            for is_gap, _x in chunks:     # nobody decodes it (raw or stopped): gaps still count
                if is_gap:
                    flow.gaps += 1
                    flow.mark(d, "G")
            return
        if self._tx is not None:
            for is_gap, x in chunks:
                if self._tx.add(flow.uid, d, None if is_gap else x, x if is_gap else 0, ts, frame):
                    self.anomaly(ts, "transcript_capped",
                                 f"the report keeps {self.limits.max_transcript} bytes of this direction; "
                                 "the rest is decoded but not shown raw", flow=flow, direction=d, source="engine")
        if self.keep_streams is True or (self.keep_streams and flow.uid in self.keep_streams):
            lst = self.results.streams.setdefault(flow.uid, [])
            for is_gap, x in chunks:
                lst.append(Chunk(d, None if is_gap else x, x if is_gap else 0, ts, frame))
        self.cur_frame = frame
        self.cur_ts = ts
        if h.state == ATTACHED:
            h.recent.add(ts, frame)
        for is_gap, x in chunks:
            if is_gap:
                flow.gaps += 1
                flow.mark(d, "G")
            st = h.state
            if st == ATTACHED:
                if is_gap:
                    self._call(flow, "gap", DIRS[d], x, ts)
                else:
                    self._call(flow, "feed", DIRS[d], x, ts)
            elif st == UNDECIDED:
                self._detect(flow, h, d, is_gap, x, ts, frame)

    def _detect(self, flow: Flow, h: Handler, d: int, is_gap: bool, x: Any, ts: float, frame: int) -> None:
        lim = self.limits.detect_buffer
        if not h.buffer:
            h.buffer = []
            if h.heads is _NO_HEADS:
                h.heads = [b"", b""]
        h.buffer.append((d, None if is_gap else x, x if is_gap else 0, ts, frame))
        if not is_gap:
            if flow.proto == "udp":
                # probes see one whole datagram per direction (the first non-empty one)
                h.udp_datagrams += 1
                if not h.heads[d]:
                    h.heads[d] = x[:lim]
            elif len(h.heads[d]) < lim:
                h.heads[d] = (h.heads[d] + x)[:lim]
        full = (len(h.heads[0]) >= lim or len(h.heads[1]) >= lim or len(h.buffer) > 64
                or (flow.proto == "udp" and h.udp_datagrams >= 4))
        if not any(h.heads):
            if full:
                h.state = RAW
                h.buffer = _NO_BUFFER
            return
        spec, final = self.detector.decide(flow.proto, h.port_specs, h.heads, full)
        if spec is not None:
            self._attach_and_replay(flow, h, spec, ts)
        elif final:
            h.state = RAW
            h.heads = _NO_HEADS
            h.buffer = _NO_BUFFER

    def _attach_and_replay(self, flow: Flow, h: Handler, spec: DissectorSpec, ts: float) -> None:
        """Start ``spec``'s dissector and feed it what detection buffered, in the original order
        and with each chunk's own time and frame."""
        buffered, h.buffer = h.buffer, _NO_BUFFER
        h.heads = _NO_HEADS            # detection is over: its window is no longer needed
        self._attach(flow, spec, ts)
        for bd, data, gap, bts, bframe in buffered:
            if h.state != ATTACHED:
                break
            self.cur_frame = bframe
            self.cur_ts = bts
            h.recent.add(bts, bframe)
            if data is None:
                self._call(flow, "gap", DIRS[bd], gap, bts)
            else:
                self._call(flow, "feed", DIRS[bd], data, bts)

    def _attach(self, flow: Flow, spec: DissectorSpec, ts: float) -> None:
        h: Handler = flow.handler
        h.spec = spec
        if spec.idle_timeout and flow.idle is self.idle_lists["udp_idle_timeout"]:
            # the service's own idle timeout: the flow has just been active, so it goes last in that list
            lst = self.idle_lists[spec.idle_timeout]     # made with the others: a sweep may be iterating them
            flow.idle.pop(flow, None)
            lst[flow] = None
            flow.idle = lst
        if self.detect_only:
            h.state = STOPPED
            return
        ctx = h.ctx = FlowContext(uid=flow.uid, transport=Transport(flow.proto), orig_h=flow.orig_h,
                                  orig_p=flow.orig_p, resp_h=flow.resp_h, resp_p=flow.resp_p, limits=self.limits,
                                  expectation=flow.expectation, roles_guessed=flow.roles_guessed,
                                  secrets=self.keyring)
        try:
            h.dissector = spec.factory(ctx)
        except Exception as e:
            if self.strict:
                raise
            self.anomaly(ts, "dissector_error", f"{spec.name}: could not start: {e!r}", flow=flow,
                         source=spec.name)
            h.state = RAW
            return
        h.state = ATTACHED
        h.recent = Recent()

    def _call(self, flow: Flow, what: str, d: Direction, x: Any, ts: float) -> None:
        h: Handler = flow.handler
        try:
            if what == "feed":
                items = h.dissector.feed(d, x, ts)
            elif what == "gap":
                items = h.dissector.gap(d, x, ts)
            else:
                items = h.dissector.close(ts)
        except Exception as e:
            if self.strict:
                raise
            self.anomaly(ts, "dissector_error", f"{h.spec.name}: {type(e).__name__}: {e}", flow=flow,
                         source=h.spec.name)
            h.state = RAW
            h.dissector = None
            return
        if items:
            self._route(flow, h, items)

    def _event_fields(self, ev: Event) -> dict:
        """An event's own fields (all but ts and direction) as plain values: the timeline row keeps the
        event's structure, so readers (the report's Telnet replay, notebooks) need not parse summaries."""
        names = self._efields.get(type(ev))
        if names is None:
            names = self._efields[type(ev)] = tuple(f.name for f in dataclasses.fields(ev)
                                                    if f.name not in ("ts", "direction"))
        out = {}
        for n in names:
            v = getattr(ev, n)
            out[n] = v if v is None or type(v) in _SCALARS else plain(v)
        return out

    def _route(self, flow: Flow, h: Handler, items: Iterable) -> None:
        res = self.results
        svc = h.spec.service_name if h.spec else ""
        kinds = self._kinds
        for it in items:
            k = kinds.get(type(it))
            if k is None:
                k = kinds[type(it)] = _item_kind(it)
            if k is FileData:      # the most frequent item: object bytes
                fuid = self._fuid(flow.uid, it.handle)
                if not self.store.write(fuid, it.data):
                    self.anomaly(it.ts, "file_size_capped",
                                 f"object {fuid} is larger than {self.limits.max_file_size} bytes; the rest was "
                                 "not stored", flow=flow, source=svc)
            elif k is Event:
                ets, eframe = (it.ts, self.cur_frame) if it.ts == self.cur_ts else h.recent.at(it.ts, self.cur_frame)
                row = {"ts": ets, "uid": flow.uid, "orig_h": flow.orig_h, "orig_p": flow.orig_p,
                       "resp_h": flow.resp_h, "resp_p": flow.resp_p, "proto": svc,
                       "direction": "orig" if it.direction == ORIG else "resp",
                       "kind": type(it).__name__, "summary": _safe_text(it, "summary"),
                       "meaning": _safe_text(it, "meaning"),
                       "frame": eframe,
                       "fields": self._event_fields(it)}
                res.add("timeline", row)
            elif k is Record:
                row = {"ts": it.ts, "uid": flow.uid, "orig_h": flow.orig_h, "orig_p": flow.orig_p,
                       "resp_h": flow.resp_h, "resp_p": flow.resp_p}
                names = self._fields.get(type(it))
                if names is None:
                    cols = getattr(type(it), "COLUMNS", {})   # field → column (e.g. from_ → from)
                    names = tuple((f.name, cols.get(f.name, f.name)) for f in dataclasses.fields(it)
                                  if f.name != "ts")
                    self._fields[type(it)] = names
                for n, col in names:
                    v = getattr(it, n)
                    row[col] = v if v is None or type(v) in _SCALARS else plain(v)
                res.add(it.TABLE or type(it).__name__.lower(), row)
            elif k is Anomaly:
                self.anomaly(it.ts, it.name, it.detail, flow=flow, direction=it.direction, source=svc)
            elif k is FileOpen:
                fuid = self._fuid(flow.uid, it.handle)
                self._file_eps[flow.uid] = (flow.orig_h, flow.orig_p, flow.resp_h, flow.resp_p)
                d = None if it.direction is None else ("orig" if it.direction == ORIG else "resp")
                if not self.store.open(fuid, flow.uid, it.ts, it.source, it.kind, it.name_hint, it.mime_type,
                                       it.total_size, d, it.parent_fuid):
                    self.anomaly(it.ts, "files_too_many", f"more than {self.limits.max_files} objects",
                                 flow=flow, source=svc)
            elif k is FileGap:
                self.store.gap(self._fuid(flow.uid, it.handle), it.length)
            elif k is FileClose:
                row = self.store.close(self._fuid(flow.uid, it.handle), it.ts, it.complete, it.reason)
                self._fuids.pop((flow.uid, it.handle), None)
                if row is not None:
                    self._file_closed(row)
            elif k is Expect:
                if not self.expect.add(it, flow.uid, it.ts):
                    self.anomaly(it.ts, "expectations_too_many",
                                 f"more than {self.limits.max_expectations} pending expectations; the oldest "
                                 "was dropped", flow=flow, source=svc)
            elif k is Confirm:
                h.confirmed = True
            elif k is Violation:
                if not h.confirmed:
                    self.anomaly(it.ts, "protocol_violation", f"{h.spec.name if h.spec else '?'}: {it.reason}; "
                                 "decoding stopped, the flow is kept as a raw transcript", flow=flow, source=svc)
                    h.state = RAW
                    h.spec = None
                    h.dissector = None
                    return
                self.anomaly(it.ts, f"{svc}_violation", it.reason, flow=flow, source=svc)
            elif k is StopParsing:
                if self._switch(flow, h, it):
                    return
                h.state = STOPPED
                return

    def _switch(self, flow: Flow, h: Handler, stop: StopParsing) -> bool:
        """The flow switched protocol (STARTTLS, STLS, AUTH TLS accepted: "tls"; HTTP 101 to WebSocket or h2c): the
        dissector of what follows takes the flow over, told which protocol it came from, and gets the bytes
        already received after the switch; the flow keeps its service. False when none is registered."""
        name = SWITCHES.get(stop.reason.lower())
        spec = self.detector.by_name.get(("tcp", name)) if name else None
        if spec is None or h.ctx is None or h.spec is None or h.spec is spec:
            return False
        h.ctx = dataclasses.replace(h.ctx, switched_from=h.spec.name)
        try:
            h.dissector = spec.factory(h.ctx)
        except Exception as e:
            if self.strict:
                raise
            self.anomaly(stop.ts, "dissector_error", f"{name}: could not start: {e!r}", flow=flow, source=name)
            return False
        for d, data in zip(DIRS, stop.pending):
            if data and h.state == ATTACHED and h.dissector is not None:
                self._call(flow, "feed", d, data, stop.ts)
        return True

    def _fuid(self, uid: str, handle: str) -> str:
        """The file id of a flow's object, hashed once per object (not per data item)."""
        key = (uid, handle)
        f = self._fuids.get(key)
        if f is None:
            f = self._fuids[key] = make_fuid(uid, handle)
        return f

    def _file_closed(self, row: dict) -> None:
        eps = self._file_eps.get(row["uid"])
        if eps is not None:
            row["orig_h"], row["orig_p"], row["resp_h"], row["resp_p"] = eps
        self.results.add("files", row)
        if row.get("kind") == "email":
            from decoder.session import explode_email
            explode_email(self, row)

    def _finish(self, flow: Flow, ts: float) -> None:
        """The flow ended (FIN both ways, RST): close its dissector, keep absorbing stray ACKs."""
        if flow.finished:
            return
        if flow.halves is not None:
            for d in (ORIG, RESP):
                out: list = []
                flow.halves[d].flush(out)
                if out:
                    self._deliver(flow, d, out, ts, flow.last_frame)
        h: Handler = flow.handler
        if h.state == UNDECIDED and h.buffer:
            # decide with what we have
            spec, _final = self.detector.decide(flow.proto, h.port_specs, h.heads, True)
            if spec is not None:
                self._attach_and_replay(flow, h, spec, ts)
            else:
                h.buffer = _NO_BUFFER
                h.state = RAW
        if h.state == ATTACHED:
            # what the dissector says at close belongs to the flow's last frame, not to whichever flow
            # delivered data last (a run split by host pair agrees); an event stamped earlier, to the
            # packet of its time
            self.cur_frame = flow.last_frame
            self.cur_ts = ts
            self._call(flow, "close", ORIG, None, ts)
        if h.state == UNDECIDED:
            h.state = RAW
        # a finished flow lingers to absorb its last ACKs: keep only what the port-reuse check and the
        # conn row need (up to max_lingering_flows of them are held)
        h.dissector = None
        h.buffer = _NO_BUFFER
        h.heads = _NO_HEADS
        h.ctx = None
        h.recent = None
        h.port_specs = ()
        if flow.halves is not None:
            for half in flow.halves:
                half.compact()
        flow.finished = True
        lingering = self.idle_lists["tcp_close_delay"]
        if flow.idle is not None and flow.idle is not lingering:
            flow.idle.pop(flow, None)
            lingering[flow] = None
            flow.idle = lingering
            if len(lingering) > self.limits.max_lingering_flows:   # memory: the oldest finished goes now
                self._close_flow(next(iter(lingering)), ts, "finished")

    def _close_flow(self, flow: Flow, ts: float, reason: str) -> None:
        if flow.handler is None:      # already closed (e.g. evicted while another flow finished)
            return
        # the flow's own last packet time: what its dissector says at close belongs to the flow, not to
        # the packet or the capture end that closed it
        self._finish(flow, flow.last_ts)
        if flow.proto == "tcp":
            for k in (flow.key0, flow.key1):
                ent = self.tcp.get(k)
                if ent is not None and ent[0] is flow:
                    del self.tcp[k]
        else:
            for k in (flow.key0, flow.key1):
                if self.udp.get(k) is flow:
                    del self.udp[k]
        self.active.pop(flow, None)
        if flow.idle is not None:
            flow.idle.pop(flow, None)
            flow.idle = None
        h: Handler = flow.handler
        m = flow.expectation
        svc = h.spec.service_name if (h.spec is not None and h.state in (ATTACHED, STOPPED)) else ""
        if not svc and h.spec is not None and h.confirmed:
            svc = h.spec.service_name
        o_pkts, r_pkts, o_ip, r_ip, o_bytes, r_bytes = flow.counters()
        if flow.proto == "tcp":          # the packet counts of the summary (packets of flows count at close)
            self.n_tcp += o_pkts + r_pkts
        else:
            self.n_udp += o_pkts + r_pkts
        self.results.add("conn", {
            "ts": flow.first_ts, "uid": flow.uid, "orig_h": flow.orig_h, "orig_p": flow.orig_p,
            "resp_h": flow.resp_h, "resp_p": flow.resp_p, "proto": flow.proto, "service": svc,
            "duration": round(flow.last_ts - flow.first_ts, 6), "orig_bytes": o_bytes,
            "resp_bytes": r_bytes, "conn_state": flow.conn_state(), "missed_bytes": flow.missed_bytes,
            "history": flow.history, "orig_pkts": o_pkts, "resp_pkts": r_pkts,
            "orig_ip_bytes": o_ip, "resp_ip_bytes": r_ip,
            "roles_guessed": flow.roles_guessed,
            "out_of_order": (flow.halves[0].ooo + flow.halves[1].ooo) if flow.halves else 0,
            "retransmissions": (flow.halves[0].retrans + flow.halves[1].retrans) if flow.halves else 0,
            "gaps": flow.gaps,
            "parent_uid": m.parent_uid if m else None, "expect_token": m.token if m else None,
            "nat": bool(m.nat) if m else False, "first_frame": flow.first_frame, "last_frame": flow.last_frame,
            "close_reason": reason,
        })
        flow.handler = None
        flow.halves = None
        if flow.uid not in self.store.open_by_uid:
            self._file_eps.pop(flow.uid, None)   # its objects are closed: endpoints no longer needed
        if self._tx is not None:
            self._tx.close(flow.uid, flow.last_ts)

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + 1.0
        lim = self.limits
        for key, lst in self.idle_lists.items():
            limit = getattr(lim, key)
            reason = "finished" if key == "tcp_close_delay" else "idle timeout"
            while lst:
                flow = next(iter(lst))
                if now - flow.last_ts <= limit:
                    break
                self._close_flow(flow, flow.last_ts, reason)
        self.expect.sweep(now)


def _safe_text(ev: Any, method: str) -> str:
    fn = getattr(ev, method, None)
    if fn is None:
        return ""
    try:
        return str(fn())
    except Exception as e:  # a summary bug must not lose the event
        return f"<{method} failed: {type(e).__name__}>"


def count_for_summary(tables: Mapping[str, Any]) -> dict[str, Counter]:
    """What the summary counts from rows: sessions by service, flows by transport, anomalies by name, TLS
    sessions (how many, how many decrypted, records left undecrypted). A run split across processes counts in
    each worker and adds the counts up."""
    services: Counter = Counter()
    protos: Counter = Counter()
    for c in tables.get("conn", ()):
        services[c["service"] or "(unknown)"] += 1
        protos[c["proto"]] += 1
    anomalies = Counter(a["name"] for a in tables.get("anomalies", ()))
    tls: Counter = Counter()
    for t in tables.get("tls", ()):
        tls["sessions"] += 1
        tls["decrypted"] += bool(t.get("decrypted"))
        tls["records_undecrypted"] += t.get("records_undecrypted") or 0
    return {"services": services, "protos": protos, "anomalies": anomalies, "tls": tls}


def undecodable_reason(packets: Mapping[str, int], captures: Sequence[Mapping[str, Any]]) -> str | None:
    """Why nothing in the capture(s) could be decoded, in one sentence; ``None`` when some packet was.

    A capture that could not be opened is an error, not this (its ``captures`` entry is missing)."""
    if not captures or any(not k.startswith("skipped") for k in packets):
        return None
    if not any(c.get("frames") for c in captures):
        return "the capture holds no packets"
    skipped = Counter({k.partition(": ")[2]: n for k, n in packets.items()})
    links = [k for k in skipped if k.startswith("unsupported link type")]
    if len(links) == len(skipped):
        return (f"{' and '.join(links)}: wiretale decodes Ethernet, Linux cooked (SLL, SLL2), BSD loopback "
                "and raw IP captures")
    top = ", ".join(f"{k} ({n:,})" for k, n in skipped.most_common(3))
    return f"none of its {sum(skipped.values()):,} packets carries IP that wiretale decodes ({top})"


def build_summary(engine: Engine, counts: Mapping[str, Counter] | None = None) -> dict:
    """summary.json of a run; ``counts`` as :func:`count_for_summary` gives them, when the rows are not
    at hand (the split's parent holds encoded lines)."""
    from decoder.version import __version__

    engine._flush_counts()
    res = engine.results
    if counts is None:
        counts = count_for_summary(res.tables)
    services, protos, anomalies = counts["services"], counts["protos"], counts["anomalies"]
    total = sum(res.packets.values())
    decoded = sum(n for k, n in res.packets.items() if not k.startswith("skipped"))
    return {
        "wiretale": __version__,
        "captures": res.captures,
        "errors": res.errors,
        "undecodable": undecodable_reason(res.packets, res.captures),
        "packets": {
            "total": total,
            "decoded": decoded,
            "skipped": total - decoded,
            "by_kind": dict(sorted(res.packets.items())),
        },
        "flows": {"total": sum(protos.values()), "tcp": protos["tcp"], "udp": protos["udp"]},
        "sessions": dict(sorted(services.items())),
        "anomalies": dict(sorted(anomalies.items())),
        "limits_hit": dict(sorted(res.limits_hit.items())),
        "files": len(res.tables.get("files", [])),
        "emails": len(res.tables.get("emails", [])),
        "credentials": len(res.tables.get("credentials", [])),
        "tls": {k: counts.get("tls", Counter())[k] for k in ("sessions", "decrypted", "records_undecrypted")},
        "limits": dataclasses.asdict(engine.limits),
    }


def run_engine(engine: Engine, paths: Sequence[str | Path]) -> Engine:
    """Run every capture through ``engine`` and assemble sessions (rows stay in RowStores)."""
    from decoder.session import assemble

    with bulk():
        for p in paths:
            engine.run(p)
        assemble(engine)
    return engine
