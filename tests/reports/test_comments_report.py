"""pcapng comments in the report (issue 23), in Chromium: the index lists them, the timeline marks them
on their session's lane, the session's ladder shows each one at its packet."""
from __future__ import annotations

from tests.decoder.test_comments import CAPTURE_NOTE, commented_smtp
from tests.reports.conftest import render


def test_comments_on_the_index_timeline_and_ladder(tmp_path, page):
    a = render(commented_smtp(tmp_path / "c.pcapng"), tmp_path / "out")
    uid = a.tables["conn"]["uid"].iloc[0]

    p = page.open(tmp_path / "out" / "index.html")
    rows = p.locator("#comments tr.comment")
    assert rows.count() == 6
    assert rows.nth(0).inner_text().split("\t")[-1].strip() == CAPTURE_NOTE
    assert "interface 0" in rows.nth(2).inner_text()
    fifth = rows.nth(3)
    assert "Q: which host name does the client give?" in fifth.inner_text()
    assert fifth.locator(f'a[href="sessions/{uid}.html"]').count() == 1
    marks = p.locator(f'#tl g.lane[data-uid="{uid}"] path.note')
    assert marks.count() == 3
    assert "frame 5: Q: which host name" in marks.nth(0).locator("title").text_content()
    assert page.errors() == []

    p = page.open(tmp_path / "out" / "sessions" / f"{uid}.html")
    notes = p.locator("#ladder-svg g.note")
    assert notes.count() == 3
    assert notes.nth(0).is_visible()
    assert "✎ Q: which host name does the client give?" in notes.nth(0).text_content()
    # the note sits at its packet: after the EHLO arrow (frame 5), before the 250 reply (frame 6)
    arrows = p.locator("#ladder-svg g.arrow")
    labels = [arrows.nth(i).locator("title").text_content() for i in range(arrows.count())]
    ehlo = next(i for i, t in enumerate(labels) if "EHLO" in t)
    y_note = notes.nth(0).bounding_box()["y"]
    assert arrows.nth(ehlo).bounding_box()["y"] < y_note < arrows.nth(ehlo + 1).bounding_box()["y"]
    assert "250" in labels[ehlo + 1]
    assert page.errors() == []
