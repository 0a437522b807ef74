"""HTTP on samples/http.pcapng against the recorder's facts (issue 6, acceptance 2).

* every request of every session: method, path, Host, status (200, 404, 304, the 301 of
  the followed redirect and its Location, 401) in the order sent, and each response
  object's sha256 and size equal the body the client received (the gzip+chunked one
  decoded);
* the urlencoded form body and the multipart upload equal what curl posted (the upload
  part's name, type, size and sha256; the form fields parsed from the stored body);
* the three pipelined requests left in one write, on one connection, answered in order;
* Basic credentials (user, password, success) as recorded;
* nginx on 10.20.0.1:80 and [fd00:20::1]:80 (the lab) and its backend on the server's
  127.0.0.1:8080 (the capture's second interface) are HTTP, and the proxied requests
  appear on the backend hop too;
* the 1 MiB ``/files/big.bin`` download is whole and equals the served file, regenerated
  with record.py's deterministic ``seeded_bytes`` and checked against the JSON's sha256.
"""
from __future__ import annotations

import email
import email.policy
import random
import urllib.parse

from tests.samples_truth import by_fuid, file_bytes, load, rows_of, sessions, sha256

FRONT, BACKEND = 80, 8080          # nginx, and its backend on the server's loopback


def _setup():
    a, facts = load("http.pcapng")
    front = sessions(a, "http", FRONT)
    back = sessions(a, "http", BACKEND)
    n = max(r["session"] for r in facts["requests"])
    assert len(front) == n == 13
    return a, facts, front, back


def _header(row: dict, side: str, name: str) -> list[str]:
    return [h["value"] for h in row[f"{side}_headers"] if h["name"].lower() == name.lower()]


def _resp_file(a, row: dict) -> dict:
    [fuid] = row["resp_fuids"]
    return by_fuid(a)[fuid]


def _served_big(facts) -> bytes:
    data = random.Random("http-big.bin").randbytes(1024 * 1024)   # record.py's seeded_bytes
    assert sha256(data) == facts["server_files"]["/files/big.bin"]["sha256"]
    return data


def test_every_request_status_and_object():
    a, facts, front, _ = _setup()
    by_session: dict[int, list[dict]] = {}
    for q in facts["requests"]:
        by_session.setdefault(q["session"], []).append(q)
    for n, reqs in by_session.items():
        uid = front[n - 1]
        rows = sorted(rows_of(a, "http", uid), key=lambda r: r["trans_depth"])
        if reqs[0].get("redirect_chain"):
            chain = reqs[0]["redirect_chain"]
            want = [(urllib.parse.urlsplit(c["url"]).path, c["status"], c.get("location")) for c in chain]
            assert [(r["uri"], r["status_code"], r["location"]) for r in rows] == want
            rows = rows[-1:]                       # the final answer carries the body
            reqs = [dict(reqs[0], url=chain[-1]["url"])]
        assert len(rows) == len(reqs), n
        for r, q in zip(rows, reqs):
            u = urllib.parse.urlsplit(q["url"])
            assert (r["method"], r["uri"], r["status_code"]) == (q["method"], u.path, q["status"]), n
            assert r["host"] == q.get("host_header", u.netloc)
            assert r["orig_h"] == facts["client_addr"][1 if ":" in u.hostname else 0]
            if q["response_body_size"] == 0:
                assert r["resp_fuids"] == [] and r["response_body_len"] == 0   # 304
                continue
            f = _resp_file(a, r)
            body = file_bytes(a, f)
            assert sha256(body) == q["response_body_sha256"] == f["sha256"], q["url"]
            assert len(body) == q["response_body_size"] and f["complete"] and r["complete"]
            if q.get("content_encoding"):
                assert r["content_encoding"] == q["content_encoding"]
            if q.get("transfer_encoding"):
                assert _header(r, "response", "Transfer-Encoding") == [q["transfer_encoding"]]


def test_statuses_cover_404_304_301_401():
    a, facts, front, _ = _setup()
    statuses = [r["status_code"] for r in a.rows["http"] if r["resp_p"] == FRONT]
    want = [q["status"] for q in facts["requests"]]
    want += [c["status"] for q in facts["requests"] for c in q.get("redirect_chain", [])[:-1]]
    assert sorted(statuses) == sorted(want)
    assert {404, 304, 301, 401} <= set(statuses)


