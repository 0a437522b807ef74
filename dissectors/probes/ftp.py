"""Recognising FTP: ports, content probe and spec (the dissector: :mod:`dissectors.ftp`, imported lazily).

Port 21 (control; ``ftp-data`` is reached only through an expectation). By content: a ``220``/``120`` greeting
naming FTP server software (RFC 959 section 4.2), or ``AUTH TLS``/``AUTH SSL`` (RFC 4217) or ``USER`` from the
client. Limits: Telnet negotiation on port 21 is refused; a greeting naming no FTP software is MAYBE.

See :mod:`dissectors.probes` for why this is apart from the dissector.
"""
from __future__ import annotations

import re
from types import MappingProxyType
from typing import Mapping

from decoder.model import Direction, DissectorSpec, Lazy, Presentation, RESP, Transport, Verdict


#: RFC 959 section 4.1 (and RFC 2228, 2389, 2428, 3659, 775) command meanings.
COMMAND_MEANINGS: Mapping[str, str] = MappingProxyType({
    "USER": "sends the user name to log in with",
    "PASS": "sends the password, in cleartext",
    "ACCT": "sends account information (some systems need it after the password)",
    "CWD": "changes the working directory",
    "XCWD": "changes the working directory (old RFC 775 form)",
    "CDUP": "changes to the parent directory",
    "XCUP": "changes to the parent directory (old RFC 775 form)",
    "SMNT": "mounts a different file system structure",
    "REIN": "reinitialises the session (logs out, keeps the connection)",
    "QUIT": "logs out and closes the control connection",
    "PORT": "active mode: tells the server which client address and port to connect to for data",
    "PASV": "passive mode: asks the server to listen on a port for the data connection",
    "EPRT": "extended PORT (RFC 2428): client address (IPv4 or IPv6) and port for data",
    "EPSV": "extended PASV (RFC 2428): asks for a data port on the server's own address",
    "LPRT": "long PORT (RFC 1639)",
    "LPSV": "long PASV (RFC 1639)",
    "TYPE": "sets the representation type: A (ASCII text) or I (binary image)",
    "STRU": "sets the file structure (F file, R record, P page)",
    "MODE": "sets the transfer mode (S stream, B block, C compressed)",
    "RETR": "downloads a file over the data connection",
    "STOR": "uploads a file over the data connection (replacing any existing one)",
    "STOU": "uploads a file under a unique name chosen by the server",
    "APPE": "uploads data and appends it to a file",
    "ALLO": "reserves storage space before an upload",
    "REST": "sets the restart offset for the next transfer (resuming)",
    "RNFR": "names the file to rename (rename from)",
    "RNTO": "gives the new name (rename to)",
    "ABOR": "aborts the transfer in progress",
    "DELE": "deletes a file",
    "RMD": "removes a directory",
    "XRMD": "removes a directory (old RFC 775 form)",
    "MKD": "creates a directory",
    "XMKD": "creates a directory (old RFC 775 form)",
    "PWD": "asks for the current working directory",
    "XPWD": "asks for the current working directory (old RFC 775 form)",
    "LIST": "asks for a detailed directory listing over the data connection",
    "NLST": "asks for a list of names over the data connection",
    "MLSD": "asks for a machine-readable directory listing over the data connection (RFC 3659)",
    "MLST": "asks for machine-readable facts about one file on the control connection (RFC 3659)",
    "SITE": "site-specific command",
    "SYST": "asks for the server's operating system type",
    "STAT": "asks for status (of the server, or of a file)",
    "HELP": "asks for help on commands",
    "NOOP": "does nothing (keeps the connection alive)",
    "FEAT": "asks which extensions the server supports (RFC 2389)",
    "OPTS": "sets options of a command (RFC 2389), e.g. UTF8 ON",
    "SIZE": "asks for the size of a file (RFC 3659)",
    "MDTM": "asks for the modification time of a file (RFC 3659)",
    "AUTH": "asks to secure the control connection (RFC 2228), e.g. AUTH TLS",
    "ADAT": "sends security data (RFC 2228)",
    "PBSZ": "sets the protection buffer size (RFC 2228)",
    "PROT": "sets the data channel protection level (RFC 2228)",
    "CCC": "clears the command channel protection (RFC 2228)",
    "CLNT": "tells the server the client software's name",
    "LANG": "selects the language of replies (RFC 2640)",
    "HOST": "names the virtual host to use (RFC 7151)",
})
KNOWN_COMMANDS = frozenset(COMMAND_MEANINGS)
_REPLY_RE = re.compile(rb"(\d{3})([ -]|$)")
_FTP_WORD_RE = re.compile(rb"ftp|filezilla|serv-u|wu-\d|\bwar-ftpd|pure-ftpd", re.I)


