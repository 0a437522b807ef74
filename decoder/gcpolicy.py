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
"""
from __future__ import annotations

import gc
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
