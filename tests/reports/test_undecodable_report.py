"""The report of an undecodable capture says so on its first screen (issue 23), in Chromium."""
from __future__ import annotations

from decoder import cli
from tests.test_undecodable import user0_capture


def test_undecodable_capture_is_said_on_the_first_screen(tmp_path, page, capsys):
    cap = user0_capture(tmp_path / "user0.pcap")
    assert cli.main(["read", str(cap), "-o", str(tmp_path / "out")]) == 1
    capsys.readouterr()
    p = page.open(tmp_path / "out" / "index.html")
    box = p.locator("#undecodable")
    assert box.is_visible()
    assert "unsupported link type 147" in box.inner_text()
    bb = box.bounding_box()
    assert bb is not None and bb["y"] + bb["height"] <= 900     # within the first screen, no scrolling
    assert page.errors() == []
