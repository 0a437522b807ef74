"""Thin TCP handshake and teardown arrows on the ladder (issue 23), in Chromium: each at its packet's
frame, in frame order with the protocol's arrows, drawn from the side that sent it, and hidden by
the checkbox."""
from __future__ import annotations

from tests.reports.conftest import render
from tests.reports.test_names import named_capture


def test_handshake_and_teardown_arrows(tmp_path, page):
    a = render(named_capture(tmp_path / "n.pcap"), tmp_path / "out")
    smtp = next(c for c in a.rows["conn"] if c["service"] == "smtp")
    rows = sorted((r for r in a.rows["tcp_control"] if r["uid"] == smtp["uid"]), key=lambda r: r["frame"])
    assert [(r["flags"], r["direction"]) for r in rows] == [
        ("SYN", "orig"), ("SYN-ACK", "resp"), ("ACK", "orig"), ("FIN", "orig"), ("FIN", "resp")]
    assert smtp["first_frame"] == rows[0]["frame"] and rows[-1]["frame"] <= smtp["last_frame"]

    p = page.open(tmp_path / "out" / "sessions" / f"{smtp['uid']}.html")
    thin = p.locator("#ladder-svg g.tcpctl")
    assert thin.count() == 5
    labels = [thin.nth(i).locator("text").first.text_content() for i in range(5)]
    assert labels == ["SYN", "SYN-ACK", "ACK", "FIN", "FIN"]
    frames = [int(thin.nth(i).locator("text").nth(1).text_content().lstrip("#")) for i in range(5)]
    assert frames == [r["frame"] for r in rows]
    assert "handshake 1/3" in thin.nth(0).locator("title").text_content()
    # drawn from the sender: the SYN from the client (left) to the server (right), the SYN-ACK back
    syn, synack = (thin.nth(i).locator("line") for i in (0, 1))
    assert float(syn.get_attribute("x1")) < float(syn.get_attribute("x2"))
    assert float(synack.get_attribute("x1")) > float(synack.get_attribute("x2"))
    # in frame order with the protocol's arrows: the handshake above the banner, the FINs below QUIT's reply
    arrows = p.locator("#ladder-svg g.arrow")
    ys = [arrows.nth(i).bounding_box()["y"] for i in range(arrows.count())]
    assert thin.nth(2).bounding_box()["y"] < min(ys) and thin.nth(3).bounding_box()["y"] > max(ys)
    p.locator("#tcpctl").uncheck()
    assert not thin.nth(0).is_visible() and arrows.nth(0).is_visible()
    assert page.errors() == []
    # the ladder is where these rows are shown: the page's decoded fields do not list them again
    tables = p.eval_on_selector_all("#fields-box h3", "hs => hs.map(h => h.firstChild.textContent.trim())")
    assert "smtp" in tables and "tcp_control" not in tables