def probe(direction: Direction, data: bytes) -> Verdict:
    """Server greeting ``220`` naming FTP → YES; client ``AUTH TLS``/``AUTH SSL``
    → YES; other plausible first lines → MAYBE; Telnet IAC or foreign bytes → NO."""
    if not data:
        return Verdict.MAYBE
    if data[:1] == b"\xff":
        return Verdict.NO              # Telnet negotiation (even on port 21)
    line_end = data.find(b"\n")
    line = data if line_end < 0 else data[:line_end]
    if direction is RESP:
        m = _REPLY_RE.match(line)
        if not m:
            if len(line) < 4 and line.isdigit():
                return Verdict.MAYBE
            return Verdict.NO
        code = int(m.group(1))
        if code in (220, 120) and _FTP_WORD_RE.search(line):
            return Verdict.YES
        if code in (220, 120, 421, 530, 500):
            if re.search(rb"smtp|imap|pop3|\+OK", line, re.I):
                return Verdict.NO
            return Verdict.MAYBE
        return Verdict.MAYBE
    word = line.split(b" ", 1)[0].strip().upper()
    if line.upper().startswith((b"AUTH TLS", b"AUTH SSL")):
        return Verdict.YES
    if word == b"USER" and len(line) > 5:
        # POP3 has USER too: on POP3's port its spec wins; see the module limits.
        return Verdict.YES
    if word in (b"PORT", b"EPRT", b"PASV", b"EPSV", b"SYST", b"FEAT", b"OPTS"):
        return Verdict.MAYBE
    if line_end < 0 and len(line) < 5 and line.isalpha():
        return Verdict.MAYBE
    try:
        w = word.decode("ascii")
    except UnicodeDecodeError:
        return Verdict.NO
    return Verdict.MAYBE if w in KNOWN_COMMANDS else Verdict.NO


SPECS: tuple[DissectorSpec, ...] = (
    DissectorSpec(name="ftp", transport=Transport.TCP, ports=frozenset({21}), probe=probe,
                  factory=Lazy("dissectors.ftp:FtpDissector"), service="ftp", assemble=Lazy("dissectors.ftp:assemble"),
                  assemble_tables=("conn", "ftp", "files", "ftp_listing")),
    DissectorSpec(name="ftp-data", transport=Transport.TCP, ports=frozenset(), probe=None,
                  factory=Lazy("dissectors.ftp:FtpDataDissector"), service="ftp-data", expect_only=True),
)

#: ftp's anomaly names → what each means, in words a student understands (the report shows them).
_ANOMALIES = {
    "ftp_data_gap": "Bytes of an FTP data transfer are missing; the extracted file is incomplete.",
    "ftp_content_gap": "Bytes of the FTP control connection are missing from the capture.",
    "ftp_bad_command": "A line from the FTP client was not an FTP command (RFC 959 section 5.3); it was skipped.",
    "ftp_bad_reply": "A line from the FTP server was not a reply (three digits then text, RFC 959 section 4.2).",
    "ftp_bad_port": "The address in a PORT or EPRT command could not be read (RFC 959 h1,h2,h3,h4,p1,p2 or "
                    "RFC 2428 |proto|addr|port|), so its data connection cannot be linked.",
    "ftp_bad_pasv": "A 227 (passive mode) reply did not carry a readable h1,h2,h3,h4,p1,p2 address, so its data "
                    "connection cannot be linked to this session.",
    "ftp_bad_epsv": "A 229 (extended passive mode) reply did not carry a readable (|||port|), so its data "
                    "connection cannot be linked to this session.",
    "ftp_reply_unterminated": "A multi-line FTP reply (code and '-') never got its last line (code and a space) "
                              "before the connection or capture ended.",
}

#: How ftp is shown: anomaly explanations, report colour, live columns and colour (decoder.model.Presentation).
PRESENTATION = Presentation(anomalies=_ANOMALIES,
                            colours={"ftp": "#2f5d9e", "ftp-data": "#6f95d1"},
                            live_columns={"ftp": ("user", "command", "arg", "reply_code", "reply_msg")},
                            live_colours={"ftp": "33"})
