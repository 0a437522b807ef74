"""Sorted, non-overlapping byte ranges with first-copy-wins insertion.

Shared by TCP reassembly (segments queued above a hole) and IP defragmentation
(fragments of one datagram). Inserting a piece keeps every byte already held
(the first copy wins, as DESIGN.md 2.3 and 2.5 ask) and reports whether the
new piece disagreed with bytes already held — the overlap evasion signal.
"""
from __future__ import annotations

import bisect


def insert_first_copy(starts: list[int], datas: list[bytes], off: int, data: bytes) -> tuple[int, bool]:
    """Insert ``data`` at ``off`` into the parallel lists; return (bytes added, overlap differed)."""
    end = off + len(data)
    if off >= end:
        return 0, False
    if not starts or off >= starts[-1] + len(datas[-1]):
        starts.append(off)
        datas.append(data)
        return len(data), False
    j = max(bisect.bisect_right(starts, off) - 1, 0)
    cur = off
    pieces: list[tuple[int, bytes]] = []
    differs = False
    n = len(starts)
    while j < n and cur < end:
        s = starts[j]
        e = s + len(datas[j])
        if e <= cur:
            j += 1
            continue
        if s >= end:
            break
        if s > cur:
            pieces.append((cur, data[cur - off:s - off]))
        ov_s, ov_e = max(cur, s), min(end, e)
        if data[ov_s - off:ov_e - off] != datas[j][ov_s - s:ov_e - s]:
            differs = True
        cur = max(cur, e)
        j += 1
    if cur < end:
        pieces.append((cur, data[cur - off:]))
    added = 0
    for s, d in pieces:
        k = bisect.bisect_left(starts, s)
        starts.insert(k, s)
        datas.insert(k, d)
        added += len(d)
    return added, differs
