"""samples/rubrics: every rubric passes on its bundled sample, and every check fails on that sample with
the behaviour cut out (the flows of the rows the check counted removed with tshark), and on other labs'
captures. Issue 29, acceptance 1."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from decoder import cli
from reports import rubric as rb
from tests.conftest import SAMPLES

RUBRICS = SAMPLES / "rubrics"
#: rubric → its bundled sample
LABS = {"ftp": "ftp.pcapng", "smtp": "smtp.pcapng", "pop3": "pop3.pcapng", "imap": "imap.pcapng", "http": "http.pcapng",
        "dns": "dns.pcapng", "tftp": "tftp.pcapng", "snmp": "snmp.pcapng", "telnet": "telnet.pcapng", "nfs": "nfs-tcp.pcap"}
#: a capture of another lab, which has none of what the rubric asks
OTHER = {"ftp": "http.pcapng", "smtp": "pop3.pcapng", "pop3": "imap.pcapng", "imap": "smtp.pcapng", "http": "ftp.pcapng",
         "dns": "snmp.pcapng", "tftp": "ftp.pcapng", "snmp": "dns.pcapng", "telnet": "ftp.pcapng", "nfs": "tftp.pcapng"}


def test_every_rubric_has_its_lab():
    assert sorted(p.stem for p in RUBRICS.glob("*.toml")) == sorted(LABS)


def _tables(cap: Path, out: Path) -> Path:
    cli.main(["read", str(cap), "-o", str(out), "--tables", "parquet", "--no-html"])
    return out / "tables"


@pytest.fixture(scope="module")
def sample_tables(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("samples")
    return {name: _tables(SAMPLES / name, tmp / name) for name in sorted(set(LABS.values()))}


@pytest.mark.parametrize("lab", sorted(LABS))
def test_rubric_passes_on_its_sample(lab, capsys):
    code = cli.main(["check", str(SAMPLES / LABS[lab]), "--rubric", str(RUBRICS / f"{lab}.toml")])
    out = capsys.readouterr().out
    assert code == 0, out
    rubric = rb.load_rubric(RUBRICS / f"{lab}.toml")
    assert f"{len(rubric.checks)} of {len(rubric.checks)} checks pass" in out.splitlines()[0]


@pytest.mark.parametrize("lab", sorted(LABS))
def test_rubric_fails_every_check_on_another_lab(lab, sample_tables):
    g = rb.grade(rb.load_rubric(RUBRICS / f"{lab}.toml"), sample_tables[OTHER[lab]], OTHER[lab])
    assert [o.status for o in g.outcomes] == ["fail"] * len(g.outcomes), [(o.check.id, o.detail) for o in g.outcomes]
    assert g.points == 0


def _flows_counted(tables: Path, check: rb.Check) -> list[tuple[str, str, int, str, int]]:
    """(proto, orig_h, orig_p, resp_h, resp_p) of every flow holding a row the check's query counted, and of
    the connections those flows set up (``conn.parent_uid``: FTP data, TFTP transfers)."""
    with rb._Db.of_capture(tables, rb.load_rubric(RUBRICS / "ftp.toml").schema) as db:
        sql, _ = db.evidence_sql(check.sql, limit=None)
        assert sql is not None, check.id
        cols, rows = db.run(sql, 100_000)
        uids = sorted({r[cols.index("uid")] for r in rows})
        assert uids, check.id
        got = db.con.execute("SELECT DISTINCT proto, orig_h, orig_p, resp_h, resp_p FROM conn "
                             "WHERE list_contains(?, uid) OR list_contains(?, parent_uid)", [uids, uids]).fetchall()
    assert got, check.id
    return got


def _without(tshark: str, cap: Path, flows, dest: Path) -> Path:
    """``cap`` without the frames of ``flows`` (either direction), written by tshark."""
    terms = []
    for proto, a, pa, b, pb in flows:
        ip = "ipv6" if ":" in a else "ip"
        terms.append(f"({ip}.addr=={a} && {ip}.addr=={b} && {proto}.port=={pa} && {proto}.port=={pb})")
    subprocess.run([tshark, "-r", str(cap), "-w", str(dest), "-F", "pcapng", "-Y", f"!({' || '.join(terms)})"],
                   check=True, capture_output=True)
    return dest


@pytest.mark.tshark
@pytest.mark.parametrize("lab", sorted(LABS))
def test_each_check_fails_when_its_behaviour_is_cut_out(lab, sample_tables, tshark, tmp_path):
    rubric = rb.load_rubric(RUBRICS / f"{lab}.toml")
    cap = SAMPLES / LABS[lab]
    for check in rubric.checks:
        flows = _flows_counted(sample_tables[cap.name], check)
        cut = _without(tshark, cap, flows, tmp_path / f"{check.id}.pcapng")
        g = rb.grade(rubric, _tables(cut, tmp_path / f"{check.id}-out"), cut.name)
        o = next(o for o in g.outcomes if o.check.id == check.id)
        assert o.status == "fail", (check.id, o.detail, flows)