def test_big_download_whole():
    a, facts, front, _ = _setup()
    [q] = [q for q in facts["requests"] if q["url"].endswith("/files/big.bin")]
    [r] = rows_of(a, "http", front[q["session"] - 1])
    f = _resp_file(a, r)
    got = file_bytes(a, f)
    assert got == _served_big(facts) and f["complete"] and r["complete"]
    assert sha256(got) == q["response_body_sha256"] == f["sha256"]


def test_form_post_and_multipart_upload_equal_what_was_posted():
    a, facts, front, back = _setup()
    files = by_fuid(a)
    for q in facts["requests"]:
        if q["method"] != "POST":
            continue
        path = urllib.parse.urlsplit(q["url"]).path
        hops = [r for r in a.rows["http"] if r["uri"] == path]
        assert sorted(r["resp_p"] for r in hops) == [FRONT, BACKEND]   # nginx, then the backend
        for r in hops:
            assert r["status_code"] == q["status"]
            assert file_bytes(a, _resp_file(a, r)) and sha256(file_bytes(a, _resp_file(a, r))) \
                == q["response_body_sha256"]
            body = file_bytes(a, files[r["orig_fuids"][0]])
            if q["request_content_type"] == "application/x-www-form-urlencoded":
                assert body.decode() == q["request_body"] and sha256(body) == q["request_body_sha256"]
                assert dict(urllib.parse.parse_qsl(body.decode())) == q["form_fields"]
                continue
            ctype = _header(r, "request", "Content-Type")[0]
            assert ctype.startswith(q["request_content_type"])
            for up in q["uploaded_files"]:
                [part] = [files[x] for x in r["orig_fuids"] if files[x]["filename"] == up["filename"]]
                data = file_bytes(a, part)
                assert (sha256(data), len(data), part["mime_type"]) == (up["sha256"], up["size"], up["mime_type"])
                assert part["parent_fuid"] == r["orig_fuids"][0] and part["complete"]
            assert r["orig_filenames"] == [u["filename"] for u in q["uploaded_files"]]
            # the stored request body is the whole multipart body: its form field is there
            msg = email.message_from_bytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body,
                                           policy=email.policy.HTTP)
            fields = {p.get_param("name", header="content-disposition"): p.get_content()
                      for p in msg.iter_parts() if not p.get_filename()}
            assert fields == q["form_fields"]


def test_pipelined_requests_in_one_write():
    a, facts, front, _ = _setup()
    reqs = [q for q in facts["requests"] if q["client"] == "python socket"]
    assert len({q["session"] for q in reqs}) == 1
    rows = sorted(rows_of(a, "http", front[reqs[0]["session"] - 1]), key=lambda r: r["trans_depth"])
    assert [r["uri"] for r in rows] == [urllib.parse.urlsplit(q["url"]).path for q in reqs]
    assert [r["trans_depth"] for r in rows] == [1, 2, 3]
    assert len({r["ts"] for r in rows}) == 1                 # the three left in one segment
    assert [sha256(file_bytes(a, _resp_file(a, r))) for r in rows] == \
        [q["response_body_sha256"] for q in reqs]
    assert _header(rows[-1], "request", "Connection") == ["close"]
    # answered in order: each response starts after the previous one ended
    ends = [(r["response_ts"], r["response_end_ts"]) for r in rows]
    assert all(ends[i][1] <= ends[i + 1][0] for i in range(len(ends) - 1))


def test_basic_credentials():
    a, facts, front, _ = _setup()
    got = sorted((front.index(c["uid"]) + 1, c["username"], c["secret"], c["kind"], c["success"])
                 for c in a.rows["credentials"] if c["protocol"] == "http")
    want = sorted((c["session"], c["username"], c["password"], c["mechanism"], c["success"])
                  for c in facts["credentials"])
    assert got == want
    for c in facts["credentials"]:
        [r] = rows_of(a, "http", front[c["session"] - 1])
        assert r["username"] == c["username"]


def test_servers_found_on_their_ports():
    a, facts, front, back = _setup()
    for srv in facts["servers"]:
        conns = [c for c in a.rows["conn"] if c["resp_h"] == srv["addr"] and c["resp_p"] == srv["port"]]
        assert conns and all(c["service"] == "http" for c in conns), srv
    assert all(c["service"] == "http" for c in a.rows["conn"])
    # one backend connection per proxied request
    proxied = [q for q in facts["requests"] if urllib.parse.urlsplit(q["url"]).path.startswith("/app/")]
    assert len(back) == len(proxied)
