"""The cyclic garbage collector's settings while a capture is decoded.

CPython frees almost every object by reference counting; its cyclic collector
is only for reference cycles. It runs a young-generation pass every 700
container allocations (``gc.get_threshold()[0]``) and, now and then, a full pass
over every object still alive. Decoding allocates millions of short-lived
containers (frames' slices, tuples, row dicts, events) that reference counting
frees at once, and keeps tens of thousands of long-lived ones (flows, their
reassembly and dissector state, buffered rows): the collector's passes find
next to nothing, yet they took about a quarter of the engine's time on the
benchmark capture (``benchmarks/README.md``: 1.09 → 0.77 s for 100 MB with
detection, 10.1 → 8.8 s for 1 GB).

:func:`bulk` is what a run uses instead: objects that exist when it starts
(modules, classes, the registry) are frozen out of every later pass
(:func:`gc.freeze`), and a young pass runs every ``YOUNG_THRESHOLD`` container
allocations instead of 700. Cycles are still found and freed, only later: at
most ``YOUNG_THRESHOLD`` young objects wait for it (a few MB at worst). The
older generations keep their thresholds, so a full pass still follows the
number of surviving objects as before. Everything is restored on exit, so a
program that calls :func:`decoder.analyze` keeps its own settings afterwards.

This is process state, not dissector state: only the entry points that run a
whole capture (``run_engine``, the CLI's report writing) use it.

:func:`fixed_mmap_threshold` is the command line's other process setting, for the C allocator:
glibc serves a request of 128 KiB or more with a fresh mapping, returned to the system on free,
but raises that threshold to the size of every such block freed (up to 32 MiB). After the first
large buffer (a 1 MiB body read for the HAR, its base64 and its JSON) the next ones come from the
heap, where they leave holes that later small objects pin: the process's peak grew with how many
large objects a capture held (71 MB for the 1 GB benchmark where the same run with the threshold
fixed peaked at 68 MB; benchmarks/README.md). Fixing it keeps large transient buffers out of the
heap. Only the CLI sets it (a program that imports :mod:`decoder` keeps its allocator as it is), and
not when the user chose one (``MALLOC_MMAP_THRESHOLD_``); elsewhere than glibc it does nothing.
"""
from __future__ import annotations

import gc
import os
import sys
from contextlib import contextmanager
from typing import Iterator

YOUNG_THRESHOLD = 50_000


@contextmanager
def bulk(young: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Collector settings for decoding a capture (see the module docstring); restored on exit."""
    old = gc.get_threshold()
    if not gc.isenabled() or old[0] == 0 or old[0] >= young:
        yield        # collection is off, or someone already chose fewer passes: leave it alone
        return
    gc.freeze()
    gc.set_threshold(young, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()


M_MMAP_THRESHOLD = -3          # glibc's mallopt parameter number (malloc.h)
MMAP_THRESHOLD = 128 * 1024    # glibc's initial value, kept fixed (the capture reader's 64 KiB blocks stay below)


def fixed_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold (see the module docstring); True when it was set."""
    if not sys.platform.startswith("linux") or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt     # the C library this process runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(M_MMAP_THRESHOLD, threshold) == 1
