"""POP3 and IMAP on the shared public captures, checked against tshark.

Per connection (tshark's tcp.stream mapped to our flow by its two endpoints):

* POP3: our commands equal tshark's ``pop.request.command`` and our reply
  indicators (greeting included) equal ``pop.response.indicator``;
* IMAP: our commands (``UID FETCH`` → ``FETCH``: tshark names the UID variant by its
  sub-command) equal ``imap.request.command``; our tagged statuses equal
  ``imap.response.status``;
* messages: every IMF object tshark exports (``--export-objects imf``) is one of our
  ``kind="email"`` objects, byte for byte; and each of our complete messages appears on
  the wire, in tshark's follow-stream bytes, exactly as it was sent (POP3: byte-stuffed
  and followed by the terminating dot line; IMAP: right after its ``{n}`` literal).

Documented exceptions (tshark's, checked by hand on these files):

* ``pop3-user-pass-auth.pcap``: tshark takes the client's SASL response line
  (``AUTH XOAUTH2`` → ``+ `` → base64 line) for a command and exports the ``+ `` line as
  an IMF object; we decode it as the AUTH exchange (RFC 5034 section 4). Command-like
  values that are not POP3 keywords (``[A-Za-z]{3,4}``) are dropped from tshark's list,
  and tshark exports whose first line is not a header field are ignored.
* ``pop3-three-sessions.pcap``: tshark exports the multi-line LIST reply (``1 247 …``)
  as an IMF object (ignored as above), and its POP3 IMF exports keep the terminating
  ``.\\r\\n`` (RFC 1939 section 3: the terminator is not part of the message): it is
  removed before comparing.
* ``pop3-email-troubles.pcap`` starts in the middle of the session; tshark exports no
  IMF object from it, so its three RETR messages are checked against the follow-stream
  bytes and against the sizes their ``+OK n octets`` replies announce.
* IMAP ``BODY[HEADER]`` (``imap-login-fetch.pcap``): tshark exports the header block as
  IMF; so do we (``kind="email"``, flagged by its section, see dissectors/imap.py).
"""
from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from tests.conftest import shared_captures

POP_CAPS = shared_captures("pop3-*")
IMAP_CAPS = shared_captures("imap-*")
_HEADER = re.compile(rb"^[!-9;-~]+:")

pytest.importorskip("decoder.pipeline")


@pytest.fixture(scope="module")
def analyses(tmp_path_factory):
    from decoder.api import analyze

    cache: dict = {}

    def get(path: Path):
        if path not in cache:
            out = tmp_path_factory.mktemp(path.stem)
            cache[path] = analyze(path, out_dir=out)
        return cache[path]

    yield get
    for a in cache.values():
        a.close()


def _fields(path: Path, display_filter: str, *fields: str) -> list[list[str]]:
    args = ["tshark", "-n", "-r", str(path), "-Y", display_filter, "-T", "fields",
            "-E", "occurrence=a", "-E", "aggregator=\x1f", "-e", "tcp.stream"]
    for f in fields:
        args += ["-e", f]
    text = subprocess.run(args, capture_output=True, text=True, check=False).stdout
    return [line.split("\t") for line in text.splitlines() if line.strip()]


