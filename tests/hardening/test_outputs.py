"""The output folder under stops, failures, full disks and concurrent runs (issue 31).

Outputs are written in the order of their value (tables, summary.json, HAR, report; session
pages before the index), each file atomically; a stop or failure leaves what finished whole and
summary.json saying ``partial`` and why. OUT is locked, owned through a run manifest, foreign
folders are refused without ``--force``, an earlier run's files are removed, scratch lives
outside OUT, and environment errors are one line naming the path (exit 1 or 2)."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from decoder.cli import main
from tests.builders import Conn, write_pcap

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


def _http_capture(path: Path, n: int) -> Path:
    pk = []
    for i in range(n):
        c = Conn(c=("10.0.%d.%d" % (i // 250, i % 250 + 1), 40000 + i % 20000), s=("10.9.0.1", 80))
        body = b"x" * 200
        pk += c.handshake() + [c.client(b"GET /p%d HTTP/1.1\r\nHost: h\r\n\r\n" % i),
                               c.server(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)] + c.close()
    write_pcap(path, pk)
    return path


def _check_whole(out: Path) -> dict | None:
    """Invariants of any OUT a run left, however it ended; returns summary.json (or None)."""
    leftovers = [p for p in out.rglob("*") if ".tmp-" in p.name]
    assert not leftovers, leftovers
    assert not (out / ".spill").exists() and not (out / ".report-spill").exists()
    for t in (out / "tables").glob("*.jsonl") if (out / "tables").is_dir() else ():
        for line in t.read_text().split("\n")[:-1]:     # (not splitlines: U+2028 is data)
            json.loads(line)                     # every line whole
    if (out / "http.har").exists():
        json.loads((out / "http.har").read_text())
    if (out / "index.html").exists():            # the index links only pages that exist
        html = (out / "index.html").read_text()
        for link in set(re.findall(r'href="(sessions/[^"#?]+)"', html)):
            assert (out / link).exists(), link
    s = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else None
    return s


# ----------------------------------------------------------------------------- order, partial, stops
PHASE_HOOKS = {     # a function running inside each phase, and what is whole when the stop lands there
    "decoding": ("decoder.reassembly.Reassembly._finish", set()),
    "tables": ("reports.export._write_table", set()),
    "har": ("reports.har.write_har", {"tables", "summary"}),
    "report": ("reports.html.write_text_replacing", {"tables", "summary", "har"}),
}


@pytest.mark.parametrize("how", ["SIGTERM", "SIGINT", "error"])
@pytest.mark.parametrize("phase", list(PHASE_HOOKS))
def test_a_stop_in_each_phase_leaves_finished_files_whole_and_says_partial(tmp_path, monkeypatch, phase, how,
                                                                            capsys):
    import importlib

    target, written = PHASE_HOOKS[phase]
    modname, _, rest = target.rpartition(".")
    if modname.endswith(("._Report", ".Reassembly")):
        modname, cls = modname.rsplit(".", 1)
        owner = getattr(importlib.import_module(modname), cls)
    else:
        owner = importlib.import_module(modname)
    real = getattr(owner, rest)
    calls = {"n": 0}

    def stop(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2 or (phase in ("har", "decoding") and calls["n"] == 1):
            if how == "error":
                raise OSError(28, "No space left on device", str(tmp_path / "out" / "x"))
            os.kill(os.getpid(), getattr(signal, how))
            time.sleep(0.5)                       # the handler raises here
        return real(*a, **k)

    monkeypatch.setattr(owner, rest, stop)
    # A run started in the background of a script inherits SIGINT ignored, and Python keeps it so (as a
    # user's Ctrl-C would be there): this test gives itself the terminal's default handler.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler) if how == "SIGINT" else None
    cap = SAMPLES / "http.pcapng"
    out = tmp_path / "out"
    try:
        rc = main(["read", str(cap), "-o", str(out)])
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    err = capsys.readouterr().err
    assert rc == {"SIGTERM": 143, "SIGINT": 130, "error": 1}[how], err
    assert len(err.strip().splitlines()) >= 1 and "internal error" not in err
    s = _check_whole(out)
    assert s is not None and s["output"]["state"] == "partial", s
    where = {"decoding": "decoding", "tables": "tables", "har": "HAR", "report": "report"}[phase]
    assert where in s["output"]["reason"], s["output"]
    assert set(s["output"]["written"]) == written
    if "tables" in written:
        assert (out / "tables" / "conn.jsonl").exists() and (out / "tables" / "http.jsonl").exists()
    if phase != "report":
        assert not (out / "index.html").exists()
    else:
        assert not (out / "index.html").exists()   # pages first, index last: no index linking missing pages
    manifest = json.loads((out / ".wiretale-run.json").read_text())
    assert manifest["state"] == "partial"


def test_a_complete_run_says_complete_and_writes_in_order(tmp_path):
    out = tmp_path / "out"
    assert main(["read", str(SAMPLES / "http.pcapng"), "-o", str(out)]) == 0
    s = _check_whole(out)
    assert s["output"] == {"state": "complete", "written": ["tables", "summary", "har", "report"], "missing": []}
    t = {p: (out / p).stat().st_mtime_ns for p in ("tables/conn.jsonl", "http.har", "index.html")}
    assert t["tables/conn.jsonl"] <= t["http.har"] <= t["index.html"]
    pages = sorted((out / "sessions").glob("*.html"))
    assert pages and max(p.stat().st_mtime_ns for p in pages) <= t["index.html"]


def test_real_signals_at_random_moments_leave_whole_files(tmp_path):
    """SIGTERM/SIGINT sent to a real `wiretale read` subprocess at spread-out moments."""
    cap = _http_capture(tmp_path / "many.pcap", 1500)
    for i, (sig, delay) in enumerate([(signal.SIGTERM, 0.8), (signal.SIGINT, 1.6), (signal.SIGTERM, 2.6),
                                      (signal.SIGINT, 3.8), (signal.SIGTERM, 5.5)]):
        out = tmp_path / f"out{i}"
        p = subprocess.Popen([sys.executable, "-m", "decoder.cli", "read", str(cap), "-o", str(out)], cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        p.send_signal(sig)
        _o, err = p.communicate(timeout=120)
        assert p.returncode in (0, 128 + sig if sig != signal.SIGINT else 130), (p.returncode, err)
        assert "Traceback" not in err and "internal error" not in err, err
        if not out.exists() or not (out / ".wiretale-run.json").exists():
            continue                               # stopped before OUT was claimed
        s = _check_whole(out)
        if p.returncode == 0:
            assert s["output"]["state"] == "complete"
        elif s is not None:
            assert s["output"]["state"] == "partial" and s["output"]["reason"]


# ----------------------------------------------------------------------------- ownership
def test_a_second_run_into_a_locked_out_is_refused(tmp_path, capsys):
    from decoder.outdir import claim

    out = tmp_path / "out"
    first = claim(out)
    try:
        assert main(["read", str(SAMPLES / "dns.pcapng"), "-o", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"another wiretale run (pid {os.getpid()})" in err and len(err.strip().splitlines()) == 1
    finally:
        first.close()
    assert main(["read", str(SAMPLES / "dns.pcapng"), "-o", str(out)]) == 0


def test_two_concurrent_runs_never_mix(tmp_path):
    big = _http_capture(tmp_path / "a.pcap", 400)
    out = tmp_path / "out"
    cmds = [[sys.executable, "-m", "decoder.cli", "read", str(c), "-o", str(out), "--no-html"]
            for c in (big, SAMPLES / "dns.pcapng")]
    procs = [subprocess.Popen(c, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in cmds]
    res = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    codes = [r[2] for r in res]
    assert all(c in (0, 2) for c in codes) and 0 in codes, res
    for _o, err, code in res:
        if code == 2:
            assert "another wiretale run" in err
    s = _check_whole(out)
    conn = [json.loads(l) for l in (out / "tables" / "conn.jsonl").read_text().splitlines()]
    services = {r["service"] for r in conn}
    assert services in ({"http"}, {"dns"}), services          # one capture's rows, never both
    assert len(s["captures"]) == 1 and s["output"]["state"] == "complete"


def test_a_foreign_folder_is_refused_without_force_and_left_alone_with_it(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    (out / "files").mkdir()
    (out / "files" / "thesis.pdf").write_text("mine too")
    assert main(["read", str(SAMPLES / "http.pcapng"), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--force" in err and "wiretale did not write" in err
    assert sorted(p.name for p in out.iterdir()) == [".wiretale.lock", "files", "notes.txt"]
    assert main(["read", str(SAMPLES / "http.pcapng"), "-o", str(out), "--force"]) == 0
    assert (out / "notes.txt").read_text() == "keep me" and (out / "files" / "thesis.pdf").exists()
    assert main(["read", str(SAMPLES / "dns.pcapng"), "-o", str(out)]) == 0     # ours now (manifest)
    assert (out / "notes.txt").read_text() == "keep me" and (out / "files" / "thesis.pdf").exists()
    assert not (out / "http.har").exists()


def test_an_earlier_runs_files_are_removed(tmp_path):
    out = tmp_path / "out"
    assert main(["read", str(SAMPLES / "http.pcapng"), "-o", str(out)]) == 0
    http_pages = {p.name for p in (out / "sessions").glob("*.html")}
    assert (out / "http.har").exists() and http_pages
    assert main(["read", str(SAMPLES / "dns.pcapng"), "-o", str(out)]) == 0
    assert not (out / "http.har").exists() and (out / "tables" / "http.jsonl").read_text() == ""
    assert not http_pages & {p.name for p in (out / "sessions").glob("*.html")}
    assert not list((out / "files").glob("*")) if (out / "files").exists() else True
    _check_whole(out)


def test_the_manifest_never_reaches_outside_out(tmp_path):
    out = tmp_path / "out"
    outside = tmp_path / "precious.txt"
    outside.write_text("x")
    assert main(["read", str(SAMPLES / "dns.pcapng"), "-o", str(out), "--no-html"]) == 0
    m = json.loads((out / ".wiretale-run.json").read_text())
    m["files"] += ["../precious.txt", str(outside), "tables/../../precious.txt"]
    (out / ".wiretale-run.json").write_text(json.dumps(m))
    assert main(["read", str(SAMPLES / "dns.pcapng"), "-o", str(out), "--no-html"]) == 0
    assert outside.read_text() == "x"


def test_no_spill_or_scratch_in_out(tmp_path, monkeypatch):
    """Rows spill (tiny rows_in_memory) to a private temporary folder, never to OUT."""
    seen: list[str] = []
    import decoder.rows as rows

    real = rows.RowStore._spill

    def spy(self):
        seen.append(str(self.spill_dir))
        return real(self)

    monkeypatch.setattr(rows.RowStore, "_spill", spy)
    out = tmp_path / "out"
    assert main(["read", str(SAMPLES / "http.pcapng"), "-o", str(out), "--limit", "rows_in_memory=10"]) == 0
    assert seen and not any(s.startswith(str(out)) for s in seen), seen
    assert all(not Path(s).exists() for s in seen)                      # removed at the end
    _check_whole(out)


# ----------------------------------------------------------------------------- environment errors
def test_out_naming_a_file_or_below_a_file_is_one_line(tmp_path, capsys):
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["read", str(SAMPLES / "dns.pcapng"), "-o", str(f)]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["read", str(SAMPLES / "dns.pcapng"), "-o", str(f / "sub")]) == 1
    err = capsys.readouterr().err
    assert str(f) in err and "internal error" not in err and len(err.strip().splitlines()) == 1


def _mount_tmpfs(where: Path, opts: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "tmpfs", str(where)], capture_output=True)
    return r.returncode == 0


def _umount(where: Path) -> None:
    subprocess.run(["umount", "-l", str(where)], capture_output=True)


@pytest.mark.parametrize("size_kb", [40, 100, 160])     # full while decoding, writing tables, the report
def test_a_full_disk_is_one_line_naming_the_path(tmp_path, capsys, size_kb):
    mnt = tmp_path / "mnt"
    if os.geteuid() != 0 or not _mount_tmpfs(mnt, f"size={size_kb}k"):
        pytest.skip("needs root and tmpfs mounts")
    try:
        out = mnt / "out"
        rc = main(["read", str(SAMPLES / "dns.pcapng"), "-o", str(out)])
        err = capsys.readouterr().err
        assert rc == 1, err
        line = [l for l in err.splitlines() if "disk is full" in l]
        assert line and str(mnt) in line[0] and "disk is full" in line[0], err
        assert "internal error" not in err
        s = _check_whole(out)                     # whatever was written is whole; no temporary names left
        assert s is None or s["output"]["state"] == "partial"
    finally:
        _umount(mnt)


def test_a_read_only_out_is_one_line(tmp_path, capsys):
    mnt = tmp_path / "ro"
    if os.geteuid() != 0 or not _mount_tmpfs(mnt, "size=1m,ro"):
        pytest.skip("needs root and tmpfs mounts")
    try:
        rc = main(["read", str(SAMPLES / "dns.pcapng"), "-o", str(mnt / "out")])
        err = capsys.readouterr().err
        assert rc == 1 and "read-only" in err and str(mnt) in err and "internal error" not in err, err
    finally:
        _umount(mnt)


def test_an_unwritable_out_is_one_line():
    """As an unprivileged user (root may write anywhere): permission denied, one line, exit 1."""
    import tempfile

    if os.geteuid() != 0 or not Path("/usr/bin/setpriv").exists():
        pytest.skip("needs root and setpriv to run as another user")
    base = Path(tempfile.mkdtemp(prefix="wiretale-test-"))      # readable by nobody (pytest's tmp is not)
    try:
        os.chmod(base, 0o755)
        out = base / "locked"
        out.mkdir(mode=0o555)
        cap = base / "dns.pcapng"
        cap.write_bytes((SAMPLES / "dns.pcapng").read_bytes())
        os.chmod(cap, 0o644)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-m",
                            "decoder.cli", "read", str(cap), "-o", str(out)], cwd=ROOT, capture_output=True,
                           text=True, env=dict(os.environ, PYTHONPATH=str(ROOT), HOME="/tmp"))
        if r.returncode != 1 and "decoder" not in r.stderr:
            pytest.skip(f"the interpreter cannot run as nobody here: {r.stderr[:200]}")
        assert r.returncode == 1, r.stderr
        assert "permission denied" in r.stderr and str(out) in r.stderr and "internal error" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    finally:
        os.chmod(base / "locked", 0o755)
        import shutil

        shutil.rmtree(base, ignore_errors=True)


def test_an_out_of_a_wiretale_from_before_manifests_is_an_earlier_run(tmp_path):
    out = tmp_path / "out"
    assert main(["read", str(SAMPLES / "http.pcapng"), "-o", str(out)]) == 0
    (out / ".wiretale-run.json").unlink()
    (out / ".wiretale.lock").unlink()                     # as an older wiretale left it
    assert main(["read", str(SAMPLES / "dns.pcapng"), "-o", str(out)]) == 0
    assert not (out / "http.har").exists()
    (out / ".wiretale-run.json").unlink()
    (out / "mine.txt").write_text("x")                    # something else beside it: not only a run's output
    assert main(["read", str(SAMPLES / "dns.pcapng"), "-o", str(out)]) == 2


def _batch(out: Path, *caps: str, extra: tuple[str, ...] = ()) -> int:
    return main(["batch", *(str(SAMPLES / c) for c in caps), "-o", str(out), "--workers", "1", "--no-html", *extra])


def test_batch_claims_its_out_as_read_does(tmp_path, capsys):
    """A batch's OUT is locked, owned through a manifest, and an earlier batch's captures go away."""
    from decoder.outdir import claim

    out = tmp_path / "batch"
    assert _batch(out, "http.pcapng", "dns.pcapng") == 0
    doc = json.loads((out / ".wiretale-run.json").read_text())
    assert doc["state"] == "complete" and {"captures", "tables"} <= set(doc["dirs"])
    assert {"index.html", "summary.csv", "summary.json"} <= set(doc["files"])
    assert _batch(out, "dns.pcapng") == 0                 # the earlier batch's http capture is gone
    assert sorted(p.name for p in (out / "captures").iterdir()) == ["dns.pcapng"]
    held = claim(out)
    try:
        capsys.readouterr()
        assert _batch(out, "dns.pcapng") == 2
        err = capsys.readouterr().err
        assert "another wiretale run" in err and len(err.strip().splitlines()) == 1
    finally:
        held.close()


def test_batch_refuses_a_foreign_folder_without_force(tmp_path, capsys):
    out = tmp_path / "week"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert _batch(out, "dns.pcapng") == 2
    assert "--force" in capsys.readouterr().err and not (out / "captures").exists()
    assert _batch(out, "dns.pcapng", extra=("--force",)) == 0
    assert (out / "notes.txt").read_text() == "keep me" and (out / "index.html").exists()


def test_a_batch_out_from_before_manifests_is_an_earlier_batch(tmp_path):
    out = tmp_path / "batch"
    assert _batch(out, "http.pcapng") == 0
    (out / ".wiretale-run.json").unlink()
    (out / ".wiretale.lock").unlink()                     # as an older wiretale left it
    assert _batch(out, "dns.pcapng") == 0
    assert sorted(p.name for p in (out / "captures").iterdir()) == ["dns.pcapng"]


def test_read_workers_keeps_its_parts_in_a_folder_of_its_own(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".parts").mkdir()
    (out / ".parts" / "mine").write_text("keep")               # a name the split run used to remove wholesale
    assert main(["read", str(SAMPLES / "http.pcapng"), "-o", str(out), "--workers", "2", "--no-html", "--force"]) == 0
    assert (out / ".parts" / "mine").read_text() == "keep"
    assert not [p for p in out.iterdir() if p.name.startswith(".parts-")]
    assert _check_whole(out)["output"]["state"] == "complete"
