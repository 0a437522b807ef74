"""HAR 1.2 export: a JSON schema written from the HAR 1.2 specification
(http://www.softwareishard.com/blog/har-12-spec/), and an independent reader
(haralyzer) that must load the output."""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from pathlib import Path

import pandas as pd
import pytest

from decoder.model import FileData, FileOpen
from dissectors.http import HttpDissector, HttpTransaction
from reports.har import MAX_INLINE, build_har, write_har
from tests.conftest import shared_captures
from tests.conversation import C, S, ctx, run

jsonschema = pytest.importorskip("jsonschema")

# ---------------------------------------------------------------- the schema (HAR 1.2)
_CUSTOM = {"^_": {}}                     # "custom fields ... must start with an underscore"


def _obj(required: dict, optional: dict | None = None) -> dict:
    props = dict(required)
    props.update(optional or {})
    props.setdefault("comment", {"type": "string"})
    return {"type": "object", "required": list(required), "properties": props,
            "patternProperties": _CUSTOM, "additionalProperties": False}


_STR = {"type": "string"}
_INT = {"type": "integer"}
_NUM = {"type": "number"}
_ISO = {"type": "string",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"}
_NAMEVALUE = _obj({"name": _STR, "value": _STR})
_COOKIE = _obj({"name": _STR, "value": _STR},
               {"path": _STR, "domain": _STR, "expires": _STR, "httpOnly": {"type": "boolean"},
                "secure": {"type": "boolean"}})
_TIMING_OPT = {"type": "number", "anyOf": [{"minimum": 0}, {"const": -1}]}
_CACHE_ENTRY = _obj({"lastAccess": _ISO, "eTag": _STR, "hitCount": _INT}, {"expires": _ISO})
HAR_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["log"],
    "additionalProperties": False,
    "properties": {"log": _obj(
        {"version": {"type": "string", "const": "1.2"},
         "creator": _obj({"name": _STR, "version": _STR}),
         "entries": {"type": "array", "items": _obj(
             {"startedDateTime": _ISO,
              "time": {"type": "number", "minimum": 0},
              "request": _obj(
                  {"method": _STR, "url": {"type": "string", "pattern": "^https?://"},
                   "httpVersion": _STR,
                   "cookies": {"type": "array", "items": _COOKIE},
                   "headers": {"type": "array", "items": _NAMEVALUE},
                   "queryString": {"type": "array", "items": _NAMEVALUE},
                   "headersSize": _INT, "bodySize": _INT},
                  {"postData": _obj(
                      {"mimeType": _STR},
                      {"params": {"type": "array", "items": _obj(
                          {"name": _STR}, {"value": _STR, "fileName": _STR, "contentType": _STR})},
                       "text": _STR})}),
              "response": _obj(
                  {"status": _INT, "statusText": _STR, "httpVersion": _STR,
                   "cookies": {"type": "array", "items": _COOKIE},
                   "headers": {"type": "array", "items": _NAMEVALUE},
                   "content": _obj({"size": _INT, "mimeType": _STR},
                                   {"compression": _INT, "text": _STR, "encoding": _STR}),
                   "redirectURL": _STR, "headersSize": _INT, "bodySize": _INT}),
              "cache": _obj({}, {"beforeRequest": {"anyOf": [{"type": "null"}, _CACHE_ENTRY]},
                                 "afterRequest": {"anyOf": [{"type": "null"}, _CACHE_ENTRY]}}),
              "timings": _obj(
                  {"send": {"type": "number", "minimum": 0}, "wait": {"type": "number", "minimum": 0},
                   "receive": {"type": "number", "minimum": 0}},
                  {"blocked": _TIMING_OPT, "dns": _TIMING_OPT, "connect": _TIMING_OPT,
                   "ssl": _TIMING_OPT})},
             {"pageref": _STR, "serverIPAddress": _STR, "connection": _STR})}},
        {"browser": _obj({"name": _STR, "version": _STR}),
         "pages": {"type": "array", "items": _obj(
             {"startedDateTime": _ISO, "id": _STR, "title": _STR,
              "pageTimings": _obj({}, {"onContentLoad": _NUM, "onLoad": _NUM})})}})},
}


def validate(doc: dict) -> None:
    jsonschema.validate(doc, HAR_SCHEMA, cls=jsonschema.Draft202012Validator)
    # the spec's cross-field rules the schema cannot say
    pages = {p["id"] for p in doc["log"].get("pages", [])}
    for e in doc["log"]["entries"]:
        assert "pageref" not in e or e["pageref"] in pages
        t = e["timings"]
        total = sum(v for k, v in t.items() if k in ("blocked", "dns", "connect", "send", "wait",
                                                        "receive") and v != -1)
        assert e["time"] == pytest.approx(total, abs=0.01)


