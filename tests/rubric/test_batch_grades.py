"""``wiretale batch --rubric``: grades.csv and the grid in OUT/index.html, for a batch of samples with one
capture that cannot be decoded; the grid checked in Chromium (sorting, evidence links, no errors)."""
from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from decoder import cli
from tests.conftest import SAMPLES
from tests.rubric.test_check import FTP_RUBRIC
from tests.test_undecodable import user0_capture


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("graded")
    caps = tmp / "class"
    caps.mkdir()
    for name, src in (("alice.pcap", "ftp.pcapng"), ("bob.pcap", "http.pcapng"), ("carol.pcap", "ftp-ipv6.pcapng")):
        shutil.copy(SAMPLES / src, caps / name)
    (caps / "dave.pcap").write_bytes(b"\xd4\xc3\xb2\xa1" + b"\x00" * 7)    # pcap magic, then not a capture
    user0_capture(caps / "erin.pcap")                                      # read, but nothing decoded
    rubric = tmp / "ftp.toml"
    rubric.write_text(FTP_RUBRIC, encoding="utf-8")
    out = tmp / "out"
    assert cli.main(["batch", str(caps), "-o", str(out), "--rubric", str(rubric), "--workers", "1"]) == 0
    return out


def test_grades_csv_one_row_per_capture(graded):
    with open(graded / "grades.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["capture", "passive-retr", "login-ok", "points", "max_points"]
    by = {r[0]: r[1:] for r in rows[1:]}
    assert by["alice.pcap"] == ["pass", "pass", "3", "3"]
    assert by["bob.pcap"] == ["fail", "fail", "0", "3"]
    assert by["dave.pcap"] == ["error", "error", "0", "3"]
    assert by["erin.pcap"] == ["error", "error", "0", "3"]
    # ftp-ipv6: an FTP session over IPv6 with logins (tests/golden/ftp-ipv6.pcapng)
    assert by["carol.pcap"][1] == "pass" and by["carol.pcap"][3] == "3"
    summary = json.loads((graded / "summary.json").read_text(encoding="utf-8"))
    grades = {c["name"]: c["grade"] for c in summary["captures"]}
    assert grades["alice.pcap"] == {"points": 3, "max_points": 3, "checks": {"passive-retr": "pass", "login-ok": "pass"}}


def test_grid_in_the_index_sorts_and_links_evidence(graded, page):
    p = page.open(graded / "index.html")
    grid = p.locator("#grid")
    assert grid.locator("thead th").all_inner_texts()[:3] == ["capture", "passive-retr\n2 pt", "login-ok\n1 pt"]
    names = lambda: grid.locator("tbody tr td:first-child").all_inner_texts()   # noqa: E731
    assert names() == ["alice.pcap", "bob.pcap", "carol.pcap", "dave.pcap", "erin.pcap"]
    assert grid.locator("tfoot td").all_inner_texts()[1].startswith("2 pass, 2 error")
    points = grid.locator("thead th").last
    points.click()
    assert names()[-1] in ("alice.pcap", "carol.pcap") and names()[0] in ("bob.pcap", "dave.pcap", "erin.pcap")
    points.click()
    assert names()[0] in ("alice.pcap", "carol.pcap")
    alice = grid.locator("tbody tr", has_text="alice.pcap")
    cell = alice.locator("td.pass").first
    assert "value 4, expected >= 1" in cell.get_attribute("title")
    cell.locator("summary").click()
    link = cell.locator("a").first
    href = link.get_attribute("href")
    assert href.startswith("captures/alice.pcap/sessions/") and (graded / href).is_file()
    dave = grid.locator("tbody tr", has_text="dave.pcap")
    assert "the capture could not be read" in dave.locator("td.error").first.get_attribute("title")
    erin = grid.locator("tbody tr", has_text="erin.pcap")
    assert "nothing decoded: unsupported link type 147" in erin.locator("td.error").first.get_attribute("title")
    assert page.errors() == []
    assert all(u.startswith("file://") for u in page.requests)


def test_grid_is_valid_html_and_escapes_what_it_shows(tmp_path):
    html5lib = pytest.importorskip("html5lib")
    rubric = tmp_path / "r.toml"
    rubric.write_text('''title = "<script>alert(1)</script> lab"
[[check]]
id = "x"
title = "<img src=x onerror=alert(2)>"
sql = "SELECT count(*) FROM ftp WHERE arg <> '</td><script>'"
''', encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["batch", str(SAMPLES / "ftp.pcapng"), "-o", str(out), "--rubric", str(rubric),
                     "--workers", "1", "--no-html"]) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    parser = html5lib.HTMLParser(strict=True)
    parser.parse(page)
    assert parser.errors == []
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; lab" in page
    assert "<img src=x" not in page and "&lt;/td&gt;&lt;script&gt;" in page
