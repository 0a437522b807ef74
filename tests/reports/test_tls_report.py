"""TLS in the report, in Chromium: a decrypted session is shown as the protocol inside it (HTTP/2, SMTP
after STARTTLS) with a badge saying how it was decrypted; an undecrypted one says it is encrypted; the
ladder draws the TLS handshake steps before what travelled inside."""
from __future__ import annotations

import pytest

from tests.conftest import SAMPLES
from tests.reports.conftest import render


@pytest.fixture(scope="module")
def https_reports(tmp_path_factory):
    keyed, bare = tmp_path_factory.mktemp("https-keys"), tmp_path_factory.mktemp("https-bare")
    a = render(SAMPLES / "https.pcap", keyed, keylogs=[SAMPLES / "keys" / "https.keylog"])
    b = render(SAMPLES / "https.pcap", bare)
    return a, keyed, b, bare


def _h2_uid(a) -> str:
    return next(r["uid"] for r in a.rows["tls"] if r["inner"] == "http2" and r["version"] == "TLSv13")


def test_browser_decrypted_session_shows_the_protocol_inside(page, https_reports):
    a, keyed, _, _ = https_reports
    pg = page.open(keyed / "sessions" / f"{_h2_uid(a)}.html")
    assert pg.locator("h1 .pill").first.inner_text() == "http2"
    badge = pg.locator(".tls-badge")
    assert badge.is_visible() and "TLS 1.3 decrypted with the key log https.keylog" in badge.inner_text()
    ladder = pg.locator("#ladder-svg").text_content()
    steps = ["ClientHello", "ServerHello", "EncryptedExtensions (decrypted)", "Certificate (decrypted)",
             "Finished (decrypted)", "GET /index.html (stream 1)"]
    assert [ladder.find(s) for s in steps] == sorted(ladder.find(s) for s in steps) and ladder.find(steps[0]) >= 0
    assert all(s in ladder for s in steps)
    index = page.open(keyed / "index.html").content()
    assert "http2 (TLS) 127.0.0.1:" in index
    assert page.errors() == []


def test_browser_without_keys_the_session_says_it_is_encrypted(page, https_reports):
    a, _, b, bare = https_reports
    pg = page.open(bare / "sessions" / f"{_h2_uid(a)}.html")
    assert pg.locator("h1 .pill").first.inner_text() == "ssl"
    assert "TLS 1.3 encrypted: no key for this session" in pg.locator(".tls-badge").inner_text()
    ladder = pg.locator("#ladder-svg").text_content()
    assert "ClientHello" in ladder and "Encrypted handshake message" in ladder and "GET" not in ladder
    assert page.errors() == []


def test_browser_starttls_badge(page, tmp_path):
    a = render(SAMPLES / "smtp.pcapng", tmp_path, keylogs=[SAMPLES / "keys" / "smtp.keylog"])
    uid = a.rows["tls"][0]["uid"]
    pg = page.open(tmp_path / "sessions" / f"{uid}.html")
    assert pg.locator("h1 .pill").first.inner_text() == "smtp"
    assert "SMTP STARTTLS, then TLS 1.3 decrypted" in pg.locator(".tls-badge").inner_text()
    ladder = pg.locator("#ladder-svg").text_content()
    assert ladder.find("STARTTLS") < ladder.find("ClientHello") < ladder.find("AUTH CRAM-MD5")
    assert page.errors() == []
