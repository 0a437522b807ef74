"""FTP's 227/229/PORT/EPRT meanings work out the address and port (issue 23), on the ladder in Chromium."""
from __future__ import annotations

import re

from tests.conftest import SAMPLES
from tests.reports.conftest import render


def test_227_meaning_gives_the_port_the_data_connection_used(tmp_path, page):
    a = render(SAMPLES / "ftp.pcapng", tmp_path / "out")
    conn = a.rows["conn"]
    checked = 0
    for c in (c for c in conn if c["service"] == "ftp"):
        data_ports = {d["resp_p"] for d in conn if d.get("parent_uid") == c["uid"]}
        p = page.open(tmp_path / "out" / "sessions" / f"{c['uid']}.html")
        arrows = p.locator("#ladder-svg g.arrow.resp")
        for i in range(arrows.count()):
            g = arrows.nth(i)
            if not g.locator("title").text_content().split(" · ")[2].startswith("227 "):
                continue
            label = g.locator("text.mono").nth(2).text_content()
            h = [int(x) for x in re.search(r"(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)", label).groups()]
            meaning = g.locator("text.lm").text_content()
            port = h[4] * 256 + h[5]
            assert f"the client is to connect to {h[0]}.{h[1]}.{h[2]}.{h[3]}:{port} " \
                   f"(port {h[4]}×256+{h[5]})" in meaning
            assert port in data_ports                  # the data connection really went there
            checked += 1
        assert page.errors() == []
    assert checked >= 3
