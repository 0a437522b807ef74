"""The HTML report: ``OUT/index.html`` (the story of the capture) and ``OUT/sessions/<uid>.html``.

What the pages hold (DESIGN.md sections 2 and 6; the reading guide is docs/REPORT.md):

* **index** — capture facts, the protocol mix (inline SVG), hosts and who talked
  to whom, the whole-capture timeline (one lane per session, FTP/TFTP children
  grouped under their control session, each lane a link), credentials (masked
  unless ``show_secrets``, always flagged as sent in cleartext), extracted
  files, e-mails, DNS queries, HTTP requests, anomalies explained in plain words,
  skipped packets and limits hit. Past :data:`LANES_PER_PAGE` sessions, the
  timeline and the session list continue on ``index-2.html``, ``index-3.html`` …
  so the first page stays small however large the capture.
* **session page** — facts and reassembly notes in plain words, a ladder
  diagram (inline SVG: client and server columns, one arrow per event with its
  time, Δt and frame; child flows on the same diagram), the decoded transcript
  with each event's meaning, the raw and hex views from the engine's capped
  transcript (``OUT/streams/<uid>.bin``), decoded fields, artifacts, anomalies,
  and the views of its protocol (:mod:`reports.views`: the Telnet replay with
  keystroke timing, the NFS file tree).

Safety: the index pages are jinja2 templates with ``autoescape=True`` and ``StrictUndefined``; the session
and shared pages, thousands for a large capture, are string pieces joined (:func:`_session_html`,
:func:`_shared_html`: no template run per page), as are the index's session rows (:func:`_session_row`);
in them every captured text goes through ``printable`` (control characters made visible) and markupsafe's
``escape``, as autoescape does; nothing captured is ever marked safe unescaped. Data for scripts travels in
escaped ``data-`` attributes or in ``<script type="application/json">`` blocks
(jinja's ``tojson``: ``<``, ``>``, ``&`` and ``'`` written as JSON ``\\u`` escapes) and is
only ever written with ``textContent``. The ladder is drawn by the page's script
from compact rows (:func:`_ladder_row`); without JavaScript the page lists the
same arrows as text.
Pages reference no external URL: every page links the report's one style sheet and one script,
``OUT/assets/wiretale.css`` and ``wiretale.js`` (written once per report instead of a copy in each page; the
CSP allows scripts from ``'self'`` only, so no inline script runs); links point only at files of the report
(percent-encoded, so a file name can never become a scheme). Passwords are masked everywhere (fields, summaries, raw and hex views,
Telnet replay) unless ``show_secrets``.
"""
from __future__ import annotations

import base64
import codecs
import gc
import json
import math
import os
import re
from collections import Counter, defaultdict
from itertools import chain, islice
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import quote

import ahocorasick
import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup, escape

from decoder.model import MASK as MODEL_MASK
from decoder.model import describe_object, utc_text
from dissectors import PRESENTATION
from reports import _meanings, views
from reports.collect import (EVENT_TICKS, LANE_GROUP_AT, SCAN_MIN, SORT_KEY, TABLE_ROWS, Entry, ReportCollector,
                             SessionGroup, frame_order, services_of)
from reports.export import write_text_replacing

TEMPLATES = Path(__file__).parent / "templates"
ASSETS = "assets"                               # OUT/assets/: the pages' one style sheet and one script
ASSET_FILES = ("wiretale.css", "wiretale.js")
#: wiretale.js's line that write_assets fills with the report's texts; a page's list of meanings names the TCP
#: control packets' meanings by their number in it (wiretale.js pageMeanings).
_REPORT_LINE = 'var REPORT = {"help": {}, "letters": {}, "tcp": []};'
_CLOSED = "wiretale closed the flow because of: "    # (a note's start: a shared page may say it once)
_TCP_MEANING = {m: i for i, m in enumerate(_meanings.TCP_CONTROL.values())}
#: The cards whose help paragraph is said once, in OUT/assets/help.html (key: the card's anchor there and the
#: paragraph's ``data-help`` on a page; help_texts.html holds the words).
HELP_CARDS = (("facts", "The session"), ("ladder", "Ladder diagram"), ("transcript", "Decoded transcript"),
              ("raw", "Raw bytes"), ("fields", "Decoded fields"), ("udp", "UDP sessions"))
PAGE_TEMPLATES = ("error.html",)   # (and the views'; session and shared pages are string pieces)

LANES_PER_PAGE = 250        # sessions per index page (timeline lanes and session rows)
DATA_CHUNK = 1000           # lines of the index's session data escaped and written at a time
LADDER_EVENTS = 300         # arrows on a ladder diagram
LADDER_TEXT = 10            # arrows listed as text for readers without JavaScript
LADDER_LABEL = 78           # characters of an arrow's text on its label (the script cuts it; the title has all)
TRANSCRIPT_EVENTS = 2000    # rows of the decoded transcript
VIEW_BYTES = 4 * 1024       # bytes of each direction in a session page's text and hex views
FIELD_ROWS = 20             # rows per protocol table on a session page (all of them: tables/<name>.jsonl)
HOST_ROWS = 200
SHARED_AT = 300             # past this many session pages, small sessions share pages
SHARED_PER_PAGE = 100       # small sessions per shared page
SMALL_EVENTS = 20           # a small session: at most this many events ...
SMALL_BYTES = 4 * 1024      # ... and bytes (both directions), and no data connections
MAX_LANES = 250             # lanes of groups at the most (coarser groups past it)
PROBE_COLOR = "#b03a2e"

#: Each service's colour, declared beside its protocol (``PRESENTATION`` in dissectors/probes/<proto>.py).
COLORS: dict[str, str] = dict(sorted(PRESENTATION.colours.items()))   # by name: the page does not follow registry order
OTHER_COLOR = "#8a8f98"
ID_COLUMNS = ("ts", "uid", "orig_h", "orig_p", "resp_h", "resp_p")
ENGINE_TABLES = ("conn", "timeline", "anomalies", "files", "emails", "credentials", "comments")
LADDER_TABLES = ("tcp_control",)    # drawn on the ladder (its thin arrows): not listed again among a page's fields
_TRANSFER_ENDS = ("FtpDataSummary", "TftpTransferEnd")   # events whose meaning is the transfer's caption
SECRET_COLUMNS = frozenset({"password", "secret", "pass", "passwd"})
MASK = "••••••"             # what the report shows for a secret (the tables carry decoder.model.MASK)
SHORT_SECRET = 4            # secrets shorter than this are masked by string only where they stand alone

# control characters shown visibly (newline and tab stay as they are)
_CTRL = {i: f"\\x{i:02x}" for i in range(32) if i not in (9, 10)}
_CTRL[13] = "\\r"
_CTRL[0x7F] = "\\x7f"
_CTRL.update({c: f"\\u{c:04x}" for c in (0x2028, 0x2029, 0x202E, 0x200E, 0x200F, 0x202D)})
_CTRL.update({c: f"\\u{c:04x}" for c in range(0x80, 0xA0)})          # C1 controls
_CTRL.update({c: f"\\u{c:04x}" for c in range(0xFDD0, 0xFDF0)})      # noncharacters
_CTRL.update({(p << 16) | low: f"\\U{(p << 16) | low:08x}" for p in range(17) for low in (0xFFFE, 0xFFFF)})
_CTRL_ONE_LINE = dict(_CTRL)
_CTRL_ONE_LINE[10] = "\\n"
_CTRL_ONE_LINE[9] = "\\t"


# ---------------------------------------------------------------------------- filters
def printable(value: Any, one_line: bool = False) -> str:
    """Captured text or bytes as a plain string with control characters made visible.

    Returns ``str`` (never Markup): autoescape still escapes ``<``, ``&`` and quotes.
    """
    if value is None:
        return ""
    if type(value) is str and value.isascii() and value.isprintable():
        return value      # (no control character: every character made visible is either not ASCII or not printable)
    if isinstance(value, (bytes, bytearray, memoryview)):
        value = bytes(value).decode("utf-8", "backslashreplace")
    elif not isinstance(value, str):
        value = str(value)
    value = value.translate(_CTRL_ONE_LINE if one_line else _CTRL)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:   # lone surrogates
        value = value.encode("utf-8", "backslashreplace").decode("ascii", "replace")
    return value


def _tojson(value: Any) -> Markup:
    """jinja's ``tojson`` filter (compact JSON, ``<``, ``>``, ``&`` and ``'`` written as ``\\u`` escapes, so a
    ``<script type="application/json">`` block can hold captured text), by orjson: the pages' data is most
    of what they carry. What orjson does not take (an int past 64 bits) goes through jinja's own."""
    try:
        text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")
    except TypeError:
        return htmlsafe_json_dumps(value, dumps=json.dumps, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
                  .replace("'", "\\u0027"))


def _fmt_ts(ts: Any) -> str:
    if ts is None or not isinstance(ts, (int, float)) or math.isnan(ts):
        return "–"
    return utc_text(ts) + " UTC"


def _fmt_dur(s: Any) -> str:
    if s is None or not isinstance(s, (int, float)) or math.isnan(s):
        return "–"
    s = float(s)
    a = abs(s)
    if a < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if a < 1:
        return f"{s * 1e3:.1f} ms"
    if a < 120:
        return f"{s:.3f} s"
    if a < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def _fmt_bytes(n: Any) -> str:
    if not isinstance(n, (int, float)) or isinstance(n, bool):
        return "–"
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _fmt_num(n: Any) -> str:
    return f"{n:,}" if isinstance(n, int) and not isinstance(n, bool) else str(n)


def _ep(h: Any, p: Any) -> str:
    h = "" if h is None else str(h)
    if p is None:
        return h
    return f"[{h}]:{p}" if ":" in h else f"{h}:{p}"


def _href(path: Any, prefix: str = "") -> str:
    """A link to a file of the report: percent-encoded, relative, never a scheme."""
    p = str(path or "").lstrip("/")
    return prefix + quote(p, safe="/")


#: A string inside a list or dict that a cell writes without its quotes (:func:`_container`): a word starting with a
#: letter, without space, comma, quote, bracket or brace, not ending in a colon, and not a JSON literal.
_BARE_WORD = re.compile(r"[A-Za-z](?:[A-Za-z0-9._:/@+\-]*[A-Za-z0-9._/@+\-])?")
_JSON_LITERALS = frozenset({"true", "false", "null", "NaN", "Infinity"})
#: The same inside JSON text that holds escaped quotes: a quote after ``[``, ``{`` or a space opens a string (one
#: inside a string is always ``\"``), one before ``,``, ``:``, ``]`` or ``}`` closes it.
_BARE_STRING = re.compile(r'(?<=[\[{ ])"(?!(?:true|false|null|NaN|Infinity)")(' + _BARE_WORD.pattern + r')"(?=[,:\]}])')


def _unquote_words(s: str) -> str:
    """``s`` (``json.dumps`` text, or its start) with the quotes of its plain-word strings left out."""
    if '\\"' in s:
        return _BARE_STRING.sub(r"\1", s)
    parts = s.split('"')          # (no escaped quote: the odd parts are the strings)
    open_end = len(parts) % 2 == 0   # s ends inside a string
    word = _BARE_WORD.fullmatch
    for i in range(1, len(parts) - 1 if open_end else len(parts), 2):
        w = parts[i]
        if not word(w) or w in _JSON_LITERALS:
            parts[i] = '"' + w + '"'
    if open_end:
        parts[-1] = '"' + parts[-1]
    return "".join(parts)


def _container(v: Any, limit: int) -> str:
    """A list or dict as a cell shows it, its first ``limit`` characters and how long it is: JSON (", " and ": "
    between items) whose strings that are plain words (:data:`_BARE_WORD`: a host name, a record type, a
    header name) go without quotes — ``{name: www.example.org, type: A, ttl: 300, data: "10 mx.example.org"}``
    — so it reads the same and never reads otherwise: a string that could be taken for a number, a literal or a
    separator keeps its quotes. The tables keep the JSON. Only the part that can be shown is unquoted (its first
    ``2 * limit`` characters: unquoting never halves a text), and a longer one says its JSON's length."""
    return _json_cell(json.dumps(v, ensure_ascii=False, default=str), limit)


def _json_cell(s: str, limit: int) -> str:
    """:func:`_container` of the value whose ``json.dumps`` text is ``s``."""
    head = printable(_unquote_words(s[:2 * limit]), one_line=True)
    if len(s) <= 2 * limit and len(head) <= limit:
        return head
    return head[:limit] + f"… ({len(s):,} characters of JSON)"


