"""The issue-31 fuzz campaign: mutants of the samples and the shared captures through the whole
``wiretale read`` command, outputs and all.

    nice -n 15 python -m fuzz.campaign --count 5000 --jobs 2 --json /tmp/campaign.json
    python -m fuzz.campaign --replay 1234 --save case.pcap        # one case again, with its output

Families (one per case, chosen by the seed; :data:`FAMILIES`):

* ``bitflip``   — bits flipped anywhere (headers, lengths, payloads);
* ``length``    — record/block length fields and snap lengths lied about (``fuzz.mutate``: reclen,
                  blocklen, huge, snaplen, zerolen);
* ``truncate``  — the file cut anywhere;
* ``splice``    — records of a second capture spliced in;
* ``resegment`` — every TCP payload of Ethernet/IPv4 packets re-cut into 1…N-byte segments (sequence
                  numbers and IP lengths kept right), sometimes shuffled or duplicated: reassembly
                  must rebuild what the original carried;
* ``gzip``      — a mutant wrapped in gzip, sometimes cut or with a byte flipped in the compressed data.

Each case runs ``decoder.cli.main(["read", CASE, "-o", OUT])`` in a worker process whose working
folder and ``TMPDIR`` are private empty folders, under a per-case bound of CPU time (SIGPROF,
``--timeout``: on a loaded machine wall time is no measure of a hang) and an address-space limit. A **finding** is: exit status 3 (an internal error) or any exception
out of ``main``; a hang (the time bound); anything written outside OUT (the working folder or
TMPDIR not empty afterwards, a path below OUT resolving outside it, a symlink); an OUT that is not
whole (a table line that does not parse, summary.json missing or not saying ``complete`` on exit
status 0 or 1). The report counts cases, families, exit statuses, wall and CPU time.
"""
from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import struct
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

from fuzz.mutate import MUTATORS, ROOT, Pcap, _pkt_data, _records, _replace_pkt, _set_records, parse, sample_corpus
from fuzz import mutate_many as mm
from fuzz.mutate_many import Hang
from fuzz.runner import check_tree

SHARED = ROOT.parent / "shared" / "captures"
FAMILIES = ("bitflip", "length", "truncate", "splice", "resegment", "gzip")
LENGTH_MUTATORS = ("reclen", "blocklen", "huge", "snaplen", "zerolen")


# ---------------------------------------------------------------------------- re-segmentation
def _resegment_packet(pkt: bytes, rng: random.Random, max_seg: int) -> list[bytes] | None:
    """An Ethernet/IPv4/TCP packet with a payload cut into segments of 1..max_seg bytes (None when it
    is not one or carries no payload): each segment keeps the headers, its sequence number and IP
    total length set right (checksums are not checked by wiretale)."""
    if len(pkt) < 54 or pkt[12:14] != b"\x08\x00" or pkt[14] >> 4 != 4:
        return None
    ihl = (pkt[14] & 0x0F) * 4
    if pkt[23] != 6 or ihl < 20:
        return None
    total = struct.unpack_from("!H", pkt, 16)[0]
    tcp = 14 + ihl
    if tcp + 20 > len(pkt):
        return None
    doff = (pkt[tcp + 12] >> 4) * 4
    end = min(len(pkt), 14 + total)
    start = tcp + doff
    if doff < 20 or start >= end:
        return None
    head, payload = pkt[:start], pkt[start:end]
    seq = struct.unpack_from("!I", pkt, tcp + 4)[0]
    out = []
    pos = 0
    while pos < len(payload):
        n = rng.randint(1, max_seg)
        piece = payload[pos:pos + n]
        h = bytearray(head)
        struct.pack_into("!H", h, 16, ihl + doff + len(piece))
        struct.pack_into("!I", h, tcp + 4, (seq + pos) & 0xFFFFFFFF)
        out.append(bytes(h) + piece)
        pos += n
    return out


