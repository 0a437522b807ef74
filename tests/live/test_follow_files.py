"""decoder/dumpcap.py without dumpcap: a writer thread plays dumpcap (a pcapng written in pieces that cut
blocks anywhere, with pauses; a ring of files created and deleted), and the stream must give the reader
exactly the frames of the finished file(s), in order, lost files counted. Runs everywhere, no root."""
from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from decoder.capture import PcapFileSource
from decoder.dumpcap import GrowingFiles, RingSpec, dumpcap_command, parse_ring, ring_pattern

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "ftp-ipv6.pcapng"


def frames_of(path: Path) -> list[tuple]:
    src = PcapFileSource(path)
    try:
        return [(ts, lt, data) for _i, ts, lt, data, _w in src.records()]
    finally:
        src.close()


def read_growing(files: GrowingFiles, name: Path) -> list[tuple]:
    src = PcapFileSource(name, stream=files)
    return [(ts, lt, data) for _i, ts, lt, data, _w in src.records()]


def test_a_file_written_in_pieces_reads_as_the_whole_file(tmp_path):
    whole = SAMPLE.read_bytes()
    target = tmp_path / "capture.pcapng"
    done = threading.Event()
    waits = []

    def writer() -> None:
        rnd = random.Random(7)
        with open(target, "wb") as f:
            pos = 0
            while pos < len(whole):
                n = rnd.randint(1, 3000)              # cuts headers and blocks anywhere
                f.write(whole[pos:pos + n])
                f.flush()
                pos += n
                if rnd.random() < 0.2:
                    time.sleep(0.03)                  # the reader reaches the end of what is written
        done.set()

    t = threading.Thread(target=writer)
    t.start()
    got = read_growing(GrowingFiles(target, done.is_set, on_wait=lambda: waits.append(1)), target)
    t.join()
    assert got == frames_of(SAMPLE)
    assert waits                                   # it did wait for the writer, and said so before waiting


def test_the_file_may_appear_after_the_reader_starts(tmp_path):
    target = tmp_path / "late.pcapng"
    done = threading.Event()

    def writer() -> None:
        time.sleep(0.2)
        target.write_bytes(SAMPLE.read_bytes())
        done.set()

    threading.Thread(target=writer).start()
    assert read_growing(GrowingFiles(target, done.is_set), target) == frames_of(SAMPLE)


def test_nothing_written_is_an_empty_stream_once_the_producer_ends(tmp_path):
    files = GrowingFiles(tmp_path / "never.pcapng", lambda: True)
    assert files.read(10) == b""


def test_abort_ends_a_wait(tmp_path):
    target = tmp_path / "capture.pcapng"
    target.write_bytes(SAMPLE.read_bytes()[:100])
    abort = threading.Event()
    threading.Timer(0.2, abort.set).start()
    files = GrowingFiles(target, lambda: False, abort=abort)
    t0 = time.monotonic()
    assert len(files.read(1 << 20)) == 100
    assert files.read(1 << 20) == b""
    assert time.monotonic() - t0 < 5


def _ring_name(base: Path, n: int) -> Path:
    return base.parent / f"{base.stem}_{n:05d}_20261207120000{base.suffix}"


def test_a_ring_reads_every_file_in_order_even_when_deleted_after_it_was_opened(tmp_path):
    base = tmp_path / "capture.pcapng"
    whole = SAMPLE.read_bytes()
    done = threading.Event()
    opened = threading.Event()

    def writer() -> None:
        for n in range(1, 5):
            p = _ring_name(base, n)
            with open(p, "wb") as f:
                f.write(whole[:len(whole) // 2])
                f.flush()
                time.sleep(0.05)
                f.write(whole[len(whole) // 2:])
            if n == 1:
                opened.wait(5)
            if n >= 3:
                _ring_name(base, n - 2).unlink()      # files:2 — the oldest goes
        done.set()

    files = GrowingFiles(base, done.is_set, ring=True, on_wait=opened.set)
    t = threading.Thread(target=writer)
    t.start()
    got = read_growing(files, base)
    t.join()
    assert got == frames_of(SAMPLE) * 4              # four sections, one stream
    assert files.lost_files == 0
    assert [Path(p).name for p in files.files_read] == [_ring_name(base, n).name for n in range(1, 5)]


def test_ring_files_deleted_before_they_were_seen_are_counted(tmp_path):
    base = tmp_path / "capture.pcapng"
    for n in (3, 4):                                 # 1 and 2 came and went before the reader looked
        _ring_name(base, n).write_bytes(SAMPLE.read_bytes())
    files = GrowingFiles(base, lambda: True, ring=True)
    assert read_growing(files, base) == frames_of(SAMPLE) * 2
    assert files.lost_files == 2


def test_ring_pattern_matches_dumpcaps_names_only():
    pat = ring_pattern(Path("/x/capture.pcapng"))
    assert pat.match("capture_00001_20261207123456.pcapng")
    assert pat.match("capture_123456_20261207123456.pcapng")
    assert not pat.match("capture.pcapng")
    assert not pat.match("capture_00001_20261207123456.pcapng.gz")
    assert not pat.match("other_00001_20261207123456.pcapng")


@pytest.mark.parametrize("text, spec", [
    ("files:5,filesize:100", RingSpec(5, filesize_kb=100_000)),
    ("files:2,duration:60", RingSpec(2, duration=60)),
    ("files:4, filesize:1, duration:30", RingSpec(4, filesize_kb=1000, duration=30)),
])
def test_parse_ring(text, spec):
    assert parse_ring(text) == spec


@pytest.mark.parametrize("text", ["files:1,filesize:1", "files:3", "filesize:3", "files:3,size:1",
                                  "files:3,filesize:0", "files:3,filesize:1.5", ""])
def test_parse_ring_refuses(text):
    with pytest.raises(ValueError):
        parse_ring(text)


def test_dumpcap_command():
    cmd = dumpcap_command("dumpcap", "eth0", Path("/o/c.pcapng"), bpf="tcp", count=10, duration=30,
                          ring=RingSpec(3, filesize_kb=2000))
    assert cmd == ["dumpcap", "-i", "eth0", "-B", "64", "-f", "tcp", "-c", "10", "-a", "duration:30",
                   "-b", "files:3", "-b", "filesize:2000", "-w", "/o/c.pcapng"]