def _value(v: Any, limit: int = 300) -> str:
    """A table cell: lists of scalars joined, other lists and dicts as :func:`_container`, long values cut."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if math.isnan(v):
            return "–"
        return f"{v:.6f}".rstrip("0").rstrip(".")
    if isinstance(v, (list, tuple)):
        if not v:
            return "–"
        if not all(isinstance(x, (str, int, float)) for x in v):
            return _container(v, limit)
        s = ", ".join(str(x) for x in v)
    elif isinstance(v, dict):
        return _container(v, limit)
    else:
        s = str(v)
    s = printable(s, one_line=True)
    return s if len(s) <= limit else s[:limit] + f"… ({len(s):,} characters)"


def _color(service: Any) -> str:
    return COLORS.get(service or "", OTHER_COLOR)


# ---------------------------------------------------------------------------- secrets
class Masker:
    """Hides credential secrets (and their usual base64 wrappings) unless told not to.

    By string, for what the tables cannot place: secrets of any length, a short one (under
    :data:`SHORT_SECRET` characters) only where it stands alone (not inside a longer word), so a
    two-letter password is hidden without starring every word holding its letters. Telnet keys typed
    at a password prompt are masked by their position instead (:func:`_secret_ranges`).

    The search is an Aho–Corasick automaton (pyahocorasick, in C) over every variant at once, so its cost
    follows the length of the text, not the number of secrets a capture holds (thousands in a large one).
    It masks what one regular expression alternating every variant, longest first, then the short
    secrets between word boundaries, would: the leftmost match, at one place the longest of the variants,
    else the longest short secret standing alone, then on after it (:meth:`spans`). Bytes are searched as
    Latin-1 text, one character a byte."""

    def __init__(self, creds: Iterable[dict], show: bool) -> None:
        self.show = show
        variants: set[bytes] = set()
        short: set[bytes] = set()
        if not show:
            for c in creds:
                sec = c.get("secret")
                if not isinstance(sec, str) or not sec or sec == MODEL_MASK:
                    continue
                user = c.get("username") or ""
                raw = sec.encode("utf-8", "surrogateescape")
                u = str(user).encode("utf-8", "surrogateescape")
                (short if len(sec) < SHORT_SECRET else variants).add(raw)
                for wrapped in (raw, u + b":" + raw, b"\0" + u + b"\0" + raw, u + b"\0" + u + b"\0" + raw):
                    variants.add(base64.b64encode(wrapped).rstrip(b"="))
        self.variants = sorted(variants, key=len, reverse=True)
        short -= variants     # (a variant is masked wherever it stands)
        self._ac_s = self._automaton(variants, short, lambda b: b.decode("utf-8", "surrogateescape"))
        self._escaped = any(b in v for v in variants | short for b in (b'"', b"\\")) or \
            any(ch < 0x20 for v in variants | short for ch in v)       # (see row_hits)
        # bytes are searched as Latin-1 text: where every variant is ASCII (base64 always is, most secrets are)
        # that is the same text as UTF-8, so one automaton serves both (a pair held 5 KB a secret)
        ascii_only = all(v.isascii() for v in variants | short)
        self._ac_b = self._ac_s if ascii_only else self._automaton(variants, short, lambda b: b.decode("latin-1"))

    @staticmethod
    def _automaton(variants: set[bytes], short: set[bytes], as_text: Callable[[bytes], str]) -> Any:
        """One automaton of every variant (value: its length, False) and short secret (length, True)."""
        if not variants and not short:
            return None
        ac = ahocorasick.Automaton()
        for group, is_short in ((variants, False), (short, True)):
            for v in group:
                t = as_text(v)
                ac.add_word(t, (len(t), is_short))
        ac.make_automaton()
        return ac

    @staticmethod
    def _spans(ac: Any, s: str) -> list[tuple[int, int]]:
        """Where ``s`` is masked: of all matches (the automaton finds overlapping ones), leftmost first; at
        one start a variant before a short secret, the longer before the shorter; a short secret only with
        no ASCII letter or digit on either side; none overlapping the one before."""
        found = []
        for end, (n, is_short) in ac.iter(s):
            start, end = end - n + 1, end + 1
            if is_short and ((start > 0 and s[start - 1] in _WORD) or (end < len(s) and s[end] in _WORD)):
                continue
            found.append((start, is_short, -n))
        out: list[tuple[int, int]] = []
        last = 0
        for start, _, neg in sorted(found):
            if start >= last:
                last = start - neg
                out.append((start, last))
        return out

    def text(self, s: Any) -> Any:
        if self._ac_s is None or not isinstance(s, str) or not s:
            return s
        spans = self._spans(self._ac_s, s)
        if not spans:
            return s
        parts, pos = [], 0
        for a, b in spans:
            parts += (s[pos:a], MASK)
            pos = b
        parts.append(s[pos:])
        return "".join(parts)

    def row_hits(self, row: dict | list) -> bool:
        """Whether :meth:`value` might hide a secret in the texts of ``row`` (a table row): one search of the
        row's JSON. orjson writes a string's characters as they are but ``"``, ``\\`` and control characters,
        so a secret holding none of these is in the JSON wherever it is in a string; short secrets are looked
        for without their word-boundary rule (JSON escapes change what stands beside them). A yes may be a
        false alarm (a key, a number, the secret column itself), never a miss; a secret holding a character
        JSON escapes, or a row orjson cannot encode, gives yes."""
        if self._ac_b is None:
            return False
        if self._escaped:
            return True
        try:
            data = orjson.dumps(row)
        except (TypeError, orjson.JSONEncodeError):
            return True
        for _ in self._ac_b.iter(data.decode("latin-1")):
            return True
        return False

    def value(self, column: str, v: Any, search: bool = True) -> Any:
        """``v`` of ``column`` as shown: a secret column's value hidden, secrets hidden in its texts (not
        searched when ``search`` is false: :meth:`row_hits` found none), in lists and dicts at any depth."""
        if self.show or v is None:
            return v
        if column.lower() in SECRET_COLUMNS and v not in ("", None):
            return MASK
        if isinstance(v, str):
            return self.text(v) if search else v
        if isinstance(v, (list, tuple)):
            return [self.value("", x, search) for x in v]
        if isinstance(v, dict):
            return {k: self.value(str(k), x, search) for k, x in v.items()}
        return v

    def ranges(self, data: bytes) -> list[tuple[int, int]]:
        if self._ac_b is None or not data:
            return []
        return self._spans(self._ac_b, bytes(data).decode("latin-1"))


_SCALARS = frozenset({str, int, float, bool, type(None)})
_EMPTY_TYPES = (str, list, dict)      # an empty one of these is an empty field
_WORD = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def _secret_frames(events: Iterable[dict]) -> set:
    """The frames whose client bytes hold keys typed at a password prompt (Telnet ``TelnetInput``
    events with ``secret``): the raw views mask those packets' bytes whole, by position, whatever the
    secret's length and however it was edited."""
    return {e.get("frame") for e in events
            if e.get("kind") == "TelnetInput" and (e.get("fields") or {}).get("secret")}


def _apply_ranges(data: bytes, start: int, ranges: list[tuple[int, int]]) -> bytes:
    """``data`` (which starts at ``start`` of its stream) with masked ranges as ``*``."""
    if not ranges:
        return data
    end = start + len(data)
    b = None
    for rs, re_ in ranges:
        if re_ <= start or rs >= end:
            continue
        if b is None:
            b = bytearray(data)
        for i in range(max(rs, start) - start, min(re_, end) - start):
            b[i] = 0x2A
    return bytes(b) if b is not None else data


#: How the report gets a session's transcript: ``(uid, bytes per direction)`` → (chunks as
#: (direction, kind, ts, frame, length, data), their source: "transcript", "memory" or "").
#: The run supplies it (:class:`decoder.transcripts.Transcripts`); the report reads no engine format.
TranscriptHead = Callable[[str, int], tuple[list, str]]


def _ladder_row(it: dict) -> list:
    """One ladder arrow as the compact row the page's script draws (``wiretale.js``):
    [kind, left to right, frame, time, Δt, text, meaning] (:meth:`_Report.ladder` then lists the meanings
    once and puts each one's index in its place); kind "t" a TCP handshake/teardown arrow, "n" a packet
    comment, "c" a child flow's arrow, "a" the session's. The script works out each arrow's height from the
    kinds (the ladder's ``top``, ``step``, ``thin``, as :meth:`_Report.ladder` does) and its label from the
    text (its first ``LADDER_LABEL`` characters)."""
    kind = "t" if it.get("tcp") else "n" if it.get("comment") else "c" if it.get("child") else "a"
    return [kind, 1 if it["ltr"] else 0, it.get("frame"), it["rel"], it["dt"], it["full"],
            printable(it.get("meaning") or "", one_line=True)]


def _ladder_refs(rows: list[list], evs: list, events: list[list]) -> list:
    """The ladder's rows as the page carries them: an arrow of the session's own event ``i`` (``evs``) that the
    transcript's row ``i`` (:func:`_transcript_data`) gives whole — direction, frame, time, text and meaning —
    written as ``i``, or as ``[i, Δt]`` when only its Δt differs (a data connection's arrows came between, or a
    UDP reply's RTT); other rows as they are. The script rebuilds the row (``wiretale.js`` ``ladderRow``)."""
    out: list = []
    for r, i in zip(rows, evs):
        e = events[i] if i is not None and i < len(events) else None
        if e is not None and r[0] == "a" and (r[1], r[2], r[3], r[5], r[6]) == (1 - e[0], e[1], e[2], e[5], e[6]):
            out.append(i if r[4] == ("Δ " + e[3] if e[3] else "") else [i, r[4]])
        else:
            out.append(r)
    return out


def _raw_row(r: dict) -> list:
    """One chunk of the raw views as the compact row the page's script draws (``wiretale.js``): [direction (0 the
    client), time, frame(s), bytes missing] for a gap, else [direction, time, frame(s), segments, bytes, the
    bytes shown, and how many when fewer than all], the bytes as text (:func:`raw_text`) or, when base64 is the
    smaller, as [base64]. :func:`raw_chunk` names the parts."""
    if r["gap"]:
        return [r["dir"], r["ts"], r["frame"], r["gap"]]
    data = r["data"]
    text = raw_text(data)
    row = [r["dir"], r["ts"], r["frame"], r["segments"], r["len"],
           [base64.b64encode(data).decode("ascii")] if text is None else text]
    if r["cut"]:
        row.append(len(data))
    return row


def raw_chunk(row: list) -> dict:
    """What a :func:`_raw_row` row says, by name (for tests and tools): ``d``, ``t``, ``f`` and ``gap``, or ``d``,
    ``t``, ``f``, ``s`` segments, ``n`` bytes, ``c`` bytes shown when fewer, and ``data`` the bytes shown."""
    if len(row) == 4:
        return dict(zip(("d", "t", "f", "gap"), row))
    out = dict(zip(("d", "t", "f", "s", "n"), row))
    x = row[5]
    out["data"] = base64.b64decode(x[0]) if isinstance(x, list) else \
        bytes(ord(ch) - 0x100 if ord(ch) >= 0x100 else ord(ch) for ch in x)
    out["text"] = not isinstance(x, list)
    if len(row) > 6:
        out["c"] = row[6]
    return out


#: The bytes :func:`raw_text` writes as themselves: printable ASCII but the characters that HTML (``tojson``)
#: or JSON would escape, and tab and newline (two characters each in JSON).
_RAW_KEEP = bytes(b for b in range(0x20, 0x7F) if chr(b) not in "<>&'\"\\") + b"\t\n"
_RAW_TABLE = "".join(chr(b) if b in _RAW_KEEP else chr(0x100 + b) for b in range(256))   # (a charmap codec's)


