"""dissectors._held.HeldData: an object's bytes handed on as one FileData per run (issue 26)."""
from decoder.model import FileData
from dissectors._held import HOLD, HeldData


def test_segments_become_one_item_at_the_first_time():
    h, out = HeldData(1 << 30), []
    h.add(out, 1.0, "b", b"abc")
    h.add(out, 2.0, "b", b"def")
    assert out == []
    h.flush(out)
    assert out == [FileData(1.0, "b", b"abcdef")]
    h.flush(out)
    assert len(out) == 1                      # nothing held: nothing more


def test_a_full_hold_is_handed_on_at_once():
    h, out = HeldData(1 << 30), []
    seg = b"x" * 1460
    n = HOLD // len(seg) + 1
    for i in range(n):
        h.add(out, float(i), "b", seg)
    assert [(it.ts, len(it.data)) for it in out] == [(0.0, n * len(seg))]


def test_near_the_cap_each_write_keeps_its_time():
    h, out = HeldData(10), []
    h.add(out, 1.0, "b", b"123456")
    h.add(out, 2.0, "b", b"7890x")            # crosses the cap: what is held first, then this write alone
    h.add(out, 3.0, "b", b"y")
    assert out == [FileData(1.0, "b", b"123456"), FileData(2.0, "b", b"7890x"), FileData(3.0, "b", b"y")]


def test_another_object_or_the_end_starts_afresh():
    h, out = HeldData(4), []
    h.add(out, 1.0, "a", b"1234")
    h.add(out, 2.0, "b", b"5678")             # another handle: "a" handed on, "b" counted from zero
    h.end(out)
    h.add(out, 3.0, "b", b"9abc")             # the handle used again after its end: within the cap again
    h.flush(out)
    assert out == [FileData(1.0, "a", b"1234"), FileData(2.0, "b", b"5678"), FileData(3.0, "b", b"9abc")]


def test_a_buffer_that_changes_after_it_was_held_does_not_change_the_object():
    h, out = HeldData(1 << 30), []
    buf = bytearray(b"abc")
    h.add(out, 1.0, "b", buf)
    h.add(out, 1.5, "b", memoryview(b"def"))
    buf[:] = b"zzz"
    h.flush(out)
    assert out == [FileData(1.0, "b", b"abcdef")] and type(out[0].data) is bytes
