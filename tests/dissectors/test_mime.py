"""dissectors.mime: tolerant e-mail parsing, checked against messages built and parsed
by the standard library (an independent oracle) and hand-written MIME structures."""
from __future__ import annotations

import email
import email.policy
import hashlib
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decoder.model import Limits
from dissectors.mime import explode, parse_headers, split_header_block
from tests.conftest import shared_captures

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 20 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + hashlib.sha256(b"x").digest() * 50


def build_alternative_with_two_attachments() -> bytes:
    m = EmailMessage()
    m["From"] = "Zoë Doe <zoe@example.net>"
    m["To"] = "Bob <bob@example.org>, \"Smith, Carl\" <carl@example.org>"
    m["Cc"] = "dan@example.org"
    m["Subject"] = "Réunion: €100 budget"
    m["Message-ID"] = "<abc@example.net>"
    m["Date"] = "Tue, 2 Jan 2024 09:00:00 +0100"
    m["User-Agent"] = "TestMailer 1.0"
    m.set_content("Bonjour à tous,\nvoici le budget.\n")
    m.add_alternative("<p>Bonjour à tous</p>", subtype="html")
    m.add_attachment(PDF, maintype="application", subtype="pdf", filename="budget 2024.pdf")
    m.add_attachment(PNG, maintype="image", subtype="png", filename="schéma-€.png")
    return m.as_bytes(policy=email.policy.SMTP)


def oracle_leaves(data: bytes) -> list[tuple[str | None, bytes]]:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    out = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if payload:
            out.append((part.get_filename(), payload))
    return out


def test_alternative_and_two_attachments_against_the_stdlib():
    data = build_alternative_with_two_attachments()
    r = explode(data, Limits())
    assert r.defects == [] and r.anomalies == []
    f = r.fields
    assert f["from"] == "Zoë Doe <zoe@example.net>"
    assert f["to"] == ["Bob <bob@example.org>", '"Smith, Carl" <carl@example.org>']
    assert f["cc"] == ["dan@example.org"]
    assert f["subject"] == "Réunion: €100 budget"
    assert f["msg_id"] == "<abc@example.net>" and f["user_agent"] == "TestMailer 1.0"
    assert [(p["path"], p["content_type"], p["depth"]) for p in r.parts] == [
        ("0", "multipart/mixed", 0), ("1", "multipart/alternative", 1), ("1.1", "text/plain", 2),
        ("1.2", "text/html", 2), ("2", "application/pdf", 1), ("3", "image/png", 1)]
    assert [(a.filename, a.data) for a in r.attachments] == oracle_leaves(data)
    atts = [a for a in r.attachments if a.is_attachment]
    assert [(a.filename, a.declared_mime, a.disposition) for a in atts] == [
        ("budget 2024.pdf", "application/pdf", "attachment"), ("schéma-€.png", "image/png", "attachment")]
    assert atts[0].data == PDF and atts[1].data == PNG
    bodies = [a for a in r.attachments if not a.is_attachment]
    assert bodies[0].data.decode("utf-8").replace("\r\n", "\n") == "Bonjour à tous,\nvoici le budget.\n"
    assert r.parts[2]["charset"] == "utf-8"


RFC2231 = (b"From: a@example.net\r\nSubject: =?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
           b" =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"=_b\"\r\n\r\n"
           b"--=_b\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nsee attached\r\n"
           b"--=_b\r\nContent-Type: application/octet-stream\r\n"
           b"Content-Disposition: attachment;\r\n filename*0*=UTF-8''%C3%A9t%C3%A9%20;\r\n"
           b" filename*1*=%E2%82%AC%20report;\r\n filename*2=\".txt\"\r\n"
           b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
           b"caf=C3=A9 =3D soft=\r\nbreak\r\n--=_b\r\n"
           b"Content-Type: text/plain; name=\"=?utf-8?Q?na=C3=AFve.txt?=\"\r\n\r\nx\r\n--=_b--\r\n")