def raw_text(data: bytes) -> str | None:
    """A raw-view chunk's bytes as text, one character a byte: the bytes of :data:`_RAW_KEEP` as themselves,
    any other byte ``b`` as the character U+0100 + ``b`` (two bytes of UTF-8, no JSON or HTML escape, never
    ``<``, so never ``</script``; a CR never reaches the HTML parser, which would turn CR LF into LF). Text
    protocols cost about one byte a byte where base64 costs 4/3; None when base64 is the smaller (binary
    data), as the page's JSON holds either. The script maps U+0100–U+01FF back (``wiretale.js``)."""
    odd = len(data.translate(None, _RAW_KEEP))
    cost = len(data) + odd + data.count(b"\n") + data.count(b"\t")
    if cost >= 4 * ((len(data) + 2) // 3):
        return None
    return codecs.charmap_decode(data, "strict", _RAW_TABLE)[0]


def _fields_row(t: dict) -> list:
    """One protocol table of a session page or a shared page's section as the compact row its script draws
    (``wiretale.js``): [name, rows in all, columns empty here, columns, times, the table's distinct cell
    texts (each once), rows shown as indices into them, one small table per row]; the times as [the start
    and end their texts share, what differs] ("2023-11-14 22:13:", " UTC", ["26.880", …])."""
    values: dict[str, int] = {}
    rows = [[values.setdefault(v, len(values)) for v in r] for r in t["rows"]]
    times = t["times"]
    head = os.path.commonprefix(times)
    tail = os.path.commonprefix([x[len(head):][::-1] for x in times])[::-1]
    times = [head, tail, [x[len(head):len(x) - len(tail)] for x in times]]
    return [t["name"], t["total"], t["empty"], t["cols"], times, list(values), rows, t["transpose"]]


def _transcript_data(events: list[tuple], meanings: dict[str, int]) -> list[list]:
    """A session page's decoded transcript (or a shared page's section's) as the compact rows its script draws
    (``wiretale.js``): per event [0 from the client / 1 from the server, frame, time, Δt, index of its kind,
    what was said, index of its meaning], the indices into ``meanings`` (the page's list of texts, shared with
    the ladder, which this extends: a kind such as ``Pop3Command`` is written once a page, like a meaning);
    ``events`` as :meth:`_Report.session_context` makes them, the same with the kind and meaning as texts."""
    return [[d, frame, rel, dt, meanings.setdefault(k, len(meanings)), said, meanings.setdefault(m, len(meanings))]
            for d, frame, rel, dt, k, said, m in events]


def _shared_fields_data(sections: list[dict]) -> dict:
    """A shared page's decoded fields (``fields-data``): each section's tables as :func:`_fields_row` rows, with
    what repeats from one small session to the next listed once per page and named by its index: the lists of
    empty and shown columns (the same for every DNS exchange, say) in ``colsets``, the cell texts (``udp``,
    ``C_INTERNET``, ``NOERROR`` …) in ``values``, the most used first (the shortest indices; a row's own list of
    texts is then left out, ``null``), and the start all its times share (``2023-11-14 22:13:``) in ``time_head``
    (each table's times then start after it)."""
    colsets: dict[tuple, int] = {}
    values: dict[str, int] = {}
    uses: Counter = Counter()
    sessions = {}
    for x in sections:
        tables = []
        for r in x.get("fields_rows") or []:
            r = list(r)
            r[2], r[3] = (colsets.setdefault(tuple(r[i]), len(colsets)) for i in (2, 3))
            index = [values.setdefault(v, len(values)) for v in r[5]]
            r[5], r[6] = None, [[index[k] for k in row] for row in r[6]]
            uses.update(i for row in r[6] for i in row)
            tables.append(r)
        sessions[x["uid"]] = tables
    order = sorted(range(len(values)), key=lambda i: -uses[i])      # (stable: first seen first among equals)
    new = {old: k for k, old in enumerate(order)}
    texts = list(values)
    all_tables = [r for tables in sessions.values() for r in tables]
    head = os.path.commonprefix([r[4][0] for r in all_tables]) if all_tables else ""
    for r in all_tables:
        r[6] = [[new[i] for i in row] for row in r[6]]
        r[4] = [r[4][0][len(head):], r[4][1], r[4][2]]
    return {"colsets": [list(k) for k in colsets], "values": [texts[i] for i in order], "time_head": head,
            "sessions": sessions}


def _shared_events_data(sections: list[dict]) -> dict:
    """A shared page's decoded events (``events-data``): each section's events as :func:`_transcript_data`
    rows, their meanings listed once per page (``meanings``) and named by their index."""
    meanings: dict[str, int] = {}
    sessions = {x["uid"]: _transcript_data(x["events"], meanings) for x in sections if x.get("events")}
    return {"meanings": list(meanings), "sessions": sessions}


def _index_entry(item: tuple) -> Entry:
    """An index entry from what :meth:`_Report._index_pass` stored: (key, serial, tuple, page, events, href)."""
    e = Entry(item[2], item[3])
    e.events, e.href = item[4], item[5]
    return e


def _escape_text(v: Any) -> str:
    """``v`` as the templates write ``{{ v|line }}``: control characters made visible, then HTML-escaped."""
    return str(escape(printable(v, one_line=True)))


def _session_row(c: Entry, depth: int, n: int, t0: float) -> str:
    """Row ``n`` of the index's session table (``tr.srow``: the script filters the rows of a page by their
    ``data-proto``; the uid links the session's page, when it has one). Its cells carry no class: the style
    sheet aligns and sets them by column (``#stable td:nth-child``), a row a session is most of the index."""
    e = _escape_text
    uid = e(c.uid)
    link = f'<a href="sessions/{e(c.href)}">{uid}</a>' if c.href else uid or "–"
    svc, proto = e(c.service), e(c.proto)
    return (f'<tr class="srow" data-proto="{svc}"><td>{n}</td><td>{"↳ " if depth else ""}{link}</td><td>'
            f'<span class="pill" style="background:{_color(c.service)}">{svc or proto}</span> '
            f'<span class="muted">{proto}</span></td><td>{e(_ep(c.orig_h, c.orig_p))}</td>'
            f'<td>{e(_ep(c.resp_h, c.resp_p))}</td><td>{_rel((c.ts or t0) - t0)}</td><td>{_fmt_dur(c.duration or 0.0)}'
            f'</td><td>{_fmt_bytes(c.orig_bytes)}</td><td>{_fmt_bytes(c.resp_bytes)}</td><td>{e(c.conn_state)}</td>'
            f'<td>{_fmt_num(c.events)}</td></tr>\n')     # (times, sizes and counts: wiretale's own digits and units)


def _services(c: Counter) -> str:
    return ", ".join(f"{k} ×{v}" if v > 1 else k for k, v in c.most_common())


# ---------------------------------------------------------------------------- SVG helpers
def _nice_step(span: float, n: int = 8) -> float:
    if span <= 0:
        return 1.0
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _rel(t: float) -> str:
    a = abs(t)
    if a == 0:
        return "+0"
    if a < 0.001:
        return f"+{t * 1e6:.0f} µs"
    if a < 1:
        return f"+{t * 1000:.3g} ms"
    if a < 120:
        return f"+{t:.4g} s"
    if a < 7200:
        return f"+{t / 60:.1f} min"
    return f"+{t / 3600:.1f} h"


# ---------------------------------------------------------------------------- the report
class _Report:
    def __init__(self, col: ReportCollector, out: Path, summary: dict, show_secrets: bool,
                 transcripts: TranscriptHead | None = None, processes: int = 1) -> None:
        self.col = col
        self.processes = processes
        self.out = Path(out)
        self.transcripts = transcripts
        self.show = show_secrets
        self.summary = summary
        col.finish()
        self.probes = col.groups_of_probes()
        self.creds = col.creds
        self.masker = Masker(col.secrets(), show_secrets)
        self._parents = set(col.page_of.values())
        self._index_pass()
        self.env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True,
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                               auto_reload=False)
        self.env.filters.update(printable=printable, ts=_fmt_ts, dur=_fmt_dur, bytes=_fmt_bytes,
                                num=_fmt_num, value=_value, href=_href, color=_color,
                                line=lambda v: printable(v, one_line=True))
        self.env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "separators": (",", ":")}
        self.env.filters["tojson"] = _tojson
        self.env.globals.update(ep=_ep, MASK=MASK, LANES=LANES_PER_PAGE, page_href=self.page_href,
                                summary_version=str(self.summary.get("wiretale", "")))

    def _small(self, c: dict, events: int) -> bool:
        """A session that shares a page with others: no data connections, at most :data:`SMALL_EVENTS`
        events and :data:`SMALL_BYTES` bytes."""
        return (not c.get("parent_uid") and c["uid"] not in self._parents and events <= SMALL_EVENTS
                and int(c.get("orig_bytes") or 0) + int(c.get("resp_bytes") or 0) <= SMALL_BYTES)

    def _index_pass(self) -> None:
        """One pass over the sessions' index entries (in uid order, from the collector's store): each one's
        events and page (past :data:`SHARED_AT` pages, small sessions share pages, numbered in uid order: the
        order the page groups come back in, so one shared page is written at a time) go with it into a store
        sorted by start, which the index reads as it is written (:meth:`lane_order`); the capture's span;
        whether the sessions the index tables name have a page. Data connections (FTP data, TFTP transfers)
        wait in memory for their control session. Nothing kept per session: the collector's event counts
        are read beside the entries, both in uid order (:meth:`ReportCollector.entries_counted`)."""
        col = self.col
        referenced = {r.get("uid") for t in col.index_rows.values() for r in t}
        referenced.update(c.get("uid") for c in self.creds)
        referenced.update(u for g in col.anomalies.values() for u in g["uids"])
        referenced.discard(None)
        self._hrefs: dict[str, str] = {}             # uid of a session the index tables name → its page ("")
        n_pages = n_small = 0
        for (_, _, t, page), events in col.entries_counted():
            if page:
                n_pages += 1
                n_small += self._small(Entry(t, page), events)
        self.n_shared = math.ceil(n_small / SHARED_PER_PAGE) if n_pages > SHARED_AT else 0
        self.n_small = n_small
        part_of = getattr(col.sink, "part_of", None)   # a partitioned sink: renderers read their own partitions
        self._small_in: list[int] | None = [0] * col.sink.n_parts if part_of is not None else None  # type: ignore
        self._starts = col._store("index", SORT_KEY)  # ((start, first frame), serial, entry tuple, page, events, href)
        self.children: dict[str, list[Entry]] = defaultdict(list)
        kids: list[tuple] = []
        known_parents = set()
        n_roots = 0
        self.services: set[str] = set()
        t_lo, t_hi = math.inf, -math.inf
        small_i = 0
        for serial, ((_, _, t, page), events) in enumerate(col.entries_counted()):
            e = Entry(t, page)
            uid = e.uid
            e.events = events
            if page:
                if self.n_shared and self._small(e, e.events):
                    small_i += 1
                    e.href = f"shared-{1 + (small_i - 1) // SHARED_PER_PAGE}.html#{_href(uid)}"
                    if self._small_in is not None:
                        self._small_in[part_of(uid)] += 1
                else:
                    e.href = f"{_href(uid)}.html"
            if uid in referenced:
                self._hrefs[uid] = e.href
            if uid in self._parents or uid in col.parent_uids:
                known_parents.add(uid)
            self.services.add(e.service or "")
            ts = e.ts
            if ts is not None:
                t_lo = min(t_lo, ts)
            t_hi = max(t_hi, (ts or 0) + (e.duration or 0))
            item = ((ts or 0, e.first_frame or 0), serial, t, page, e.events, e.href)
            if e.parent_uid and e.parent_uid != uid:
                kids.append(item)
            else:
                self._starts.append(item)
                n_roots += 1
        for item in kids:         # a data connection under its control session, else a session of its own
            e = _index_entry(item)
            if e.parent_uid in known_parents:
                self.children[e.parent_uid].append(e)
            else:
                self._starts.append(item)
                n_roots += 1
        self.n_lanes = n_roots + len(kids)
        s = self.summary
        ts0 = [c["first_ts"] for c in s.get("captures", []) if c.get("first_ts") is not None]
        self.t0 = min(ts0 + ([t_lo] if t_lo != math.inf else [])) if (ts0 or t_lo != math.inf) else 0.0
        ts1 = [c["last_ts"] for c in s.get("captures", []) if c.get("last_ts") is not None]
        self.t1 = max(ts1 + ([t_hi] if t_hi != -math.inf else [])) if (ts1 or t_hi != -math.inf) else self.t0

    def page_href(self, uid: Any) -> str:
        """Where a session the index tables name has its page, relative to ``sessions/`` ("" when it has none)."""
        return self._hrefs.get(uid, "") if uid else ""

    # -------------------------------------------------------------- ordering
    def lane_order(self) -> Iterator[tuple[Entry, int]]:
        """Sessions in start order, each control session followed by its children (depth), read from the
        store sorted by start as they are used (one entry at a time, its data connections with it)."""
        seen: set[str] = set()

        def add(c: Entry, depth: int) -> Iterator[tuple[Entry, int]]:
            yield c, depth
            for ch in sorted(self.children.get(c.uid, ()), key=lambda r: r.get("ts") or 0):
                if ch.uid not in seen:
                    seen.add(ch.uid)
                    yield from add(ch, min(depth + 1, 3))

        for item in self._starts:
            yield from add(_index_entry(item), 0)
        rest = sorted((ch for lst in self.children.values() for ch in lst if ch.uid not in seen),
                      key=lambda r: (r.get("ts") or 0, r.get("first_frame") or 0))
        for ch in rest:           # cycles of parents: never lose a session
            if ch.uid not in seen:
                seen.add(ch.uid)
                yield from add(ch, 0)

    # -------------------------------------------------------------- index pieces
    def shown_service(self, c: dict) -> str:
        """The protocol a session is shown as: a decrypted TLS session as the protocol inside it."""
        t = self.col.tls.get(c.get("uid") or "")
        if t and t.get("decrypted") and t.get("inner") and not t.get("starttls"):
            return t["inner"]
        return c.get("service") or ""

    def tls_badge(self, c: dict) -> dict | None:
        """What the session page's badge says about TLS: the version, and whether and how it was decrypted."""
        t = self.col.tls.get(c.get("uid") or "")
        if not t:
            return None
        version = (t.get("version") or "TLS").replace("TLSv1", "TLS 1.")
        if t.get("decrypted"):
            text = f"{version} decrypted with the {t.get('decrypted_with') or 'session keys'}"
            if t.get("records_undecrypted"):
                text += f" ({t['records_undecrypted']} records could not be)"
        else:
            text = f"{version} encrypted: no key for this session, the inside is not decoded"
        if t.get("starttls"):
            text = f"{t['starttls'].upper()} STARTTLS, then {text}"
        return {"text": text, "decrypted": bool(t.get("decrypted")), "starttls": t.get("starttls")}

    def session_label(self, c: dict) -> str:
        """A lane's label: the protocol (a decrypted TLS session's inner one), the client, and the server by
        the name the traffic gave it (else its address); a DNS lane names its first question instead."""
        svc = self.shown_service(c) or c.get("proto") or "?"
        if c.get("uid") in self.col.tls and svc != c.get("service"):
            svc += " (TLS)"
        dns = self.col.dns_lanes.get(c["uid"])
        if dns and dns["query"]:
            more = f" (+{dns['count'] - 1})" if dns["count"] > 1 else ""
            return f"{svc} {dns['query']}{more}"
        name = self.col.names.first(c.get("resp_h"))
        server = _ep(name, c.get("resp_p")) if name else _ep(c.get("resp_h"), c.get("resp_p"))
        return f"{svc} {_ep(c.get('orig_h'), c.get('orig_p'))} → {server}"

    def lane_title(self, c: dict) -> str:
        """A lane's tooltip: both ends with the names the traffic gave them, and a DNS lane's answers."""
        ends = []
        for h, p in ((c.get("orig_h"), c.get("orig_p")), (c.get("resp_h"), c.get("resp_p"))):
            said = self.col.names.said(h)
            ends.append(_ep(h, p) + (f" [{said}]" if said else ""))
        text = f"{c.get('service') or c.get('proto') or '?'} {ends[0]} → {ends[1]}"
        dns = self.col.dns_lanes.get(c["uid"])
        if dns:
            text += f" · question {dns['query'] or '(none)'}; answers: {', '.join(dns['answers']) or 'none'}"
        return text

    def lanes(self) -> tuple[list[dict], str]:
        """The timeline's lanes: one per scan or flood, then one per session, or, past
        :data:`LANE_GROUP_AT` sessions, one per group of sessions (client and server and protocol; when
        that still makes more than :data:`MAX_LANES` groups, server and protocol; then protocol), each
        group expanding to its sessions in the list below. Returns the lanes and how they are grouped.
        Groups are counted in one pass over the sessions, each way of grouping dropped once it passes
        :data:`MAX_LANES` (the protocol, the last, is kept whatever its count)."""
        out = [{"kind": "probe", "gid": f"p{i}", "service": "", "ts": g.first_ts, "end": g.last_ts,
                "label": g.label(), "depth": 0, "events": 0, "uid": "", "n": g.count, "href": "#scans",
                "title": g.label() + " (no application data; the list is under Scans and floods)"}
               for i, g in enumerate(self.probes)]
        self._grp: tuple[Callable[[Entry], tuple], dict[tuple, str]] | None = None
        if self.n_lanes <= LANE_GROUP_AT:
            for c, depth in self.lane_order():
                out.append({"kind": "session", "c": c, "uid": c.uid, "service": self.shown_service(c),
                            "ts": c.ts, "end": (c.ts or 0) + (c.duration or 0), "href": c.href and "sessions/" + c.href,
                            "label": ("↳ " if depth else "") + self.session_label(c), "depth": depth,
                            "events": c.events, "n": 1,
                            "title": f"{self.lane_title(c)} · {c.uid} · "
                                     f"{_fmt_bytes((c.orig_bytes or 0) + (c.resp_bytes or 0))}"})
            return out, ""
        keys = (("client, server and protocol", lambda c: (c.orig_h, c.resp_h, c.service)),
                ("server and protocol", lambda c: (None, c.resp_h, c.service)),
                ("protocol", lambda c: (None, None, c.service)))
        levels: list[dict | None] = [{}, {}, {}]
        for c, _ in self.lane_order():
            ts, end = c.ts or 0, (c.ts or 0) + (c.duration or 0)
            for i, (_, key) in enumerate(keys):
                groups = levels[i]
                if groups is None:
                    continue
                k = key(c)
                g = groups.get(k)
                if g is None:
                    if len(groups) >= MAX_LANES and i < len(keys) - 1:
                        levels[i] = None
                        continue
                    g = groups[k] = {"n": 0, "ts": ts, "end": end, "events": 0, "clients": set()}
                g["n"] += 1
                g["ts"], g["end"] = min(g["ts"], ts), max(g["end"], end)
                g["events"] += c.events
                if k[0] is None:
                    g["clients"].add(c.orig_h)
        i = next(i for i, g in enumerate(levels) if g is not None)
        how, key = keys[i]
        groups = levels[i]
        assert groups is not None
        gids: dict[tuple, str] = {}
        for n, ((o, r, svc), g) in enumerate(groups.items()):
            gids[(o, r, svc)] = f"g{n}"
            n_cl = len(g["clients"])
            who = str(o) if o is not None else f"{n_cl:,} client{'s' if n_cl != 1 else ''}"
            label = (f"{svc or 'unrecognised'} {who} → {r if r is not None else 'servers'} "
                     f"({g['n']:,} session{'s' if g['n'] != 1 else ''})")
            out.append({"kind": "group", "gid": f"g{n}", "service": svc or "", "uid": "", "href": "#sessions",
                        "ts": g["ts"], "end": g["end"], "label": label, "depth": 0, "n": g["n"],
                        "events": g["events"], "title": label + " · click to list them"})
        self._grp = (key, gids)
        return out, how

    def timeline_svg(self, lanes: list[dict]) -> dict:
        width, label_w, right = 1160, 360, 14
        x0, x1 = label_w + 10, width - right
        lane_h, top = 18, 34
        t0 = self.t0
        span = max(self.t1 - t0, 1e-6)   # (t0 + 1e-6 == t0 past 2242: floats are that coarse there)
        scale = (x1 - x0) / span
        step = _nice_step(span)
        ticks = []
        k = 0
        unit, div = ("h", 3600.0) if span >= 7200 else ("min", 60.0) if span >= 120 else ("s", 1.0)
        if span < 1:
            unit, div = "ms", 0.001
        while k * step <= span * 1.0001 and k < 40:
            x = x0 + k * step * scale
            if x <= x1 - 24 or k == 0:
                v = k * step / div
                ticks.append({"x": round(x, 1), "label": f"+{v:.3g} {unit}" if k else "0"})
            k += 1
        out = []
        for i, lane in enumerate(lanes):
            s = (lane["ts"] or t0) - t0
            d = max((lane["end"] or t0) - t0 - s, 0.0)
            bx = x0 + s * scale
            bw = max(d * scale, 3.0)
            if bx + bw > x1 + 1:
                bx = max(x0, x1 - bw)
            uid = lane["uid"]
            ticks_ev = [round(x0 + ((ts or t0) - t0) * scale, 1)
                        for ts in self.col.ticks.get(uid, ())[:EVENT_TICKS]] if uid else []
            notes = [{"x": round(x0 + ((n.get("ts") or t0) - t0) * scale, 1), "frame": n.get("frame"),
                      "text": n.get("text") or ""} for n in self.col.notes.get(uid, ())] if uid else []
            out.append(dict(lane, y=top + i * lane_h, bx=round(bx, 1), bw=round(bw, 1), notes=notes,
                            t0f=round(s / span, 6), t1f=round((s + d) / span, 6), ticks=ticks_ev,
                            color=_color(lane["service"]) if lane["kind"] != "probe" else PROBE_COLOR,
                            start=_rel(s), dur=_fmt_dur(d)))
        height = top + max(len(lanes), 1) * lane_h + 8
        return {"width": width, "height": height, "label_w": label_w, "x0": x0, "x1": x1, "top": top,
                "lane_h": lane_h, "ticks": ticks, "lanes": out, "span": span}

    def session_rows(self, order: Iterable[tuple[Entry, int]], start: int) -> Markup:
        """The rows of one index page's session table (numbered from ``start`` + 1), made here rather than by
        the template: a jinja row cost about 20 times as much, and every session of the capture is a row of
        some page. Every text goes through :func:`_escape_text` (the template's ``|line`` and autoescape)."""
        t0 = self.t0
        return Markup("".join(_session_row(c, depth, start + i, t0) for i, (c, depth) in enumerate(order, 1)))

    def session_data(self) -> Iterator[Markup]:
        """Every session (not the members of scans and floods) as one tab-separated line, for the index's
        script to filter, sort and search: uid, protocol, transport, client, server, start (s), duration
        (s), bytes from the client, from the server, state, events, its page (``=``: its own, ``sessions/<uid>.html``;
        ``N``: shared page N, ``sessions/shared-N.html#<uid>``; empty: none), depth, lane group, each as
        :func:`printable` shows it on one line (as the rows do).
        The lines are made as the page is written, :data:`DATA_CHUNK` at a time, each chunk escaped once (lines
        are separated by newlines), from the sessions read in lane order, never all at once."""
        t0 = self.t0
        key, gids = self._grp if self._grp else (None, {})
        lines: list[str] = []
        sep = ""
        for c, depth in self.lane_order():
            href = c.href
            page = "" if not href else href[7:href.index(".")] if href.startswith("shared-") else "="
            f = (c.uid, c.service or "", c.proto or "", _ep(c.orig_h, c.orig_p), _ep(c.resp_h, c.resp_p),
                 f"{(c.ts or t0) - t0:.6f}", f"{c.duration or 0:.6f}", c.orig_bytes or 0, c.resp_bytes or 0,
                 c.conn_state or "", c.events, page, depth, gids.get(key(c), "") if key else "")
            lines.append("\t".join(printable(x, one_line=True) for x in f))   # (no tab, newline or control)
            if len(lines) == DATA_CHUNK:
                yield escape(sep + "\n".join(lines))
                lines, sep = [], "\n"
        if lines:
            yield escape(sep + "\n".join(lines))

    def protocol_mix(self) -> dict:
        sessions, nbytes = self.col.mix_sessions, self.col.mix_bytes
        names = sorted(sessions, key=lambda n: (-sessions[n], n))
        smax = max(sessions.values(), default=1) or 1
        bmax = max(nbytes.values(), default=1) or 1
        bar_w = 330
        rows = []
        for i, n in enumerate(names):
            rows.append({"name": n, "sessions": sessions[n], "bytes": nbytes[n], "y": 30 + i * 26,
                         "sw": round(max(sessions[n] / smax * bar_w, 2), 1),
                         "bw": round(max(nbytes[n] / bmax * bar_w, 2 if nbytes[n] else 0), 1),
                         "color": COLORS.get(n, OTHER_COLOR)})
        return {"rows": rows, "height": 40 + len(rows) * 26, "bar_w": bar_w}

    def hosts(self) -> tuple[list[dict], list[dict], int, int]:
        hl = sorted(self.col.hosts.items(), key=lambda kv: -(kv[1][2] + kv[1][3]))[:HOST_ROWS]
        pl = sorted(self.col.pairs.items(), key=lambda kv: (-kv[1][0], -kv[1][1]))[:HOST_ROWS]
        hl = [{"host": h, "client": c, "server": sv, "sent": sent, "received": recv,
               "services": _services(services_of(svc, c + sv)), "names": self.col.names.of(h)}
              for h, (c, sv, sent, recv, svc) in hl]
        pl = [{"client": o, "server": r, "sessions": n, "bytes": b, "services": _services(services_of(svc, n))}
              for (o, r), (n, b, svc) in pl]
        return hl, pl, len(self.col.hosts), len(self.col.pairs)

    def anomaly_groups(self) -> list[dict]:
        out = sorted(self.col.anomalies.values(), key=lambda g: (-g["count"], g["name"]))
        return [dict(g, details=[self.masker.text(d) for d in g["details"]],
                     uids=[u for u in g["uids"] if u in self._hrefs],
                     explanation=_meanings.explain_anomaly(g["name"])) for g in out]

    def cred_rows(self, creds: list[dict]) -> list[dict]:
        out = []
        for c in creds:
            sec = c.get("secret")
            out.append(dict(c, shown_secret=(sec if self.show else (MASK if sec else "")),
                            has_session=c.get("uid") in self._hrefs))
        return out

    # -------------------------------------------------------------- pages
    def write(self) -> Path:
        """The session pages first, the index pages last: a report stopped part-way has no index
        linking pages that were never written."""
        (self.out / "sessions").mkdir(parents=True, exist_ok=True)
        self.write_assets()
        self.write_sessions()
        self._write_index()
        return self.out / "index.html"

    def write_assets(self) -> None:
        """``OUT/assets/``: the one style sheet and the one script every page of the report links (CSP
        ``'self'``: a page's own folder tree; no inline script runs), and ``help.html``: how to read each
        card and the TCP history letters, said once per report (``help_texts.html``). Pages carry a link to
        their paragraph there; the script, which carries the same texts (its ``REPORT`` line, with the TCP
        control packets' meanings that a page's list names by number), puts the paragraph back."""
        (self.out / ASSETS).mkdir(parents=True, exist_ok=True)
        texts = self.help_texts()
        said = {"help": texts, "letters": dict(_meanings.HISTORY), "tcp": list(_meanings.TCP_CONTROL.values())}
        for name in ASSET_FILES:
            text = (TEMPLATES / ASSETS / name).read_text(encoding="utf-8")
            if name == "wiretale.js":
                assert _REPORT_LINE in text
                text = text.replace(_REPORT_LINE, f"var REPORT = {_tojson(said)};", 1)
            write_text_replacing(self.out / ASSETS / name, text)
        write_text_replacing(self.out / ASSETS / "help.html", self.env.get_template("help.html").render(
            cards=HELP_CARDS, texts=texts, history=list(_meanings.HISTORY.items()), assets=""))

    def help_texts(self) -> dict[str, str]:
        """The help paragraphs (``help_texts.html``, rendered for this report's ``--show-secrets``), by key."""
        module = self.env.get_template("help_texts.html").make_module({"show_secrets": self.show})
        return {key: str(getattr(module, key)) for key, _ in HELP_CARDS}

    def _write_index(self) -> None:
        (self.out / "sessions").mkdir(parents=True, exist_ok=True)
        gc.collect()      # (what the session pages left in cycles: the index's pages reuse that memory)
        lanes, grouped_by = self.lanes()
        n = self.n_lanes
        page_names = ["index.html"] + [f"index-{i}.html" for i in range(2, math.ceil(n / LANES_PER_PAGE) + 1)]
        services = sorted(self.services)
        common = self.index_common()
        tpl = self.env.get_template("index.html")
        order = self.lane_order()
        for no, name in enumerate(page_names):
            first = no == 0
            html = tpl.generate(     # written as it is rendered: the first page lists every session
                first=first, page_no=no + 1, pages=page_names, page_start=no * LANES_PER_PAGE,
                total_sessions=n, timeline=self.timeline_svg(lanes) if first else None,
                grouped_by=grouped_by, rows=self.session_rows(islice(order, LANES_PER_PAGE), no * LANES_PER_PAGE),
                data=self.session_data() if first and n else (), services=services,
                probes=[{"g": g, "gid": f"p{i}", "targets": g.target_rows(),
                         "members": [dict(m, start=_rel((m.get("ts") or self.t0) - self.t0)) for m in g.members],
                         "states": ", ".join(f"{k} ×{v:,}" for k, v in g.states.most_common())}
                        for i, g in enumerate(self.probes)] if first else [],
                scan_min=SCAN_MIN, show_secrets=self.show, assets=f"{ASSETS}/", **common)
            write_text_replacing(self.out / name, html)
            # a page's render leaves reference cycles (jinja's context and macros); under the command line's
            # collector settings (decoder.gcpolicy: a young pass every 50,000 allocations) they outlived their
            # page and piled up, 22 MB over the 160 pages of 40,000 sessions: freed here, page by page
            gc.collect(1)

    def write_index(self) -> Path:
        """Only the index pages (the 10 000-session size check uses it)."""
        self.write_assets()
        self._write_index()
        return self.out / "index.html"

    def write_sessions(self) -> None:
        """A page per session group (a session and its data connections) as the collector gives them back, in
        uid order; past :data:`SHARED_AT` pages, small sessions as sections of shared pages, one shared page
        held at a time (numbered as :meth:`_index_pass` numbered them). With ``processes`` > 1 (``read
        --workers``) and ``fork``, the pages are rendered by that many forked processes (:meth:`_render_in`)
        while this one reads the groups back; the files are the same either way."""
        units = self._page_units()
        if self.processes > 1 and _fork_context() is not None:
            if self._small_in is not None:       # each renderer reads its partitions' groups: none handed over
                units = iter(self._tasks(self.processes))    # type: ignore[arg-type]
            if self._render_in(self.processes, units):
                return
            units = self._page_units()       # a renderer died (not expected): this process writes them all
        for unit in units:
            self._render(*unit)

    def _page_units(self, first: int = 0, end: int | None = None, small_before: int = 0
                    ) -> Iterator[tuple[int, list]]:
        """What is rendered into one file: ``(0, [(conn, group)])``, a session's own page, or ``(k, [(conn,
        group), …])``, shared page ``k`` with its sections in order. With ``end``: those of the page groups of
        the sink's partitions ``first`` to ``end`` (a renderer's task, :meth:`_tasks`; ``small_before``: the
        small sessions of the partitions before), but the sections of a shared page begun before them (the task
        before writes it), and with those of its last shared page that the partitions after hold."""
        shared: list[tuple[dict, SessionGroup]] = []
        shared_no, small_i = 0, small_before
        begun = -(-small_before // SHARED_PER_PAGE)     # shared pages begun in the partitions before
        for g in self.col.groups(None if end is None else range(first, end)):
            for c in g.conns:         # (sessions with a page: the collector keeps no conn row of the others)
                if self.n_shared and self._small(c, g.count("timeline", c["uid"])):
                    small_i += 1
                    k = 1 + (small_i - 1) // SHARED_PER_PAGE
                    if k <= begun:
                        continue
                    if k != shared_no and shared:
                        yield shared_no, shared
                        shared = []
                    shared_no = k
                    shared.append((c, g))
                    continue
                yield 0, [(c, g)]
        want = min(shared_no * SHARED_PER_PAGE, self.n_small)
        if shared and end is not None and small_i < want:     # the rest of its last shared page: read on
            for g in self.col.groups(range(end, self.col.sink.n_parts)):   # type: ignore[attr-defined]
                for c in g.conns:
                    if small_i < want and self._small(c, g.count("timeline", c["uid"])):
                        small_i += 1
                        shared.append((c, g))
                if small_i >= want:
                    break
        if shared:
            yield shared_no, shared

    def _tasks(self, n: int) -> list[tuple[int, int, int]]:
        """The renderers' tasks over a partitioned sink: ``(first, end, small sessions before first)`` for runs of
        partitions, about four per renderer (each reads on past its end until its last shared page is whole:
        usually into one partition more)."""
        counts = self._small_in or []
        step = max(1, len(counts) // (4 * n))
        tasks, before = [], 0
        for a in range(0, len(counts), step):
            b = min(a + step, len(counts))
            tasks.append((a, b, before))
            before += sum(counts[a:b])
        return tasks

    def _render(self, shared_no: int, members: list[tuple[dict, SessionGroup]]) -> None:
        """Write one unit of :meth:`_page_units` (a shared page's ``members`` are taken off their list)."""
        version = str(self.summary.get("wiretale", ""))
        if shared_no:
            # members are taken off the list as their sections are made: a group's rows (its tables' dicts)
            # are freed once its section is made, not held with all 100 until the page is written
            sections = []
            members.reverse()
            while members:
                c, g = members.pop()
                try:
                    sections.append(self.session_context(c, g, small=True))
                except Exception as e:  # one bad session must not lose the report
                    sections.append({"c": c, "uid": c["uid"], "error": f"{type(e).__name__}: {e}"})
                del g
            common = _common_notes(sections)
            write_text_replacing(self.out / "sessions" / f"shared-{shared_no}.html", _shared_html(
                sections, [self._views_html(s.get("views") or ()) for s in sections], common, shared_no,
                self.n_shared, _shared_fields_data(sections), _shared_events_data(sections), version))
            return
        [(c, g)] = members
        try:
            x = self.session_context(c, g)
            html = _session_html(x, self._views_html(x["views"]), version)
        except Exception as e:  # one bad session must not lose the report
            html = self.env.get_template("error.html").render(c=c, error=f"{type(e).__name__}: {e}")
        write_text_replacing(self.out / "sessions" / f"{c['uid']}.html", html)

    def _views_html(self, views_: Iterable[dict]) -> str:
        """A session's views (:mod:`reports.views`), each its template's section (a few sessions have one)."""
        return "".join(self.env.get_template(v["template"]).render(view=v["view"], show_secrets=self.show)
                       for v in views_)

    def _render_in(self, n: int, units: Iterator[tuple[int, list]]) -> bool:
        """Hand the units to ``n`` forked renderers through a bounded queue (memory: a few batches in flight),
        groups as plain data (:func:`_group_state`), or the tasks of :meth:`_tasks` (each renderer then reads its
        groups from the sink's partitions: the rows are not pickled a second time); False if a renderer did
        not end well."""
        ctx = _fork_context()
        for name in (*PAGE_TEMPLATES, *(v.template for v in views.VIEWS)):   # compiled here, once, not by each
            self.env.get_template(name)
        todo = ctx.Queue(maxsize=n)     # a batch waiting for each renderer: memory holds a few batches at most
        workers = [ctx.Process(target=self._renderer, args=(todo,), daemon=True) for _ in range(n)]
        gc.freeze()      # what exists now is shared with the renderers: their collector leaves it alone (no copy)
        try:
            for w in workers:
                w.start()
        finally:
            gc.unfreeze()
        whole = False
        try:
            batch: list = []
            size = 0
            for unit in units:
                if len(unit) == 3:           # a task (_tasks): the renderer reads its groups itself
                    if not _hand_over(todo, unit, workers):
                        return False
                    continue
                shared_no, members = unit
                batch.append((shared_no, [(c, _group_state(g)) for c, g in members]))
                size += len(members)
                if size >= _RENDER_BATCH:
                    if not _hand_over(todo, batch, workers):
                        return False
                    batch, size = [], 0
            for item in ([batch] if batch else []) + [None] * n:
                if not _hand_over(todo, item, workers):
                    return False
            for w in workers:
                w.join()
            whole = True
        finally:
            if not whole:     # stopped, or the renderers are gone: what the queue holds is never read
                todo.cancel_join_thread()
                for w in workers:
                    if w.is_alive():
                        w.terminate()
                    w.join()
            todo.close()
        return all(w.exitcode == 0 for w in workers)

    def _renderer(self, todo: Any) -> None:
        """A forked renderer: the batches of units of ``todo`` until ``None``. Ctrl-C is the ``read`` process's
        to handle (it ends the renderers); a stop ends a renderer quietly, without a traceback."""
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)
        for name in ("SIGTERM", "SIGHUP"):
            if hasattr(signal, name):
                signal.signal(getattr(signal, name), signal.SIG_DFL)
        while (batch := todo.get()) is not None:
            if isinstance(batch, tuple):       # a task: (first, end, small before) of _tasks
                for unit in self._page_units(*batch):
                    self._render(*unit)
                continue
            for shared_no, members in batch:
                self._render(shared_no, [(c, _group_from(state)) for c, state in members])

    def index_common(self) -> dict:
        s = self.summary
        hosts, pairs, nh, np_ = self.hosts()
        files = self.col.index_rows["files"]
        emails = self.col.index_rows["emails"]
        dns = self.col.index_rows["dns"]
        http = self.col.index_rows["http"]
        counts = self.col.counts
        creds = self.cred_rows(self.creds)
        pk = s.get("packets", {})
        kinds = [{"kind": k, "count": v, "explanation": _meanings.explain_packet_kind(k)}
                 for k, v in sorted((pk.get("by_kind") or {}).items(), key=lambda kv: -kv[1])]
        limits = s.get("limits") or {}
        limits_hit = []
        for name, n in (s.get("limits_hit") or {}).items():
            limits_hit.append({"name": name, "count": n, "explanation": _meanings.explain_anomaly(name)})
        caps = []
        for c in s.get("captures", []):
            caps.append(dict(c, linknames=", ".join(_meanings.LINKTYPES.get(l, f"link type {l}")
                                                   for l in c.get("linktypes", [])),
                             span=((c.get("last_ts") or 0) - (c.get("first_ts") or 0))
                             if c.get("first_ts") is not None else None))
        return {
            "summary": s, "captures": caps, "t0": self.t0, "t1": self.t1, "mix": self.protocol_mix(),
            "hosts": hosts, "pairs": pairs, "n_hosts": nh, "n_pairs": np_, "unlisted": self.col.unlisted,
            "creds": creds[:TABLE_ROWS], "n_creds": counts["credentials"],
            "files": files[:TABLE_ROWS], "n_files": counts["files"],
            "emails": [self.masked_row(e) for e in emails[:TABLE_ROWS]], "n_emails": counts["emails"],
            "dns": dns[:TABLE_ROWS], "n_dns": counts["dns"],
            "http": [self.masked_row(h) for h in http[:TABLE_ROWS]], "n_http": counts["http"],
            "anomalies": self.anomaly_groups(), "n_anomalies": counts["anomalies"],
            "comments": [dict(r, at=_rel(r["ts"] - self.t0) if r.get("ts") is not None else "")
                         for r in self.col.index_rows["comments"]], "n_comments": counts["comments"],
            "kinds": kinds, "packets": pk, "limits_hit": limits_hit, "limits": limits,
            "errors": s.get("errors") or [], "table_rows": TABLE_ROWS,
            "colors": COLORS, "other_color": OTHER_COLOR,
        }

    def masked_row(self, r: dict) -> dict:
        """``r`` with its secrets hidden; its texts searched only when one search of the whole row
        (:meth:`Masker.row_hits`) says a secret may be in them."""
        if self.show:
            return r
        search = self.masker.row_hits(r)
        return {k: self.masker.value(k, v, search) for k, v in r.items()}

    # -------------------------------------------------------------- session page
    def _child_flipped(self, parent: dict, child: dict, g: SessionGroup) -> bool:
        """True when the child's originator is on the parent's server side."""
        po, pr = (parent.get("orig_h"), parent.get("orig_p")), (parent.get("resp_h"), parent.get("resp_p"))
        co, cr = (child.get("orig_h"), child.get("orig_p")), (child.get("resp_h"), child.get("resp_p"))
        if cr == po or co == pr:
            return True
        if co == po or cr == pr:
            return False
        if child.get("orig_h") != child.get("resp_h"):
            if child.get("orig_h") == parent.get("resp_h") and child.get("orig_h") != parent.get("orig_h"):
                return True
            if child.get("orig_h") == parent.get("orig_h"):
                return False
        for name in g.tables():   # an FTP data_channel saying passive or not
            if name in ENGINE_TABLES:
                continue
            for r in g.get(name, parent["uid"]):
                dc = r.get("data_channel")
                if isinstance(dc, dict) and dc.get("uid") == child["uid"] and "passive" in dc:
                    return not dc["passive"]
        return False

    def transfer_caption(self, uid: str, control_uid: str, g: SessionGroup) -> str:
        """What a transfer moved, from the ``files`` row of flow ``uid`` and, for FTP, the command of
        ``control_uid`` that used it: "zip archive, 333,580 bytes: IP and ICMP Statistics.zip", or
        "directory listing (LIST -a), 193 bytes"; empty when no object was kept."""
        files = [f for f in g.get("files", uid) if not f.get("parent_fuid")]
        if not files:
            return ""
        f = max(files, key=lambda r: r.get("seen_bytes") or 0)
        size = f.get("seen_bytes") or 0
        cmd = next((r for r in g.get("ftp", control_uid)
                    if isinstance(r.get("data_channel"), dict) and r["data_channel"].get("uid") == uid), None)
        if cmd is not None and cmd.get("command") in ("LIST", "NLST", "MLSD"):
            arg = f" {cmd['arg']}" if cmd.get("arg") else ""
            cap = f"directory listing ({cmd['command']}{arg}), {size:,} bytes"
        else:
            cap = describe_object(f.get("sniffed_mime_type") or f.get("mime_type"), size, f.get("filename"))
        if f.get("complete") is False:
            cap += f" (incomplete: {f.get('close_reason') or 'bytes missing'})"
        return cap

    def ladder(self, c: dict, g: SessionGroup, kids: list[dict], said: list[str]) -> dict:
        """The ladder diagram's arrows (``said``: the session's events' summaries, masked)."""
        uid = c["uid"]
        items = []   # (ts, side_from_left: bool, text, meaning, frame, child uid or None, kind)
        own_caption = None
        for i, e in enumerate(g.get("timeline", uid)):
            meaning = e.get("meaning") or ""
            if e.get("kind") in _TRANSFER_ENDS:     # a transfer on the request's own flow (TFTP from port 69)
                if own_caption is None:
                    own_caption = self.transfer_caption(uid, c.get("parent_uid") or uid, g)
                meaning = own_caption or meaning
            items.append({"ts": e.get("ts") or 0, "ltr": e.get("direction") == "orig",
                          "text": said[i], "meaning": meaning,
                          "frame": e.get("frame"), "child": None, "kind": e.get("kind") or "",
                          "dir": e.get("direction"), "ev": i})
        for ch in kids:
            flipped = self._child_flipped(c, ch, g)
            cu = ch["uid"]
            svc = ch.get("service") or ch.get("proto")
            opener_ltr = not flipped
            seen_open = ch.get("proto") != "tcp" or any(x in (ch.get("history") or "") for x in "SsHh")
            items.append({"ts": ch.get("ts") or 0, "ltr": opener_ltr, "child": cu, "kind": "open",
                          "text": f"{svc} connection {'opens' if seen_open else 'seen (handshake not captured)'}: "
                                  f"{_ep(ch.get('orig_h'), ch.get('orig_p'))} → {_ep(ch.get('resp_h'), ch.get('resp_p'))}",
                          "meaning": "a separate connection for the data, announced on this control session" + (
                              "" if seen_open else "; the capture began after its SYNs, so who opened it is "
                                                   "taken from the announcement"),
                          "frame": ch.get("first_frame"), "dir": "orig"})
            caption = self.transfer_caption(cu, uid, g)
            for e in g.get("timeline", cu):
                ltr = (e.get("direction") == "orig") != flipped
                meaning = e.get("meaning") or ""
                if caption and e.get("kind") in _TRANSFER_ENDS:
                    meaning = caption
                items.append({"ts": e.get("ts") or 0, "ltr": ltr, "child": cu, "kind": e.get("kind") or "",
                              "text": self.masker.text(e.get("summary") or ""), "meaning": meaning,
                              "frame": e.get("frame"), "dir": e.get("direction")})
            end = (ch.get("ts") or 0) + (ch.get("duration") or 0)
            items.append({"ts": end, "ltr": opener_ltr, "child": cu, "kind": "close",
                          "text": f"{svc} connection ends: {_fmt_num(ch.get('orig_bytes') or 0)} B → / "
                                  f"{_fmt_num(ch.get('resp_bytes') or 0)} B ← ({ch.get('conn_state') or ''})",
                          "meaning": f"the data connection is over: {caption}" if caption else
                                     "the data connection is over",
                          "frame": ch.get("last_frame"), "dir": "orig"})
        for n in g.get("comments", uid):    # pcapng packet comments, at their packet
            items.append({"ts": n.get("ts") or 0, "ltr": True, "child": None, "kind": "comment", "dir": None,
                          "text": n.get("text") or "", "meaning": "", "frame": n.get("frame"), "comment": True})
        for t in g.get("tcp_control", uid):  # thin arrows: the handshake and the teardown
            flags = t.get("flags") or ""
            items.append({"ts": t.get("ts") or 0, "ltr": t.get("direction") == "orig", "child": None, "kind": "tcp",
                          "text": flags, "meaning": _meanings.TCP_CONTROL.get(flags, ""), "frame": t.get("frame"),
                          "dir": t.get("direction"), "tcp": True})
        items.sort(key=frame_order)
        total = len(items)
        items = items[:LADDER_EVENTS]
        width, lx, rx = 980, 220, 820
        top, step, thin = 96, 46, 26
        start = c.get("ts") or (items[0]["ts"] if items else 0)
        prev = None
        prev_item = None
        udp = c.get("proto") == "udp"
        y = top
        after_thin = False
        for it in items:
            if after_thin and not it.get("tcp"):
                y += step - thin - 6      # room for the labels above a full arrow
            it["y"] = y
            after_thin = bool(it.get("tcp"))
            y += thin if after_thin else step
            it["rel"] = _rel(it["ts"] - start)
            dt = None if prev is None else it["ts"] - prev
            it["dt"] = "" if dt is None or it.get("tcp") else "Δ " + _fmt_dur(dt)
            if (udp and prev_item is not None and not it["child"] and not prev_item["child"]
                    and prev_item.get("dir") == "orig" and it.get("dir") == "resp"):
                it["dt"] = "RTT " + _fmt_dur(dt)
            if not it.get("comment") and not it.get("tcp"):    # Δ: between the protocol's own arrows
                prev, prev_item = it["ts"], it
            it["x1"], it["x2"] = (lx, rx) if it["ltr"] else (rx, lx)
            t = printable(it["text"], one_line=True)
            it["full"] = t
        height = max(y, top + step) + 20
        rows = [_ladder_row(it) for it in items]
        meanings: dict[str, int] = {}
        for r in rows:    # each meaning once (the TCP arrows' and the protocol's repeat): rows name it by index
            r[6] = meanings.setdefault(r[6], len(meanings))
        return {"arrows": items, "rows": rows, "evs": [it.get("ev") for it in items], "text": rows[:LADDER_TEXT],
                "meanings": list(meanings), "total": total, "width": width,
                "lx": lx, "rx": rx, "height": height, "top": top, "step": step, "thin": thin,
                "label": LADDER_LABEL, "shown": len(items), "kids": kids,
                "tcp": any(it.get("tcp") for it in items)}

    def notes(self, c: dict, chunks: list, g: SessionGroup) -> list[str]:
        n = []
        svc = c.get("service")
        # (a UDP flow's note, the same for every one, is help_texts.html's "udp", linked by the page)
        if c.get("roles_guessed"):
            n.append(f"No connection set-up (SYN) was seen: the capture started in the middle of the "
                     f"connection, so wiretale guessed the roles from the port numbers (server port "
                     f"{c.get('resp_p')}).")
        if "^" in (c.get("history") or ""):
            n.append("The first packet seen came from the server side; the roles were flipped so that the "
                     "client is on the left.")
        state = c.get("conn_state")
        if state and state in _meanings.CONN_STATES and c.get("proto") == "tcp":
            n.append(f"Connection state {state}: {_meanings.CONN_STATES[state]}.")
        if c.get("missed_bytes"):
            n.append(f"{_fmt_num(c['missed_bytes'])} bytes are missing from the capture "
                     f"({_fmt_num(c.get('gaps') or 0)} gap(s)). They were never filled with zeros: "
                     "the decoder was told about each hole and skipped over it.")
        # gap offsets from the transcript
        off = [0, 0]
        listed = 0
        for d, kind, ts, frame, length, data in chunks:
            if kind == 0:
                off[d] += length
            elif kind == 1:
                if listed < 10:
                    who = "client → server" if d == 0 else "server → client"
                    n.append(f"{_fmt_num(length)} bytes missing {who} at offset {_fmt_num(off[d])} "
                             f"(noticed at frame {frame}).")
                listed += 1
                off[d] += length
            elif kind == 2:
                who = "client" if d == 0 else "server"
                n.append(f"The transcript view keeps the first part of each direction; "
                         f"{_fmt_num(length)} more bytes from the {who} are not shown (the decoders saw them all).")
        if listed > 10:
            n.append(f"… and {listed - 10} more gaps.")
        if c.get("retransmissions"):
            n.append(f"{_fmt_num(c['retransmissions'])} segment(s) were sent again (retransmissions); the "
                     "duplicate bytes were dropped.")
        if c.get("out_of_order"):
            n.append(f"{_fmt_num(c['out_of_order'])} segment(s) arrived out of order and were put back in "
                     "sequence before decoding.")
        for a in g.get("anomalies", c["uid"]):
            if a.get("name") == "tcp_overlap_differs":
                n.append("A retransmission carried different bytes than the first copy; the first copy was kept "
                         "(as most operating systems do).")
                break
        if c.get("parent_uid"):
            n.append(f"This connection was announced by session {c['parent_uid']} (its control session); "
                     "wiretale matched it by the announced address and port.")
        if c.get("nat"):
            n.append("It matched by port only: the address announced inside the protocol differs from the "
                     "real one (NAT).")
        if not svc:
            n.append("wiretale did not recognise the protocol of this flow, so only the raw bytes are shown.")
        reason = c.get("close_reason")
        if reason:
            n.append(f"{_CLOSED}{reason}.")
        return n

    def raw_view(self, c: dict, chunks: list, events: list | None = None) -> dict:
        """The text and hex views: the first :data:`VIEW_BYTES` of each direction (``chunks`` hold no
        more), masked, as compact rows (:func:`_raw_row`: text or base64) from which the page's script draws both views
        (a shared page's section: the text view) with ``printable``'s rules (``wiretale.js``)."""
        blobs = [b"".join(x[5] for x in chunks if x[0] == d and x[1] == 0) for d in (0, 1)]
        ranges = [self.masker.ranges(b) for b in blobs]
        secret = _secret_frames(events) if events and not self.show else set()
        pos = [0, 0]
        start = c.get("ts") or 0
        raw = []
        for d, kind, ts, frame, length, data in chunks:
            if kind == 1:
                raw.append({"dir": d, "gap": length, "ts": _rel(ts - start), "frame": frame, "text": ""})
                continue
            if kind != 0:
                continue
            masked = _apply_ranges(data, pos[d], ranges[d]) if not (d == 0 and frame in secret) \
                else b"*" * len(data)
            pos[d] += len(data)
            last = raw[-1] if raw else None
            if last is not None and not last["gap"] and last["dir"] == d:    # one block per run of one side
                last["data"] += masked
                last["len"] += length
                last["cut"] = last["cut"] or len(data) < length
                last["last_frame"] = frame
                last["segments"] += 1
                continue
            raw.append({"dir": d, "gap": 0, "ts": _rel(ts - start), "frame": frame, "last_frame": frame,
                        "data": masked, "len": length, "cut": len(data) < length, "segments": 1})
        for r in raw:
            if not r["gap"] and r["last_frame"] != r["frame"]:
                r["frame"] = f"{r['frame']}–{r['last_frame']}"
        total = [int(c.get("orig_bytes") or 0), int(c.get("resp_bytes") or 0)]
        shown = [len(b) for b in blobs]
        return {"raw": raw, "rows": [_raw_row(r) for r in raw], "shown": shown, "total": total, "bound": VIEW_BYTES,
                "truncated": any(t > s_ for t, s_ in zip(total, shown))}

    def fields(self, uid: str, g: SessionGroup, compact: bool = False) -> list[dict]:
        """This session's rows of the protocol tables (the first :data:`FIELD_ROWS` of each); ``compact`` (a shared
        page's section, which has no ladder) leaves out the columns empty in every row shown and says so, else the
        tables the ladder draws (:data:`LADDER_TABLES`) are left out."""
        out = []
        cell = self._cell
        for name in g.tables():
            if name in ENGINE_TABLES or (not compact and name in LADDER_TABLES):
                continue
            rows = g.get(name, uid)
            if not rows:
                continue
            shown = rows[:FIELD_ROWS]
            cols = [k for k in dict.fromkeys(chain.from_iterable(shown)) if k not in ID_COLUMNS]
            empty: list[str] = []
            if compact:   # (empty: None, "", [] or {}; 0 and False are values)
                filled = {k for r in shown for k, v in r.items()
                          if v is not None and not (not v and type(v) in _EMPTY_TYPES)}
                empty = [k for k in cols if k not in filled]
                cols = [k for k in cols if k in filled]
            secret = [k.lower() in SECRET_COLUMNS for k in cols]
            body = []
            # one search over the rows, then over each row of a table that may hold a secret; a row without
            # one skips the search cell by cell
            hits = self.show or self.masker.row_hits(shown)
            for r in shown:
                search = hits and (self.show or self.masker.row_hits(r))
                body.append(["–" if v is None else cell(sk, v, search) for v, sk in zip((r.get(k) for k in cols),
                                                                                          secret)])
            times = [_fmt_ts(r.get("ts")) for r in shown]
            out.append({"name": name, "cols": cols, "rows": body, "times": times, "total": g.count(name, uid),
                        "transpose": len(rows) <= 3 or len(cols) > 12, "empty": empty})
        return out

    def _cell(self, secret: bool, v: Any, search: bool = True) -> str:
        """One decoded field as its table cell (:func:`_value` of :meth:`Masker.value`, the common cases first:
        the report writes some 300,000 of them for a 100 MB capture); ``search`` False: its row holds no
        secret (:meth:`Masker.row_hits`), so its texts are not searched and only a secret column's value (or a
        secret key inside a dict) is hidden."""
        if v is None:
            return "–"
        if secret and not self.show and v != "":
            return MASK
        kind = type(v)
        if kind is str:
            if search and not self.show:
                v = self.masker.text(v)
            # (what _value writes of a short printable ASCII text: the text)
            return v if len(v) <= 300 and v.isascii() and v.isprintable() else _value(v)
        if kind is int:
            t = str(v)
            return t if len(t) <= 300 else _value(v)
        if kind is bool:
            return "yes" if v else "no"
        if isinstance(v, str):
            return _value(v if self.show or not search else self.masker.text(v))
        if not search and not isinstance(v, dict) and \
                not (isinstance(v, (list, tuple)) and not all(type(x) in _SCALARS for x in v)):
            return _value(v)
        if not search and isinstance(v, (dict, list, tuple)) and v:
            # a dict's keys may name a secret: only a text holding a secret column's name can have one
            text = json.dumps(v, ensure_ascii=False, default=str)
            low = text.lower()
            if not any(name in low for name in SECRET_COLUMNS):
                return _json_cell(text, 300)
        return _value(self.masker.value("", v, search=search))

    def session_context(self, c: dict, g: SessionGroup, small: bool = False) -> dict:
        """What a session page shows; ``small``: a section of a shared page (no ladder, replay or hex view)."""
        uid = c["uid"]
        chunks, source = self.transcripts(uid, VIEW_BYTES) if self.transcripts else ([], "")
        rv = self.raw_view(c, chunks, g.get("timeline", uid) if c.get("service") == "telnet" else None)
        raw_file = f"../streams/{uid}.bin" if source == "transcript" else ""
        events = g.get("timeline", uid)
        start = c.get("ts") or 0
        mask = self.masker.text
        said = [mask(e.get("summary") or "") for e in events]     # (once, for the transcript and the ladder)
        trans = []      # the transcript's rows (_transcript_data), their kind and meaning as texts
        prev = None
        for e, text in zip(events[:TRANSCRIPT_EVENTS], said):
            ts = e.get("ts") or 0
            trans.append((0 if e.get("direction") == "orig" else 1, e.get("frame"), _rel(ts - start),
                          "" if prev is None else _fmt_dur(ts - prev), printable(e.get("kind"), one_line=True),
                          printable(text, one_line=True), printable(e.get("meaning") or "", one_line=True)))
            prev = ts
        parent = next((p for p in g.conns if p["uid"] == c.get("parent_uid") != uid), None)
        kids = [k for k in g.conns if k.get("parent_uid") == uid and k["uid"] != uid]
        fields = self.fields(uid, g, compact=small)
        ladder = None if small else self.ladder(c, g, kids, said)
        # one list of meanings for the ladder and the transcript (each row names its meaning by index)
        meanings = {m: i for i, m in enumerate(ladder["meanings"])} if ladder else {}
        events_data = None if small else _transcript_data(trans, meanings)
        if ladder:
            ladder["rows"] = _ladder_refs(ladder["rows"], ladder["evs"], events_data or [])
        return {
            "c": c, "uid": uid, "color": _color(self.shown_service(c)),
            "ladder": ladder, "error": "", "meanings": [_TCP_MEANING.get(m, m) for m in meanings],
            "shown_service": self.shown_service(c), "tls_badge": self.tls_badge(c),
            "state_meaning": _meanings.CONN_STATES.get(c.get("conn_state") or "", ""),
            "notes": self.notes(c, chunks, g), "raw": rv, "raw_file": raw_file, "transcript_source": source,
            "events": trans, "events_data": events_data,
            "n_events": g.count("timeline", uid), "fields": fields,
            "fields_rows": [_fields_row(t) for t in fields],
            "files": g.get("files", uid), "emails": [self.masked_row(e) for e in g.get("emails", uid)],
            "creds": self.cred_rows(g.get("credentials", uid)),
            "anomalies": [dict(a, detail=self.masker.text(a.get("detail") or ""),
                               explanation=_meanings.explain_anomaly(a.get("name") or ""))
                          for a in g.get("anomalies", uid)],
            "n_anomalies": g.count("anomalies", uid),
            "parent": parent, "kids": kids, "with_page": {k["uid"] for k in kids},
            "views": views.for_session(views.ViewInput(c, lambda t: g.get(t, uid), self.masker.text), small),
            "show_secrets": self.show, "limits": {"ladder": LADDER_EVENTS, "events": TRANSCRIPT_EVENTS,
                                                  "transcript": (self.summary.get("limits") or {}).get("max_transcript") or 0},
            "colors": COLORS,
            "names": {"orig": self.col.names.of(c.get("orig_h")), "resp": self.col.names.of(c.get("resp_h"))},
        }


# ---------------------------------------------------------------------------- session and shared pages
# A session page and a shared page are made of string pieces joined, not a template run per page (a 100 MB
# capture has thousands of them): the frame every page shares (base.html's, for the index) and the few lines
# around the JSON the page's script draws from (wiretale.js). Every captured text goes through _e (HTML
# escape, as jinja's autoescape) after ``printable``; the JSON through _tojson.
_e = escape
_HEAD = ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
         '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
         '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'self\' '
         '\'unsafe-inline\'; script-src \'self\'; img-src data:">\n<meta name="referrer" content="no-referrer">\n')
