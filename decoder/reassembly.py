"""Reading and reassembly: frames → link/IP → defragmentation → flows → ordered bytes.

The engine's first part (docs/ARCHITECTURE.md, "The engine"). :class:`Reassembly` takes each frame of a
capture (``index, ts, linktype, data``), parses its link and IP headers (:mod:`decoder.link`),
reassembles IP fragments (:mod:`decoder.defrag`), finds or makes its flow (:class:`decoder.flows.Flow`,
roles by handshake, announcement or port), reassembles TCP (:class:`decoder.tcp.Half`, RFC 9293) and
hands each flow's bytes and gaps, in stream order, to a :class:`Consumer` (the dissector host,
:mod:`decoder.host`). It writes the rows only it knows: ``conn`` (one per flow, when the flow is
closed), ``tcp_control`` and packet anomalies (:mod:`decoder.results`), and counts packets.

Flows end by FIN both ways or RST (then linger ``tcp_close_delay`` for their last ACKs), by idle timeout,
by eviction past ``max_flows`` or at the end of the capture, all on capture time.

**Two paths, one result.** :meth:`Reassembly.fast` takes the two most frequent TCP segments of an
Ethernet capture (IPv4 without options, or IPv6 without extension headers), a pure ACK and in-order data of a known unfinished flow, and does inline what
:meth:`~Reassembly.general` (:meth:`_slow` → :meth:`_transport` → :meth:`_tcp` with ``Half.segment``
and ``Half.ack``) would do with them; every other frame goes the general way. The contract that makes
them equal is written at the test in :meth:`fast` and kept by ``tests/decoder/test_reassembly_property.py``
(any schedule of segments gives the same rows, chunks and counts both ways). A change to the in-order
logic of ``_tcp`` or ``Half`` changes :meth:`fast` too, here, in the one place it is repeated.

A split run's share (:mod:`decoder.share`) is this reader with a frame filter in front
(:meth:`shared`): frames of other shares only move the clock.
"""
from __future__ import annotations

import struct
from collections import OrderedDict
from typing import Callable, Protocol, Sequence

from decoder.defrag import Defragmenter
from decoder.detect import RAW
from decoder.flows import Flow, group_address
from decoder.link import Skip, ip as parse_ip, l3
from decoder.model import ORIG, RESP, Limits
from decoder.results import Results, conn_row
from decoder.share import FrameShare
from decoder.tcp import TAIL_CHUNKS

_TCP = struct.Struct("!HHIIBBH")
_UDP = struct.Struct("!HHH")
# from byte 12 of an Ethernet frame, in one call: EtherType, IPv4 version/IHL, total length, flags/fragment
# offset, protocol, then (after checksum and addresses) what follows a 20-byte IPv4 header read as a TCP
# header: ports, sequence and acknowledgment numbers, data offset, flags (for UDP, ports, then length and
# checksum as the high and low halves of "seq"). Bytes 12 to 47: a shorter frame is read with zeros after it
_ETH_IP4_L4 = struct.Struct("!HBxHxxHxBxx8xHHIIBB")
_L4_END = 12 + _ETH_IP4_L4.size
# from byte 18 of an Ethernet frame carrying IPv6: payload length, next header, then (after hop limit and
# addresses) the transport header as above. Bytes 18 to 67
_ETH_IP6_L4 = struct.Struct("!HBx32xHHIIBB")
_L6_END = 18 + _ETH_IP6_L4.size
_PAD = bytes(_L6_END - 54)       # enough for both (IPv4: bytes 34–47, IPv6: 54–67)
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

IP_PROTO_NAMES = {1: "ICMP", 2: "IGMP", 4: "IP-in-IP", 41: "IPv6-in-IPv4", 47: "GRE", 50: "ESP",
                  51: "AH", 58: "ICMPv6", 89: "OSPF", 103: "PIM", 112: "VRRP", 132: "SCTP"}


_PORTS = struct.Struct("!HH")
#: history letter → the flags of the tcp_control row it makes
_CONTROL_NAMES = {"S": "SYN", "H": "SYN-ACK", "A": "ACK", "F": "FIN", "R": "RST"}


