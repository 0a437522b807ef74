"""Issue 22: the report's path is one way and pandas-free.

``wiretale read`` with the report writes the tables once and feeds each row to the report as it
is written; nothing on that path makes a DataFrame, so pandas is never imported. The report of a
collector fed row by row equals the report of the same rows given at once.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import SAMPLES

ROOT = Path(__file__).resolve().parents[2]


def test_read_with_report_imports_no_pandas(tmp_path):
    out = tmp_path / "out"
    code = ("import sys, json\n"
            "from decoder.cli import main\n"
            f"rc = main(['read', {str(SAMPLES / 'ftp.pcap')!r}, '-o', {str(out)!r}])\n"
            "print(json.dumps({'rc': rc, 'pandas': 'pandas' in sys.modules}))\n")
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    res = json.loads(p.stdout.strip().splitlines()[-1])
    assert res == {"rc": 0, "pandas": False}
    assert (out / "index.html").is_file()
    pages = list((out / "sessions").glob("*.html"))
    conn = (out / "tables" / "conn.jsonl").read_text().splitlines()
    assert pages and len(pages) <= len(conn)
    assert not (out / ".report-spill").exists()


def test_timeline_rows_carry_the_event_fields():
    from decoder.pipeline import analyze

    with analyze(SAMPLES / "telnet.pcap", strict=True) as a:
        neg = [r for r in a.rows["timeline"] if r["kind"] == "TelnetNegotiation"]
    assert neg and all(set(r["fields"]) == {"verb", "option", "name"} for r in neg)
    assert any(r["fields"]["verb"] == "WILL" and r["fields"]["option"] == 1 and r["direction"] == "resp"
               and r["summary"] == "server WILL ECHO" for r in neg)