_PAGE_ASSETS = f"../{ASSETS}/"
_WHO = {"orig": "client", "resp": "server"}


def _cut(s: str, n: int) -> str:
    """jinja's ``truncate(n, True, "…")`` (its default leeway of 5)."""
    return s if len(s) <= n + 5 else s[:n - 1] + "…"


def _shell(title: str, body_class: str, heading: str, sub: str, toc: str, main: str, version: str) -> str:
    """A page of ``sessions/`` in the frame of base.html."""
    return (f'{_HEAD}<title>{title}</title>\n<link rel="stylesheet" href="{_PAGE_ASSETS}wiretale.css">\n</head>\n'
            f'<body class="{body_class}">\n<header class="top"><a class="brand" href="../index.html">wiretale</a>'
            f'<h1>{heading}</h1><span class="sub">{sub}</span></header>\n<nav class="toc">{toc}</nav>\n<main>\n'
            f'{main}</main>\n<footer>Made by wiretale {_e(version)} from the captured packets only; nothing here was '
            'fetched from the network. Captured text is shown as text, never run.</footer>\n'
            f'<script src="{_PAGE_ASSETS}wiretale.js"></script>\n</body>\n</html>')


def _help(key: str, words: str = "How to read this card", tag: str = "p") -> str:
    """A card's help paragraph: said once per report in assets/help.html; the page's script puts it here."""
    return f'<{tag} class="help" data-help="{key}"><a href="../assets/help.html#{key}">{words}</a></{tag}>'


