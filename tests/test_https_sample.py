"""samples/https.pcap (nginx, TLS 1.2 and 1.3, HTTP/2 and HTTP/1.1; curl and openssl s_client with a key
log): decrypted with samples/keys/https.keylog, every TLS session is the one the recording script made
(version, cipher, ALPN), every request and status is the one curl reported, every body equals the file
nginx served, and the HTTP/2 header blocks equal tshark's (``-o tls.keylog_file``). Without the key log:
no http row, nothing decoded inside."""
from __future__ import annotations

import json
import subprocess
from collections import Counter

import pytest

from tests.conftest import SAMPLES

CAP = SAMPLES / "https.pcap"
KEYLOG = SAMPLES / "keys" / "https.keylog"
DOC = json.loads((SAMPLES / "expected" / "https.json").read_text())


@pytest.fixture(scope="module")
def decoded():
    from decoder.api import analyze

    with analyze(CAP, strict=True, keylogs=[KEYLOG]) as a:
        yield a.rows


def _sessions(rows) -> list[dict]:
    return sorted(rows["tls"], key=lambda r: r["ts"])


def test_tls_sessions_are_those_recorded(decoded):
    tls = _sessions(decoded)
    assert [(r["version"], r["cipher"], r["next_protocol"]) for r in tls] == \
        [(s["tls_version"], s["cipher"], s["alpn"]) for s in DOC["sessions"]]
    assert all(r["decrypted"] and r["records_undecrypted"] == 0 for r in tls)
    assert {r["inner"] for r in tls} == {"http", "http2"}
    assert all(r["subject"] == DOC["certificate_subject"] for r in tls)


def test_requests_and_bodies_are_those_served(decoded):
    tls = _sessions(decoded)
    by_uid = {r["uid"]: i + 1 for i, r in enumerate(tls)}
    files = {f["fuid"]: f for f in decoded["files"]}
    got = sorted((by_uid[r["uid"]], r["method"], r["uri"], r["status_code"]) for r in decoded["http"])
    want = sorted((q["session"], q["method"], "/" + q["url"].split("/", 3)[3], q["status"])
                  for q in DOC["requests"])
    assert got == want
    served = DOC["server_files"]
    for r in decoded["http"]:
        if r["method"] == "GET" and r["status_code"] == 200:
            (fuid,) = r["resp_fuids"]
            assert files[fuid]["sha256"] == served[r["uri"].lstrip("/")]["sha256"], r["uri"]
            assert r["response_body_len"] == served[r["uri"].lstrip("/")]["size"]
        if r["method"] == "POST":
            (fuid,) = r["orig_fuids"]
            assert files[fuid]["sha256"] == DOC["form_body_sha256"]
            assert r["request_body_len"] == DOC["form_body_size"]
        assert (r["stream_id"] is not None) == (r["version"] == "2")


def test_http2_header_blocks_equal_tshark(decoded, tshark):
    out = subprocess.run([tshark, "-n", "-r", str(CAP), "-o", f"tls.keylog_file:{KEYLOG}", "-Y", "http2.type==1",
                          "-T", "fields", "-E", "aggregator=\x1f", "-e", "tcp.srcport", "-e", "tcp.dstport",
                          "-e", "http2.header.name", "-e", "http2.header.value"],
                         capture_output=True, text=True, check=True).stdout
    theirs: dict[int, Counter] = {}
    for line in out.splitlines():
        sport, dport, names, values = line.split("\t")
        client = int(sport) if int(dport) == 10443 else int(dport)
        theirs.setdefault(client, Counter()).update(zip(names.split("\x1f"), values.split("\x1f")))
    ours: dict[int, Counter] = {}
    for r in decoded["http"]:
        if r["stream_id"] is not None:
            c = ours.setdefault(r["orig_p"], Counter())
            c.update((h["name"], h["value"]) for h in r["request_headers"] + r["response_headers"])
    assert theirs and ours == theirs


