"""The dissector host: which protocol a flow speaks, its dissector's calls, and where their items go.

The engine's second part (docs/ARCHITECTURE.md, "The engine"). Reading and reassembly
(:mod:`decoder.reassembly`) hands it each flow's ordered bytes and gaps; it

* gives a new flow its :class:`Handler` (:meth:`DissectorHost.open`): a pending expectation's
  service at once, else the specs its ports suggest (DESIGN.md 2.6, :mod:`decoder.detect`);
* detects the rest from the first bytes of each direction, buffering them with their time and frame,
  and replays them to the dissector chosen (:meth:`~DissectorHost.deliver`);
* calls the dissector (``feed``, ``gap``, ``close``) and catches our own bugs at that boundary: the
  flow gets a ``dissector_error`` anomaly and is kept raw (``strict=True`` re-raises: the tests and
  ``--strict``); inside an object a :class:`~decoder.model.BulkDissector` announced, it holds the segments
  back and feeds each run as at most two calls (bulk delivery, docs/ARCHITECTURE.md);
* routes each item it returns (:meth:`~DissectorHost._route`): events to ``timeline`` at the time and
  frame of the packet that carried them (:class:`Recent`), records to their table, anomalies,
  file streams to the :class:`~decoder.artifacts.ArtifactStore` (a closed ``email`` object is parsed,
  :mod:`decoder.session`), expectations, confirmations, violations and protocol switches (STARTTLS,
  HTTP 101: :meth:`~DissectorHost._switch`);
* keeps the raw transcripts the report shows (:class:`~decoder.transcripts.TranscriptSpool`) and the
  chunks ``follow`` prints.

Rows go to :class:`decoder.results.Results`. It knows a flow only as :class:`decoder.flows.Flow` (its
endpoints, uid, times and ``handler``) and imports no module of reading and reassembly (capture, link
layers, fragments, TCP): ``tests/test_import_graph.py`` keeps that wall.
"""
from __future__ import annotations

import dataclasses
from array import array
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from decoder.artifacts import ArtifactStore
from decoder.detect import ATTACHED, RAW, STOPPED, UNDECIDED, Detector
from decoder.expect import ExpectationTable
from decoder.flows import Flow, addr_str
from decoder.keylog import Keyring
from decoder.results import Chunk, Results, dict_maker, vouched_time
from decoder.transcripts import TranscriptSpool
from decoder.model import (
    ORIG, RESP, Anomaly, Confirm, Direction, DissectorSpec, Event, Expect, FileClose,
    FileData, FileGap, FileOpen, FlowContext, LEAD, Limits, Record, StopParsing, SWITCHES, Transport, Violation,
    make_fuid,
)

DIRS = (ORIG, RESP)

_ITEM_KINDS = (Event, Record, Anomaly, FileData, FileOpen, FileGap, FileClose, Expect, Confirm, Violation,
               StopParsing)   # in this order: the first that matches decides


def _item_kind(it: Any) -> type | None:
    """Which of the item kinds a dissector's item is (its class or a base); None: not an item."""
    return next((k for k in _ITEM_KINDS if isinstance(it, k)), None)


_NO_HEADS = (b"", b"")   # a decided flow's detection window (never written to: detection is over)
_NO_BUFFER: tuple = ()   # a decided flow's replay buffer (likewise)


class Handler:
    """Per-flow detection state and the attached dissector."""

    __slots__ = ("state", "spec", "dissector", "confirmed", "buffer", "heads", "port_specs",
                 "ctx", "udp_datagrams", "recent", "bulk", "bulk_d", "left", "stop", "run", "run_n", "run_at",
                 "last_at")

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
        # bulk delivery (decoder.model.BulkDissector): the dissector's ``bulk`` (None: it makes no promise),
        # the direction, byte count and end marker its last answer allows, and the run held back: its
        # segments, their bytes, and the (time, frame) of its first and of its last packet
        self.bulk: Callable[[Direction], int | tuple[int, bytes]] | None = None
        self.bulk_d = ORIG
        self.left = 0
        self.stop: bytes | None = None
        self.run: list[bytes] | tuple = ()
        self.run_n = 0
        self.run_at = self.last_at = (0.0, 0)


#: a run held back for one call is handed on at this size (memory: one per flow, as ``HeldData`` holds)
BULK_RUN = 64 * 1024


