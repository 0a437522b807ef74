"""Names learnt from the capture beside addresses, and DNS lanes that say their question (issue 23), in
Chromium: the hosts table, the timeline lanes and the ladder headers, each name with where it came from."""
from __future__ import annotations

import dns.message
import dns.rrset

from tests.builders import Conn, udp_packet, write_pcap
from tests.reports.conftest import render

CLIENT, SERVER, RESOLVER = "10.0.0.1", "10.0.0.2", "10.0.0.53"


def named_capture(path):
    """A DNS lookup of www.example.org (A 10.0.0.2, via a CNAME), then HTTP to it with Host:
    www.example.org:8080, then SMTP to it with EHLO pc1.example.net."""
    q = dns.message.make_query("www.example.org", "A", id=4242)
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text("www.example.org.", 300, "IN", "CNAME", "web.example.org."))
    r.answer.append(dns.rrset.from_text("web.example.org.", 300, "IN", "A", SERVER))
    pkts = [udp_packet(CLIENT, 53000, RESOLVER, 53, q.to_wire()), udp_packet(RESOLVER, 53, CLIENT, 53000, r.to_wire())]
    h = Conn(c=(CLIENT, 40000), s=(SERVER, 8080))
    pkts += h.handshake() + [h.client(b"GET / HTTP/1.1\r\nHost: www.example.org:8080\r\n\r\n"),
                             h.server(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")] + h.close()
    m = Conn(c=(CLIENT, 40001), s=(SERVER, 25))
    pkts += m.handshake() + [m.server(b"220 mx ESMTP\r\n"), m.client(b"EHLO pc1.example.net\r\n"),
                             m.server(b"250 mx\r\n"), m.client(b"QUIT\r\n"), m.server(b"221 bye\r\n")] + m.close()
    write_pcap(path, pkts)
    return path


def test_names_in_hosts_lanes_and_ladder_headers(tmp_path, page):
    a = render(named_capture(tmp_path / "n.pcap"), tmp_path / "out")
    by_svc = {c["service"]: c for c in a.rows["conn"]}

    p = page.open(tmp_path / "out" / "index.html")
    rows = p.locator("#hosts table").first.locator("tr")
    cells = {rows.nth(i).locator("td").first.inner_text().split("\n")[0]: rows.nth(i).locator("td").first
             for i in range(1, rows.count())}
    server = cells[SERVER].inner_text()
    assert "www.example.org (DNS answer)" in server and "web.example.org (DNS answer)" in server
    assert "www.example.org (HTTP Host)" in server                  # the same name from a second source
    assert "pc1.example.net (SMTP HELO/EHLO)" in cells[CLIENT].inner_text()
    assert cells[RESOLVER].locator("div.hostname").count() == 0      # nothing named the resolver

    lane = p.locator(f'#tl g.lane[data-uid="{by_svc["http"]["uid"]}"]')
    assert lane.locator("text").first.text_content() == "http 10.0.0.1:40000 → www.example.org:8080"
    title = lane.locator("title").first.text_content()
    assert "10.0.0.2:8080 [www.example.org (DNS answer), web.example.org (DNS answer)" in title

    dns_lane = p.locator(f'#tl g.lane[data-uid="{by_svc["dns"]["uid"]}"]')
    assert dns_lane.locator("text").first.text_content() == "dns A www.example.org"
    assert "answers: CNAME web.example.org, A 10.0.0.2" in dns_lane.locator("title").first.text_content()
    assert page.errors() == []

    p = page.open(tmp_path / "out" / "sessions" / f"{by_svc['smtp']['uid']}.html")
    heads = p.locator("#ladder-svg text.hostname")
    assert heads.count() == 2
    assert heads.nth(0).text_content().endswith("pc1.example.net (SMTP HELO/EHLO)")   # (after its <title>)
    assert heads.nth(1).text_content().endswith("www.example.org (DNS answer)")
    assert heads.nth(0).is_visible()
    assert page.errors() == []
