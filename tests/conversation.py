"""Conversation fixtures for sans-IO dissector tests.

A conversation is a list of steps: ``C(b"USER anna\\r\\n")`` (client bytes),
``S(b"331 ok\\r\\n")`` (server bytes), ``Gap(ORIG, 100)`` (missing bytes),
each with an optional timestamp. :func:`run` feeds them into a fresh dissector
in one of three ways — whole, byte by byte, or at random split points — and
:func:`run_all_ways` checks the three give the same items after
:func:`normalize` (adjacent file data joined, so split points do not matter).

Usage::

    items = run_all_ways(lambda: smtp.SmtpDissector(ctx()), CONVO)
    assert [type(i) for i in items] == [...]
"""
from __future__ import annotations

import dataclasses
import random
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence

from decoder.model import (
    ORIG, RESP, Direction, FileData, FlowContext, Limits, Transport,
)


@dataclass(frozen=True)
class Step:
    direction: Direction
    data: bytes
    ts: float | None = None


@dataclass(frozen=True)
class Gap:
    direction: Direction
    length: int
    ts: float | None = None


def C(data: bytes, ts: float | None = None) -> Step:
    return Step(ORIG, data, ts)


def S(data: bytes, ts: float | None = None) -> Step:
    return Step(RESP, data, ts)


def ctx(transport: Transport = Transport.TCP, orig=("10.0.0.1", 40000),
        resp=("10.0.0.2", 25), limits: Limits | None = None, uid: str = "Ctest",
        expectation=None) -> FlowContext:
    return FlowContext(uid=uid, transport=transport, orig_h=orig[0], orig_p=orig[1],
                       resp_h=resp[0], resp_p=resp[1], limits=limits or Limits(),
                       expectation=expectation)


def _chunks(data: bytes, mode: str, rng: random.Random) -> Iterable[bytes]:
    if mode == "whole" or len(data) <= 1:
        yield data
    elif mode == "bytes":
        for i in range(len(data)):
            yield data[i:i + 1]
    else:
        i = 0
        while i < len(data):
            n = rng.randint(1, max(1, min(len(data) - i, 64)))
            yield data[i:i + n]
            i += n


def run(factory: Callable[[], object], convo: Sequence[Step | Gap], mode: str = "whole",
        seed: int = 0, close: bool = True, datagram: bool = False) -> list:
    """Feed ``convo`` to ``factory()``; ``datagram=True`` never splits a step (UDP)."""
    rng = random.Random(seed)
    d = factory()
    out: list = []
    ts = 0.0
    for step in convo:
        ts = step.ts if step.ts is not None else ts + 0.001
        if isinstance(step, Gap):
            out.extend(d.gap(step.direction, step.length, ts))
            continue
        pieces = [step.data] if datagram else list(_chunks(step.data, mode, rng))
        for piece in pieces:
            out.extend(d.feed(step.direction, piece, ts))
    if close:
        out.extend(d.close(ts + 0.001))
    return out


def normalize(items: Sequence) -> list:
    """Join adjacent FileData of the same handle, and adjacent events that have a
    ``data: bytes`` field, the same type and direction (split-point artefacts)."""
    out: list = []
    for it in items:
        prev = out[-1] if out else None
        if (prev is not None and isinstance(it, FileData) and isinstance(prev, FileData)
                and prev.handle == it.handle):
            out[-1] = dataclasses.replace(prev, data=prev.data + it.data)
            continue
        if (prev is not None and type(prev) is type(it) and getattr(it, "MERGEABLE", False)
                and getattr(prev, "direction", None) == getattr(it, "direction", None)):
            out[-1] = dataclasses.replace(prev, data=prev.data + it.data)
            continue
        out.append(it)
    return out


def strip_ts(items: Sequence) -> list:
    """Items with every ``ts`` set to 0 (byte-wise feeding may move timestamps of
    items produced at a later step when a step ends a unit)."""
    res = []
    for it in items:
        if dataclasses.is_dataclass(it) and hasattr(it, "ts"):
            it = dataclasses.replace(it, ts=0.0)
        res.append(it)
    return res


def run_all_ways(factory: Callable[[], object], convo: Sequence[Step | Gap],
                 seeds: Sequence[int] = (1, 2, 3), datagram: bool = False) -> list:
    """Run whole, byte by byte and at random splits; assert equal; return the items."""
    whole = normalize(run(factory, convo, "whole", datagram=datagram))
    if datagram:
        return whole
    bytewise = normalize(run(factory, convo, "bytes"))
    assert bytewise == whole, "byte-by-byte feeding differs from whole feeding"
    for s in seeds:
        rnd = normalize(run(factory, convo, "random", seed=s))
        assert rnd == whole, f"random split (seed {s}) differs from whole feeding"
    return whole


def of_type(items: Sequence, cls: type) -> list:
    return [i for i in items if isinstance(i, cls)]


def check_item_stream(items: Sequence, opened: set, closed: set) -> None:
    """Fuzz invariant: only contract items come out, no internal-error anomalies, and file streams
    are well formed (opened once, data only while open, closed once). Call it on every batch of
    items of one flow with the same ``opened``/``closed`` sets; at the end ``closed == opened``."""
    from decoder.model import (
        Anomaly, Confirm, Credential, Event, FileClose, FileData, FileGap, FileOpen, Record, StopParsing,
        Violation,
    )

    allowed = (Event, Record, Anomaly, FileOpen, FileData, FileGap, FileClose, Confirm, Violation,
               StopParsing, Credential)
    for it in items:
        assert isinstance(it, allowed), it
        if isinstance(it, Anomaly):
            assert not it.name.endswith("internal_error"), it
        if isinstance(it, FileOpen):
            assert it.handle not in opened
            opened.add(it.handle)
        elif isinstance(it, (FileData, FileGap)):
            assert it.handle in opened and it.handle not in closed
        elif isinstance(it, FileClose):
            assert it.handle in opened and it.handle not in closed
            closed.add(it.handle)


def feed_checked(dissector, steps) -> None:
    """Fuzz driver: feed ``(direction, bytes)`` steps (an int instead of bytes: a gap of that length), then
    close, checking every batch with :func:`check_item_stream`; every object opened must be closed."""
    opened: set = set()
    closed: set = set()
    ts = 0.0
    for direction, data in steps:
        ts += 0.001
        if isinstance(data, int):
            check_item_stream(dissector.gap(direction, data, ts), opened, closed)
        else:
            check_item_stream(dissector.feed(direction, data, ts), opened, closed)
    check_item_stream(dissector.close(ts + 1), opened, closed)
    assert closed == opened