def flow_key(src: bytes, sport: int, dst: bytes, dport: int) -> bytes:
    """A flow table key: the addresses and ports as they are on the wire (src, dst, sport, dport,
    network order), so the fast path takes it from an IPv4 header with one slice."""
    return src + dst + _PORTS.pack(sport, dport)


class Consumer(Protocol):
    """Who receives the flows' bytes (:class:`decoder.host.DissectorHost`), and what reading asks of it.
    Per flow: :meth:`open` once (it sets ``flow.handler``, whose ``state`` below ``RAW`` means the bytes
    are wanted), :meth:`deliver` with the bytes and gaps in stream order, :meth:`finish` when the flow
    ended (after its last bytes), then :meth:`service` and :meth:`closed` around its ``conn`` row."""

    #: the bytes of flows nobody decodes are wanted too (transcripts, ``follow``)
    watched: bool

    def open(self, flow: Flow, ts: float) -> None: ...

    def deliver(self, flow: Flow, d: int, chunks: list, ts: float, frame: int) -> None: ...

    def finish(self, flow: Flow, ts: float) -> None: ...

    def service(self, flow: Flow) -> str: ...

    def closed(self, flow: Flow) -> None: ...

    def announced(self, proto: str, orig: bytes, orig_p: int, resp: bytes, resp_p: int, ts: float) -> bool: ...

    def sent_by_responder(self, proto: str, sport: int, dport: int, payload: bytes) -> bool | None: ...

    def sweep(self, now: float) -> None: ...