def test_rfc2231_continuations_rfc2047_subject_and_quoted_printable():
    r = explode(RFC2231, Limits())
    # RFC 2047 section 8 example: adjacent encoded words are joined without the space
    assert r.fields["subject"] == "If you can read this you understand the example."
    att = [a for a in r.attachments if a.part_path == "2"][0]
    assert att.filename == "été € report.txt"
    assert att.data == b"caf\xc3\xa9 = softbreak"
    assert att.is_attachment
    named = [a for a in r.attachments if a.part_path == "3"][0]
    assert named.filename == "naïve.txt" and named.is_attachment
    assert [(a.filename, a.data) for a in r.attachments] == oracle_leaves(RFC2231)


@pytest.mark.parametrize("raw,expected", [
    ("=?ISO-8859-1?Q?Andr=E9?= Pirard", "André Pirard"),
    ("=?UTF-8?B?8J+YgA==?= smile", "😀 smile"),
    ("=?iso-8859-15?q?=A4uro?=", "€uro"),
    ("=?x-unknown?Q?abc?=", "abc"),
    ("plain text", "plain text"),
    ("=?UTF-8?B?broken", "=?UTF-8?B?broken"),
])
def test_rfc2047_subjects(raw, expected):
    assert parse_headers(f"Subject: {raw}\r\n".encode())["subject"] == expected


def test_received_and_originating_ip():
    block = (b"Received: from mx2 (mx2 [198.51.100.2]) by mx3; Tue, 2 Jan 2024\r\n"
             b"Received: from client ([192.0.2.9])\r\n\tby mx2; Tue, 2 Jan 2024\r\n"
             b"X-Originating-IP: [203.0.113.5]\r\nX-Mailer: Foo 2\r\n")
    f = parse_headers(block)
    assert f["first_received"] == "from client ([192.0.2.9])\tby mx2; Tue, 2 Jan 2024"
    assert f["second_received"].startswith("from mx2")
    assert f["x_originating_ip"] == "203.0.113.5" and f["user_agent"] == "Foo 2"
    assert len(f["received"]) == 2


def test_nesting_cap_1000_deep():
    data = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
                    for i in range(1000)) + b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    lim = Limits(max_mime_depth=20)
    r = explode(data, lim)
    assert "mime_too_deep" in r.anomalies
    assert max(p["depth"] for p in r.parts) == 20
    assert len(r.parts) == 21
    # the default cap too, and no RecursionError on the standard library's side
    r = explode(data, Limits())
    assert "mime_too_deep" in r.anomalies and len(r.parts) == Limits().max_mime_depth + 1