def _ends(c: dict) -> str:
    return f"{_escape_text(_ep(c.get('orig_h'), c.get('orig_p')))} → {_escape_text(_ep(c.get('resp_h'), c.get('resp_p')))}"


def _tls_tag(badge: dict | None, title: bool) -> str:
    if not badge:
        return ""
    cls = " decrypted" if badge.get("decrypted") else ""
    text = _e(badge["text"])
    return f' <span class="tag tls-badge{cls}"' + (f' title="{text}"' if title else "") + f">{text}</span>"


def _raw_chunks(raw: dict) -> str:
    return f'<script type="application/json" class="raw-data">{_tojson(raw["rows"])}</script>'


def _artifacts_html(creds: list, files: list, emails: list, show_secrets: bool) -> str:
    """The credentials, files and e-mails of a session (its page's Artifacts card, a shared page's section)."""
    o: list[str] = []
    w = o.append
    if creds:
        w('<h3>Credentials</h3>\n<p class="help">These crossed the wire <strong>in cleartext</strong>'
          + ("" if show_secrets else " (masked here; <code>--show-secrets</code> shows them)") + '.</p>\n'
          '<table><tr><th>time</th><th>protocol</th><th>user</th><th>secret</th><th>kind</th><th>accepted?</th>'
          '<th></th></tr>\n')
        for r in creds:
            ok = r.get("success")
            said = '<span class="ok">yes</span>' if ok is True else '<span class="warn">no</span>' if ok is False \
                else '<span class="muted">unknown</span>'
            w(f'<tr><td>{_fmt_ts(r.get("ts"))}</td><td>{_escape_text(r.get("protocol"))}</td><td class="mono">'
              f'{_escape_text(r.get("username"))}</td><td class="mono">{_escape_text(r.get("shown_secret"))}</td><td>'
              f'{_escape_text(r.get("kind"))}</td><td>{said}</td><td><span class="cleartext">sent in cleartext</span></td></tr>')
        w("</table>")
    if files:
        w('<h3>Files</h3>\n<p class="help">Captured content: open with care (the links download the files).</p>\n'
          '<table><tr><th>file</th><th>type</th><th class="num">size</th><th>complete?</th><th>SHA-256</th></tr>\n')
        for f in files:
            name = _escape_text(f.get("filename") or f.get("fuid"))
            if f.get("path"):
                name = f'<a href="{_e(_href(f["path"], "../"))}" download>{name}</a>'
            if f.get("complete"):
                done = '<span class="ok">yes</span>'
            else:
                miss = f', {_e(_fmt_num(f["missing_bytes"]))} B missing' if f.get("missing_bytes") else ""
                done = f'<span class="warn">no{miss}</span>'
            w(f'<tr><td class="wrap">{name}</td><td>{_escape_text(f.get("mime_type") or "")}</td><td class="num">'
              f'{_fmt_bytes(f.get("seen_bytes"))}</td><td>{done}</td><td class="mono">{_e(f.get("sha256") or "")}'
              '</td></tr>')
        w("</table>")
    if emails:
        w('<h3>E-mails</h3>\n<table><tr><th>subject</th><th>from</th><th>to</th><th>attachments</th>'
          '<th>message</th></tr>\n')
        for m in emails:
            eml = f'<a href="{_e(_href(m["eml"], "../"))}" download>.eml</a>' if m.get("eml") else ""
            w(f'<tr><td>{_e(_value(m.get("subject")))}</td><td>{_e(_value(m.get("from")))}</td><td>'
              f'{_e(_value(m.get("to")))}</td><td>{_e(_value(m.get("attachments")))}</td><td>{eml}</td></tr>')
        w("</table>")
    return "".join(o)


