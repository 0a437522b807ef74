"""Generate a capture of N distinct TCP flows (one SYN each), streamed to a temporary file, and run
the engine over it once, reporting time and RSS (hardening issue: "a million distinct flows").

    python -m fuzz.million_flows --flows 1000000 --max-flows 10000

Memory must stay capped by ``max_flows`` (the oldest flows are evicted with ``flows_too_many``);
conn rows spill to disk past ``rows_in_memory``.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

from fuzz.mutate_many import rss_mb


def main(argv=None) -> int:
    from decoder.model import Limits
    from decoder.pipeline import Engine, build_summary, run_engine
    from tests.hardening._build import raw_syn, write_frames

    ap = argparse.ArgumentParser()
    ap.add_argument("--flows", type=int, default=1_000_000)
    ap.add_argument("--max-flows", type=int, default=10_000)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="wiretale-flows-") as tmp:
        cap = Path(tmp) / "flows.pcap"
        t0 = time.time()
        n = write_frames(cap, (raw_syn(0x0A000000 + (i >> 14), 1024 + (i & 0x3FFF), 0x0A800001, 80, i & 0xFFFFFFFF)
                               for i in range(args.flows)))
        gen = time.time() - t0
        rss0 = rss_mb()
        t1 = time.time()
        engine = Engine(limits=Limits(max_flows=args.max_flows), out_dir=Path(tmp) / "out")
        run_engine(engine, [cap])
        s = build_summary(engine)
        engine.results.cleanup()
        wall = time.time() - t1
        print(json.dumps({"flows": n, "capture_bytes": os.path.getsize(cap), "generate_s": round(gen, 1),
                          "engine_s": round(wall, 1), "rss_before_mb": round(rss0, 1),
                          "rss_after_mb": round(rss_mb(), 1),
                          "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                          "packets": s["packets"]["total"], "conn_rows": s["flows"]["total"],
                          "limits_hit": s["limits_hit"]}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
