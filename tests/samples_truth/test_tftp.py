"""TFTP on samples/tftp.pcapng against the recorder's facts (issue 7, acceptance 2).

For each of the seven transfers, in order: read or write, file name, mode; the options
the client requested and the OACK the server sent (RFC 2347/2348/2349) as recorded,
the blksize and tsize the tftp row reports; for completed transfers the extracted file
has the sha256 and size of the file sent (netascii: of the wire bytes, CR LF, as the
facts record) and the block count; the missing file ends with ERROR 1 "File not found"
and no object. Every transfer runs on a new server TID: the data flow must be joined
to its request (``uid_data`` / ``parent_uid``).
"""
from __future__ import annotations

from tests.samples_truth import by_fuid, file_bytes, load, sha256

PORT = 69


def _setup():
    a, facts = load("tftp.pcapng")
    rows = sorted(a.rows["tftp"], key=lambda r: r["ts"])
    assert len(rows) == len(facts["transfers"]) == 7
    return a, facts, rows


def _options(summary: str) -> dict[str, str]:
    """``k=v`` pairs of a TftpRequest/TftpOack summary (after the file name and mode)."""
    words = summary.split()
    return dict(w.split("=", 1) for w in words if "=" in w)


def _events(a, uid: str, kind: str) -> list[dict]:
    return [r for r in a.rows["timeline"] if r["uid"] == uid and r["kind"] == kind]


def test_requests_in_order():
    a, facts, rows = _setup()
    for r, t in zip(rows, facts["transfers"]):
        assert r["resp_p"] == PORT
        assert (r["wrq"], r["fname"], r["mode"]) == (t["opcode"] == "WRQ", t["filename"], t["mode"])
        [req] = _events(a, r["uid"], "TftpRequest")
        assert req["summary"].startswith(f'{t["opcode"]} "{t["filename"]}" {t["mode"]}')
        assert _options(req["summary"]) == t["options"]          # as requested


def test_oack_and_negotiated_blksize_tsize():
    a, facts, rows = _setup()
    for r, t in zip(rows, facts["transfers"]):
        if t["result"] != "ok":
            continue
        oacks = _events(a, r["uid_data"], "TftpOack")
        if "oack" in t:
            [oack] = oacks
            assert _options(oack["summary"]) == t["oack"]
            assert r["tsize"] == int(t["oack"]["tsize"])
        else:
            assert oacks == [] and r["tsize"] is None
        assert r["blksize"] == t["blksize"]


def test_files_equal_what_was_sent():
    a, facts, rows = _setup()
    files = by_fuid(a)
    conns = {c["uid"]: c for c in a.rows["conn"]}
    for r, t in zip(rows, facts["transfers"]):
        if t["result"] != "ok":
            continue
        f = files[r["fuid"]]
        data = file_bytes(a, f)
        assert sha256(data) == t["sha256"] == f["sha256"] and len(data) == t["size"] == r["size"]
        assert f["filename"] == t["filename"] and f["complete"] and f["missing_bytes"] == 0
        assert r["complete"] is True and r["error_code"] is None
        assert r["block_sent"] == r["block_acked"] == t["blocks"]
        # the data flow runs on a new server port and is joined to the request
        d = conns[r["uid_data"]]
        assert d["parent_uid"] == r["uid"] and PORT not in (d["orig_p"], d["resp_p"])
        if "file_sha256" in t:                    # netascii: the facts also give the file itself
            assert t["mode"] == "netascii"
            assert sha256(data.replace(b"\r\n", b"\n")) == t["file_sha256"]
            assert len(data.replace(b"\r\n", b"\n")) == t["file_size"]
        elif t["opcode"] == "RRQ":
            assert t["sha256"] == facts["server_files"][t["filename"]]["sha256"]
    got = sorted(f["sha256"] for f in a.rows["files"])
    assert got == sorted(t["sha256"] for t in facts["transfers"] if t["result"] == "ok")


def test_missing_file_error():
    a, facts, rows = _setup()
    [(r, t)] = [(r, t) for r, t in zip(rows, facts["transfers"]) if t["result"] == "error"]
    assert (r["error_code"], r["error_msg"]) == (t["error_code"], t["error_message"])
    assert r["fuid"] is None and r["complete"] is False and r["size"] == 0
    [err] = _events(a, r["uid_data"], "TftpError")
    assert err["summary"].startswith(f"ERROR {t['error_code']} ") and t["error_message"] in err["summary"]
    assert err["direction"] == "orig"                 # from the server's new TID
