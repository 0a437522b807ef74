"""The open flows' transcripts are written as they grow (decoder.transcripts.TranscriptSpool): the files are
byte for byte those of one write at the flow's end, and memory holds about the spool's budget, however many
flows are open and however long they are."""
from __future__ import annotations

from itertools import zip_longest
from pathlib import Path

from decoder.api import analyze
from decoder.model import Limits
from decoder.transcripts import FLUSH_AT, TranscriptSpool, read_transcript

CAPTURE = "http-espn-images-keepalive.pcapng"   # several keep-alive connections carrying images


def test_spooled_files_equal_the_engines_with_every_flow_open_and_a_tiny_budget(shared_dir, tmp_path):
    cap = 3000     # small enough that long directions are cut (truncation records at the end)
    analyze(shared_dir / CAPTURE, out_dir=tmp_path / "ref", transcripts=True,
            limits=Limits(max_transcript=cap))
    ref = {p.stem: p for p in sorted((tmp_path / "ref" / "streams").glob("*.bin"))}
    assert len(ref) >= 3
    recs = {uid: read_transcript(p) for uid, p in ref.items()}
    assert any(c.kind == 2 for r in recs.values() for c in r), "the cap cut nothing: pick a smaller cap"

    budget = 2000
    spool = TranscriptSpool(tmp_path / "spooled", cap, budget=budget)
    most = 0
    ends: dict[str, float] = {}
    # every flow open at once, their records interleaved one by one, as a busy capture would
    for row in zip_longest(*[[(uid, c) for c in r] for uid, r in recs.items()]):
        for item in row:
            if item is None:
                continue
            uid, c = item
            if c.kind == 2:        # bytes the cap left out: give them again, the spool must cut them too
                spool.add(uid, c.direction, b"x" * c.length, 0, c.ts, c.frame)
                ends[uid] = c.ts
            else:
                spool.add(uid, c.direction, c.data if c.kind == 0 else None, c.length if c.kind == 1 else 0,
                          c.ts, c.frame)
            most = max(most, spool.held)
    assert most <= budget + cap + 64      # the budget, plus at most the record that went over it
    for uid in recs:
        spool.close(uid, ends.get(uid, 0.0))
    assert spool.held == 0
    for uid, p in ref.items():
        assert (tmp_path / "spooled" / f"{uid}.bin").read_bytes() == p.read_bytes(), uid


def test_one_long_flow_goes_to_its_file_in_pieces(tmp_path):
    spool = TranscriptSpool(tmp_path, cap=1 << 20)
    for i in range(100):
        spool.add("C1", i % 2, bytes([i]) * 4096, 0, float(i), i + 1)
        assert spool.held < FLUSH_AT + 4096 + 64
    assert (tmp_path / "C1.bin").stat().st_size > 0          # written before the flow ended
    spool.close("C1", 100.0)
    chunks = read_transcript(tmp_path / "C1.bin")
    assert [c.frame for c in chunks] == list(range(1, 101))
    assert all(c.data == bytes([c.frame - 1]) * 4096 and c.direction == (c.frame - 1) % 2 for c in chunks)
