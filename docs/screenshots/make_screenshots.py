"""Re-make the report screenshots in docs/screenshots from the project's own samples.

    python docs/screenshots/make_screenshots.py [OUT_DIR]

Needs Debian's chromium and Playwright for Python (no browser download).
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from decoder.api import analyze  # noqa: E402
from reports.html import write_report  # noqa: E402

ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]
HERE = Path(__file__).resolve().parent


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="wiretale-shots-"))
    shutil.rmtree(out, ignore_errors=True)
    samples = sorted(p for p in (ROOT / "samples").glob("*") if p.suffix in (".pcap", ".pcapng"))
    a = analyze(samples, out_dir=out, transcripts=True)
    write_report(a, out)
    conn = a.rows["conn"]
    ftp = max((c for c in conn if c["service"] == "ftp"),
              key=lambda c: sum(1 for k in conn if k["parent_uid"] == c["uid"]))
    telnet = next(c for c in conn if c["service"] == "telnet")
    exe = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=ARGS)
        pg = b.new_page(viewport={"width": 1280, "height": 960})

        def shot(url: Path, name: str, selector: str | None = None, inner: tuple[str, int] | None = None) -> None:
            pg.goto(url.as_uri())
            if inner:
                pg.evaluate("([s, y]) => { document.querySelector(s).scrollTop = y; }", list(inner))
            if selector:
                pg.evaluate("s => { const e = document.querySelector(s); window.scrollTo(0, e.getBoundingClientRect().top + window.scrollY - 40); }", selector)
            pg.screenshot(path=str(HERE / name))

        shot(out / "index.html", "index.png")
        shot(out / "index.html", "index-timeline.png", "#timeline")
        shot(out / "sessions" / f"{ftp['uid']}.html", "session-ladder.png", "#ladder", ("#ladder .scroll", 560))
        shot(out / "sessions" / f"{ftp['uid']}.html", "session-top.png")
        shot(out / "sessions" / f"{telnet['uid']}.html", "session-telnet-replay.png", "#replay")
        b.close()
    print(f"report in {out}; screenshots in {HERE}")


if __name__ == "__main__":
    main()
