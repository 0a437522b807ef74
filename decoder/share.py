"""A split run's share of a capture: which frames one of N engines decodes (``read --workers N``).

Frames are shared out by host pair (:func:`owner`): CRC-32 of the unordered pair of IP addresses, modulo
N, so both directions of a flow, FTP control and data, and TFTP request and transfer land in the same
share (IPv4/IPv6 fragments carry the addresses too); frames without an IP header go to share 0. An
engine given ``share=FrameShare(i, n)`` (:class:`decoder.pipeline.Engine`; the filter sits in front of its
reader's in-order path, :meth:`decoder.reassembly.Reassembly.shared`) decodes the frames its share owns
and lets every other frame only advance its clock, so idle timeouts, expectation TTLs and the end of the
capture happen at the times of a single pass. It is the same engine with a frame filter, not another
engine: the split run (:mod:`decoder.commands.split`) merges what the shares wrote.
"""
from __future__ import annotations

import zlib

from decoder.link import Skip, l3


def owner(linktype: int, data: bytes, n: int) -> int:
    """Which of ``n`` workers owns a frame: CRC-32 of the unordered pair of its IP addresses (smaller
    first) modulo ``n``; 0 for frames without an IP header. Deterministic across processes and machines
    (``hash()`` of bytes is salted per process)."""
    if n <= 1:
        return 0
    if linktype == 1 and len(data) >= 34 and data[12] == 8 and data[13] == 0 and data[14] >> 4 == 4:
        a, b = data[26:30], data[30:34]
    else:
        try:
            ver, off = l3(linktype, data)
        except Skip:
            return 0
        if ver == 4 and len(data) >= off + 20:
            a, b = data[off + 12:off + 16], data[off + 16:off + 20]
        elif ver == 6 and len(data) >= off + 40:
            a, b = data[off + 8:off + 24], data[off + 24:off + 40]
        else:
            return 0
    return zlib.crc32(a + b if a <= b else b + a) % n


class FrameShare:
    """Share ``index`` of ``n``: :meth:`owns` says whether a frame is this share's. The owner of a plain
    Ethernet/IPv4 frame is remembered per address pair (at most 200,000 pairs, then forgotten at once)."""

    __slots__ = ("index", "n", "_owners")

    def __init__(self, index: int, n: int) -> None:
        self.index = index
        self.n = n
        self._owners: dict[bytes, bool] = {}

    def owns(self, lt: int, data: bytes) -> bool:
        if lt == 1 and len(data) >= 34 and data[12] == 8 and data[13] == 0 and data[14] >> 4 == 4:
            key = data[26:34]
            mine = self._owners.get(key)
            if mine is None:
                if len(self._owners) > 200_000:
                    self._owners.clear()
                mine = self._owners[key] = owner(lt, data, self.n) == self.index
            return mine
        return owner(lt, data, self.n) == self.index