def _anomalies_html(anomalies: list, total: int) -> str:
    o = ['<table><tr><th class="num">frame</th><th>time</th><th>from</th><th>name</th><th>detail</th>'
         '<th>what it means</th></tr>\n']
    for a in anomalies:
        o.append(f'<tr><td class="num mono">{_e(a.get("frame"))}</td><td>{_fmt_ts(a.get("ts"))}</td><td>'
                 f'{_WHO.get(a.get("direction"), "")}</td><td class="mono">{_escape_text(a.get("name"))}</td>'
                 f'<td class="mono wrap">{_escape_text(a.get("detail"))}</td><td>{_e(a.get("explanation"))}</td></tr>')
    o.append("</table>\n")
    if total > len(anomalies):
        o.append(f'<p class="help">First {len(anomalies)} of {_fmt_num(total)}.</p>')
    return "".join(o)


def _session_html(x: dict, views_html: str, version: str) -> str:
    """A session's own page from :meth:`_Report.session_context` (``views_html``: its views' sections)."""
    c, uid, ladder, raw = x["c"], _e(x["uid"]), x["ladder"], x["raw"]
    fields, files, emails, creds, anomalies = x["fields"], x["files"], x["emails"], x["creds"], x["anomalies"]
    raw_file = x["raw_file"]
    raw_link = f'<a href="{_e(_href(raw_file))}">{_e(raw_file[3:])}</a>' if raw_file else ""
    ends = _ends(c)
    o: list[str] = []
    w = o.append
    w(f'<section class="card" id="facts">\n<h2>The session</h2>\n{_help("facts")}\n<div class="facts">\n'
      f'<div class="fact"><b class="mono" style="font-size:15px">{_escape_text(_ep(c.get("orig_h"), c.get("orig_p")))}'
      '</b><span>client</span></div>\n'
      f'<div class="fact"><b class="mono" style="font-size:15px">{_escape_text(_ep(c.get("resp_h"), c.get("resp_p")))}'
      '</b><span>server</span></div>\n'
      f'<div class="fact"><b>{_e(str(c.get("proto")).upper())} / {_e(c.get("service") or "?")}</b>'
      '<span>transport / protocol</span></div>\n'
      f'<div class="fact"><b>{_fmt_dur(c.get("duration"))}</b><span>duration</span></div>\n'
      f'<div class="fact"><b>{_fmt_bytes(c.get("orig_bytes"))}</b><span>client → server '
      f'({_e(_fmt_num(c.get("orig_pkts")))} packets)</span></div>\n'
      f'<div class="fact"><b>{_fmt_bytes(c.get("resp_bytes"))}</b><span>server → client '
      f'({_e(_fmt_num(c.get("resp_pkts")))} packets)</span></div>\n'
      f'<div class="fact"><b>{_e(_fmt_num(x["n_events"]))}</b><span>decoded events</span></div>\n'
      f'<div class="fact"><b>{_e(c.get("first_frame"))}–{_e(c.get("last_frame"))}</b><span>frames in the capture'
      '</span></div>\n</div>\n')
    p = x["parent"]
    if p:
        w(f'<p>Part of control session <a class="mono" href="{_e(_href(p["uid"]))}.html">{_e(p["uid"])}</a> '
          f'({_e(p.get("service"))} {_ends(p)}).</p>')
    if x["kids"]:
        kids = []
        for k in x["kids"]:
            ku = _e(k["uid"])
            link = f'<a class="mono" href="{_e(_href(k["uid"]))}.html">{ku}</a>' if k["uid"] in x["with_page"] \
                else f'<span class="mono">{ku}</span>'
            size = _fmt_bytes((k.get("orig_bytes") or 0) + (k.get("resp_bytes") or 0))
            kids.append(f'{link} <span class="muted">({_e(k.get("service") or k.get("proto"))}, {size})</span>')
        w("<p>Data connections of this session:\n" + ", ".join(kids) + "</p>")
    w("<h3>Reassembly notes</h3>\n<ul>")
    if c.get("proto") == "udp":
        w(_help("udp", "UDP: how wiretale makes a session of datagrams", "li"))
    w("".join(f"<li>{_e(n)}</li>" for n in x["notes"]))
    if c.get("history"):
        h = _e(c["history"])
        w(f'<li>TCP history <span class="mono">{h}</span><span class="history" data-history="{h}"> (<a '
          'href="../assets/help.html#history">what the letters mean</a>)</span></li>')
    w(f'</ul>\n</section>\n\n{views_html}\n<section class="card" id="ladder">\n<h2>Ladder diagram</h2>\n'
      f'{_help("ladder")}\n')
    if ladder["kids"]:
        w('<p class="help">Dashed arrows belong to the data connections of this session.</p>')
    if ladder["total"] > ladder["shown"]:
        w(f'<p class="warn">The diagram shows the first {_fmt_num(ladder["shown"])} of {_fmt_num(ladder["total"])} '
          'events; the transcript below lists more.</p>')
    if ladder["arrows"]:
        lx, rx, wd, ht = ladder["lx"], ladder["rx"], ladder["width"], ladder["height"]
        w(f'<div class="scroll" style="max-height:760px"><svg id="ladder-svg" data-lx="{lx}" data-rx="{rx}" '
          f'data-top="{ladder["top"]}" data-step="{ladder["step"]}" data-thin="{ladder["thin"]}" '
          f'data-label="{ladder["label"]}"' + (' data-tcp="1"' if ladder["tcp"] else "")
          + f' role="img" aria-label="ladder diagram" viewBox="0 0 {wd} {ht}" width="{wd}" height="{ht}" '
          'style="max-width:100%;height:auto">\n'
          f'<text x="{lx}" y="39" class="mono lh">{_e(_cut(printable(_ep(c.get("orig_h"), c.get("orig_p")), True), 26))}'
          '</text>\n'
          f'<text x="{rx}" y="39" class="mono lh">{_e(_cut(printable(_ep(c.get("resp_h"), c.get("resp_p")), True), 26))}'
          '</text>\n')
        for side, x_ in (("orig", lx), ("resp", rx)):
            for n, src in x["names"][side][:1]:
                n = printable(n, True)
                w(f'<text class="hostname {side}" x="{x_}" y="60"><title>{_e(n)}, from {_e(src)}</title>'
                  f'{_e(_cut(n, 30))} ({_e(src)})</text>')
        text = ladder["text"]
        w(f'</svg>\n</div>\n<script type="application/json" id="ladder-data">{_tojson(ladder["rows"])}</script>\n'
          f'<details class="nojs"><summary>Without JavaScript: the diagram\'s first {_fmt_num(len(text))} arrows as '
          'text</summary>\n<pre class="mono">')
        for r in text:
            side = "note" if r[0] == "n" else ("client → server" if r[1] else "server → client")
            kind = " (tcp)" if r[0] == "t" else (" (data)" if r[0] == "c" else "")
            w(f"{_e(r[3])}  #{_e(r[2])}  {side}{kind}  {_e(r[5])}\n")
        w("</pre>\n")
        if ladder["shown"] > len(text):
            w(f'<p>… and {_fmt_num(ladder["shown"] - len(text))} more: every event of session {uid} is a row of '
              '<code>tables/timeline.jsonl</code>' + (f", and its bytes are in {raw_link}" if raw_file else "")
              + ".</p>")
        w("</details>\n")
    else:
        w('<p class="muted">No decoded events for this session'
          + ("" if c.get("service") else ": its protocol was not recognised") + ". The raw bytes are below.</p>\n")
    w(f'</section>\n\n<section class="card" id="transcript">\n<h2>Decoded transcript</h2>\n{_help("transcript")}\n')
    events = x["events"]
    if events:
        w(f'<p class="nojs">The transcript\'s {_fmt_num(len(events))} rows are drawn by the page\'s script; without '
          "JavaScript" + (", the ladder's list above gives its first arrows as text, and" if ladder else "")
          + f' every event of session {uid} is a row of <code>tables/timeline.jsonl</code>.</p>'
          f'<table id="ttable"></table>\n'
          f'<script type="application/json" id="events-data">{_tojson(x["events_data"])}</script>\n')
        if x["n_events"] > len(events):
            w(f'<p class="warn">Showing the first {_fmt_num(len(events))} of {_fmt_num(x["n_events"])} events; all '
              'of them are in <code>tables/timeline.jsonl</code>.</p>')
    else:
        w('<p class="muted">No decoded events.</p>')
    w(f'<script type="application/json" id="meanings">{_tojson(x["meanings"])}</script>\n</section>\n\n'
      f'<section class="card" id="raw">\n<h2>Raw bytes</h2>\n{_help("raw")}\n')
    if raw["raw"]:
        if raw["truncated"]:
            w(f'<p class="warn">This page shows the first {_fmt_bytes(raw["bound"])} of each direction: '
              f'{_fmt_bytes(raw["shown"][0])} of the {_fmt_bytes(raw["total"][0])} the client sent and '
              f'{_fmt_bytes(raw["shown"][1])} of the {_fmt_bytes(raw["total"][1])} the server sent. The decoders saw '
              "every byte." + (f" The session's transcript (the first {_fmt_bytes(x['limits']['transcript'])} of each "
                               f"direction, in wiretale's transcript format) is {raw_link}." if raw_file else "")
              + f' Every byte, exactly as sent: <code>wiretale follow CAPTURE {uid} --raw</code>.</p>')
        w('<details open><summary>Text view</summary>\n<p class="nojs warn">The text and hex views are drawn by the '
          "page's script from the bytes this page carries (once, for both views); without JavaScript they stay "
          "empty. The same bytes: " + (f"{raw_link} (wiretale's transcript format), or " if raw_file else "")
          + f'<code>wiretale follow CAPTURE {uid}</code>.</p>\n<div class="scroll pad">\n{_raw_chunks(raw)}\n'
          '</div>\n</details>\n<details id="hexview"><summary>Hex view</summary><div class="scroll pad">\n\n</div>\n'
          '</details>\n')
    elif x["transcript_source"]:
        w('<p class="muted">This session carried no payload bytes.</p>\n')
    else:
        w('<p class="muted">The raw bytes were not kept for this report (they are written by <code>wiretale read'
          f'</code> without <code>--no-html</code>). <code>wiretale follow CAPTURE {uid}</code> prints them.</p>')
    w("</section>\n\n")
    if fields:
        names = ", ".join(f"<code>tables/{_e(t['name'])}.jsonl</code>" for t in fields)
        w(f'<section class="card" id="fields">\n<h2>Decoded fields</h2>\n{_help("fields")}\n<div id="fields-box">'
          f'<p class="nojs">The fields are drawn by the page\'s script; without JavaScript they are the rows of '
          f'session {uid} in {names}.</p></div>\n'
          f'<script type="application/json" id="fields-data">{_tojson(x["fields_rows"])}</script>\n</section>\n')
    w("\n")
    if files or emails or creds:
        w(f'<section class="card" id="artifacts">\n<h2>Artifacts</h2>\n'
          f'{_artifacts_html(creds, files, emails, x["show_secrets"])}\n</section>\n')
    w("\n")
    if anomalies:
        w(f'<section class="card" id="anomalies">\n<h2>Anomalies</h2>\n{_anomalies_html(anomalies, x["n_anomalies"])}'
          "\n</section>\n")
    toc = ['<a href="../index.html">← all sessions</a><a href="#facts">Facts</a>']
    toc += [f'<a href="#{v["anchor"]}">{_e(v["toc"])}</a>' for v in x["views"] if v["toc"]]
    toc.append('<a href="#ladder">Ladder</a><a href="#transcript">Transcript</a><a href="#raw">Raw bytes</a>')
    if fields:
        toc.append('<a href="#fields">Decoded fields</a>')
    if files or emails or creds:
        toc.append('<a href="#artifacts">Artifacts</a>')
    if anomalies:
        toc.append('<a href="#anomalies">Anomalies</a>')
    heading = (f'<span class="pill" style="background:{x["color"]}">{_e(x["shown_service"] or "unrecognised")}</span>'
               f'{_tls_tag(x["tls_badge"], True)} {ends}')
    return _shell(f"{_e(c.get('service') or c.get('proto'))} {ends} — wiretale", "session-page", heading,
                  f'session <span class="mono">{uid}</span> · {_fmt_ts(c.get("ts"))} · {_fmt_dur(c.get("duration"))}',
                  "".join(toc), "".join(o), version)


