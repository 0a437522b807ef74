"""Issue 8, acceptance 3: a capture with 10,000 sessions renders an index under 5 MB that opens
in Chromium in a few seconds. A measurement, not a test.

    python -m benchmarks.report_10k [--sessions 10000] [--keep DIR]

Generates the capture with benchmarks.generate --count-sessions, runs ``wiretale read`` (full
report), and opens OUT/index.html in headless Chromium (Debian's, via Playwright's driver) three
times, printing the index size, the time to render it and the time until the page's load event.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=10_000)
    ap.add_argument("--keep", type=Path, help="keep the capture and report here")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="wiretale-10k-"))
    work.mkdir(parents=True, exist_ok=True)
    cap = work / f"sessions-{args.sessions}.pcap"
    subprocess.run([sys.executable, "-m", "benchmarks.generate", "--count-sessions", str(args.sessions),
                    "-o", str(cap)], check=True, capture_output=True)
    out = work / "report"
    t = time.monotonic()
    subprocess.run([sys.executable, "-m", "decoder.cli", "read", str(cap), "-o", str(out)], check=True,
                   capture_output=True)
    render_s = time.monotonic() - t
    conn = sum(1 for _ in open(out / "tables" / "conn.jsonl"))
    index = out / "index.html"
    pages = sorted(out.glob("index*.html"))
    from playwright.sync_api import sync_playwright

    loads = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=[
            "--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync"])
        for _ in range(3):
            page = browser.new_page()
            t = time.monotonic()
            page.goto(index.as_uri(), wait_until="load")
            loads.append(time.monotonic() - t)
            lanes = page.evaluate("document.querySelectorAll('[data-uid]').length")
            page.close()
        browser.close()
    res = {"sessions_in_capture": conn, "index_bytes": index.stat().st_size, "index_pages": len(pages),
           "all_index_pages_bytes": sum(p.stat().st_size for p in pages),
           "session_pages": len(list((out / "sessions").glob("*.html"))),
           "wiretale_read_seconds": round(render_s, 1), "chromium_load_seconds": [round(x, 2) for x in loads],
           "chromium_load_median": round(statistics.median(loads), 2), "elements_with_data_uid": lanes}
    print(json.dumps(res, indent=2))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
