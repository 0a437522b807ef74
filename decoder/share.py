"""A split run's share of a capture: which frames one of N engines decodes (``read --workers N``).

Frames are shared out by host pair (the unordered pair of IP addresses), so both directions of a flow, FTP
control and data, and TFTP request and transfer land in the same share (IPv4/IPv6 fragments carry the
addresses too); frames without an IP header go to share 0. Which share a pair goes to is decided when its
first frame is read, the same way in every engine of the run (each reads every frame of the file, in the
same order): to the share that has so far been given the fewest frames (:class:`FrameShare`; ties to the
lowest index), so the shares get about as many packets each whatever the pairs' sizes — a packet being
the unit of the engine's work (reading, reassembly, one delivery to a dissector). Past ``MAX_PAIRS`` pairs
remembered, a new pair goes by :func:`owner` (CRC-32 of the pair, modulo N: no memory).

An engine given ``share=FrameShare(i, n)`` (:class:`decoder.pipeline.Engine`; the filter sits in front of
its reader's in-order path, :meth:`decoder.reassembly.Reassembly.shared`) decodes the frames its share
owns and lets every other frame only advance its clock, so idle timeouts, expectation TTLs and the end of
the capture happen at the times of a single pass. It is the same engine with a frame filter, not another
engine: the split run (:mod:`decoder.commands.split`) merges what the shares wrote.

Limits: the balance is by packets seen so far, not by what a pair will carry later (a pair whose traffic
comes late, or one pair with most of the capture, still leaves the shares uneven), and not by each
protocol's cost per packet.
"""
from __future__ import annotations

import zlib

from decoder.link import Skip, l3


#: host pairs a share remembers (each about 100 bytes); a pair first seen after that goes by :func:`owner`
MAX_PAIRS = 200_000


def pair(linktype: int, data: bytes) -> bytes | None:
    """The unordered pair of a frame's IP addresses (the smaller first), or None: no IP header."""
    if linktype == 1 and len(data) >= 34 and data[12] == 8 and data[13] == 0 and data[14] >> 4 == 4:
        a, b = data[26:30], data[30:34]
    else:
        try:
            ver, off = l3(linktype, data)
        except Skip:
            return None
        if ver == 4 and len(data) >= off + 20:
            a, b = data[off + 12:off + 16], data[off + 16:off + 20]
        elif ver == 6 and len(data) >= off + 40:
            a, b = data[off + 8:off + 24], data[off + 24:off + 40]
        else:
            return None
    return a + b if a <= b else b + a


def owner(linktype: int, data: bytes, n: int) -> int:
    """The share of a frame by hash alone: CRC-32 of its host pair (:func:`pair`) modulo ``n``; 0 for frames
    without an IP header. Deterministic across processes and machines (``hash()`` of bytes is salted per
    process). What :class:`FrameShare` falls back to past ``MAX_PAIRS`` pairs."""
    if n <= 1:
        return 0
    key = pair(linktype, data)
    return 0 if key is None else zlib.crc32(key) % n


class FrameShare:
    """Share ``index`` of ``n``. :meth:`owns` is told every frame of the capture, in order, and says whether
    it is this share's; a host pair's first frame gives the pair to the share with the fewest frames so far
    (the module docstring). :meth:`mine` asks again about a frame already told, without counting it. The
    owner of a plain Ethernet/IPv4 frame is cached by its address bytes as they are on the wire (at most
    ``2 * MAX_PAIRS`` entries, then forgotten at once: the pairs stay)."""

    __slots__ = ("index", "n", "_owners", "_pairs", "_load")

    def __init__(self, index: int, n: int) -> None:
        self.index = index
        self.n = n
        self._owners: dict[bytes, int] = {}     # Ethernet/IPv4 bytes 26:34 (either direction) → share
        self._pairs: dict[bytes, int] = {}      # host pair (:func:`pair`) → share
        self._load = [0] * max(1, n)            # frames given to each share so far

    def owns(self, lt: int, data: bytes) -> bool:
        if lt == 1 and len(data) >= 34 and data[12] == 8 and data[13] == 0 and data[14] >> 4 == 4:
            key = data[26:34]
            o = self._owners.get(key)
            if o is None:
                if len(self._owners) >= 2 * MAX_PAIRS:
                    self._owners.clear()
                o = self._owners[key] = self._assign(lt, data)
        else:
            o = self._assign(lt, data)
        self._load[o] += 1
        return o == self.index

    def mine(self, lt: int, data: bytes) -> bool:
        """Whether a frame :meth:`owns` was already told of (or one without an IP header) is this share's."""
        key = pair(lt, data)
        o = 0 if key is None else self._pairs.get(key)
        return (owner(lt, data, self.n) if o is None else o) == self.index

    def _assign(self, lt: int, data: bytes) -> int:
        key = pair(lt, data)
        if key is None or self.n <= 1:
            return 0
        o = self._pairs.get(key)
        if o is None:
            if len(self._pairs) >= MAX_PAIRS:
                return zlib.crc32(key) % self.n
            load = self._load
            o = self._pairs[key] = load.index(min(load))
        return o