def _streams(path: Path) -> dict[int, frozenset]:
    rows = _fields(path, "tcp", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport")
    res: dict[int, frozenset] = {}
    for r in rows:
        r += [""] * (7 - len(r))
        src = r[1] or r[2]
        dst = r[4] or r[5]
        res.setdefault(int(r[0]), frozenset({(src, int(r[3])), (dst, int(r[6]))}))
    return res


def _flow_of(analysis, path: Path) -> dict[int, str]:
    conn = analysis.tables["conn"]
    by_ends = {frozenset({(r.orig_h, int(r.orig_p)), (r.resp_h, int(r.resp_p))}): r.uid
               for r in conn.itertuples()}
    return {s: by_ends[e] for s, e in _streams(path).items() if e in by_ends}


def _per_stream(rows: list[list[str]], col: int) -> dict[int, list[str]]:
    res: dict[int, list[str]] = defaultdict(list)
    for r in rows:
        if len(r) > col and r[col]:
            res[int(r[0])].extend(v for v in r[col].split("\x1f") if v)
    return res


def _table(analysis, name: str):
    import pandas as pd

    return analysis.tables.get(name, pd.DataFrame())


def _objects(analysis, source: str) -> list[tuple[dict, bytes]]:
    files = _table(analysis, "files")
    res = []
    if not len(files):
        return res
    for r in files.to_dict("records"):
        if r.get("source") != source or r.get("kind") != "email":
            continue
        res.append((r, (Path(analysis.out_dir) / r["path"]).read_bytes()))
    return res


def _export_imf(path: Path, tmp: Path) -> list[bytes]:
    subprocess.run(["tshark", "-n", "-r", str(path), "-q", "--export-objects", f"imf,{tmp}"],
                   capture_output=True, check=False)
    return [p.read_bytes() for p in sorted(tmp.iterdir()) if p.is_file()]


# ---------------------------------------------------------------- POP3
@pytest.mark.parametrize("path", POP_CAPS, ids=lambda p: p.name)
def test_pop3_commands_and_replies_equal_tshark(path, tshark, analyses):
    a = analyses(path)
    flow = _flow_of(a, path)
    rows = _fields(path, "pop", "pop.request.command", "pop.response.indicator")
    t_cmd = _per_stream(rows, 1)
    t_ind = _per_stream(rows, 2)
    pop3 = _table(a, "pop3")
    timeline = _table(a, "timeline")
    checked = 0
    for stream, uid in flow.items():
        ours = [c.upper() for c in pop3[pop3.uid == uid].command] if len(pop3) else []
        theirs = [c.upper() for c in t_cmd.get(stream, []) if re.fullmatch(r"[A-Za-z]{3,4}", c)]
        assert ours == theirs, (path.name, stream)
        replies = timeline[(timeline.uid == uid) & (timeline.kind == "Pop3Reply")] if len(timeline) else []
        our_ind = [re.search(r": (\+OK|-ERR)", s).group(1) for s in getattr(replies, "summary", [])]
        assert our_ind == t_ind.get(stream, []), (path.name, stream)
        checked += len(theirs) + len(our_ind)
    if t_cmd or t_ind:
        assert checked


def _stuff(msg: bytes) -> bytes:
    out = re.sub(rb"(?m)^\.", b"..", msg)
    return out


@pytest.mark.parametrize("path", POP_CAPS, ids=lambda p: p.name)
def test_pop3_messages_equal_tshark(path, tshark, analyses, tmp_path):
    from tests.oracle.tshark import follow_tcp_raw

    a = analyses(path)
    ours = _objects(a, "POP3")
    exported = [x for x in _export_imf(path, tmp_path) if _HEADER.match(x)]
    our_bytes = [b for _, b in ours]
    for x in exported:
        body = x[:-3] if x.endswith(b"\r\n.\r\n") else x
        assert body in our_bytes, f"{path.name}: tshark's IMF export of {len(x)} bytes not found"
    wire = {(s.node0, s.node1): s for s in follow_tcp_raw(str(path))}
    server_bytes = b"".join(s.data0 + s.data1 for s in wire.values())
    for rec, data in ours:
        if rec["complete"]:
            assert b"\r\n" + _stuff(data) + b".\r\n" in server_bytes, rec["fuid"]
        else:
            assert rec["missing_bytes"] > 0 or rec["seen_bytes"] >= 0
            assert _stuff(data[:1000]) in server_bytes, rec["fuid"]
    if path.name == "pop3-email-troubles.pcap":
        # the three RETR replies announce 100220, 100600 and 100149 octets
        assert [(r["complete"], len(b)) for r, b in ours] == [(True, 100220), (True, 100600), (True, 100149)]


# ---------------------------------------------------------------- IMAP
@pytest.mark.parametrize("path", IMAP_CAPS, ids=lambda p: p.name)
def test_imap_commands_and_statuses_equal_tshark(path, tshark, analyses):
    a = analyses(path)
    flow = _flow_of(a, path)
    rows = _fields(path, "imap", "imap.request.command", "imap.response.status")
    t_cmd = _per_stream(rows, 1)
    t_status = _per_stream(rows, 2)
    imap = _table(a, "imap")
    for stream, uid in flow.items():
        mine = imap[imap.uid == uid] if len(imap) else imap
        ours = [c.upper().removeprefix("UID ") for c in getattr(mine, "command", []) if c]
        assert ours == [c.upper() for c in t_cmd.get(stream, [])], (path.name, stream)
        statuses = [s for s in getattr(mine, "status", []) if s]
        assert statuses == [s.upper() for s in t_status.get(stream, [])], (path.name, stream)


@pytest.mark.parametrize("path", IMAP_CAPS, ids=lambda p: p.name)
def test_imap_messages_equal_tshark(path, tshark, analyses, tmp_path):
    from tests.oracle.tshark import follow_tcp_raw

    a = analyses(path)
    ours = _objects(a, "IMAP")
    exported = _export_imf(path, tmp_path)
    # IMF objects of SMTP in the same capture are not ours to match
    smtp = [b for _, b in _objects(a, "SMTP")]
    our_bytes = [b for _, b in ours]
    for x in exported:
        if x in smtp:
            continue
        assert x in our_bytes, f"{path.name}: tshark's IMF export of {len(x)} bytes not found"
    streams = follow_tcp_raw(str(path))
    wire = b"".join(s.data0 + s.data1 for s in streams)
    for rec, data in ours:
        assert rec["complete"]
        assert b"{%d}\r\n" % len(data) + data in wire, rec["fuid"]
    if path.name == "imap-one-sided-server.pcap":
        assert [len(b) for b in our_bytes] == [180237]