def m_resegment(data: bytes, rng: random.Random, other: bytes | None = None) -> bytes:
    cap = parse(data)
    if cap is None:
        return data
    recs = _records(cap)
    max_seg = rng.choice((1, 2, 3, 7, 64))
    new = []
    for r in recs:
        pkt, _off = _pkt_data(r, cap)
        segs = _resegment_packet(pkt, rng, max_seg) if len(new) < 200_000 else None
        if not segs or len(segs) == 1:
            new.append(r)
            continue
        group = []
        for s in segs:
            nr = [list(x) if isinstance(x, list) else x for x in r]
            _replace_pkt(nr, cap, s)
            if isinstance(cap, Pcap):
                nr[3] = len(s)                       # the original length is the new packet's too
            elif nr[0] == 6 and len(nr[1]) >= 20:
                body = bytearray(nr[1])
                struct.pack_into(cap.order + "I", body, 16, len(s))
                nr[1] = bytes(body)
            group.append(nr)
        mode = rng.random()
        if mode < 0.3:
            rng.shuffle(group)
        elif mode < 0.4:
            group += [list(g) for g in rng.sample(group, max(1, len(group) // 4))]
        new.extend(group)
    _set_records(cap, new)
    return cap.to_bytes()


def m_gzip(data: bytes, rng: random.Random, other: bytes | None = None) -> bytes:
    z = bytearray(gzip.compress(data, compresslevel=rng.choice((0, 1, 6, 9)), mtime=0))
    mode = rng.random()
    if mode < 0.25:
        del z[rng.randrange(10, len(z)):]                     # cut
    elif mode < 0.5:
        i = rng.randrange(10, len(z))
        z[i] ^= 1 << rng.randrange(8)                          # a corrupt byte
    elif mode < 0.6:
        z += gzip.compress(b"\x00" * rng.randrange(1, 64))     # a second member of garbage
    return bytes(z)


def make_case(seed: int, corpus: list[tuple[str, bytes]]) -> tuple[str, str, bytes]:
    """(base name, family, bytes) of case ``seed`` — fully determined by the seed."""
    rng = random.Random(seed)
    name, base = corpus[rng.randrange(len(corpus))]
    other = corpus[rng.randrange(len(corpus))][1]
    family = FAMILIES[seed % len(FAMILIES)]
    if family == "bitflip":
        data = MUTATORS["bitflip"](base, rng, other)
    elif family == "length":
        data = MUTATORS[rng.choice(LENGTH_MUTATORS)](base, rng, other)
    elif family == "truncate":
        data = MUTATORS["truncate"](base, rng, other)
    elif family == "splice":
        data = MUTATORS["splice"](base, rng, other)
    elif family == "resegment":
        data = m_resegment(base, rng, other)
    else:
        inner = MUTATORS[rng.choice(("bitflip", "truncate", "payload", "reorder"))](base, rng, other) \
            if rng.random() < 0.5 else base
        data = m_gzip(inner, rng, other)
    return name, family, data


# ---------------------------------------------------------------------------- one case
def check_whole(out: Path, rc: int) -> None:
    """OUT after a run that ended with ``rc``: whole files, summary.json saying how it ended."""
    for p in out.rglob("*"):
        if ".tmp-" in p.name:
            raise AssertionError(f"temporary file left: {p}")
    for t in (out / "tables").glob("*.jsonl"):
        for line in t.read_text(encoding="utf-8").split("\n")[:-1]:   # (not splitlines: U+2028 is data)
            json.loads(line)
    if (out / "http.har").exists():
        json.loads((out / "http.har").read_text(encoding="utf-8"))
    s = out / "summary.json"
    if rc in (0, 1) and (out / ".wiretale-run.json").exists():
        if not s.exists():
            raise AssertionError("no summary.json")
        state = json.loads(s.read_text(encoding="utf-8")).get("output", {}).get("state")
        if state != "complete":
            raise AssertionError(f"summary.json output state {state!r} after exit {rc}")


def run_case(data: bytes, root: Path, html: bool, timeout: float) -> dict:
    """One case in ``root`` (made empty first): returns {rc, finding?, cpu}."""
    from decoder.cli import main

    if root.exists():
        shutil.rmtree(root)
    work, tmp, outside = root / "cwd", root / "tmp", root / "inputs"
    for d in (work, tmp, outside):
        d.mkdir(parents=True)
    case = outside / "case.pcap"
    case.write_bytes(data)
    out = outside / "out"
    old_cwd, old_tmp = os.getcwd(), os.environ.get("TMPDIR")
    os.chdir(work)
    os.environ["TMPDIR"] = str(tmp)
    tempfile.tempdir = None                       # re-read TMPDIR
    t0 = time.process_time()
    res: dict = {}
    signal.signal(signal.SIGPROF, mm._alarm)     # the bound is CPU time: a loaded machine is no hang
    signal.setitimer(signal.ITIMER_PROF, timeout)
    try:
        argv = ["read", str(case), "-o", str(out)] + ([] if html else ["--no-html"])
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
            rc = main(argv)
        res["rc"] = rc
        if rc == 3 or rc not in (0, 1):
            res["finding"] = f"exit {rc}: {err.getvalue().strip()[-400:]}"
    except Hang:
        res["rc"] = None
        res["finding"] = "hang"
    except BaseException as e:  # noqa: BLE001 - a finding, whatever it is
        res["rc"] = None
        res["finding"] = f"{type(e).__name__}: {e}\n{traceback.format_exc()[-1500:]}"
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        os.chdir(old_cwd)
        if old_tmp is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old_tmp
        tempfile.tempdir = None
    res["cpu"] = time.process_time() - t0
    if "finding" not in res:
        try:
            left = sorted(str(p.relative_to(root)) for d in (work, tmp) for p in d.rglob("*"))
            strays = sorted(set(os.listdir(outside)) - {"case.pcap", "out"})
            if left or strays:
                raise AssertionError(f"written outside OUT: {left + strays}")
            if out.exists():
                check_tree(out)
                check_whole(out, res["rc"])
        except (AssertionError, ValueError) as e:
            res["finding"] = f"{type(e).__name__}: {e}"
    return res


# ---------------------------------------------------------------------------- the campaign
# the corpus is read once by the parent (fuzz.mutate_many._CORPUS, inherited by the forked workers:
# a file renamed during a long run changes nothing); each worker sets the options and its memory limit
def _init_worker(opts: dict) -> None:
    import resource

    mm._OPTS = opts
    limit = opts["max_mem_mb"] * 2**20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _work(seeds: tuple[int, int]) -> dict:
    root = Path(tempfile.mkdtemp(prefix="wiretale-campaign-", dir=mm._OPTS["scratch"]))
    stats: dict = {"cases": 0, "families": Counter(), "rc": Counter(), "findings": [], "cpu": 0.0, "max_cpu": 0.0}
    try:
        for seed in range(*seeds):
            name, family, data = make_case(seed, mm._CORPUS)
            html = seed % mm._OPTS["html_every"] == 0
            r = run_case(data, root / "case", html, mm._OPTS["timeout"])
            stats["cases"] += 1
            stats["families"][family] += 1
            stats["rc"][str(r["rc"])] += 1
            stats["cpu"] += r["cpu"]
            stats["max_cpu"] = max(stats["max_cpu"], r["cpu"])
            if "finding" in r:
                stats["findings"].append({"seed": seed, "base": name, "family": family, "html": html,
                                          "finding": r["finding"]})
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return stats


def corpus_paths(shared: bool) -> list[str]:
    return [str(p) for p in sample_corpus((SHARED,) if shared else ())]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m fuzz.campaign", description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--max-mem-mb", type=int, default=3072)
    ap.add_argument("--html-every", type=int, default=10, help="every Nth case also writes the HTML report")
    ap.add_argument("--no-shared", action="store_true", help="samples/ only")
    ap.add_argument("--json", help="write the report here")
    ap.add_argument("--replay", type=int, help="run one case (seed) and keep its folder")
    ap.add_argument("--save", help="with --replay: save the mutated capture here")
    args = ap.parse_args(argv)
    paths = corpus_paths(not args.no_shared)
    if args.replay is not None:
        corpus = [(Path(p).name, Path(p).read_bytes()) for p in paths]
        name, family, data = make_case(args.replay, corpus)
        if args.save:
            Path(args.save).write_bytes(data)
        root = Path(tempfile.mkdtemp(prefix="wiretale-replay-"))
        r = run_case(data, root / "case", True, args.timeout)
        print(json.dumps({"seed": args.replay, "base": name, "family": family, **r, "folder": str(root)}, indent=1))
        return 1 if "finding" in r else 0
    scratch = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    opts = {"timeout": args.timeout, "max_mem_mb": args.max_mem_mb, "html_every": args.html_every,
            "scratch": scratch}
    step = 25
    chunks = [(s, min(s + step, args.start + args.count)) for s in range(args.start, args.start + args.count, step)]
    t0, c0 = time.time(), os.times()
    total: dict = {"cases": 0, "families": Counter(), "rc": Counter(), "findings": [], "cpu": 0.0, "max_cpu": 0.0}
    mm._CORPUS = [(Path(p).name, Path(p).read_bytes()) for p in paths]
    with mp.get_context("fork").Pool(args.jobs, initializer=_init_worker, initargs=(opts,),
                                     maxtasksperchild=20) as pool:
        for st in pool.imap_unordered(_work, chunks):
            total["cases"] += st["cases"]
            total["families"].update(st["families"])
            total["rc"].update(st["rc"])
            total["findings"] += st["findings"]
            total["cpu"] += st["cpu"]
            total["max_cpu"] = max(total["max_cpu"], st["max_cpu"])
            if total["cases"] % 500 < step:
                print(f"{total['cases']} cases, {len(total['findings'])} findings, {time.time() - t0:.0f} s",
                      file=sys.stderr, flush=True)
    c1 = os.times()
    report = {"cases": total["cases"], "seeds": [args.start, args.start + args.count], "corpus": len(paths),
              "families": dict(total["families"]), "exit_status": dict(total["rc"]),
              "findings": total["findings"], "wall_s": round(time.time() - t0, 1),
              "cpu_s": round((c1.children_user + c1.children_system) - (c0.children_user + c0.children_system), 1),
              "case_cpu_mean_s": round(total["cpu"] / max(1, total["cases"]), 3),
              "case_cpu_max_s": round(total["max_cpu"], 2), "jobs": args.jobs, "timeout_s": args.timeout}
    text = json.dumps(report, indent=1)
    if args.json:
        Path(args.json).write_text(text + "\n")
    print(text)
    return 1 if total["findings"] else 0


if __name__ == "__main__":
    sys.exit(main())