RECENT_FRAMES = 64


class Recent:
    """The time and frame of the last :data:`RECENT_FRAMES` packets fed to a flow's dissector (one entry
    per distinct time), so an event stamped with an earlier packet's time (a Telnet line at its first
    keystroke, a transfer's end at its last data packet, reported at close) gets that packet's frame. An
    event older than all of them (a typed line of more than about 30 echoed keystrokes) is placed at the
    oldest packet still recorded.
    Two arrays that grow to :data:`RECENT_FRAMES` entries and are then rewritten in a ring: no object per
    packet, and a flow of a few packets (a DNS or SNMP exchange idling out its timeout) holds a few entries,
    not 1 KiB (the open flows of a long capture's steady state: issue 26)."""

    __slots__ = ("ts", "frames", "n")

    def __init__(self) -> None:
        self.ts = array("d")
        self.frames = array("q")
        self.n = 0          # packets recorded; slot n % RECENT_FRAMES is the next

    def add(self, ts: float, frame: int) -> None:
        n = self.n
        if n and self.ts[(n - 1) % RECENT_FRAMES] == ts:
            return
        if n < RECENT_FRAMES:
            self.ts.append(ts)
            self.frames.append(frame)
        else:
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


class DissectorHost:
    """Detection, dissector calls and item routing for the flows reading and reassembly hands over.

    ``anomaly(ts, name, detail, flow=, direction=, source=, frame=)`` records an anomaly at the current
    frame (the reader's, which knows it); ``retime(flow, key)`` moves a flow to the idle list of the
    :class:`~decoder.model.Limits` field ``key`` (a service's own idle timeout). Reading calls, per flow:
    :meth:`open` once, :meth:`deliver` with its bytes and gaps in stream order, :meth:`finish` when it
    ended, then :meth:`service` and :meth:`closed` around writing its ``conn`` row."""

    def __init__(self, limits: Limits, registry: Sequence[DissectorSpec], results: Results, store: ArtifactStore,
                 keyring: Keyring, anomaly: Callable[..., None], retime: Callable[[Flow, str], None], *,
                 strict: bool = False, detect_only: bool = False, keep_streams: bool | set[str] = False,
                 transcripts: bool = False, out_dir: Path | None = None) -> None:
        self.limits = limits
        self.registry = registry
        self.detector = Detector(registry)
        self.results = results
        self.store = store
        self.keyring = keyring
        self.anomaly = anomaly
        self.retime = retime
        self.strict = strict
        self.detect_only = detect_only
        self.keep_streams = keep_streams
        self.out_dir = out_dir
        self.transcripts = transcripts and out_dir is not None
        #: someone reads the raw bytes of undecoded flows too (transcripts, follow)
        self.watched = bool(self.transcripts or keep_streams)
        self._tx = TranscriptSpool(out_dir / "streams", limits.max_transcript) if self.transcripts else None
        self._file_eps: dict[str, tuple] = {}
        self._fuids: dict[tuple[str, str], str] = {}   # open objects only
        # record class → its row maker; event class → the maker of its own fields' dict (decoder.results.dict_maker)
        self._fields: dict[type, Callable[..., dict]] = {}
        self._efields: dict[type, Callable[[Any], dict]] = {}
        self._kinds: dict[type, type | None] = {}       # item class → its kind (see _route)
        self.cur_frame = 0     # the time and frame of the packet whose bytes are being dissected
        self.cur_ts = 0.0
        self.expect = ExpectationTable(limits.max_expectations)

    def new_capture(self) -> None:
        """A new capture file: no expectation carries over (its flows do not mix with the last one's)."""
        self.expect = ExpectationTable(self.limits.max_expectations)
        self.cur_frame = 0
        self.cur_ts = 0.0

    # ------------------------------------------------------------------ what reading asks
    def announced(self, proto: str, orig: bytes, orig_p: int, resp: bytes, resp_p: int, ts: float) -> bool:
        """Whether a pending expectation foresees this flow with these roles (a look: nothing is used up)."""
        return bool(self.expect) and self.expect.match(proto, addr_str(orig), orig_p, addr_str(resp), resp_p, ts,
                                                       consume=False) is not None

    def sent_by_responder(self, proto: str, sport: int, dport: int, payload: bytes) -> bool | None:
        """Whether a spec on these ports reads this datagram as a reply (None: none can tell)."""
        return self.detector.sent_by_responder(proto, sport, dport, payload)

    def sweep(self, now: float) -> None:
        """Capture time passed: expectations whose time is up are dropped."""
        self.expect.sweep(now)

    def open(self, flow: Flow, ts: float) -> None:
        """A new flow: its handler, attached at once to the service a pending expectation announced
        (both orientations: a data flow may be seen mid-stream), else with the specs its ports suggest."""
        proto = flow.proto
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

    def finish(self, flow: Flow, ts: float) -> None:
        """The flow ended (its last bytes were delivered): decide an undecided flow with what it has, close
        its dissector, and keep only what a lingering flow's ``conn`` row needs."""
        h: Handler = flow.handler
        if h.state == UNDECIDED and h.buffer:
            # decide with what we have
            spec, _final = self.detector.decide(flow.proto, h.port_specs, h.heads, True)
            if spec is not None:
                self._attach_and_replay(flow, h, spec, ts)
            else:
                h.buffer = _NO_BUFFER
                h.state = RAW
        if h.run and h.state == ATTACHED:
            self._flush_run(flow, h)         # the run held back, at its own times
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
        h.bulk = None
        h.left = 0

    def service(self, flow: Flow) -> str:
        """The ``service`` of a flow's ``conn`` row: the spec it was decoded as (or confirmed before a
        violation stopped it); empty when none."""
        h: Handler = flow.handler
        svc = h.spec.service_name if (h.spec is not None and h.state in (ATTACHED, STOPPED)) else ""
        if not svc and h.spec is not None and h.confirmed:
            svc = h.spec.service_name
        return svc

    def closed(self, flow: Flow) -> None:
        """The flow's ``conn`` row is written: drop its state, write its transcript."""
        flow.handler = None
        if flow.uid not in self.store.open_by_uid:
            self._file_eps.pop(flow.uid, None)   # its objects are closed: endpoints no longer needed
        if self._tx is not None:
            self._tx.close(flow.uid, flow.last_ts)

    def close_files(self, now: float) -> None:
        """The capture ended: every object still open is closed (incomplete) and gets its ``files`` row."""
        for row in self.store.close_all(now):
            self._file_closed(row)

    # ------------------------------------------------------------------ dissection

    def deliver(self, flow: Flow, d: int, chunks: list, ts: float, frame: int) -> None:
        """A flow's bytes ``(False, data)`` and gaps ``(True, length)`` of direction ``d`` in stream order,
        carried by the packet of ``ts`` and ``frame``."""
        h: Handler = flow.handler
        if h.state >= RAW and not self.watched:
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
                if not is_gap and d == h.bulk_d and h.run_n + len(x) < h.left and (
                        h.stop is None or self._before_stop(h, h.stop, x)):
                    # inside an object the dissector announced: held back, fed as one run (BulkDissector)
                    if h.run:
                        h.run.append(x)
                    else:
                        h.run = [x]
                        h.run_at = (ts, frame)
                    h.last_at = (ts, frame)
                    h.run_n += len(x)
                    if h.run_n >= BULK_RUN:
                        self._flush_run(flow, h)
                    continue
                if h.run:
                    self._flush_run(flow, h)
                    if h.state != ATTACHED:
                        continue
                    self.cur_frame = frame
                    self.cur_ts = ts
                if is_gap:
                    h.left = 0
                    self._call(flow, "gap", DIRS[d], x, ts)
                    continue
                try:                # _call's "feed", inline: the call per segment
                    items = h.dissector.feed(DIRS[d], x, ts)
                except Exception as e:
                    if self.strict:
                        raise
                    self._failed(flow, h, e, ts)
                    items = None
                if items:
                    self._route(flow, h, items)
                if h.bulk is not None:
                    self._ask_bulk(h, d)
            elif st == UNDECIDED:
                self._detect(flow, h, d, is_gap, x, ts, frame)

    @staticmethod
    def _before_stop(h: Handler, stop: bytes, x: bytes) -> bool:
        """Whether segment ``x`` may join the run under an answer with an end marker: the marker is neither
        in it nor across its boundary with the segment held before it."""
        if stop in x:
            return False
        k = len(stop) - 1
        return not h.run or stop not in h.run[-1][-k:] + x[:k]

    def _ask_bulk(self, h: Handler, d: int) -> None:
        """After a feed of direction ``d``: how many of its next bytes may be held back (BulkDissector)."""
        h.bulk_d = d
        if h.state != ATTACHED:
            h.left = 0
            return
        ans = h.bulk(DIRS[d])      # type: ignore[misc]
        if type(ans) is tuple:
            h.left, h.stop = ans
        else:
            h.left, h.stop = ans, None

    def _flush_run(self, flow: Flow, h: Handler) -> None:
        """Feed the run held back: all but its last segment at the time and frame of its first packet, the
        last segment at its own (the two times a BulkDissector's answer says matter); then ask again."""
        run, h.run = h.run, ()
        h.run_n = 0
        d = h.bulk_d
        if len(run) > 1:
            self.cur_ts, self.cur_frame = h.run_at
            self._call(flow, "feed", DIRS[d], b"".join(run[:-1]), self.cur_ts)
            if h.state != ATTACHED:
                h.left = 0
                return
        self.cur_ts, self.cur_frame = h.last_at
        self._call(flow, "feed", DIRS[d], run[-1], self.cur_ts)
        self._ask_bulk(h, d)

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
        if spec.idle_timeout:
            self.retime(flow, spec.idle_timeout)    # the service's own idle timeout
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
        h.bulk = getattr(h.dissector, "bulk", None)

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
            self._failed(flow, h, e, ts)
            return
        if items:
            self._route(flow, h, items)

    def _failed(self, flow: Flow, h: Handler, e: Exception, ts: float) -> None:
        """The dissector raised (our own bug): a ``dissector_error`` anomaly, and the flow is kept raw."""
        self.anomaly(ts, "dissector_error", f"{h.spec.name}: {type(e).__name__}: {e}", flow=flow,
                     source=h.spec.name)
        h.state = RAW
        h.dissector = None

    def _event_maker(self, cls: type) -> Callable[[Any], dict]:
        """The maker of an event class's own fields (all but ts and direction) as plain values (made once): the
        timeline row keeps the event's structure, so readers (the report's Telnet replay, notebooks) need not
        parse summaries."""
        make = self._efields[cls] = dict_maker(cls, ("ts", "direction"))
        return make

    def _record_maker(self, cls: type) -> Callable[..., dict]:
        """The maker of a record class's rows (made once): the flow's endpoints, then its fields (a column renamed
        by the class's ``COLUMNS``, e.g. ``from_`` as ``from``) as plain values."""
        make = self._fields[cls] = dict_maker(cls, ("ts",), getattr(cls, "COLUMNS", {}), LEAD)
        return make

    def _route(self, flow: Flow, h: Handler, items: Iterable) -> None:
        res = self.results
        svc = h.spec.service_name if h.spec else ""
        kinds = self._kinds
        efields, rfields = self._efields, self._fields
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
                       "kind": type(it).__name__}
                row["summary"], row["meaning"] = _texts(it)
                row["frame"] = eframe
                row["fields"] = (efields.get(type(it)) or self._event_maker(type(it)))(it)
                res.add("timeline", row, vouched_time(ets))
            elif k is Record:
                make = rfields.get(type(it)) or self._record_maker(type(it))
                res.add(it.TABLE or type(it).__name__.lower(),
                        make(it, it.ts, flow.uid, flow.orig_h, flow.orig_p, flow.resp_h, flow.resp_p),
                        vouched_time(it.ts))
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
        h.bulk = getattr(h.dissector, "bulk", None)
        h.left = 0
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

def _texts(ev: Any) -> tuple[str, str]:
    """An event's ``summary()`` and ``meaning()`` (empty when its class has none) as str; a method that fails
    says so in its place (a summary bug must not lose the event). Both in one call: one per event."""
    try:
        summary = ev.summary()
        if type(summary) is not str:
            summary = str(summary)
    except Exception as e:
        summary = f"<summary failed: {type(e).__name__}>"
    fn = getattr(ev, "meaning", None)
    if fn is None:
        return summary, ""
    try:
        meaning = fn()
        if type(meaning) is not str:
            meaning = str(meaning)
    except Exception as e:
        meaning = f"<meaning failed: {type(e).__name__}>"
    return summary, meaning
