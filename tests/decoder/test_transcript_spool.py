"""The open flows' transcripts are written as they grow (decoder.transcripts.TranscriptSpool): the files are
byte for byte those of one write at the flow's end, and memory holds about the spool's budget, however many
flows are open and however long they are. A flow that its page shows whole (at most WHOLE_BYTES each way,
nothing cut) gets no file of its own: its records go to the spool's one pack, and read back the same."""
from __future__ import annotations

from itertools import zip_longest
from pathlib import Path

from decoder.api import analyze
from decoder.model import Limits
from decoder.transcripts import (FLUSH_AT, PACK_SUFFIX, WHOLE_BYTES, Transcripts, TranscriptSpool,
                                 read_packs, read_transcript, remove_packs)

CAPTURE = "http-espn-images-keepalive.pcapng"   # several keep-alive connections carrying images
ALL = 1 << 30


def _everything(out: Path, uids) -> dict:
    t = Transcripts(out)
    return {uid: t.head(uid, ALL) for uid in uids}


def test_spooled_transcripts_equal_the_engines_with_every_flow_open_and_a_tiny_budget(shared_dir, tmp_path):
    cap = 3000     # small enough that long directions are cut (truncation records at the end)
    with analyze(shared_dir / CAPTURE, out_dir=tmp_path / "ref", transcripts=True,
                 limits=Limits(max_transcript=cap)) as a:
        uids = [r["uid"] for r in a.rows["conn"]]
    ref = {p.stem: p for p in sorted((tmp_path / "ref" / "streams").glob("*.bin"))}
    assert len(ref) >= 3
    recs = {uid: read_transcript(p) for uid, p in ref.items()}
    assert any(c.kind == 2 for r in recs.values() for c in r), "the cap cut nothing: pick a smaller cap"
    whole = _everything(tmp_path / "ref", uids)
    packed = [u for u, (chunks, src) in whole.items() if src == "pack"]
    assert packed and all(u not in ref for u in packed)          # the small flows: in the pack, no file
    assert all(sum(len(c[5]) for c in whole[u][0] if c[0] == d) <= WHOLE_BYTES for u in packed for d in (0, 1))

    budget = 2000
    for folder, small in (("spooled", WHOLE_BYTES), ("files", -1)):      # -1: every flow gets its file
        spool = TranscriptSpool(tmp_path / folder / "streams", cap, budget=budget, whole=small)
        most = 0
        ends: dict[str, float] = {}
        # every flow open at once, their records interleaved one by one, as a busy capture would
        for row in zip_longest(*[[(uid, c) for c in chunks] for uid, (chunks, _s) in whole.items()]):
            for item in row:
                if item is None:
                    continue
                uid, (d, kind, ts, frame, length, data) = item
                if kind == 2:        # bytes the cap left out: give them again, the spool must cut them too
                    spool.add(uid, d, b"x" * length, 0, ts, frame)
                    ends[uid] = ts
                else:
                    spool.add(uid, d, data if kind == 0 else None, length if kind == 1 else 0, ts, frame)
                most = max(most, spool.held)
        assert most <= budget + cap + 64      # the budget, plus at most the record that went over it
        for uid in whole:
            spool.close(uid, ends.get(uid, 0.0))
        assert spool.held == 0
        for uid, p in ref.items():
            assert (tmp_path / folder / "streams" / f"{uid}.bin").read_bytes() == p.read_bytes(), uid
        assert _everything(tmp_path / folder, uids) == {
            u: (chunks, "transcript" if small < 0 else src) for u, (chunks, src) in whole.items()}
    assert not list((tmp_path / "files" / "streams").glob("*" + PACK_SUFFIX))
    remove_packs(tmp_path / "spooled" / "streams")
    assert not list((tmp_path / "spooled" / "streams").glob("*" + PACK_SUFFIX))


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


def test_a_flow_that_outgrows_its_page_takes_what_the_pack_held_into_its_file(tmp_path):
    spool = TranscriptSpool(tmp_path / "streams", cap=1 << 20, budget=1)     # every add relieves: to the pack
    spool.add("C1", 0, b"a" * 1000, 0, 1.0, 1)
    spool.add("C2", 0, b"b" * 10, 0, 1.5, 2)
    spool.add("C1", 1, None, 77, 2.0, 3)                                     # a gap
    assert not (tmp_path / "streams" / "C1.bin").exists()
    spool.add("C1", 1, b"c" * (WHOLE_BYTES + 1), 0, 3.0, 4)                 # past the page's bound
    spool.close("C1", 4.0)
    spool.close("C2", 4.0)
    chunks = read_transcript(tmp_path / "streams" / "C1.bin")
    assert [(c.direction, c.kind, c.frame, c.length) for c in chunks] == [
        (0, 0, 1, 1000), (1, 1, 3, 77), (1, 0, 4, WHOLE_BYTES + 1)]
    t = Transcripts(tmp_path)
    assert t.head("C2", 4) == ([(0, 0, 1.5, 2, 10, b"bbbb")], "pack")
    assert t.head("C1", 4)[1] == "transcript" and t.head("C3", 4) == ([], "")
    index = read_packs(tmp_path / "streams")          # the pack no longer names C1 (its uid is blanked)
    assert index.segments("C1") == [] and len(index.segments("C2")) == 1 and len(index) == 1


def test_the_page_bound_is_the_reports():
    from reports.html import VIEW_BYTES

    assert VIEW_BYTES == WHOLE_BYTES
