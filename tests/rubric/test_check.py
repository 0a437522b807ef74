"""``wiretale check CAPTURE --rubric R.toml`` and the rubric format (reports/rubric.py): refusals before any
capture is read, one line naming the check; pass/fail/error, points, evidence and exit codes on real samples."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from decoder import cli
from reports import rubric as rb
from tests.conftest import SAMPLES

FTP_RUBRIC = '''
title = "FTP lab"
[[check]]
id = "passive-retr"                 # letters, digits, dashes
title = "Downloads a file over a passive data connection"
points = 2                          # default 1
sql = "SELECT count(*) FROM ftp WHERE command = 'RETR' AND reply_code = 226 AND data_channel.passive"
expect = ">= 1"
[[check]]
id = "login-ok"
title = "Logs in"
sql = "SELECT bool_or(success) FROM credentials WHERE protocol = 'ftp'"
'''


def _write(tmp_path: Path, text: str, name: str = "r.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _graded(tmp_path: Path, text: str, capture: str = "ftp.pcapng") -> tuple[rb.Rubric, rb.Grade]:
    """The rubric ``text`` loaded, and the grade of a bundled sample read into Parquet tables."""
    rubric = rb.load_rubric(_write(tmp_path, text))
    out = tmp_path / "out"
    assert cli.main(["read", str(SAMPLES / capture), "-o", str(out), "--tables", "parquet", "--no-html"]) == 0
    return rubric, rb.grade(rubric, out / "tables", capture)


def _check(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_passes_with_points_and_evidence_linking_session_pages(tmp_path, capsys):
    r = _write(tmp_path, FTP_RUBRIC)
    code, out, err = _check(capsys, str(SAMPLES / "ftp.pcapng"), "--rubric", str(r), "-o", str(tmp_path / "out"))
    assert code == 0, err
    assert out.splitlines()[0] == f"FTP lab — {SAMPLES / 'ftp.pcapng'}: 3/3 points, 2 of 2 checks pass"
    assert "pass   2/2  passive-retr: Downloads a file over a passive data connection" in out
    assert "value 4, expected >= 1" in out          # the four RETR of the sample (tests/golden/ftp.pcapng)
    links = re.findall(r"→ (\S+/sessions/(C\w+)\.html)", out)
    assert links and all(Path(p).is_file() for p, _ in links)
    ev = [ln for ln in out.splitlines() if "command=RETR" in ln]
    assert ev and all("reply_code=226" in ln and re.search(r"ts=\d{4}-\d\d-\d\dT[\d:.]+Z", ln) for ln in ev)


def test_check_fails_on_a_capture_without_the_behaviour_and_exits_1(tmp_path, capsys):
    r = _write(tmp_path, FTP_RUBRIC)
    code, out, _ = _check(capsys, str(SAMPLES / "http.pcapng"), "--rubric", str(r))
    assert code == 1
    assert "fail   0/2  passive-retr" in out and "value 0, expected >= 1" in out
    assert "fail   0/1  login-ok" in out and "value null, expected true" in out
    assert "0/3 points, 0 of 2 checks pass" in out


def test_an_undecodable_capture_errs_every_check(tmp_path, capsys):
    from tests.test_undecodable import user0_capture

    r = _write(tmp_path, FTP_RUBRIC)
    code, out, _ = _check(capsys, str(user0_capture(tmp_path / "user0.pcap")), "--rubric", str(r))
    assert code == 1
    assert out.count("error  0/") == 2 and "nothing decoded: unsupported link type 147" in out


def test_an_unreadable_capture_errs_every_check(tmp_path, capsys):
    r = _write(tmp_path, FTP_RUBRIC)
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture at all")
    code, out, err = _check(capsys, str(bad), "--rubric", str(r))
    assert code == 1
    assert out.count("error  0/") == 2 and "the capture could not be read" in out
    assert "bad.pcap" in err and "Traceback" not in err


BAD_RUBRICS = [
    ('title = "x"\n[[check]]\nid = "a-1"\nsql = "SELECT 1"\n[[check]]\nid = "second"\nsql = "SELECT 1\n',
     r"check 'second': not valid TOML"),
    ('title = "x"\ncolour = "red"\n[[check]]\nid = "a"\nsql = "SELECT 1"\n', r"unknown field 'colour'"),
    ('[[check]]\nid = "a"\nsql = "SELECT 1"\npionts = 2\n', r"check 'a': unknown field 'pionts'"),
    ('[[check]]\nid = "a b"\nsql = "SELECT 1"\n', r"check 'a b': id must be letters, digits and dashes"),
    ('[[check]]\nid = "a"\nsql = "SELECT 1"\n[[check]]\nid = "a"\nsql = "SELECT 2"\n', r"check 'a': this id is used twice"),
    ('[[check]]\nid = "a"\nsql = "SELECT 1"\npoints = -1\n', r"check 'a': points must be a number"),
    ('[[check]]\nid = "a"\nsql = "SELECT 1"\nexpect = 1\n', r"check 'a': expect must be a string"),
    ('[[check]]\nid = "a"\nsql = "SELECT 1"\nexpect = "about 3"\n', r"check 'a': expect must be a comparison"),
    ('[[check]]\nid = "a"\n', r"check 'a': sql is missing"),
    ('title = "no checks"\n', r"no check"),
    ('[[check]]\nid = "ok"\nsql = "SELECT 1"\n[[check]]\nid = "typo"\nsql = "SELECT count(*) FROM ftp WHERE comand = \'RETR\'"\n',
     r"check 'typo': sql does not compile against the tables: .*comand"),
    ('[[check]]\nid = "nosuch"\nsql = "SELECT count(*) FROM smtp_log"\n', r"check 'nosuch': sql does not compile.*smtp_log"),
    ('[[check]]\nid = "types"\nsql = "SELECT count(*) FROM ftp WHERE list_contains(reply_code, 1)"\n',
     r"check 'types': sql does not compile"),
    ('[[check]]\nid = "drop"\nsql = "DROP TABLE ftp"\n', r"check 'drop': .*single SELECT"),
    ('[[check]]\nid = "two"\nsql = "SELECT 1; SELECT 2"\n', r"check 'two': .*single SELECT"),
    ('[[check]]\nid = "file"\nsql = "SELECT count(*) FROM read_csv(\'/etc/passwd\')"\n', r"check 'file': sql does not compile"),
    ('[[check]]\nid = "wide"\nsql = "SELECT command, arg FROM ftp"\n', r"check 'wide': the sql gives 2 columns"),
]


@pytest.mark.parametrize("text, message", BAD_RUBRICS)
def test_bad_rubrics_are_refused_before_any_capture_is_read(tmp_path, capsys, text, message):
    r = _write(tmp_path, text)
    missing = tmp_path / "never-read.pcap"          # does not exist: the rubric must be refused first
    code, out, err = _check(capsys, str(missing), "--rubric", str(r))
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"wiretale: rubric {r}: ") and re.search(message, err), err
    assert "never-read" not in err


def test_batch_refuses_a_bad_rubric_before_reading(tmp_path, capsys):
    r = _write(tmp_path, '[[check]]\nid = "typo"\nsql = "SELECT count(*) FROM ftp WHERE comand = 1"\n')
    code = cli.main(["batch", str(SAMPLES / "ftp.pcapng"), "-o", str(tmp_path / "out"), "--rubric", str(r),
                     "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "check 'typo'" in err
    assert not (tmp_path / "out" / "captures").exists()


def test_expect_comparisons():
    assert rb.parse_expect(">= 1").holds(3) and not rb.parse_expect(">= 1").holds(0)
    assert rb.parse_expect("== 'RETR'").holds("RETR") and rb.parse_expect("<> 'a'").holds("b")
    assert rb.parse_expect("= true").holds(True) and not rb.parse_expect("= true").holds(False)
    assert rb.parse_expect("= null").holds(None) and not rb.parse_expect("> 0").holds(None)
    assert rb.parse_expect("< 2.5").holds(2) and rb.parse_expect("!= 0").holds(1)
    with pytest.raises(TypeError):
        rb.parse_expect(">= 1").holds("many")
    for bad in ("1", ">= ", ">= many", "~ 3", "> true"):
        with pytest.raises(ValueError):
            rb.parse_expect(bad)


def test_a_value_that_is_not_single_or_comparable_is_an_error(tmp_path):
    _, g = _graded(tmp_path, '''
[[check]]
id = "rows"
sql = "SELECT command FROM ftp"
[[check]]
id = "text"
sql = "SELECT max(command) FROM ftp"
[[check]]
id = "text-vs-number"
sql = "SELECT max(command) FROM ftp"
expect = ">= 1"
''')
    assert [o.status for o in g.outcomes] == ["error", "error", "error"]
    assert "more than one row" in g.outcomes[0].detail
    assert "neither true/false nor a number" in g.outcomes[1].detail
    assert "cannot be compared" in g.outcomes[2].detail
    assert g.points == 0 and g.max_points == 3


def test_a_runaway_query_is_stopped(tmp_path, monkeypatch):
    r = _write(tmp_path, '[[check]]\nid = "slow"\nsql = "SELECT count(*) FROM range(100000000000) a, range(1000) b"\n')
    rubric = rb.load_rubric(r)
    monkeypatch.setattr(rb, "QUERY_SECONDS", 0.5)
    g = rb.grade(rubric, tmp_path / "no-tables", "empty")
    assert g.outcomes[0].status == "error" and "stopped" in g.outcomes[0].detail


def test_every_table_of_read_is_in_the_schema_with_its_columns():
    from reports.tables import names_for, schema

    types = rb.schema_types()
    always = set(names_for({}))
    assert always <= set(types)
    # and the tables written only when they have rows (comments, tcp_control, tls…): a rubric finds them empty
    classes = rb._record_classes()
    only_with_rows = set(types) - always
    assert only_with_rows >= {"comments", "tcp_control"}
    assert all(not classes[t].ALWAYS_WRITTEN for t in only_with_rows), only_with_rows
    for table, cols in types.items():
        assert tuple(cols) == schema(table)
        assert all(t for t in cols.values())
    assert types["ftp"]["reply_code"] == "BIGINT" and types["smtp"]["rcptto"] == "VARCHAR[]"
    assert types["ftp"]["data_channel"].startswith("STRUCT(") and types["dns"]["TTLs"] == "DOUBLE[]"


def test_every_sample_loads_with_the_schema_types(tmp_path):
    """No sample needs the fallback that keeps a table's columns as written (a note in the output)."""
    rubric = rb.load_rubric(_write(tmp_path, '[[check]]\nid = "any"\nsql = "SELECT count(*) FROM conn"\n'))
    for cap in sorted(SAMPLES.glob("*.pcap*")):
        out = tmp_path / cap.name
        assert cli.main(["read", str(cap), "-o", str(out), "--tables", "parquet", "--no-html"]) == 0
        g = rb.grade(rubric, out / "tables", cap.name)
        assert g.notes == () and g.outcomes[0].status == "pass", (cap.name, g.notes)


def test_only_the_tables_a_rubric_names_are_loaded_whatever_their_case(tmp_path):
    rubric, g = _graded(tmp_path, '''
[[check]]
id = "upper"
sql = "SELECT count(*) FROM FTP WHERE command = 'RETR'"
expect = "= 4"
[[check]]
id = "cte"
sql = "WITH logins AS (SELECT * FROM Credentials WHERE success) SELECT count(*) FROM logins"
expect = "= 3"
''')
    assert rubric.tables == {"ftp", "credentials", "logins"}
    assert [o.status for o in g.outcomes] == ["pass", "pass"], [o.detail for o in g.outcomes]