def _shared_html(sections: list[dict], views_html: list[str], common_notes: list[str], page_no: int, n_pages: int,
                 fields_data: dict, events_data: dict, version: str) -> str:
    """Shared page ``page_no``: a section per small session (:meth:`_Report.session_context` with ``small``;
    ``views_html``: each one's views' sections)."""
    o: list[str] = []
    w = o.append
    w('<p class="help">A capture with many sessions puts its small ones (at most a few events and a few KiB) '
      "together here, so that the report stays small: each section below is one session, with what its own page "
      "would show but the ladder diagram (its transcript says the same) and the hex view.</p>\n"
      "<p class=\"nojs warn\">Each section's decoded events, raw bytes and decoded fields are drawn by the page's "
      "script from the data the page carries (once); without JavaScript they stay empty. The bytes of a session "
      "(all of them are in the page) are printed by <code>wiretale follow CAPTURE &lt;session&gt;</code>; its "
      "events are its rows of <code>tables/timeline.jsonl</code>; its decoded fields are its rows of the "
      "<code>tables/&lt;name&gt;.jsonl</code> files named in the section.</p>\n")
    if any(s["c"].get("proto") == "udp" for s in sections):
        w(_help("udp", "The UDP sessions below: how wiretale makes a session of datagrams"))
    if common_notes:
        w("<p>Said of every session on this page:</p>\n<ul>" + "".join(f"<li>{_e(n)}</li>" for n in common_notes)
          + "</ul>")
    states = sorted({s["c"].get("conn_state") for s in sections if not s.get("error") and s.get("state_meaning")})
    if states:
        w("<p>Connection states of the sessions below (Zeek's <code>conn_state</code>): " + "; ".join(
            f'<span class="mono">{_e(st)}</span>: {_e(_meanings.CONN_STATES[st])}' for st in states) + ".</p>")
    for s, views_s in zip(sections, views_html):
        c = s["c"]
        w(f'<section class="card" id="{_e(s["uid"])}">\n<h2><span class="pill" style="background:'
          f'{s.get("color") or _color(c.get("service"))}">'
          f'{_e(s.get("shown_service") or c.get("service") or "unrecognised")}</span>'
          f'{_tls_tag(s.get("tls_badge"), False)} {_ends(c)}</h2>\n')
        if s.get("error"):
            w(f'<p class="warn">This session could not be rendered: {_escape_text(s["error"])}. Its rows are in the '
              "tables.</p></section>\n")
            continue
        state = f" · state {_e(c.get('conn_state'))}" if s["state_meaning"] else ""
        w(f'<p>session <span class="mono">{_e(s["uid"])}</span> · {_fmt_ts(c.get("ts"))} · '
          f'{_fmt_dur(c.get("duration"))} · {_e(str(c.get("proto")).upper())} · client → server '
          f'{_fmt_bytes(c.get("orig_bytes"))} ({_e(_fmt_num(c.get("orig_pkts")))} packets) · server → client '
          f'{_fmt_bytes(c.get("resp_bytes"))} ({_e(_fmt_num(c.get("resp_pkts")))} packets) · frames '
          f'{_e(c.get("first_frame"))}–{_e(c.get("last_frame"))}{state}</p>\n{views_s}')
        if s["notes"]:
            w("<ul>" + "".join(f"<li>{_e(n)}</li>" for n in s["notes"]) + "</ul>")
        if s["events"]:
            w('<table class="events"></table>')
        if s["raw"]["raw"]:
            w(f'<details><summary>Raw bytes</summary><div class="scroll pad">{_raw_chunks(s["raw"])}</div></details>')
        if s["fields"]:
            w(f'<details class="fields"><summary>Decoded fields ({", ".join(_e(t["name"]) for t in s["fields"])})'
              "</summary></details>")
        if s["creds"] or s["files"] or s["emails"]:
            w(_artifacts_html(s["creds"], s["files"], s["emails"], s["show_secrets"]))
        w("\n")
        if s["anomalies"]:
            w(f'<h3>Anomalies</h3>{_anomalies_html(s["anomalies"], s["n_anomalies"])}')
        w("</section>\n")
    w(f'<script type="application/json" id="fields-data">{_tojson(fields_data)}</script>\n'
      f'<script type="application/json" id="events-data">{_tojson(events_data)}</script>\n')
    toc = '<a href="../index.html">← all sessions</a>'
    if page_no > 1:
        toc += f'<a href="shared-{page_no - 1}.html">← previous page</a>'
    if page_no < n_pages:
        toc += f'<a href="shared-{page_no + 1}.html">next page →</a>'
    return _shell(f"small sessions {page_no} of {n_pages} — wiretale", "shared-page",
                  f"Small sessions, page {page_no} of {n_pages}",
                  f"{len(sections)} sessions with few events and few bytes, one section each", toc, "".join(o), version)