def test_schema_rejects_broken_documents():
    with pytest.raises(jsonschema.ValidationError):
        validate({"log": {"version": "1.2", "creator": {"name": "x"}, "entries": []}})
    with pytest.raises(jsonschema.ValidationError):
        validate({"log": {"version": "1.2", "creator": {"name": "x", "version": "1"},
                          "entries": [{"startedDateTime": "yesterday"}]}})


# ---------------------------------------------------------------- from a conversation
def _tables_from_conversation(tmp: Path, convo) -> tuple[dict, Path]:
    c = ctx(resp=("192.0.2.80", 80), uid="Chartest")
    items = run(lambda: HttpDissector(c), convo)
    files_dir = tmp / "files"
    files_dir.mkdir()
    rows, frows = [], []
    data: dict[str, bytes] = {}
    for it in items:
        if isinstance(it, FileOpen):
            data[it.handle] = b""
        elif isinstance(it, FileData):
            data[it.handle] += it.data
        elif isinstance(it, HttpTransaction):
            r = {"uid": c.uid, "orig_h": c.orig_h, "orig_p": c.orig_p, "resp_h": c.resp_h,
                 "resp_p": c.resp_p}
            r.update({f.name: getattr(it, f.name) for f in dataclasses.fields(it)})
            rows.append(r)
    for handle, blob in data.items():
        fuid = c.fuid(handle)
        (files_dir / f"{fuid}-x").write_bytes(blob)
        frows.append({"fuid": fuid, "sha256": hashlib.sha256(blob).hexdigest()})
    return {"http": pd.DataFrame(rows), "files": pd.DataFrame(frows)}, files_dir


