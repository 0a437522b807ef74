"""Time wiretale's engine without protocol decoding (issue 2, acceptance 4).

    python -m benchmarks.engine_only FILE                 # --mode raw: analyze(FILE, decode=False)
    python -m benchmarks.engine_only FILE --mode detect   # detection, then nothing more
    python -m benchmarks.engine_only FILE --profile 15    # cProfile, top 15 by own and cumulative time

Modes:

* ``raw``: ``decoder.api.analyze(FILE, decode=False)`` — capture reading,
  link/IP parsing, defragmentation, flows, TCP reassembly, the ``conn`` table;
  no detection (the engine skips it when ``decode=False``).
* ``detect``: ``Engine(detect_only=True)`` (what ``wiretale sessions --no-decode``
  runs): flows are detected exactly as in a full run (port + probe, content
  probe, buffering) and get their service, and no dissector is started.
  Expect-only specs (FTP and TFTP data) are never reached, since nothing emits
  ``Expect``. This is "engine throughput, no protocol decoding beyond detection".

It runs the same steps as ``analyze`` (``Engine``, ``run_engine``, ``Analysis``)
so it can time them apart. Prints one JSON line: file, mode, seconds (inside
this process, imports excluded), the engine's wall and CPU seconds, those of
building the result (summary and pandas DataFrames, including importing
pandas), packets, flows, and services seen.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def run(path: str | Path, mode: str = "raw") -> dict:
    """Run the engine the way :func:`decoder.api.analyze` does, timing its two stages:
    the engine over the capture (``engine_*``) and building the result (summary, pandas
    DataFrames: ``tables_*``). ``seconds`` is the wall time of both."""
    import tempfile

    from decoder.api import Analysis
    from decoder.pipeline import Engine, run_engine

    if mode not in ("raw", "detect"):
        raise ValueError(mode)
    w0, c0 = time.perf_counter(), time.process_time()
    tmp = tempfile.TemporaryDirectory(prefix="wiretale-bench-")
    engine = Engine(out_dir=Path(tmp.name), decode=mode != "raw", detect_only=mode == "detect")
    run_engine(engine, [path])
    w1, c1 = time.perf_counter(), time.process_time()
    a = Analysis(engine, tmp)
    w2, c2 = time.perf_counter(), time.process_time()
    s = a.summary
    a.close()
    return {"file": str(path), "mode": mode, "seconds": round(w2 - w0, 3),
            "engine_wall": round(w1 - w0, 3), "engine_cpu": round(c1 - c0, 3),
            "tables_wall": round(w2 - w1, 3), "tables_cpu": round(c2 - c1, 3),
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