def test_har_holds_the_http2_exchanges(tmp_path):
    from decoder.api import analyze
    from reports.har import write_har

    with analyze(CAP, strict=True, keylogs=[KEYLOG], out_dir=tmp_path) as a:
        write_har(a.rows, tmp_path / "files", tmp_path / "http.har")
    entries = json.loads((tmp_path / "http.har").read_text())["log"]["entries"]
    h2 = [e for e in entries if e["request"]["httpVersion"] == "HTTP/2"]
    assert len(h2) == sum(1 for q in DOC["requests"] if q["http_version"] == "2")
    index = next(e for e in h2 if e["request"]["url"].endswith("/index.html"))
    assert index["response"]["status"] == 200 and index["response"]["content"]["size"] == \
        DOC["server_files"]["index.html"]["size"]


def test_without_keys_nothing_is_decoded_inside():
    from decoder.api import analyze

    with analyze(CAP, strict=True) as a:
        assert not a.rows.get("http")
        tls = a.rows["tls"]
    assert len(tls) == len(DOC["sessions"])
    assert not any(r["decrypted"] or r["inner"] for r in tls)
    # TLS 1.2 shows its certificate and ALPN in the clear; TLS 1.3 neither
    for r, s in zip(sorted(tls, key=lambda r: r["ts"]), DOC["sessions"]):
        assert r["cipher"] == s["cipher"]
        assert r["next_protocol"] == (s["alpn"] if s["tls_version"] == "TLSv12" else None)
        assert (r["subject"] is not None) == (s["tls_version"] == "TLSv12")


def test_http2_bodies_equal_tshark(tshark, tmp_path):
    """Every DATA frame tshark decrypts, joined per stream, is the object we stored for that stream and
    direction (tshark's http2.data.data is already content-decoded, as our objects are: the gzip stream too)."""
    from decoder.api import analyze

    out = subprocess.run([tshark, "-n", "-r", str(CAP), "-o", f"tls.keylog_file:{KEYLOG}", "-Y", "http2.type==0",
                          "-T", "fields", "-E", "aggregator=|", "-e", "tcp.srcport", "-e", "tcp.dstport",
                          "-e", "http2.streamid", "-e", "http2.type", "-e", "http2.data.data",
                          "-e", "http2.body.reassembled.data"], capture_output=True, text=True, check=True).stdout
    theirs: dict[tuple, bytes] = {}
    whole: dict[tuple, bytes] = {}     # a body tshark reassembled from several DATA frames
    for line in out.splitlines():
        sport, dport, sids, types, datas, reassembled = line.split("\t")
        client, d = (int(sport), "orig") if int(dport) == 10443 else (int(dport), "resp")
        data_frames = [s for s, t in zip(sids.split("|"), types.split("|")) if t == "0"]
        if reassembled:
            whole[(client, int(data_frames[-1]), d)] = bytes.fromhex(reassembled)
            continue
        for sid, hexdata in zip(data_frames, datas.split("|")):
            key = (client, int(sid), d)
            theirs[key] = theirs.get(key, b"") + bytes.fromhex(hexdata)
    theirs.update(whole)
    with analyze(CAP, strict=True, keylogs=[KEYLOG], out_dir=tmp_path) as a:
        files = {f["fuid"]: (tmp_path / f["path"]).read_bytes() for f in a.rows["files"]}
        ours: dict[tuple, bytes] = {}
        for r in a.rows["http"]:
            if r["stream_id"] is None:
                continue
            for d, col in (("orig", "orig_fuids"), ("resp", "resp_fuids")):
                for fuid in r[col]:
                    ours[(r["orig_p"], r["stream_id"], d)] = files[fuid]
    assert any(r["content_encoding"] == "gzip" for r in a.rows["http"])
    theirs = {k: v for k, v in theirs.items() if v}
    assert whole and theirs and ours == theirs