def test_har_from_conversation(tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    form = b"user=anna&pass=s%20cret"
    big = b"A" * 5000
    convo = [
        C(b"GET /page?q=1&lang=en HTTP/1.1\r\nHost: example.com\r\nCookie: sid=1; t=2\r\n\r\n", ts=100.0),
        S(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 9\r\n"
          b"Set-Cookie: sid=2; Path=/; HttpOnly\r\n\r\n<p>hi</p>", ts=100.25),
        C(b"GET /logo.png HTTP/1.1\r\nHost: example.com\r\n\r\n", ts=101.0),
        S(b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: %d\r\n\r\n" % len(png) + png,
          ts=101.5),
        C(b"POST /login HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/x-www-form-urlencoded\r\n"
          b"Content-Length: %d\r\n\r\n" % len(form) + form, ts=102.0),
        S(b"HTTP/1.1 302 Found\r\nLocation: /home\r\nContent-Length: 0\r\n\r\n", ts=102.1),
        C(b"GET /big.txt HTTP/1.1\r\nHost: example.com\r\n\r\n", ts=103.0),
        S(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5000\r\n\r\n" + big, ts=103.2),
        C(b"GET /never HTTP/1.1\r\nHost: example.com\r\n\r\n", ts=104.0),
    ]
    tables, files_dir = _tables_from_conversation(tmp_path, convo)
    out = tmp_path / "http.har"
    write_har(tables, files_dir, out, max_content=4096)
    doc = json.loads(out.read_text(encoding="utf-8"))
    validate(doc)
    e = doc["log"]["entries"]
    assert [x["request"]["url"] for x in e] == [
        "http://example.com/page?q=1&lang=en", "http://example.com/logo.png", "http://example.com/login",
        "http://example.com/big.txt", "http://example.com/never"]
    assert e[0]["request"]["queryString"] == [{"name": "q", "value": "1"}, {"name": "lang", "value": "en"}]
    assert e[0]["request"]["cookies"] == [{"name": "sid", "value": "1"}, {"name": "t", "value": "2"}]
    assert e[0]["response"]["cookies"] == [{"name": "sid", "value": "2", "path": "/", "httpOnly": True}]
    assert e[0]["response"]["content"]["text"] == "<p>hi</p>"
    assert e[0]["startedDateTime"].startswith("1970-01-01T00:01:40.000")
    assert e[0]["timings"]["wait"] == pytest.approx(250.0)
    assert base64.b64decode(e[1]["response"]["content"]["text"]) == png
    assert e[1]["response"]["content"]["encoding"] == "base64"
    assert e[2]["request"]["postData"]["params"] == [{"name": "user", "value": "anna"},
                                                      {"name": "pass", "value": "s cret"}]
    assert e[2]["response"]["redirectURL"] == "/home" and e[2]["response"]["status"] == 302
    big_content = e[3]["response"]["content"]           # over max_content: pointed at, not copied
    assert "text" not in big_content and big_content["_file"] in big_content["comment"]
    assert (files_dir.parent / big_content["_file"]).read_bytes() == big and big_content["size"] == len(big)
    assert e[4]["response"]["status"] == 0 and "no_response" in e[4]["_flags"]
    _haralyzer_loads(out, len(e))


def _haralyzer_loads(path: Path, n: int) -> None:
    haralyzer = pytest.importorskip("haralyzer")
    parser = haralyzer.HarParser(json.loads(path.read_text(encoding="utf-8")))
    entries = [en for page in parser.pages for en in page.entries]
    assert len(entries) == n
    for en in entries:
        assert en.request.method and en.request.url.startswith("http")
        assert isinstance(en.response.status, int)
    first = entries[0]
    assert first.request.headers and first.startTime is not None


def test_empty_http_table(tmp_path):
    out = tmp_path / "empty.har"
    write_har({}, tmp_path, out)
    doc = json.loads(out.read_text())
    validate(doc)
    assert doc["log"]["entries"] == []


# ---------------------------------------------------------------- on shared captures
@pytest.mark.shared
@pytest.mark.parametrize("path", [p for p in shared_captures("http-*") if p.name in (
    "http-post-login.pcapng", "http-dvwa-login-images.pcapng", "http-chunked-gif.pcap",
    "http-content-gzip-xml.pcap")], ids=lambda p: p.name)
def test_har_on_shared_capture(path, tmp_path):
    api = pytest.importorskip("decoder.api")
    a = api.analyze(path, out_dir=tmp_path / "out", strict=True)
    out = tmp_path / "http.har"
    write_har(a.rows, tmp_path / "out" / "files", out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    validate(doc)
    entries = doc["log"]["entries"]
    assert len(entries) == len(a.tables["http"])
    # every body in the HAR is the stored object (same sha256)
    sha = dict(zip(a.tables["files"]["fuid"], a.tables["files"]["sha256"]))
    http = sorted(a.rows.get("http", []), key=lambda r: r["ts"])
    for row, e in zip(http, entries):
        content = e["response"]["content"]
        if row["resp_fuids"] and "text" in content:
            raw = (base64.b64decode(content["text"]) if content.get("encoding") == "base64"
                   else content["text"].encode("utf-8"))
            assert hashlib.sha256(raw).hexdigest() == sha[row["resp_fuids"][0]]
        elif row["resp_fuids"] and "_file" in content:     # a large body: the HAR names its file
            raw = (tmp_path / "out" / content["_file"]).read_bytes()
            assert len(raw) > MAX_INLINE and hashlib.sha256(raw).hexdigest() == sha[row["resp_fuids"][0]]
    _haralyzer_loads(out, len(entries))


def test_build_har_is_json_serialisable():
    doc = build_har({"http": pd.DataFrame([{"ts": 1.0, "uid": "C1", "resp_h": "2001:db8::1", "resp_p": 8080,
                                            "method": "GET", "uri": "/", "host": float("nan"),
                                            "status_code": float("nan")}])}, Path("/nonexistent"))
    json.dumps(doc)
    validate(doc)
    assert doc["log"]["entries"][0]["request"]["url"] == "http://[2001:db8::1]:8080/"


def test_file_index_on_disk_gives_the_same_har(tmp_path, monkeypatch):
    """Past _INDEX_IN_MEMORY objects the fuid → stored path index moves to SQLite on disk (memory must not
    grow with the number of objects); the HAR written must be byte for byte the one the dict gives."""
    import reports.har as har
    from decoder import analyze

    sample = Path(__file__).resolve().parent.parent / "samples" / "http.pcapng"
    a = analyze(sample, out_dir=tmp_path / "o")
    tables = {"http": a.rows["http"], "files": a.rows["files"]}
    assert len(tables["files"]) > 5
    write_har(tables, tmp_path / "o" / "files", tmp_path / "mem.har")
    monkeypatch.setattr(har, "_INDEX_IN_MEMORY", 3)
    write_har(tables, tmp_path / "o" / "files", tmp_path / "disk.har")
    mem, disk = (tmp_path / "mem.har").read_bytes(), (tmp_path / "disk.har").read_bytes()
    assert mem == disk
    entries = json.loads(disk)["log"]["entries"]
    assert sum(1 for e in entries if e["response"]["content"].get("text")) >= 3
    a.close()
