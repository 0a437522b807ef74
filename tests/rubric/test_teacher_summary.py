"""summary.csv for teachers (issue 29): ISO 8601 UTC dates, and per capture the files transferred, the DNS
names asked, the e-mail subjects and the logins per protocol with success or failure — compared with the
ground truth the recording script wrote (samples/expected/*.json), not with wiretale's own output."""
from __future__ import annotations

import csv
import json
import re
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest

from decoder import cli
from decoder.batch import ACTIVITY_ITEMS, _listed
from tests.conftest import SAMPLES


@pytest.fixture(scope="module")
def rows(tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("teacher") / "out"
    caps = [str(SAMPLES / _truth(n)["capture"]) for n in ("dns", "ftp", "smtp", "tftp", "telnet")]
    assert cli.main(["batch", *caps, "-o", str(out), "--workers", "1", "--no-html"]) == 0
    with open(out / "summary.csv", newline="", encoding="utf-8") as fh:
        got = {r["capture"]: r for r in csv.DictReader(fh)}
    got["_summary"] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return got


def _truth(name: str) -> dict:
    return json.loads((SAMPLES / "expected" / f"{name}.json").read_text(encoding="utf-8"))


def _split(cell: str) -> list[str]:
    return cell.split("; ") if cell else []


def test_dates_are_iso_8601_utc(rows):
    for cap in rows["_summary"]["captures"]:
        c = cap["summary"]["captures"][0]
        row = rows[cap["name"]]
        for col, ts in (("start", c["first_ts"]), ("end", c["last_ts"])):
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", row[col])
            parsed = datetime.strptime(row[col], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
            assert abs(parsed.timestamp() - ts) < 1e-6
        assert "first_ts" not in row and "last_ts" not in row


def test_dns_names_asked(rows):
    asked = {q["qname"].rstrip(".") for q in _truth("dns")["queries"]}
    names = _split(rows[_truth("dns")["capture"]]["dns_names"])
    assert set(names) == asked and len(names) == len(asked)


def test_files_transferred(rows):
    tftp = [t["filename"] for t in _truth("tftp")["transfers"] if t["result"] == "ok"]
    assert _split(rows[_truth("tftp")["capture"]]["files_transferred"]) == list(dict.fromkeys(tftp))
    ftp = {Path(t["path"]).name for t in _truth("ftp")["transfers"]}
    got = set(_split(rows[_truth("ftp")["capture"]]["files_transferred"]))
    assert ftp <= got
    assert got - ftp == {"list-root.txt", "nlst-root.txt", "mlsd-root.txt"}   # the listings, named by us


def test_email_subjects(rows):
    plain = [m["subject"] for m in _truth("smtp")["messages"] if not m["tls"]]     # one was sent inside TLS
    assert _split(rows[_truth("smtp")["capture"]]["email_subjects"]) == plain


@pytest.mark.parametrize("sample, proto", [("ftp", "ftp"), ("smtp", "smtp"), ("telnet", "telnet")])
def test_logins_per_protocol_with_success_or_failure(rows, sample, proto):
    truth = _truth(sample)
    tls_sessions = {s["session"] for s in truth.get("messages", []) if s.get("tls")}
    creds = [c for c in truth["credentials"] if c["session"] not in tls_sessions]
    for outcome, col in ((True, "logins_ok"), (False, "logins_failed")):
        n = Counter(f"{proto}:{c['username']}" for c in creds if c["success"] is outcome)
        want = [k + (f" ×{v}" if v > 1 else "") for k, v in n.items()]
        assert _split(rows[truth["capture"]][col]) == want, col
    assert rows[truth["capture"]]["logins_unknown"] == ""
    assert not any(c["password"] in rows[truth["capture"]][col] for c in creds
                   for col in ("logins_ok", "logins_failed"))


def test_lists_are_capped():
    items = [f"n{i}" for i in range(ACTIVITY_ITEMS + 7)]
    cell = _listed(items)
    assert cell.endswith("; … (+7 more)") and cell.count("; ") == ACTIVITY_ITEMS
