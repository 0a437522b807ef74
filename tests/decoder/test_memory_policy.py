"""The command line fixes glibc's mmap threshold (decoder.gcpolicy.fixed_mmap_threshold), unless the user chose one."""
from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from decoder.gcpolicy import MMAP_THRESHOLD, fixed_mmap_threshold

glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(not glibc, reason="mallopt's M_MMAP_THRESHOLD is glibc's")
def test_set_on_glibc_and_a_large_buffer_is_a_mapping_again_after_a_large_free():
    code = f"""
import ctypes, sys
from decoder.gcpolicy import fixed_mmap_threshold
assert fixed_mmap_threshold()
big = bytearray(4 << 20)      # a 4 MiB block, mapped; freeing it would raise a dynamic threshold to 4 MiB
del big
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = (ctypes.c_size_t,)
libc.free.argtypes = (ctypes.c_void_p,)
# with the threshold fixed at {MMAP_THRESHOLD}, a 1 MiB block is still mapped: glibc's malloc_usable_size of a mapped
# chunk is its mapping's size minus the header, a multiple of the page size minus 16 bytes
p = libc.malloc(1 << 20)
libc.malloc_usable_size.restype = ctypes.c_size_t
libc.malloc_usable_size.argtypes = (ctypes.c_void_p,)
n = libc.malloc_usable_size(p)
libc.free(p)
print(n)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert (int(out) + 16) % 4096 == 0


def test_left_alone_when_the_user_chose_a_threshold(monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
    assert fixed_mmap_threshold() is False


def _recent_reference(adds: list[tuple[float, int]], ts: float, default: int) -> tuple[float, int]:
    """What Recent.at gave when its two arrays were RECENT_FRAMES long from the start: the entries kept are
    the last RECENT_FRAMES distinct-time packets."""
    from decoder.host import RECENT_FRAMES

    kept: list[tuple[float, int]] = []
    for t, f in adds:
        if not kept or kept[-1][0] != t:
            kept.append((t, f))
    kept = kept[-RECENT_FRAMES:]
    if not kept:
        return ts, default
    for t, f in reversed(kept):
        if t <= ts:
            return ts, f
    return kept[0]


def test_recent_frames_grow_with_the_flow_and_answer_as_the_fixed_ring():
    """A decoded flow's Recent holds as many entries as packets it saw, up to RECENT_FRAMES (a DNS exchange
    idling out its timeout holds two, not 1 KiB), and places events as the fixed ring did."""
    import random

    from decoder.host import RECENT_FRAMES, Recent

    rng = random.Random(5)
    for n in (0, 1, 2, RECENT_FRAMES - 1, RECENT_FRAMES, RECENT_FRAMES + 1, 3 * RECENT_FRAMES + 7):
        r, adds, t = Recent(), [], 100.0
        for frame in range(1, n + 1):
            t += rng.choice((0.0, 0.5, 1.0))
            adds.append((t, frame))
            r.add(t, frame)
        assert len(r.ts) == len(r.frames) <= RECENT_FRAMES
        for probe in (0.0, 100.0, 100.5, t / 2 + 50, t, t + 1) + tuple(x for x, _ in adds[-5:]):
            assert r.at(probe, -1) == _recent_reference(adds, probe, -1), (n, probe)
    short = Recent()
    short.add(1.0, 1)
    short.add(2.0, 2)
    assert len(short.ts) == 2
