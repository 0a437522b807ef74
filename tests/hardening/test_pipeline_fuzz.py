"""Hypothesis fuzzing of the whole pipeline over mutated captures (the CI share of the fuzz run).

Bases are samples/ (and ../shared/captures under 300 KB when present). Each example applies one
named mutation family from :mod:`fuzz.mutate` (bit flips, truncation, random record lengths,
snap-length truncation, zero-length and 4 GB records, pcapng blocks with bogus lengths,
duplicated and reordered records, payload edits, boundary values, splicing) with a drawn seed,
then runs ``Engine(strict=True)`` — a dissector bug re-raises — and checks the invariants of
:func:`fuzz.runner.check` (packet totals reconcile with the records read, limits_hit matches
the anomalies, nothing written outside OUT, safe names). A SIGALRM watchdog fails only on hangs
(60 s per capture); tracemalloc bounds memory. Fixed seeds (``derandomize=True``) keep CI
reproducible; the long run is ``python -m fuzz.mutate_many`` (docs/HARDENING.md).
"""
from __future__ import annotations

import random
import shutil
import struct
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fuzz.mutate import MUTATORS, parse, sample_corpus
from fuzz.runner import run_bytes, scratch
from tests.conftest import SHARED
from tests.hardening._build import watchdog

SMALL_SHARED = tuple(p for p in (SHARED.glob("*") if SHARED.is_dir() else ())
                     if p.suffix in (".pcap", ".pcapng") and p.stat().st_size <= 300_000)
BASES = {p.name: p.read_bytes() for p in sample_corpus() + sorted(SMALL_SHARED)}
NAMES = sorted(BASES)
MEM_BOUND = 256 * 1024 * 1024     # generous: the samples are < 1 MB; a blow-up is orders above

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def work():
    d = scratch()
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _run(data: bytes, work) -> dict:
    with watchdog(60):
        tracemalloc.start()
        try:
            s = run_bytes(data, work)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak < MEM_BOUND, f"peak {peak / 2**20:.0f} MB"
    return s


@pytest.mark.parametrize("mutator", sorted(MUTATORS))
@SETTINGS
@given(base=st.sampled_from(NAMES), other=st.sampled_from(NAMES), seed=st.integers(0, 2**32 - 1))
def test_pipeline_survives_mutation(work, mutator, base, other, seed):
    rng = random.Random(seed)
    data = MUTATORS[mutator](BASES[base], rng, BASES[other])
    _run(data, work)


@SETTINGS
@given(base=st.sampled_from(NAMES), seeds=st.lists(st.integers(0, 2**32 - 1), min_size=2, max_size=4),
       names=st.lists(st.sampled_from(sorted(MUTATORS)), min_size=2, max_size=4))
def test_pipeline_survives_stacked_mutations(work, base, seeds, names):
    data = BASES[base]
    for seed, name in zip(seeds, names):
        data = MUTATORS[name](data, random.Random(seed), BASES[base])
    _run(data, work)


# ------------------------------------------------------------------ exact accounting on structural edits
@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(base=st.sampled_from([n for n in NAMES if n.endswith(".pcap")]), seed=st.integers(0, 2**32 - 1),
       op=st.sampled_from(["duplicate", "reorder", "snaplen", "zerolen"]))
def test_record_count_is_exact_after_structural_edits(work, base, seed, op):
    """Duplicated, reordered, snap-truncated and zero-length records are all still counted: the
    summary's total equals the number of records in the file (counted here independently)."""
    data = MUTATORS[op](BASES[base], random.Random(seed), None)
    cap = parse(data)
    s = _run(data, work)
    assert s["packets"]["total"] == len(cap.records)


@pytest.mark.parametrize("claim", [0, 0xFFFFFFFF, 0x80000000, 300_000])
@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_bogus_length_stops_reading_and_keeps_what_came_before(work, fmt, claim):
    base = BASES["ftp-ipv6.pcapng" if fmt == "pcapng" else "nfs-tcp.pcap"]
    cap = parse(base)
    if fmt == "pcap":
        k = len(cap.records) // 2
        cap.records[k][2] = claim          # captured length lies; the bytes that follow do not move
        expect_max = len(cap.records) if claim == 0 else k
    else:
        pk = cap.packet_blocks()
        k = len(pk) // 2
        cap.blocks[pk[k]][2] = claim       # block total length lies
        expect_max = k
    s = _run(cap.to_bytes(), work)
    assert s["packets"]["total"] <= max(expect_max, len(cap.records) if fmt == "pcap" else len(pk))
    if claim > 0x40000:
        assert s["packets"]["total"] == expect_max
        assert any(c["warnings"] for c in s["captures"])


def test_pcapng_trailing_length_mismatch_is_survived(work):
    cap = parse(BASES["snmp.pcapng"])
    for b in cap.blocks[2:6]:
        b[3] = 0xDEADBEEF
    _run(cap.to_bytes(), work)


def test_garbage_and_empty_files(work):
    for data in (b"", b"\xd4\xc3\xb2\xa1", b"\x0a\x0d\x0d\x0a" + b"\xff" * 8, struct.pack("<I", 0xA1B2C3D4) * 6,
                 bytes(range(256)) * 4, b"\x1f\x8b"):
        s = _run(data, work)
        assert s["packets"]["total"] == 0 or s["captures"]


def test_corrupt_gzip_capture_is_a_clean_error(work):
    s = _run(b"\x1f\x8b\x08\x00" + b"\x00" * 20, work)
    assert s["errors"] or s["captures"]


def test_truncated_gzip_capture_keeps_what_came_before(work):
    import gzip
    data = gzip.compress(BASES["llmnr.pcap"])
    s = _run(data[: len(data) * 2 // 3], work)
    assert 0 < s["packets"]["total"] < len(parse(BASES["llmnr.pcap"]).records)