def test_part_count_cap():
    parts = b"".join(b"--B\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(50))
    data = b"Content-Type: multipart/mixed; boundary=B\r\n\r\n" + parts + b"--B--\r\n"
    r = explode(data, Limits(max_mime_parts=10))
    assert "mime_parts_too_many" in r.anomalies and len(r.parts) == 10
    r = explode(data, Limits())
    assert len(r.parts) == 51 and r.attachments[49].data == b"part 49"


def test_decoded_size_cap():
    big = EmailMessage()
    big["Subject"] = "big"
    big.set_content(b"\x00" * 5000, maintype="application", subtype="octet-stream", filename="z.bin")
    r = explode(big.as_bytes(), Limits(max_file_size=1000))
    assert "mime_part_capped" in r.anomalies and len(r.attachments[0].data) == 1000


def test_a_large_message_is_parsed_without_copies_of_its_parts():
    """explode decodes each part from the message in place: beside the message it holds the decoded
    payloads and little more (a 4 MB message with a 3 MB attachment held ~11 MB more when the body, each
    part and each part's body were copied out first)."""
    import tracemalloc

    payload = bytes(range(256)) * 12_000                # 3 MB
    msg = EmailMessage()
    msg["Subject"] = "big"
    msg.set_content("see the attachment")
    msg.add_attachment(payload, maintype="application", subtype="octet-stream", filename="big.bin")
    data = msg.as_bytes()
    tracemalloc.start()
    try:
        r = explode(data, Limits(max_file_size=len(payload)))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [a.filename for a in r.attachments] == [None, "big.bin"] and r.attachments[1].data == payload
    assert type(r.attachments[0].data) is bytes
    assert peak < len(payload) + len(data) // 4, (peak, len(data))


def test_a_large_base64_attachment_can_be_left_encoded_and_decoded_in_pieces():
    """explode(lazy_over=N): a clean base64 part over N bytes is not decoded in explode; its pieces are the
    bytes the eager path decodes, its size theirs, capped like them, and explode's peak holds none of it."""
    import tracemalloc

    payload = bytes(range(256)) * 12_000                # 3 MB
    msg = EmailMessage()
    msg["Subject"] = "big"
    msg.set_content("see the attachment")
    msg.add_attachment(payload, maintype="application", subtype="octet-stream", filename="big.bin")
    msg.add_attachment(b"small", maintype="application", subtype="octet-stream", filename="small.bin")
    data = msg.as_bytes()
    eager = explode(data, Limits())
    tracemalloc.start()
    try:
        lazy = explode(data, Limits(), lazy_over=1 << 16)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, peak
    assert [a.encoded is not None for a in lazy.attachments] == [False, True, False]
    assert [b"".join(a.pieces()) for a in lazy.attachments] == [a.data for a in eager.attachments]
    assert [a.size for a in lazy.attachments] == [len(a.data) for a in eager.attachments]
    assert len(list(lazy.attachments[1].pieces())) > 10          # pieces, not one whole payload
    capped = explode(data, Limits(max_file_size=1000), lazy_over=1 << 16)
    assert "mime_part_capped" in capped.anomalies and capped.attachments[1].size == 1000
    assert b"".join(capped.attachments[1].pieces()) == payload[:1000]


@given(st.binary(max_size=700), st.sampled_from([1, 3, 4, 60, 76, 77]), st.sampled_from([b"\r\n", b"\n"]),
       st.booleans(), st.sampled_from([1, 7, 64, 1 << 16]))
@settings(max_examples=300, deadline=None)
def test_base64_in_pieces_is_the_whole_decode(raw, width, eol, strip_pad, piece):
    import base64
    import binascii

    from dissectors import mime

    enc = base64.b64encode(raw)
    if strip_pad:
        enc = enc.rstrip(b"=")
    body = eol.join(enc[i:i + width] for i in range(0, len(enc), width)) + eol
    buf = b"xx" + body + b"yy"
    size = mime._clean_b64_size(buf, 2, 2 + len(body))
    if size is None:           # not clean (unpadded, not a multiple of 4): explode decodes it whole
        return
    old, mime._PIECE = mime._PIECE, piece
    try:
        assert size == len(raw)
        assert b"".join(mime._b64_pieces(buf, 2, 2 + len(body), size)) == binascii.a2b_base64(body) == raw
    finally:
        mime._PIECE = old


def _clean_b64_size_by_expression(buf: bytes, start: int, end: int) -> int | None:
    """What _clean_b64_size answered with one regular expression over the whole body (before 2026-12)."""
    from dissectors import mime

    m = mime._B64_UNCLEAN.search(buf, start, end)
    pad = 0
    if m is not None:
        tail = buf[m.start():end]
        pad = tail.count(b"=")
        if len(tail) > 8 or pad > 2 or tail.translate(None, b"\r\n="):
            return None
    n = end - start - buf.count(b"\r", start, end) - buf.count(b"\n", start, end)
    return None if n % 4 or n == 0 else n // 4 * 3 - pad


@given(st.lists(st.sampled_from([b"QUJD", b"QUI", b"\r\n", b"\n", b"\r", b"=", b"==", b"\x00", b" ", b"-",
                                 b"\xff"]), max_size=60),
       st.sampled_from([1, 3, 4, 7, 64, 1 << 16]))
@settings(max_examples=500, deadline=None)
def test_clean_size_per_piece_is_the_expressions(tokens, piece):
    """_clean_b64_size (a translate per piece) answers what one expression over the body answered, whatever
    piece holds the first byte out of the alphabet; its pieces decode to binascii's whole decode."""
    import binascii

    from dissectors import mime

    buf = b"x!" + b"".join(tokens) + b"!y"
    end = len(buf) - 2
    old, mime._PIECE = mime._PIECE, piece
    try:
        size = mime._clean_b64_size(buf, 2, end)
        assert size == _clean_b64_size_by_expression(buf, 2, end)
        if size is not None:
            assert b"".join(mime._b64_pieces(buf, 2, end, size)) == binascii.a2b_base64(buf[2:end])
    finally:
        mime._PIECE = old


def test_message_rfc822_is_descended_and_numbered_like_imap():
    inner = (b"Subject: inner\r\nContent-Type: multipart/mixed; boundary=I\r\n\r\n--I\r\n"
             b"Content-Type: text/plain\r\n\r\none\r\n--I\r\nContent-Type: text/plain\r\n\r\ntwo\r\n--I--\r\n")
    data = (b"Subject: outer\r\nContent-Type: multipart/mixed; boundary=O\r\n\r\n--O\r\n"
            b"Content-Type: text/plain\r\n\r\nhello\r\n--O\r\nContent-Type: message/rfc822\r\n\r\n"
            + inner + b"--O--\r\n")
    r = explode(data, Limits())
    assert [p["path"] for p in r.parts] == ["0", "1", "2", "2.0", "2.1", "2.2"]
    assert r.fields["subject"] == "outer"
    assert [(a.part_path, a.data) for a in r.attachments] == [("1", b"hello"), ("2.1", b"one"),
                                                               ("2.2", b"two")]


def test_defects_recorded_not_raised():
    data = (b"Subject: x\r\nContent-Type: multipart/mixed; boundary=Q\r\n\r\n--Q\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\nYWJj!!ZA\r\n")     # no close, bad base64
    r = explode(data, Limits())
    assert "multipart_missing_close_boundary" in r.defects
    assert r.attachments[0].data.startswith(b"abc")
    r = explode(b"Content-Type: multipart/mixed\r\n\r\nno boundary", Limits())
    assert "multipart_without_boundary" in r.defects and r.attachments[0].data == b"no boundary"


@pytest.mark.parametrize("data", [b"", b"\r\n", b"no headers at all", b"\xff\xfe\x00" * 50,
                                  b"Subject: \xe9t\xe9\r\n\r\n", b"Content-Type: ;;;\r\n\r\nx",
                                  b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n"])
def test_odd_inputs(data):
    r = explode(data, Limits())
    assert isinstance(r.parts, list) and isinstance(r.fields, dict)


def test_8bit_header_is_read_as_utf8_or_latin1():
    assert parse_headers("Subject: été\r\n".encode())["subject"] == "été"
    assert parse_headers("Subject: été\r\n".encode("latin-1"))["subject"] == "été"


def test_split_header_block():
    assert split_header_block(b"A: 1\r\nB: 2\r\n\r\nbody", 100) == (b"A: 1\r\nB: 2\r\n", b"body", False)
    assert split_header_block(b"\r\nbody", 100) == (b"", b"body", False)
    assert split_header_block(b"body only\r\n", 100) == (b"", b"body only\r\n", False)


# ---------------------------------------------------------------- real messages
SMTP_CAPTURES = [p for p in shared_captures("smtp-*")]


@pytest.mark.parametrize("path", SMTP_CAPTURES, ids=lambda p: p.name)
def test_shared_messages_against_the_stdlib(path: Path, tshark: str, tmp_path: Path):
    """Every message tshark exports from the shared SMTP captures: our leaves (names
    and decoded bytes) equal those of the standard library's own parser."""
    subprocess.run([tshark, "-r", str(path), "--export-objects", f"imf,{tmp_path}"],
                   capture_output=True, check=True)
    files = [p for p in tmp_path.iterdir() if p.is_file()]
    for f in files:
        data = f.read_bytes()
        r = explode(data, Limits())
        assert [(a.filename, a.data) for a in r.attachments] == oracle_leaves(data), f.name
        assert r.fields["subject"] == (email.message_from_bytes(data, policy=email.policy.default)
                                       .get("Subject") or None)
