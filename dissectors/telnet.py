"""Telnet: option negotiation, the session as the user saw it, logins.

What it is
    Telnet (port 23) carries a terminal session over TCP in the Network
    Virtual Terminal (NVT) format: text, with in-band commands introduced by
    IAC (0xFF). The two sides negotiate options (echo, terminal type, window
    size, line mode …) with WILL/WONT/DO/DONT and exchange option parameters
    inside IAC SB … IAC SE.

RFC sections followed
    * RFC 854 (NVT, IAC commands, IAC IAC for a data 0xFF, CR NUL and CR LF);
    * RFC 855 (option negotiation and subnegotiation), RFC 1143 (agreement:
      an option is on for side X when X said WILL and the peer said DO, the
      latest word counting);
    * RFC 857 (ECHO), RFC 858 (SUPPRESS-GO-AHEAD), RFC 1073 (NAWS window size),
      RFC 1091 (TERMINAL-TYPE IS/SEND), RFC 1079 (TERMINAL-SPEED), RFC 1096
      (X-DISPLAY-LOCATION), RFC 1184 (LINEMODE MODE/SLC/FORWARDMASK),
      RFC 1572 (NEW-ENVIRON IS/SEND/INFO with VAR/VALUE/ESC/USERVAR; the USER
      variable names the user), RFC 2941 (AUTHENTICATION), RFC 2946 (ENCRYPT).

What it extracts
    * events: :class:`TelnetNegotiation` (WILL/WONT/DO/DONT),
      :class:`TelnetSubnegotiation` (decoded SB), :class:`TelnetCommand`
      (NOP, AYT, IP, …), :class:`TelnetOutput` (server text with the remote
      echo removed), :class:`TelnetInput` (keystrokes, one event per chunk with
      its capture timestamp — the replay track) and :class:`TelnetLine` (each
      line the user typed, after backspaces; a password line is masked in
      ``summary()``). All carry ``summary()`` and ``meaning()``;
    * :class:`~decoder.model.Credential` from the login dialogue: the line
      typed after a ``login:``/``Username:`` prompt is the user, after
      ``Password:`` the password; success is judged from what the server says
      next (``Login incorrect`` or a new login prompt → failure; a shell
      prompt, ``Last login`` or further commands → success);
    * password changes (``passwd``, or a change forced at login): the lines
      typed at the current / new / retyped password prompts are
      ``TelnetLine`` kinds of their own; the verdict is read from the
      server's reply (``password updated successfully`` → accepted; ``do not
      match``, ``unchanged``, ``manipulation error``, ``BAD PASSWORD`` … →
      refused; neither → unknown), never assumed: one
      :class:`TelnetPasswordChange` event at the reply, credentials of kinds
      ``passwd-current`` (valid when the server went on or accepted),
      ``passwd-new`` (valid when accepted; one per new password offered, a
      re-prompt refuses the previous one) and ``passwd-retyped`` (only when it
      differs from the new one);
    * one :class:`TelnetRecord` per session (table ``telnet``): user, terminal
      type, window size, options agreed, commands typed, text bytes each way,
      ``password_changes`` (user, accepted, the reply's verdict lines).

Echo removal
    When the server performs ECHO (it said WILL ECHO and the client did not
    refuse), typed characters are queued and matched against the start of the
    server's output; matching bytes are echo and are dropped from the output
    (CR/LF match either line end, a typed backspace matches ``BS SP BS``). The
    first mismatch (e.g. a password, which is not echoed) empties the queue.

Limits
    Subnegotiations are capped at ``limits.max_line`` bytes
    (``telnet_subnegotiation_too_long``: the rest is treated as data, so an
    unterminated IAC SB cannot swallow the session); an SB still open at the
    end is ``telnet_sb_unterminated``. Typed lines are capped at
    ``limits.max_line`` (``telnet_line_too_long``), the commands list at
    :data:`MAX_COMMANDS` (``telnet_commands_too_many``). The echo queue keeps at
    most 4096 characters. Login and password-change detection is heuristic
    (English prompts and replies, as passwd and PAM print them with LANG=C); a
    login or change that never gets a verdict has ``success=None``. Encrypted sessions
    (ENCRYPT agreed) are reported but their text is not decrypted.
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Mapping

from decoder.model import (
    MASK,
    Anomaly, Confirm, Credential, Direction, Event, FlowContext,
    Item, ORIG, RESP, Record, Verdict, Violation,
)
from dissectors.probes.telnet import (  # noqa: F401 - SPECS and the probe are re-exported
    SPECS, _CTRL, DO, DONT, IAC, probe, SB, SE, WILL, WONT,
)

__all__ = [
    "TelnetNegotiation", "TelnetSubnegotiation", "TelnetCommand", "TelnetOutput",
    "TelnetInput", "TelnetLine", "TelnetPasswordChange", "TelnetRecord", "TelnetDissector", "probe", "SPECS",
    "OPTION_NAMES",
]

CR, LF, NUL, BS, DEL = 13, 10, 0, 8, 127
OPT_BINARY, OPT_ECHO, OPT_TTYPE, OPT_NAWS, OPT_TSPEED, OPT_LINEMODE, OPT_XDISPLOC = (
    0, 1, 24, 31, 32, 34, 35)
OPT_ENVIRON, OPT_AUTH, OPT_ENCRYPT, OPT_NEW_ENVIRON = 36, 37, 38, 39

#: IANA Telnet option names.
OPTION_NAMES: Mapping[int, str] = MappingProxyType({
    0: "BINARY", 1: "ECHO", 2: "RCP", 3: "SUPPRESS-GO-AHEAD", 4: "NAMS", 5: "STATUS",
    6: "TIMING-MARK", 7: "RCTE", 8: "NAOL", 9: "NAOP", 10: "NAOCRD", 11: "NAOHTS",
    12: "NAOHTD", 13: "NAOFFD", 14: "NAOVTS", 15: "NAOVTD", 16: "NAOLFD",
    17: "EXTEND-ASCII", 18: "LOGOUT", 19: "BM", 20: "DET", 21: "SUPDUP",
    22: "SUPDUP-OUTPUT", 23: "SEND-LOCATION", 24: "TERMINAL-TYPE", 25: "END-OF-RECORD",
    26: "TUID", 27: "OUTMRK", 28: "TTYLOC", 29: "3270-REGIME", 30: "X.3-PAD", 31: "NAWS",
    32: "TERMINAL-SPEED", 33: "TOGGLE-FLOW-CONTROL", 34: "LINEMODE",
    35: "X-DISPLAY-LOCATION", 36: "ENVIRON", 37: "AUTHENTICATION", 38: "ENCRYPT",
    39: "NEW-ENVIRON", 40: "TN3270E", 41: "XAUTH", 42: "CHARSET", 43: "RSP",
    44: "COM-PORT-OPTION", 45: "SLE", 46: "START-TLS", 47: "KERMIT", 48: "SEND-URL",
    49: "FORWARD-X", 138: "PRAGMA-LOGON", 139: "SSPI-LOGON", 140: "PRAGMA-HEARTBEAT",
    255: "EXOPL",
})

#: What each option does, for meaning() (RFC titles, in plain words).
OPTION_MEANINGS: Mapping[int, str] = MappingProxyType({
    0: "send 8-bit binary data", 1: "echo the characters the user types back to the screen",
    3: "stop sending go-ahead signals (full-duplex, character at a time)",
    5: "report the option status", 6: "mark a point in the stream (timing mark)",
    18: "log out", 24: "tell the terminal type (e.g. xterm, vt100)",
    25: "mark the end of records", 31: "tell the window size (columns × rows)",
    32: "tell the terminal speed", 33: "let the user pause output (XON/XOFF)",
    34: "edit lines locally and send them whole (line mode)",
    35: "tell the X display to use", 36: "pass environment variables (old form)",
    37: "authenticate (Kerberos, SRP, …)", 38: "encrypt the session",
    39: "pass environment variables such as USER", 42: "choose a character set",
    46: "switch to TLS",
})

COMMAND_NAMES: Mapping[int, str] = MappingProxyType({
    240: "SE", 241: "NOP", 242: "DM", 243: "BRK", 244: "IP", 245: "AO", 246: "AYT",
    247: "EC", 248: "EL", 249: "GA", 250: "SB", 251: "WILL", 252: "WONT", 253: "DO",
    254: "DONT", 255: "IAC",
})

#: RFC 854 command meanings.
COMMAND_MEANINGS: Mapping[str, str] = MappingProxyType({
    "SE": "end of subnegotiation (here without an open SB)",
    "NOP": "no operation",
    "DM": "data mark: the data-stream part of a Synch (urgent) signal",
    "BRK": "break: the BREAK or ATTENTION key",
    "IP": "interrupt process (like Ctrl-C)",
    "AO": "abort output: discard output still to be shown",
    "AYT": "are you there? asks the peer for a visible sign of life",
    "EC": "erase character: delete the last character typed",
    "EL": "erase line: delete the line being typed",
    "GA": "go ahead: the other side may send now (half-duplex)",
    "WILL": "offers to perform (or confirms performing) an option",
    "WONT": "refuses or stops performing an option",
    "DO": "asks the peer to perform (or confirms it performs) an option",
    "DONT": "asks the peer to stop performing an option",
})

MAX_COMMANDS = 10_000
ECHO_QUEUE = 4096
PROMPT_TAIL = 256

_LOGIN_PROMPT = re.compile(r"(?:login|user\s*name|username|user|user id|userid|name)\s*[:>]\s*$",
                           re.I)
_PASS_PROMPT = re.compile(r"pass(?:word|code|phrase)?[^\n:]{0,30}:\s*$", re.I)
_FAIL = re.compile(r"incorrect|invalid|fail|denied|bad password|not allowed|try again"
                   r"|authentication error|access denied", re.I)
# a password change (passwd(1) with PAM, or a forced change at login): the three prompts, checked before
# _PASS_PROMPT (they match it too), the retype prompt before the new one (it says "new" too)
_CHG_PROMPTS = (
    ("retyped_password", re.compile(r"(?:retype|re-enter|reenter|confirm|verify|repeat)[^\n:]{0,40}pass"
                                    r"(?:word|phrase)?[^\n:]{0,20}:\s*$|pass(?:word)?[^\n:]{0,20}again[^\n:]{0,9}"
                                    r":\s*$", re.I)),
    ("current_password", re.compile(r"(?:current|old)[^\n:]{0,40}pass(?:word|phrase)?[^\n:]{0,20}:\s*$", re.I)),
    ("new_password", re.compile(r"new[^\n:]{0,40}pass(?:word|phrase)?[^\n:]{0,20}:\s*$", re.I)),
)
_CHG_OK = re.compile(r"updated successfully|tokens updated|password (?:has been )?changed|password updated",
                     re.I)
_CHG_FAIL = re.compile(r"do not match|don't match|mismatch|unchanged|manipulation error|authentication failure"
                       r"|bad password|too (?:short|simple|similar)|exhausted|incorrect|denied|not changed",
                       re.I)
_CHG_USER = re.compile(r"changing password for (?:user )?([^\s.]+)", re.I)
_SHELL_PROMPT = re.compile(r"(?:[$#>%\]]|->)\s*$")
_ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[O\]].|\x1b.")


def _txt(b: bytes) -> str:
    return b.decode("utf-8", "backslashreplace")


def _opt(code: int) -> str:
    return OPTION_NAMES.get(code, f"option-{code}")


# ---------------------------------------------------------------- events and record
@dataclass(frozen=True, slots=True)
class TelnetNegotiation(Event):
    verb: str = ""          # WILL, WONT, DO, DONT
    option: int = 0
    name: str = ""

    def summary(self) -> str:
        return f"{self.direction.label} {self.verb} {self.name}"

    def meaning(self) -> str:
        what = OPTION_MEANINGS.get(self.option, f"use option {self.name}")
        peer = self.direction.other.label
        me = self.direction.label
        return {
            "WILL": f"the {me} offers to {what}",
            "WONT": f"the {me} refuses to {what}",
            "DO": f"the {me} asks the {peer} to {what}",
            "DONT": f"the {me} asks the {peer} not to {what}",
        }.get(self.verb, "")


@dataclass(frozen=True, slots=True)
class TelnetSubnegotiation(Event):
    option: int = 0
    name: str = ""
    detail: str = ""
    raw: bytes = b""

    def summary(self) -> str:
        return f"{self.direction.label} SB {self.name} {self.detail}".rstrip()

    def meaning(self) -> str:
        return {
            OPT_TTYPE: "terminal type exchange (RFC 1091)",
            OPT_NAWS: "the client's window size in columns and rows (RFC 1073)",
            OPT_TSPEED: "terminal speed exchange (RFC 1079)",
            OPT_LINEMODE: "line mode parameters (RFC 1184)",
            OPT_XDISPLOC: "the X display the client uses (RFC 1096)",
            OPT_ENVIRON: "environment variables (RFC 1408)",
            OPT_NEW_ENVIRON: "environment variables such as USER (RFC 1572)",
            OPT_AUTH: "authentication exchange (RFC 2941)",
            OPT_ENCRYPT: "encryption exchange (RFC 2946)",
        }.get(self.option, "option parameters (RFC 855 subnegotiation)")


@dataclass(frozen=True, slots=True)
class TelnetCommand(Event):
    command: str = ""

    def summary(self) -> str:
        return f"{self.direction.label} IAC {self.command}"

    def meaning(self) -> str:
        return COMMAND_MEANINGS.get(self.command, "")


@dataclass(frozen=True, slots=True)
class TelnetOutput(Event):
    """Server text as the user saw it (remote echo removed; CR LF → LF, CR NUL → CR)."""

    MERGEABLE: ClassVar[bool] = True
    data: bytes = b""

    def summary(self) -> str:
        t = _txt(self.data)
        return f"server output: {t[:80]!r}" + ("…" if len(t) > 80 else "")

    def meaning(self) -> str:
        return "text the server displayed on the user's terminal"


@dataclass(frozen=True, slots=True)
class TelnetInput(Event):
    """Keystrokes the client sent (one event per chunk, timestamped, for replay)."""

    MERGEABLE: ClassVar[bool] = True
    data: bytes = b""
    # typed between a password prompt and the end of that line: ``data`` is withheld (b"": not even
    # its length is told; the credentials table has the secret); the report masks the packets that
    # carried such keys (the timeline row's frame) in every view of the raw stream, by position:
    # edits (backspace) and secrets of any length included
    secret: bool = False

    def summary(self) -> str:
        if self.secret:
            return f"keystrokes at a password prompt: {MASK}"
        return f"keystrokes: {_txt(self.data)[:80]!r}"

    def meaning(self) -> str:
        return "characters the user typed"


@dataclass(frozen=True, slots=True)
class TelnetLine(Event):
    text: str = ""
    # command, username, password; in a password change: current_password, new_password, retyped_password
    kind: str = "command"

    def summary(self) -> str:
        if self.kind.endswith("password"):
            what = self.kind.replace("_", " ").replace(" password", "")
            return f"user typed the {what} password: ********" if what != "password" else \
                "user typed a password: ********"
        if self.kind == "username":
            return f"user typed the login name {self.text!r}"
        return f"user typed: {self.text}"

    def meaning(self) -> str:
        return {"password": "a password typed at the Password: prompt, sent in cleartext",
                "current_password": "a password change: the current password, sent in cleartext",
                "new_password": "a password change: the new password, sent in cleartext",
                "retyped_password": "a password change: the new password typed again, sent in cleartext",
                "username": "the user name typed at the login prompt"}.get(
                    self.kind, "a line the user entered")


@dataclass(frozen=True, slots=True)
class TelnetPasswordChange(Event):
    """The server's verdict on a password change (passwd): ``accepted`` from its reply, None when the
    reply says neither (or was not captured)."""

    user: str = ""
    accepted: bool | None = None
    reply: str = ""

    def summary(self) -> str:
        verdict = {True: "accepted", False: "refused", None: "verdict unknown"}[self.accepted]
        return f"password change for {self.user or '?'}: {verdict}" + (f" ({self.reply})" if self.reply else "")

    def meaning(self) -> str:
        return ("the user changed a password: the current one, the new one and the new one again crossed the "
                "wire in cleartext; the server's reply says whether the change was made")


@dataclass(frozen=True, slots=True)
class TelnetRecord(Record):
    TABLE: ClassVar[str] = "telnet"
    user: str | None = None
    login_success: bool | None = None
    terminal_type: str | None = None
    window_size: str | None = None
    terminal_speed: str | None = None
    x_display: str | None = None
    environment: list = field(default_factory=list)
    options_agreed: list = field(default_factory=list)
    commands: list = field(default_factory=list)
    orig_bytes: int = 0
    resp_bytes: int = 0
    echo_bytes: int = 0
    password_changes: list = field(default_factory=list)   # [{user, accepted, reply}] in order


# ---------------------------------------------------------------- probe


# ---------------------------------------------------------------- dissector
_DATA, _IAC, _OPT, _SB, _SB_IAC = range(5)


class _Side:
    __slots__ = ("state", "verb", "sb", "sb_ts", "cr", "text_bytes", "first")

    def __init__(self) -> None:
        self.state = _DATA
        self.verb = 0
        self.sb = bytearray()
        self.sb_ts = 0.0
        self.cr = False          # a CR waits for its partner byte (LF, NUL or other)
        self.text_bytes = 0
        self.first = True


class _Change:
    """A password change in progress: the secrets typed so far and what the server said since."""

    __slots__ = ("user", "secrets", "stage", "current_ok", "reply", "verdicts", "verdict_ts", "judged")

    def __init__(self, user: str) -> None:
        self.user = user
        self.secrets: dict[str, tuple[float, str]] = {}   # kind -> (ts, secret)
        self.stage = ""                 # the kind of the last secret typed
        self.current_ok: bool | None = None
        self.reply = ""                 # server text since the last secret
        self.verdicts: list[str] = []   # the server's lines that said yes or no
        self.verdict_ts: float | None = None
        self.judged = False


class TelnetDissector:
    def __init__(self, ctx: FlowContext) -> None:
        self.ctx = ctx
        self.lim = ctx.limits
        self.sides = (_Side(), _Side())
        self.confirmed = False
        self.violated = False
        self.start_ts: float | None = None
        # option agreement: (performer, option) -> [will, do]
        self.opts: dict[tuple[Direction, int], list] = {}
        self.agreed: dict[str, None] = {}
        # echo and typing
        self.pending_echo = bytearray()
        self.echo_skip = b""
        self.echo_bytes = 0
        self.line = bytearray()
        self.line_prompt = ""
        self.line_ts = 0.0
        self.line_long = False
        self.tail = ""           # last server output (prompt detection)
        # session facts
        self.user: str | None = None
        self.env_user: str | None = None
        self.password: str | None = None
        self.cred_ts = 0.0
        self.awaiting = False
        self.after_pw = ""
        self.success: bool | None = None
        self.login_done = False
        self.ttype: str | None = None
        self.naws: str | None = None
        self.tspeed: str | None = None
        self.xdisp: str | None = None
        self.env: list[str] = []
        self.commands: list[str] = []
        self.commands_capped = False
        self.closed = False
        self.change: _Change | None = None
        self.changes: list[dict] = []

    # ------------------------------------------------------------ API
    def feed(self, direction: Direction, data: bytes, ts: float) -> list[Item]:
        if self.violated or self.closed or not data:
            return []
        out: list[Item] = []
        if self.start_ts is None:
            self.start_ts = ts
        side = self.sides[direction]
        if side.first:
            side.first = False
            if not self.confirmed and data[:1] != b"\xff" and probe(direction, data) is Verdict.NO:
                self.violated = True
                return [Violation(ts, f"{direction.label} bytes do not look like Telnet")]
        self._parse(direction, data, ts, out)
        return out

    def gap(self, direction: Direction, length: int, ts: float) -> list[Item]:
        if self.violated or self.closed:
            return []
        out: list[Item] = []
        side = self.sides[direction]
        if side.state in (_SB, _SB_IAC):
            side.sb.clear()
        side.state = _DATA
        side.cr = False
        self.pending_echo.clear()
        self.echo_skip = b""
        out.append(Anomaly(ts, "telnet_content_gap",
                           f"{length} bytes missing in the {direction.label}'s stream", direction))
        return out

    def close(self, ts: float) -> list[Item]:
        if self.violated or self.closed:
            return []
        self.closed = True
        out: list[Item] = []
        for d in (ORIG, RESP):
            side = self.sides[d]
            if side.state in (_SB, _SB_IAC):
                out.append(Anomaly(ts, "telnet_sb_unterminated",
                                   f"IAC SB {_opt(side.sb[0]) if side.sb else ''} never ended "
                                   f"with IAC SE ({len(side.sb)} bytes)", d))
                side.state = _DATA
            if side.cr:
                side.cr = False
                self._text(d, b"\r", ts, out)
        if self.line:
            self._end_line(ts, out)
        if self.awaiting:
            self._judge(typing=False, out=out)
        elif self.password is not None and not self.login_done:
            self._credential(None, out)
        if self.change is not None:
            self._judge_change(None, ts, out)
        if self.start_ts is None:
            return out
        out.append(TelnetRecord(
            self.start_ts, user=self.user or self.env_user, login_success=self.success,
            terminal_type=self.ttype, window_size=self.naws, terminal_speed=self.tspeed,
            x_display=self.xdisp, environment=list(self.env), options_agreed=list(self.agreed),
            commands=list(self.commands), orig_bytes=self.sides[ORIG].text_bytes,
            resp_bytes=self.sides[RESP].text_bytes, echo_bytes=self.echo_bytes,
            password_changes=list(self.changes)))
        return out

    # ------------------------------------------------------------ NVT parsing
    def _parse(self, d: Direction, data: bytes, ts: float, out: list[Item]) -> None:
        side = self.sides[d]
        text = bytearray()
        i, n = 0, len(data)
        while i < n:
            st = side.state
            if st == _DATA:
                j = data.find(b"\xff", i)
                if j < 0:
                    text += data[i:]
                    break
                text += data[i:j]
                i = j + 1
                side.state = _IAC
                continue
            if st == _SB:
                j = data.find(b"\xff", i)
                end = n if j < 0 else j
                room = self.lim.max_line - len(side.sb)
                if end - i > room:
                    # cap reached: the first max_line bytes were the SB, the rest is data
                    side.sb += data[i:i + room]
                    i += room
                    out.append(Anomaly(ts, "telnet_subnegotiation_too_long",
                                       f"SB {_opt(side.sb[0])} longer than {self.lim.max_line} "
                                       "bytes without IAC SE; the rest is treated as data", d))
                    side.sb.clear()
                    side.state = _DATA
                    continue
                side.sb += data[i:end]
                i = end
                if j >= 0:
                    i = j + 1
                    side.state = _SB_IAC
                continue
            b = data[i]
            i += 1
            if st == _IAC:
                if b == IAC:
                    text.append(IAC)
                    side.state = _DATA
                elif b in (WILL, WONT, DO, DONT):
                    side.verb = b
                    side.state = _OPT
                elif b == SB:
                    self._flush(d, text, ts, out)
                    side.sb.clear()
                    side.sb_ts = ts
                    side.state = _SB
                else:
                    self._flush(d, text, ts, out)
                    self._command(d, b, ts, out)
                    side.state = _DATA
            elif st == _OPT:
                self._flush(d, text, ts, out)
                self._negotiate(d, side.verb, b, ts, out)
                side.state = _DATA
            elif st == _SB_IAC:
                if b == SE:
                    side.state = _DATA
                    self._subneg(d, bytes(side.sb), side.sb_ts, out)
                    side.sb.clear()
                elif b == IAC:
                    side.sb.append(IAC)
                    side.state = _SB
                else:
                    out.append(Anomaly(ts, "telnet_sb_malformed",
                                       f"IAC {COMMAND_NAMES.get(b, b)} inside a subnegotiation "
                                       "(expected IAC SE)", d))
                    self._subneg(d, bytes(side.sb), side.sb_ts, out)
                    side.sb.clear()
                    side.state = _IAC
                    i -= 1
        self._flush(d, text, ts, out)

    def _confirm(self, ts: float, out: list[Item]) -> None:
        if not self.confirmed:
            self.confirmed = True
            out.append(Confirm(ts))

    def _command(self, d: Direction, b: int, ts: float, out: list[Item]) -> None:
        self._confirm(ts, out)
        name = COMMAND_NAMES.get(b, f"cmd-{b}")
        out.append(TelnetCommand(ts, d, name))
        if d is ORIG and name in ("EC", "EL") and self.line:
            if name == "EC":
                del self.line[-1:]
            else:
                self.line.clear()

    def _negotiate(self, d: Direction, verb: int, opt: int, ts: float, out: list[Item]) -> None:
        self._confirm(ts, out)
        vname = COMMAND_NAMES[verb]
        out.append(TelnetNegotiation(ts, d, vname, opt, _opt(opt)))
        if verb in (WILL, WONT):
            key = (d, opt)
            slot = 0
        else:
            key = (d.other, opt)
            slot = 1
        st = self.opts.setdefault(key, [None, None])
        st[slot] = verb in (WILL, DO)
        label = f"{key[0].label} {_opt(opt)}"
        if st[0] and st[1]:
            self.agreed.setdefault(label, None)
        else:
            self.agreed.pop(label, None)
        if opt == OPT_ECHO and not self._remote_echo():
            self.pending_echo.clear()

    def _remote_echo(self) -> bool:
        st = self.opts.get((RESP, OPT_ECHO))
        return bool(st and st[0] and st[1] is not False)

    # ------------------------------------------------------------ subnegotiation
    def _subneg(self, d: Direction, sb: bytes, ts: float, out: list[Item]) -> None:
        self._confirm(ts, out)
        if not sb:
            out.append(Anomaly(ts, "telnet_sb_empty", "IAC SB immediately followed by IAC SE", d))
            return
        opt, body = sb[0], sb[1:]
        detail = ""
        if opt in (OPT_TTYPE, OPT_TSPEED, OPT_XDISPLOC):
            if body[:1] == b"\x00":
                val = _txt(body[1:])
                detail = f"IS {val}"
                if d is ORIG:
                    if opt == OPT_TTYPE:
                        self.ttype = val
                    elif opt == OPT_TSPEED:
                        self.tspeed = val
                    else:
                        self.xdisp = val
            elif body[:1] == b"\x01":
                detail = "SEND"
            else:
                out.append(Anomaly(ts, "telnet_sb_malformed",
                                   f"{_opt(opt)} subnegotiation neither IS nor SEND", d))
        elif opt == OPT_NAWS:
            if len(body) == 4:
                w, h = struct.unpack(">HH", body)
                detail = f"{w}x{h}"
                if d is ORIG:
                    self.naws = detail
            else:
                out.append(Anomaly(ts, "telnet_sb_malformed",
                                   f"NAWS with {len(body)} bytes instead of 4", d))
        elif opt in (OPT_NEW_ENVIRON, OPT_ENVIRON):
            detail = self._environ(d, opt, body, ts, out)
        elif opt == OPT_LINEMODE:
            detail = self._linemode(body)
        elif opt == OPT_AUTH:
            detail = self._auth(d, body, ts, out)
        elif opt == OPT_ENCRYPT:
            detail = self._encrypt(d, body, ts, out)
        else:
            detail = body[:32].hex(" ") + (" …" if len(body) > 32 else "")
        out.append(TelnetSubnegotiation(ts, d, opt, _opt(opt), detail, sb[:256]))

    def _environ(self, d: Direction, opt: int, body: bytes, ts: float, out: list[Item]) -> str:
        if not body:
            return ""
        verb = {0: "IS", 1: "SEND", 2: "INFO"}.get(body[0], f"{body[0]}")
        items: list[tuple[str, str | None]] = []
        cur: list = []          # [kind, name bytearray, value bytearray|None]
        i, n = 1, len(body)
        esc = False
        while i < n:
            b = body[i]
            i += 1
            if not esc and b == 2:           # ESC: next byte is literal
                esc = True
                continue
            if not esc and b in (0, 3):      # VAR, USERVAR
                if cur:
                    items.append((_txt(bytes(cur[1])), None if cur[2] is None else _txt(bytes(cur[2]))))
                cur = [b, bytearray(), None]
            elif not esc and b == 1:         # VALUE
                if not cur:
                    cur = [0, bytearray(), None]
                cur[2] = bytearray()
            else:
                if not cur:
                    cur = [0, bytearray(), None]
                (cur[2] if cur[2] is not None else cur[1]).append(b)
            esc = False
        if cur:
            items.append((_txt(bytes(cur[1])), None if cur[2] is None else _txt(bytes(cur[2]))))
        parts = []
        for k, v in items:
            parts.append(k if v is None else f"{k}={v}")
            if verb in ("IS", "INFO") and d is ORIG and v is not None:
                if len(self.env) < 100:
                    self.env.append(f"{k}={v}")
                if k == "USER" and v:
                    self.env_user = v
        return f"{verb} " + " ".join(parts)

    @staticmethod
    def _linemode(body: bytes) -> str:
        if not body:
            return ""
        if body[0] == 1 and len(body) >= 2:
            m = body[1]
            flags = [n for bit, n in ((1, "EDIT"), (2, "TRAPSIG"), (4, "MODE_ACK"),
                                      (8, "SOFT_TAB"), (16, "LIT_ECHO")) if m & bit]
            return "MODE " + ("|".join(flags) or "0")
        if body[0] == 3:
            return f"SLC ({(len(body) - 1) // 3} triplets)"
        if body[0] in (DO, DONT, WILL, WONT) and len(body) >= 2 and body[1] == 2:
            return f"{COMMAND_NAMES[body[0]]} FORWARDMASK"
        return body[:16].hex(" ")

    def _auth(self, d: Direction, body: bytes, ts: float, out: list[Item]) -> str:
        if not body:
            return ""
        cmd = {0: "IS", 1: "SEND", 2: "REPLY", 3: "NAME"}.get(body[0], str(body[0]))
        if cmd == "NAME":
            name = _txt(body[1:])
            if name and d is ORIG:
                self.env_user = self.env_user or name
            return f"NAME {name}"
        if cmd in ("IS", "REPLY") and len(body) < 3:
            out.append(Anomaly(ts, "telnet_auth_malformed",
                               f"AUTHENTICATION {cmd} without a full authentication-type "
                               "pair (RFC 2941 needs type and modifier)", d))
        if cmd == "SEND":
            pairs = body[1:]
            return f"SEND {len(pairs) // 2} type pair(s)"
        return f"{cmd} " + body[1:16].hex(" ")

    def _encrypt(self, d: Direction, body: bytes, ts: float, out: list[Item]) -> str:
        if not body:
            return ""
        cmd = {0: "IS", 1: "SUPPORT", 2: "REPLY", 3: "START", 4: "END", 5: "REQUEST-START",
               6: "REQUEST-END", 7: "ENC_KEYID", 8: "DEC_KEYID"}.get(body[0], str(body[0]))
        if cmd in ("ENC_KEYID", "DEC_KEYID", "START") and len(body) - 1 > 64:
            # telnetd's key id buffer is 64 bytes: CVE-2011-4862 overflows it this way.
            out.append(Anomaly(ts, "telnet_encrypt_keyid_oversized",
                               f"ENCRYPT {cmd} key id of {len(body) - 1} bytes (servers keep "
                               "at most 64; the CVE-2011-4862 telnetd overflow looks like this)",
                               d))
        return f"{cmd} ({len(body) - 1} bytes)"

    # ------------------------------------------------------------ text
    def _flush(self, d: Direction, text: bytearray, ts: float, out: list[Item]) -> None:
        if not text:
            return
        data = bytes(text)
        text.clear()
        self._text(d, self._nvt(d, data), ts, out)

    def _nvt(self, d: Direction, data: bytes) -> bytes:
        """CR LF → LF, CR NUL → CR (RFC 854); a trailing CR waits for its partner.
        In BINARY mode (RFC 856) the bytes are data: a bare CR is passed on at once
        (clients in binary mode send CR alone for Enter)."""
        side = self.sides[d]
        side.text_bytes += len(data)
        if side.cr:
            side.cr = False
            data = b"\r" + data
        st = self.opts.get((d, OPT_BINARY))
        if st and st[0] and st[1]:
            return data
        if data.endswith(b"\r"):
            side.cr = True
            data = data[:-1]
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n").replace(b"\r\x00", b"\r")
        return data

    def _text(self, d: Direction, data: bytes, ts: float, out: list[Item]) -> None:
        if not data:
            return
        if d is ORIG:
            if self._remote_echo():
                self.pending_echo += data
                if len(self.pending_echo) > ECHO_QUEUE:
                    del self.pending_echo[:-ECHO_QUEUE]
            # one keystroke event per line segment, so the items do not depend on
            # how the stream was chunked (a line end may emit a TelnetLine)
            pos = 0
            n = len(data)
            while pos < n:
                k = _EOL.search(data, pos)
                end = n if k is None else k.end()
                seg = data[pos:end]
                pos = end
                if self.awaiting:
                    self._judge(typing=True, out=out)
                prompt = self.line_prompt if self.line else self.tail.rsplit("\n", 1)[-1]
                if self.change is not None and not self.change.judged:
                    self._judge_change(prompt, ts, out)
                if _PASS_PROMPT.search(prompt):
                    out.append(TelnetInput(ts, ORIG, b"", secret=True))
                else:
                    out.append(TelnetInput(ts, ORIG, seg))
                self._typed(seg, ts, out)
            return
        if self.pending_echo or self.echo_skip:
            data = self._strip_echo(data)
        if not data:
            return
        out.append(TelnetOutput(ts, RESP, data))
        s = _txt(data)
        self.tail = (self.tail + s)[-PROMPT_TAIL:]
        if self.awaiting:
            self.after_pw = (self.after_pw + s)[-1024:]
        c = self.change
        if c is not None:
            c.reply = (c.reply + s)[-1024:]
            if c.verdict_ts is None and (_CHG_OK.search(c.reply) or _CHG_FAIL.search(c.reply)):
                c.verdict_ts = ts

    def _strip_echo(self, data: bytes) -> bytes:
        pend = self.pending_echo
        i = j = 0
        n, m = len(data), len(pend)
        skip = self.echo_skip
        while i < n:
            if skip:                      # the " BS" that completes a "BS SP BS" echo
                if data[i] == skip[0]:
                    i += 1
                    skip = skip[1:]
                    continue
                skip = b""
            if j >= m:
                break
            o, p = data[i], pend[j]
            if o == p or (p in (CR, LF) and o in (CR, LF)):
                i += 1
                j += 1
            elif p in (BS, DEL) and o in (BS, DEL):
                i += 1
                j += 1
                if o == BS:
                    skip = b" \x08"
            else:
                break
        self.echo_skip = skip
        self.echo_bytes += i
        if i < n and j < m:
            pend.clear()          # not echoed (a password, or output in between)
        else:
            del pend[:j]
        return data[i:]

    def _typed(self, data: bytes, ts: float, out: list[Item]) -> None:
        pos = 0
        n = len(data)
        while pos < n:
            # bulk-copy up to the next line end or editing character
            k = _EDIT.search(data, pos)
            end = n if k is None else k.start()
            if end > pos:
                if not self.line:
                    self.line_prompt = self.tail.rsplit("\n", 1)[-1]
                    self.line_ts = ts
                room = self.lim.max_line - len(self.line)
                chunk = data[pos:end]
                if len(chunk) > room:
                    self.line_long = True        # reported when the line ends
                    chunk = chunk[:max(room, 0)]
                self.line += chunk
            if k is None:
                break
            c = data[k.start()]
            if c in (CR, LF):
                self._end_line(ts, out)
            elif c in (BS, DEL):
                del self.line[-1:]
            elif c == 0x15:          # Ctrl-U: kill line
                self.line.clear()
            elif c == 0x17:          # Ctrl-W: erase word
                s = bytes(self.line).rstrip()
                cut = s.rfind(b" ")
                del self.line[cut + 1 if cut >= 0 else 0:]
            pos = k.start() + 1

    def _end_line(self, ts: float, out: list[Item]) -> None:
        raw = bytes(self.line)
        self.line.clear()
        if self.line_long:
            self.line_long = False
            out.append(Anomaly(ts, "telnet_line_too_long",
                               f"typed line longer than {self.lim.max_line} bytes; truncated",
                               ORIG))
        clean = _CTRL.sub(b"", _ANSI.sub(b"", raw))
        text = _txt(clean).strip()
        prompt = self.line_prompt
        self.line_prompt = ""
        kind = next((k for k, rx in _CHG_PROMPTS if rx.search(prompt)), "command")
        if kind != "command":
            self._change_secret(kind, _txt(clean), self.line_ts or ts)
        elif _PASS_PROMPT.search(prompt):
            kind = "password"            # also su/sudo/enable passwords after the login
        elif self.success is not True and _LOGIN_PROMPT.search(prompt) and text:
            kind = "username"
        if kind == "username":
            if self.password is not None and not self.login_done:
                self._credential(False, out)     # a new login prompt: the last attempt failed
            self.user = text
            self.awaiting = False
            self.login_done = False
        elif kind == "password":
            self.password = _txt(clean)
            self.cred_ts = self.line_ts
            self.awaiting = True
            self.after_pw = ""
            self.login_done = False
        if not text and kind == "command":
            return
        out.append(TelnetLine(self.line_ts or ts, ORIG, text if kind == "command" or kind == "username"
                              else MASK, kind))
        if kind == "command":
            if len(self.commands) < MAX_COMMANDS:
                self.commands.append(text)
            elif not self.commands_capped:
                self.commands_capped = True
                out.append(Anomaly(ts, "telnet_commands_too_many",
                                   f"more than {MAX_COMMANDS} typed lines; the rest not listed",
                                   ORIG))

    def _judge(self, typing: bool, out: list[Item]) -> None:
        """Decide whether the last password worked, from what the server said since.
        Called when the user types again (``typing``) or when the session ends, so
        the verdict never depends on how the server's output was chunked."""
        text = self.after_pw
        if _FAIL.search(text) or _LOGIN_PROMPT.search(text.rstrip()):
            self._credential(False, out)
        elif typing or _SHELL_PROMPT.search(text) or "last login" in text.lower():
            self._credential(True, out)
        else:
            self._credential(None, out)

    def _credential(self, success: bool | None, out: list[Item]) -> None:
        self.awaiting = False
        self.login_done = True
        self.success = success
        out.append(Credential(self.cred_ts, protocol="telnet", username=self.user or self.env_user
                              or "", secret=self.password or "", kind="password",
                              success=success))
        self.password = None


    # ------------------------------------------------------------ password changes
    def _change_secret(self, kind: str, secret: str, ts: float) -> None:
        c = self.change
        if c is None or (kind == "current_password" and "current_password" in c.secrets):
            m = _CHG_USER.search(self.tail)
            c = self.change = _Change(m.group(1) if m else (self.user or self.env_user or ""))
        c.secrets[kind] = (ts, secret)
        c.stage = kind
        c.reply = ""
        c.judged = False

    def _judge_change(self, prompt: str | None, ts: float, out: list[Item]) -> None:
        """What the server said since the last secret of a password change, read when the user types
        again (``prompt`` is the line they type at) or when the session ends (``prompt`` None): the
        change goes on at its next prompt, or it ends with the verdict of the server's reply."""
        c = self.change
        c.judged = True
        c.verdicts += [ln.strip() for ln in c.reply.splitlines() if _CHG_OK.search(ln) or _CHG_FAIL.search(ln)]
        c.reply = ""
        nxt = next((k for k, rx in _CHG_PROMPTS if prompt is not None and rx.search(prompt)), None)
        if nxt == "current_password" and "current_password" in c.secrets:
            nxt = None                              # a new attempt: this one has ended
        if nxt is not None:
            if c.stage == "current_password":
                c.current_ok = not c.verdicts       # asked for what comes next: the current one was right
                self._change_credentials(c, None, ("current_password",), out)
            elif nxt == "new_password" and "new_password" in c.secrets:
                # asked again for a new password: the one typed was refused (too weak, or mistyped twice)
                self._change_credentials(c, False, ("new_password", "retyped_password"), out)
                c.verdicts.clear()
                c.verdict_ts = None
            return
        fail = any(_CHG_FAIL.search(v) for v in c.verdicts)
        accepted = False if fail else True if c.verdicts else None
        if c.stage == "current_password":
            c.current_ok = accepted
        elif c.current_ok is None and accepted is not None:
            c.current_ok = True if accepted else None
        self._change_credentials(c, accepted, ("current_password", "new_password", "retyped_password"), out)
        reply = " / ".join(c.verdicts)
        out.append(TelnetPasswordChange(c.verdict_ts if c.verdict_ts is not None else ts, RESP, user=c.user,
                                        accepted=accepted, reply=reply))
        self.changes.append({"user": c.user, "accepted": accepted, "reply": reply})
        self.change = None

    @staticmethod
    def _change_credentials(c: _Change, accepted: bool | None, kinds: tuple[str, ...], out: list[Item]) -> None:
        """One credential per secret typed: the current password (valid when the server went on or
        accepted), the new one (valid when accepted), the retyped one only when it differs (never valid)."""
        new = c.secrets.get("new_password", (0.0, None))[1]
        for kind in kinds:
            got = c.secrets.pop(kind, None)
            if got is None or (kind == "retyped_password" and got[1] == new):
                continue
            success = c.current_ok if kind == "current_password" else \
                False if kind == "retyped_password" else accepted
            out.append(Credential(got[0], protocol="telnet", username=c.user, secret=got[1],
                                  kind="passwd-" + kind.split("_")[0], success=success))


_EDIT = re.compile(rb"[\r\n\x08\x7f\x15\x17]")
_EOL = re.compile(rb"[\r\n]")