def _common_notes(sections: list[dict]) -> list[str]:
    """What a shared page says once at its top instead of in each section: the notes every section has, and
    the reason most of its flows were closed (``idle timeout`` on a page of DNS exchanges) when each section
    gives one (a section with another reason keeps its own note)."""
    own = [s["notes"] for s in sections if not s.get("error")]
    if len(own) < 2:
        return []
    common = [n for n in own[0] if all(n in other for other in own[1:])]
    top = list(common)
    closed = Counter(n for notes in own for n in notes if n.startswith(_CLOSED) and n not in common)
    if closed and all(any(n.startswith(_CLOSED) for n in notes) for notes in own):
        most = closed.most_common(1)[0][0]
        common.append(most)
        top.append(f"wiretale closed each flow below because of: {most[len(_CLOSED):-1]}, unless its section "
                   "gives another reason.")
    for s in sections:
        if not s.get("error"):
            s["notes"] = [n for n in s["notes"] if n not in common]
    return top


_RENDER_BATCH = 16    # sessions handed to a renderer at once (a shared page's 100 go as one batch)


def _hand_over(todo: Any, item: Any, workers: list) -> bool:
    """Put ``item`` on the renderers' queue; False once none of them is alive to take it."""
    import queue

    while True:
        try:
            todo.put(item, timeout=1.0)
            return True
        except queue.Full:
            if not any(w.is_alive() for w in workers):
                return False


def _fork_context() -> Any:
    import multiprocessing

    try:
        return multiprocessing.get_context("fork")
    except ValueError:            # no fork on this platform: one process renders
        return None


def _group_state(g: SessionGroup) -> tuple:
    """A session group as plain data (its rows' defaultdicts do not pickle), for a renderer."""
    return g.conns, {t: dict(per) for t, per in g.rows.items()}, g.counts


def _group_from(state: tuple) -> SessionGroup:
    g = SessionGroup()
    g.conns, g.rows, g.counts = state
    return g


def write_report(analysis, out: Path, show_secrets: bool = False, processes: int = 1) -> Path:
    """Render the report of an :class:`~decoder.api.Analysis` (its rows, summary and transcripts):
    ``OUT/index.html`` (plus ``index-N.html`` pages) and ``OUT/sessions/<uid>.html``. Returns the path of
    ``index.html``. ``wiretale read`` feeds a :class:`ReportCollector` as it writes the tables instead
    (:func:`render_report`)."""
    col = ReportCollector()
    col.feed_all(analysis.rows)
    return render_report(col, Path(out), analysis.summary, show_secrets,
                         transcripts=getattr(analysis, "transcript_head", None), processes=processes)


def render_report(col: ReportCollector, out: Path, summary: dict, show_secrets: bool = False,
                  transcripts: TranscriptHead | None = None, processes: int = 1) -> Path:
    """Render the report from what ``col`` was fed; each session's transcript from ``transcripts``; the
    session pages by ``processes`` processes (forked; one where ``fork`` is not available)."""
    return _Report(col, Path(out), summary, show_secrets, transcripts=transcripts, processes=processes).write()
