"""The Telnet terminal replay of a session page: what the user's terminal showed, replayed with the real
keystroke timing.

Built from the session's ``timeline`` rows of the Telnet dissector's events: ``TelnetOutput`` (what the
server displayed, echo and IAC commands already removed) and ``TelnetInput`` (the keys, one event per
chunk; typed at a password prompt: ``secret``, withheld). The server's ``WILL ECHO`` (RFC 857) says the
keys are echoed by the server, so they are not drawn twice. Text is shown as a terminal would
(:func:`terminal_text`: ANSI escapes removed, Enter as a line feed, backspaces applied to the final screen).
Limits: at most ``REPLAY_BYTES`` of text; no cursor movement or screen addressing (a full-screen program
replays as its text); the keys' secrets masked as everywhere in the report.
"""
from __future__ import annotations

import re

from reports.views._api import ViewInput

REPLAY_BYTES = 256 * 1024   # Telnet replay text

_ANSI_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78cDEHM])")
_TERM_DROP = dict.fromkeys(c for c in range(32) if c not in (8, 9, 10))
_TERM_DROP[0x7F] = None


def terminal_text(text: str) -> str:
    """A Telnet event's text as a terminal shows it: ANSI escapes removed, Enter (CR LF, CR NUL, CR) as
    a line feed, other control characters except backspace and tab dropped."""
    text = _ANSI_RE.sub("", text).replace("\r\n", "\n").replace("\r\0", "\n").replace("\n\r", "\n")
    return text.replace("\r", "\n").translate(_TERM_DROP)


def apply_backspaces(text: str) -> str:
    """``text`` with each backspace erasing the character before it (never past a line feed)."""
    if "\b" not in text:
        return text
    buf: list[str] = []
    for ch in text:
        if ch == "\b":
            if buf and buf[-1] != "\n":
                buf.pop()
        else:
            buf.append(ch)
    return "".join(buf)


def replay(inp: ViewInput) -> dict | None:
    """``{"steps": the page's player's data ({"echo", "steps"}, written as compact JSON), "final": the last
    screen, "echo", "nkeys", "duration"}``
   , or None when the session displayed nothing."""
    start = inp.conn.get("ts") or 0
    echo = False
    steps: list[list] = []
    total = 0
    for e in inp.rows("timeline"):
        kind, f = e.get("kind"), e.get("fields") or {}
        if kind == "TelnetNegotiation" and e.get("direction") == "resp":
            echo = echo or (f.get("verb") == "WILL" and f.get("option") == 1)
            continue
        if kind not in ("TelnetOutput", "TelnetInput") or total > REPLAY_BYTES:
            continue
        text = terminal_text(str(f.get("data") or ""))
        if not text:
            continue
        total += len(text)
        if kind == "TelnetOutput":
            steps.append([round((e.get("ts") or 0) - start, 4), 1, inp.mask(text), 1])
        elif f.get("secret"):     # (the dissector withholds these keys: never reached, kept as a guard)
            continue
        else:
            steps.append([round((e.get("ts") or 0) - start, 4), 0, inp.mask(text), 1])
    if not steps:
        return None
    screen = "".join(s[2] for s in steps if s[3])
    return {"steps": {"echo": echo, "steps": steps},
            "final": apply_backspaces(screen), "echo": echo,
            "nkeys": sum(1 for s in steps if s[1] == 0), "duration": steps[-1][0]}
