"""Time wiretale's engine without protocol decoding (issue 2, acceptance 4).

    python -m benchmarks.engine_only FILE                 # --mode raw: analyze(FILE, decode=False)
    python -m benchmarks.engine_only FILE --mode detect   # detection, then nothing more
    python -m benchmarks.engine_only FILE --profile 15    # cProfile, top 15 by own and cumulative time

Modes:

* ``raw``: ``decoder.pipeline.analyze(FILE, decode=False)`` — capture reading,
  link/IP parsing, defragmentation, flows, TCP reassembly, the ``conn`` table;
  no detection (the engine skips it when ``decode=False``).
* ``detect``: the real registry's names, ports and probes, but every factory
  makes a dissector that stops at once (``StopParsing`` on its first call).
  So flows are detected exactly as in a full run (port + probe, content probe,
  buffering and replay) and nothing is decoded afterwards. Expect-only specs
  (FTP and TFTP data) are never reached, since nothing emits ``Expect``.
  This is "engine throughput, no protocol decoding beyond detection" without
  any engine flag.

Prints one JSON line: file, mode, seconds (inside this process, imports
excluded), packets, flows, and services seen.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path


class _Detected:
    """A dissector that only marks the flow as detected and asks not to be fed again."""

    __slots__ = ()

    def __init__(self, ctx) -> None:
        pass

    def feed(self, direction, data, ts):
        from decoder.model import StopParsing
        return [StopParsing(ts, "benchmark: detection only")]

    def gap(self, direction, length, ts):
        return self.feed(direction, b"", ts)

    def close(self, ts):
        return []


def detect_registry():
    """The real registry with every factory replaced by :class:`_Detected`."""
    from dissectors import REGISTRY

    return tuple(dataclasses.replace(s, factory=_Detected, assemble=None) for s in REGISTRY)


def run(path: str | Path, mode: str = "raw") -> dict:
    from decoder.pipeline import analyze

    t0 = time.perf_counter()
    if mode == "raw":
        a = analyze(path, decode=False)
    elif mode == "detect":
        a = analyze(path, registry=detect_registry())
    else:
        raise ValueError(mode)
    seconds = time.perf_counter() - t0
    s = a.summary
    a.close()
    return {"file": str(path), "mode": mode, "seconds": round(seconds, 3),
            "packets": s["packets"]["total"], "flows": s["flows"]["total"], "sessions": s.get("sessions", {})}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.engine_only", description=__doc__.split("\n")[0])
    ap.add_argument("capture")
    ap.add_argument("--mode", choices=("raw", "detect"), default="raw")
    ap.add_argument("--profile", type=int, metavar="N", default=0,
                    help="run under cProfile and print the top N functions by own and by cumulative time")
    ap.add_argument("--profile-out", help="also save the cProfile stats here (for snakeviz, pstats)")
    a = ap.parse_args(argv)
    # imports outside the timing, as in a long-running process
    import decoder.pipeline  # noqa: F401
    import dissectors  # noqa: F401
    if a.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        res = run(a.capture, a.mode)
        prof.disable()
        if a.profile_out:
            prof.dump_stats(a.profile_out)
        for key in ("tottime", "cumulative"):
            print(f"--- top {a.profile} by {key}", file=sys.stderr)
            pstats.Stats(prof, stream=sys.stderr).sort_stats(key).print_stats(a.profile)
    else:
        res = run(a.capture, a.mode)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