class Reassembly:
    """Frames in, flows' ordered bytes out to a :class:`Consumer` (set with :meth:`connect` before the first
    frame). ``server_ports``: ports that mark the responder when the handshake was not seen;
    ``idle_timeouts``: the Limits fields naming services' own UDP idle timeouts; ``share``: decode only
    this share's frames of a split run."""

    def __init__(self, limits: Limits, results: Results, server_ports: frozenset[int],
                 idle_timeouts: Sequence[str] = (), share: FrameShare | None = None) -> None:
        self.limits = limits
        self.results = results
        self.server_ports = server_ports
        self.idle_timeouts = tuple(idle_timeouts)
        self.share = share
        self.n_tcp = self.n_udp = 0
        #: what each frame goes through: the in-order path, or the share's filter in front of it
        self.each_frame: Callable[..., None] = self.fast if share is None else self.shared
        self.reset(0)

    def connect(self, consumer: Consumer) -> None:
        self.consumer: Consumer = consumer
        self._deliver = consumer.deliver           # bound once: the hot path calls it per data segment
        self._watched = consumer.watched

    def reset(self, capture_no: int) -> None:
        """A new capture file (its flows are not the last one's); ``capture_no`` goes into the flows' uids."""
        self.capture_no = capture_no
        # flow key (both orientations) → flow; the direction is which of flow.key0/key1 the packet's key equals
        # (a (flow, direction) tuple per key was 112 bytes per open flow)
        self.tcp: dict[bytes, tuple] = {}
        self.udp: dict[bytes, Flow] = {}
        self.active: dict[Flow, None] = {}      # every open flow (order: creation)
        # the same flows by timeout, each least recently active first and with one timeout per list, so a sweep
        # closes exactly the flows whose time is up whatever other flows exist (a run split by host pair
        # agrees). Keyed by the Limits field holding the list's timeout: tcp_idle_timeout, udp_idle_timeout,
        # tcp_close_delay (TCP flows ended by FIN or RST) and any a service names as its own UDP idle
        # timeout (DissectorSpec.idle_timeout, e.g. dns_idle_timeout)
        self.idle_lists: dict[str, OrderedDict[Flow, None]] = {
            "tcp_idle_timeout": OrderedDict(), "udp_idle_timeout": OrderedDict(), "tcp_close_delay": OrderedDict()}
        for key in self.idle_timeouts:
            self.idle_lists.setdefault(key, OrderedDict())
        self.defrag = Defragmenter(self.limits)
        self.frame_no = 0
        self.now = 0.0
        self.flush_counts()
        self._next_sweep = 0.0

    def flush_counts(self) -> None:
        """Add the packets of closed flows counted since the last call to ``results.packets``."""
        pk = self.results.packets
        if self.n_tcp:
            pk["tcp"] += self.n_tcp
        if self.n_udp:
            pk["udp"] += self.n_udp
        self.n_tcp = 0
        self.n_udp = 0

    def session_of(self, lt: int, data: bytes) -> str | None:
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

    def tick(self, now: float) -> None:
        """Live capture: time passes without packets; close flows idle by ``now``."""
        if now >= self._next_sweep and now >= self.now:
            self._sweep(now)

    def finish_capture(self) -> None:
        """The capture ended: every flow is closed, fragments still waiting are given up."""
        for flow in list(self.active):
            # a flow that had ended (FIN both ways, RST) and lingered for its last ACKs is "finished",
            # whether its linger was up or not: its row does not depend on when the capture stopped
            self._close_flow(flow, self.now, "finished" if flow.finished else "end of capture")
        self.defrag.expire(None)
        self._defrag_events()

    def retime(self, flow: Flow, key: str) -> None:
        """A UDP flow's service has an idle timeout of its own (the Limits field ``key``): the flow moves
        to that list, last (it has just been active)."""
        if flow.idle is self.idle_lists["udp_idle_timeout"]:
            lst = self.idle_lists[key]     # made with the others: a sweep may be iterating them
            flow.idle.pop(flow, None)
            lst[flow] = None
            flow.idle = lst

    def anomaly(self, ts: float, name: str, detail: str, flow: Flow | None = None,
                direction: int | None = None, source: str = "engine", frame: int | None = None) -> None:
        """An anomaly at ``frame``, by default the frame being read."""
        self.results.anomaly(ts, name, detail, self.frame_no if frame is None else frame, flow, direction, source)

    def shared(self, index: int, ts: float, lt: int, data: bytes, _wirelen: int = 0) -> None:
        """A split run's frame: decoded when the share owns it, else it only moves the clock, as in a
        single pass."""
        if self.share.owns(lt, data): 
            self.fast(index, ts, lt, data)
            return
        self.frame_no = index
        self.now = ts
        if ts >= self._next_sweep:
            self._sweep(ts)

    def general(self, index: int, ts: float, lt: int, data: bytes, _wirelen: int = 0) -> None:
        """A frame the general way: headers parsed by :mod:`decoder.link`, a TCP segment through
        :meth:`_tcp` and :class:`~decoder.tcp.Half`. What :meth:`fast` must agree with."""
        self.frame_no = index
        self.now = ts
        if ts >= self._next_sweep:
            self._sweep(ts)
        self._slow(index, ts, lt, data)

    def fast(self, index: int, ts: float, lt: int, data: bytes, _wirelen: int = 0) -> None:
        """The per-frame hot path: Ethernet + IPv4 (no options, not a fragment) or IPv6 (no extension header)
        + TCP/UDP, parsed inline with one ``struct`` call each; everything else goes through :meth:`_slow`, as
        in :meth:`general`.

        The contract with the general path: a TCP segment is taken here only when its flow is known and
        not finished, the peer's half has nothing queued (``other.starts`` empty, so this ACK can make no
        gap), and it is either a pure ACK (flags exactly ACK, no payload) or data (flags ACK or ACK|PSH)
        starting at ``me.expect``, which :meth:`decoder.tcp.Half.rearm` sets only while this half has a
        base, no FIN and nothing queued (else -1, which no sequence number equals). For such a segment
        :meth:`_tcp` would do nothing but what is spelt out below: count the packet and its bytes, keep the
        raw ACK number (``Half.ack`` with nothing queued), fix a pure ACK's base and history letter, or
        append the payload in order (``Half.segment``'s own fast path: advance ``next``, remember the
        chunk in ``tail``) and deliver it. ``me.expect`` is kept current here and re-armed by
        :meth:`_tcp` after any other segment."""
        self.frame_no = index
        self.now = ts
        if ts >= self._next_sweep:
            self._sweep(ts)
        n = len(data)
        if lt == 1 and n >= 34:
            # (a short frame's zeros are never read as its bytes: "end <= n" below, and the lengths checked)
            etype, vihl, total, frag, proto, sport, dport, seq, ack, offb, flags = _ETH_IP4_L4.unpack_from(
                data if n >= _L4_END else data + _PAD, 12)
            if etype == 0x0800:
                # IPv4 without options, not a fragment, not cut short (a total under 40 or 28 goes to _slow)
                start = 34
                end = 14 + total
                iplen = total - 20
                whole = vihl == 0x45 and not frag & 0x3FFF and end <= n
                key = data[26:38]  # the flow key is the headers' own src, dst, sport, dport bytes
            elif etype == 0x86DD and n >= 54:
                # IPv6 whose next header is the transport (no extension headers), a payload length, not cut short
                iplen, proto, sport, dport, seq, ack, offb, flags = _ETH_IP6_L4.unpack_from(
                    data if n >= _L6_END else data + _PAD, 18)
                start = 54
                end = 54 + iplen
                whole = iplen and end <= n
                key = data[22:58]
            else:
                whole = False
            if whole:
                if proto == 6 and iplen >= 20:
                    doff = (offb >> 4) * 4
                    if doff >= 20 and start + doff <= end:
                        if flags == ACK or flags == ACK | PSH:
                            # the two most frequent segments (nine in ten on the benchmark capture) of a known,
                            # unfinished flow, with nothing queued either way: a pure ACK, and in-order data.
                            # What _tcp and Half.segment/Half.ack would do, without their calls
                            ent = self.tcp.get(key)
                            if ent is not None:
                                flow, d, me, other = ent
                                plen = end - start - doff
                                if not flow.finished and not other.starts and (
                                        (not plen and flags == ACK) or (plen and seq == me.expect)):
                                    flow.idle.move_to_end(flow)
                                    flow.last_ts = ts
                                    flow.last_frame = index
                                    me.pkts += 1
                                    me.seg_bytes += iplen
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
                                    payload = data[start + doff:end]
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
                        self._tcp(key, sport, dport, seq, ack, flags, data[start + doff:end], iplen, ts, index)
                        return
                elif proto == 17 and iplen >= 8:
                    ulen = seq >> 16
                    pend = end if not (8 <= ulen <= iplen) else start + ulen
                    self._udp(key, sport, dport, data[start + 8:pend], iplen, ts, index)
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
        self.consumer.open(flow, ts)
        return flow

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
            elif self.consumer.announced("tcp", src, sport, dst, dport, ts):
                # no handshake seen, but a control session announced this connection (FTP PASV/PORT…):
                # the roles are the announcement's, whichever side the first packet came from
                orig, resp, guessed = (src, sport), (dst, dport), False
            elif self.consumer.announced("tcp", dst, dport, src, sport, ts):
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
            "flags": _CONTROL_NAMES[letter]}, True)     # plain: engine-made str and int, a capture time

    def _udp(self, key: bytes, sport: int, dport: int, payload: bytes, iplen: int,
             ts: float, frame: int) -> None:
        """One UDP datagram; ``key`` is :func:`flow_key` of its (src, sport, dst, dport)."""
        flow = self.udp.get(key)
        if flow is None:
            half = (len(key) - 4) >> 1
            src, dst = key[:half], key[half:2 * half]
            # roles from content when a spec on these ports can tell a reply from a request (the peer that
            # asked is the originator, never a group address), else from the ports
            reply = self.consumer.sent_by_responder("udp", sport, dport, payload)
            if self.consumer.announced("udp", dst, dport, src, sport, ts):
                # a transfer announced by a request (TFTP) whose first datagram seen came from its receiver:
                # the roles are the announcement's
                reply = flip = True
            elif reply is None:
                flip = sport in self.server_ports and dport not in self.server_ports
            else:
                flip = reply and not group_address(dst)
            if flip and not self.consumer.announced("udp", src, sport, dst, dport, ts):
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
        if flow.handler.state < RAW or self._watched:    # (a datagram is never a gap: nothing to count)
            self._deliver(flow, d, [(False, payload)], ts, frame)

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
        self.consumer.finish(flow, ts)
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
        consumer = self.consumer
        row = conn_row(flow, consumer.service(flow), reason)
        if flow.proto == "tcp":          # the packet counts of the summary (packets of flows count at close)
            self.n_tcp += row["orig_pkts"] + row["resp_pkts"]
        else:
            self.n_udp += row["orig_pkts"] + row["resp_pkts"]
        self.results.add("conn", row)
        flow.halves = None
        consumer.closed(flow)

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
        self.consumer.sweep(now)

