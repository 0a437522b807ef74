"""The shared vocabulary of wiretale: directions, items, directives, the dissector contract.

This module is a leaf (standard library only). Dissectors import it and nothing else
from ``decoder``; the engine and the reports read the same types.

A dissector is *sans-IO* (see ``shared/DESIGN.md`` section 1): it is fed
``(direction, bytes, ts)`` and returns a list of *items*:

* **events** (subclasses of :class:`Event`): fine-grained facts with a ``summary()``
  that the timeline shows, e.g. one SMTP command or one DNS message;
* **records** (subclasses of :class:`Record`): one row of a protocol table (class
  attribute ``TABLE``); their dataclass fields are the table's columns;
* **anomalies** (:class:`Anomaly`): malformed or surprising traffic, as data;
* **file streams** (:class:`FileOpen`, :class:`FileData`, :class:`FileGap`,
  :class:`FileClose`): objects that travelled; the engine writes them to disk
  under names it chooses, hashes them and caps their size. An object of
  ``kind="email"`` is additionally parsed as an RFC 5322 message;
* **directives** for the engine: :class:`Expect`, :class:`Confirm`,
  :class:`Violation`, :class:`StopParsing`.

Limits: every cap lives in :class:`Limits`; nothing here reads the clock, files
or global state.
"""
from __future__ import annotations

import binascii
import enum
import hashlib
import importlib
import inspect
import math
from datetime import date, datetime, timezone
from types import MappingProxyType, MemberDescriptorType
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Callable, ClassVar, Iterable, Mapping, Protocol, TypeVar, Union

__all__ = [
    "Direction", "ORIG", "RESP", "Transport", "Verdict", "Limits",
    "Event", "Record", "Anomaly", "Credential", "CORE_RECORDS",
    "ConnRecord", "FileRecord", "EmailRecord", "AnomalyRecord", "TimelineRecord",
    "FileOpen", "FileData", "FileGap", "FileClose",
    "Expect", "Confirm", "Violation", "StopParsing", "SWITCHES",
    "ExpectationMatch", "FlowContext", "Dissector", "BulkDissector", "DissectorSpec", "Presentation", "Secrets", "MIME_LABELS", "describe_object",
    "Item", "make_fuid", "short_uid", "quick_init",
]


class Direction(enum.IntEnum):
    """Which way bytes travelled: ORIG is client→server, RESP server→client."""

    ORIG = 0
    RESP = 1

    @property
    def other(self) -> "Direction":
        return Direction.RESP if self is Direction.ORIG else Direction.ORIG

    @property
    def label(self) -> str:
        return "client" if self is Direction.ORIG else "server"


ORIG = Direction.ORIG
RESP = Direction.RESP


class Transport(str, enum.Enum):
    TCP = "tcp"
    UDP = "udp"


class Verdict(enum.Enum):
    """A probe's answer about the first bytes of a direction."""

    YES = "yes"
    NO = "no"
    MAYBE = "maybe"


@dataclass(frozen=True, slots=True)
class Limits:
    """Every cap wiretale applies, in one place (capture time, bytes and counts).

    When a cap is hit the code that hit it emits an :class:`Anomaly` whose name
    ends in ``_too_long``, ``_too_many``, ``_too_deep``, ``_capped`` or ``_limit``;
    the engine counts them as "limits hit" in ``summary.json``.
    """

    # detection and reassembly
    detect_buffer: int = 4096            # bytes per direction buffered for content probes
    tcp_hole_buffer: int = 1024 * 1024   # bytes queued above a hole before it is declared a gap (loss recovery can take a window)
    tcp_max_pending_segments: int = 65536  # separate (non-adjacent) ranges queued above holes per direction: a
    # second guard beside tcp_hole_buffer against many tiny pieces (adjacent pieces are coalesced; 100,000
    # shuffled one-byte segments peak near 25,000 ranges; ~80 bytes of bookkeeping per range)
    max_flows: int = 100_000             # open flows before the oldest is evicted
    max_lingering_flows: int = 1_000     # finished TCP flows kept (for their last ACKs) before the oldest is written
    tcp_close_delay: float = 120.0       # seconds a finished TCP flow keeps absorbing late ACKs and copies
                                         # (Zeek: 5 s; longer, as tshark folds them into the connection)
    tcp_idle_timeout: float = 3600.0     # seconds of capture time
    udp_idle_timeout: float = 60.0       # Zeek's default UDP inactivity timeout
    dns_idle_timeout: float = 10.0       # a UDP flow decoded as DNS: Zeek's dns_session_timeout
    fragment_timeout: float = 300.0
    max_fragment_bytes: int = 65_535 + 8
    max_fragment_sets: int = 10_000
    max_expectations: int = 10_000
    ftp_expect_ttl: float = 300.0
    tftp_expect_ttl: float = 60.0
    rpc_expect_ttl: float = 300.0         # a port the portmapper announced (RFC 1833 GETPORT/GETADDR/DUMP)
    # application units
    max_line: int = 8 * 1024
    max_header_block: int = 64 * 1024
    max_literal: int = 64 * 1024 * 1024
    max_message: int = 64 * 1024 * 1024
    max_pending_requests: int = 1000
    max_name_depth: int = 128             # DNS compression pointers followed per name
    max_ber_depth: int = 64
    max_mime_depth: int = 50
    max_mime_parts: int = 1000
    rpc_max_record: int = 4 * 1024 * 1024   # an ONC RPC message (TCP record or UDP datagram)
    xdr_max_string: int = 64 * 1024       # an XDR string or opaque other than READ/WRITE data
    xdr_max_array: int = 100_000          # elements of an XDR array or links of a list
    xdr_max_depth: int = 32               # nested XDR structures
    nfs_max_handles: int = 100_000        # file handle → path entries per flow
    nfs_max_files: int = 1000             # files being reassembled at once per flow
    nfs_reorder_buffer: int = 16 * 1024 * 1024   # READ/WRITE bytes held above a hole, per flow
    # artifacts
    max_file_size: int = 100 * 1024 * 1024
    max_decompressed: int = 64 * 1024 * 1024
    max_decompression_ratio: int = 1000
    max_files: int = 100_000
    max_transcript: int = 1024 * 1024     # bytes per direction kept for a session's transcript view
    rows_in_memory: int = 5000            # table rows held in memory (all tables together) before spilling

    def replace(self, **changes: Any) -> "Limits":
        import dataclasses

        return dataclasses.replace(self, **changes)


# ---------------------------------------------------------------- quicker construction
_D = TypeVar("_D")
_FACTORY = object()     # the default of a field with a default_factory, as dataclasses has it


def quick_init(cls: type[_D]) -> type[_D]:
    """Give a frozen, slotted dataclass an ``__init__`` that takes the same arguments and sets the same
    fields, about twice as quick (put it above ``@dataclass(frozen=True, slots=True)``).

    The dataclass's own ``__init__`` sets each field with ``object.__setattr__(self, name, value)`` (a
    global, an attribute and a name lookup per field); this one calls each slot's descriptor, bound once.
    For the items a dissector makes per datagram or per message (a DNS message, an SNMP PDU, their
    rows). Refused (``TypeError``) for what it does not reproduce: a class that is not a frozen slotted
    dataclass, ``__post_init__``, ``InitVar``, ``init=False`` or keyword-only fields. The dataclass's own
    ``__init__`` stays reachable as ``__init__.__wrapped__`` (``inspect.signature`` reads it)."""
    params = getattr(cls, "__dataclass_params__", None)
    fs = fields(cls) if params is not None else ()
    # the dataclass's own parameters are the fields in order, none keyword-only: no InitVar, no init=False
    own = list(inspect.signature(cls.__init__).parameters.values())[1:] if params is not None else []
    if (params is None or not params.frozen or "__slots__" not in cls.__dict__ or hasattr(cls, "__post_init__")
            or [(a.name, a.kind) for a in own] != [(f.name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for f in fs]):
        raise TypeError(f"quick_init: {cls.__name__} is not a frozen slotted dataclass it can serve")
    env: dict[str, Any] = {"_FACTORY": _FACTORY}
    args, body = [], []
    for i, f in enumerate(fs):
        slot = getattr(cls, f.name)
        if type(slot) is not MemberDescriptorType or f.name == "self" or f.name.startswith("_"):
            raise TypeError(f"quick_init: {cls.__name__}.{f.name} is not a slot it can name")
        env[f"_s{i}"] = slot.__set__
        if f.default_factory is not MISSING:
            env[f"_f{i}"] = f.default_factory
            args.append(f"{f.name}=_FACTORY")
            body.append(f"    _s{i}(self, _f{i}() if {f.name} is _FACTORY else {f.name})")
        elif f.default is not MISSING:
            env[f"_d{i}"] = f.default
            args.append(f"{f.name}=_d{i}")
            body.append(f"    _s{i}(self, {f.name})")
        else:
            args.append(f.name)
            body.append(f"    _s{i}(self, {f.name})")
    src = f"def __init__(self, {', '.join(args)}):\n" + ("\n".join(body) or "    pass") + "\n"
    exec(src, env)      # noqa: S102 - our own source, made from the class's field names
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    init.__wrapped__ = cls.__init__
    cls.__init__ = init     # type: ignore[misc]
    return cls


# ---------------------------------------------------------------- items
@dataclass(frozen=True, slots=True)
class Event:
    """Base of protocol events. Subclasses add fields and override :meth:`summary`."""

    ts: float
    direction: Direction

    def summary(self) -> str:  # pragma: no cover - subclasses override
        return type(self).__name__


@dataclass(frozen=True, slots=True)
class Record:
    """Base of table rows. ``TABLE`` names the table; fields are columns.

    The engine prefixes every row with ``uid, orig_h, orig_p, resp_h, resp_p``
    (the flow's), so records carry only their own facts, ``ts`` first.
    Lists stay lists; nested frozen dataclasses become dicts.
    """

    TABLE: ClassVar[str] = ""
    COLUMNS: ClassVar[Mapping[str, str]] = {}   # field → column name where Python forbids it (from_ → from)
    ALWAYS_WRITTEN: ClassVar[bool] = True       # False: the table is written only when it has rows
    ts: float


@quick_init
@dataclass(frozen=True, slots=True)
class Anomaly:
    """Malformed or surprising traffic. ``name`` is a stable snake_case identifier
    (``smtp_line_too_long``); ``detail`` is one human sentence."""

    ts: float
    name: str
    detail: str = ""
    direction: Direction | None = None


#: What stands in a secret's place. The one rule (docs/HARDENING.md, "Secrets"): a secret (password,
#: pass phrase, SASL response, community, URL user-info password, keystrokes at a password prompt) is
#: kept verbatim only in the ``credentials`` table (a :class:`Credential`) and in the raw streams and
#: extracted objects; every event (timeline summary and fields) and every other record carries MASK
#: at its place, always eight characters whatever the secret's length. The HTML report masks the
#: credentials table and the raw views too, unless ``--show-secrets``.
MASK = "********"


@quick_init
@dataclass(frozen=True, slots=True)
class Credential(Record):
    """A secret that crossed the wire in cleartext (one row of ``credentials``)."""

    TABLE: ClassVar[str] = "credentials"
    protocol: str = ""
    username: str = ""
    secret: str = ""
    kind: str = "password"        # password, apop, cram-md5, basic, digest, community, …
    success: bool | None = None   # accepted by the server, when known


def _col(doc: str, default: Any = None) -> Any:
    """A core-table column: its default and its one-line meaning (``docs/TABLES.md`` prints it)."""
    return field(default=default, metadata={"doc": doc})


# ----------------------------------------------------------------------------- the core tables
# The engine writes these tables itself (not a dissector). Their rows are built as dicts in the engine,
# the artifact store and the session step; these Records are the one schema of their columns (order,
# type, meaning): reports.tables.CORE and docs/TABLES.md are made from them. Zeek's names carry Zeek's
# meaning (conn: scripts/base/protocols/conn/main.zeek).


@dataclass(frozen=True, slots=True)
class ConnRecord(Record):
    """One transport connection (TCP) or flow (UDP), written when it closes."""

    TABLE: ClassVar[str] = "conn"
    proto: str = _col("transport: tcp or udp", "")
    service: str = _col("the protocol the dissector host attached (empty when none)", "")
    duration: float = _col("seconds from the first to the last packet", 0.0)
    orig_bytes: int = _col("payload bytes sent by the originator", 0)
    resp_bytes: int = _col("payload bytes sent by the responder", 0)
    conn_state: str = _col("Zeek's connection state (S0, SF, REJ, RSTO, OTH, …)", "")
    missed_bytes: int = _col("bytes of the byte stream never seen (gaps), both directions", 0)
    history: str = _col("Zeek's history letters (upper case: originator)", "")
    orig_pkts: int = _col("packets from the originator", 0)
    resp_pkts: int = _col("packets from the responder", 0)
    orig_ip_bytes: int = _col("IP bytes (headers included) from the originator", 0)
    resp_ip_bytes: int = _col("IP bytes (headers included) from the responder", 0)
    roles_guessed: bool = _col("true when the handshake was not seen and the roles were guessed", False)
    out_of_order: int = _col("TCP segments that arrived out of order", 0)
    retransmissions: int = _col("TCP segments seen again", 0)
    gaps: int = _col("holes in the byte stream", 0)
    parent_uid: str | None = _col("the connection that announced this one (FTP data, TFTP, …)")
    expect_token: str | None = _col("the announcement (expectation) this connection matched")
    nat: bool = _col("true when the expected address was rewritten on the way (NAT)", False)
    first_frame: int = _col("capture frame number of the first packet", 0)
    last_frame: int = _col("capture frame number of the last packet", 0)
    close_reason: str | None = _col("why the engine closed it (e.g. finished, idle timeout)")


@dataclass(frozen=True, slots=True)
class AnomalyRecord(Record):
    """Malformed or surprising traffic, or a limit that was hit (an :class:`Anomaly` with its place)."""

    TABLE: ClassVar[str] = "anomalies"
    name: str = _col("stable snake_case identifier (smtp_line_too_long)", "")
    detail: str = _col("one human sentence", "")
    source: str | None = _col("who said it: a protocol, the engine, the capture")
    frame: int | None = _col("capture frame number of the packet that carried it")
    direction: str | None = _col("orig or resp, when it belongs to one direction")


@dataclass(frozen=True, slots=True)
class TimelineRecord(Record):
    """One protocol event, at the time and frame of the packet that carried it."""

    TABLE: ClassVar[str] = "timeline"
    proto: str = _col("the protocol that decoded it", "")
    direction: str = _col("orig or resp", "")
    kind: str = _col("the event's class name", "")
    summary: str = _col("one line, secrets masked", "")
    meaning: str = _col("what the event means, in words (may be empty)", "")
    frame: int | None = _col("capture frame number of the packet that carried it")
    fields: dict | None = _col("the event's own fields (all but ts and direction), secrets masked")


@dataclass(frozen=True, slots=True)
class FileRecord(Record):
    """One object that travelled (a transfer, a body, an attachment), and where it was stored."""

    TABLE: ClassVar[str] = "files"
    #: columns present only when some row carries them (appended after the declared ones)
    OPTIONAL: ClassVar[Mapping[str, str]] = {
        "is_attachment": "for a MIME part of an e-mail: true when it is an attachment (not an inline body)",
        "mime_part": "for a MIME part of an e-mail: its place in the message's MIME tree",
    }
    fuid: str = _col("the object's id", "")
    source: str = _col("the protocol that carried it", "")
    kind: str = _col("what it is to that protocol (file, body, email, …)", "")
    direction: str | None = _col("orig or resp")
    filename: str | None = _col("the name the protocol gave it, as sent")
    mime_type: str | None = _col("the type the protocol declared")
    sniffed_mime_type: str | None = _col("the type its first bytes show")
    seen_bytes: int = _col("bytes seen", 0)
    total_bytes: int | None = _col("the size the protocol announced")
    missing_bytes: int = _col("bytes announced or skipped but never seen", 0)
    complete: bool = _col("true when every byte was seen", False)
    truncated: bool = _col("true when a size cap stopped storing it", False)
    sha256: str | None = _col("SHA-256 of the stored bytes")
    parent_fuid: str | None = _col("the object it was taken from (an e-mail for its attachments)")
    path: str | None = _col("where it was stored, relative to the output directory (our own name)")
    close_ts: float | None = _col("when it ended (epoch seconds)")
    close_reason: str | None = _col("why it ended")


@dataclass(frozen=True, slots=True)
class EmailRecord(Record):
    """One e-mail message (RFC 5322) found in a transfer (SMTP DATA, POP3 RETR, IMAP FETCH)."""

    TABLE: ClassVar[str] = "emails"
    COLUMNS: ClassVar[Mapping[str, str]] = {"from_": "from"}
    fuid: str = _col("the message's object id (a row of files)", "")
    source: str = _col("the protocol that carried it", "")
    date: str | None = _col("Date header, as sent")
    from_: str | None = _col("From header")
    to: list | None = _col("To addresses")
    cc: list | None = _col("Cc addresses")
    reply_to: str | None = _col("Reply-To header")
    subject: str | None = _col("Subject header, decoded")
    msg_id: str | None = _col("Message-ID header")
    in_reply_to: str | None = _col("In-Reply-To header")
    user_agent: str | None = _col("User-Agent or X-Mailer header")
    x_originating_ip: str | None = _col("X-Originating-IP header")
    attachments: list | None = _col("attachment file names")
    attachment_fuids: list | None = _col("attachment object ids (rows of files)")
    parts: int = _col("number of MIME parts", 0)
    size: int = _col("bytes of the message seen", 0)
    complete: bool = _col("true when every byte was seen", False)
    missing_bytes: int = _col("bytes never seen", 0)
    defects: list | None = _col("what the MIME parser found malformed")
    eml: str | None = _col("where the .eml was stored, relative to the output directory")
    sha256: str | None = _col("SHA-256 of the message bytes")


@dataclass(frozen=True, slots=True)
class CommentRecord(Record):
    """A comment written into a pcapng file (its ``opt_comment`` options):
    of the file, of an interface or of one packet (then at that packet's time and frame, with its
    session's ``uid``; ``ts`` is empty otherwise)."""

    TABLE: ClassVar[str] = "comments"
    ALWAYS_WRITTEN: ClassVar[bool] = False
    frame: int | None = _col("capture frame number of the commented packet (empty for a file or interface comment)")
    scope: str = _col("what it is about: capture (the file's section header), interface N, or packet", "")
    text: str = _col("the comment, as written (UTF-8; cut past 4 KiB, and said so)", "")


@dataclass(frozen=True, slots=True)
class TcpControlRecord(Record):
    """A TCP control packet of a session (RFC 9293 sections 3.5 and 3.6): the first SYN, SYN-ACK, FIN and
    RST of each side, and the originator's first pure ACK after a SYN-ACK (the handshake's third packet),
    at that packet. The report's ladder draws them as thin arrows."""

    TABLE: ClassVar[str] = "tcp_control"
    ALWAYS_WRITTEN: ClassVar[bool] = False
    frame: int = _col("capture frame number of the packet", 0)
    direction: str = _col("orig or resp: the side that sent it", "")
    flags: str = _col("SYN, SYN-ACK, ACK, FIN or RST", "")


#: The columns every table starts with (DESIGN.md section 6): a record's time, then its flow's uid and endpoints.
LEAD = ("ts", "uid", "orig_h", "orig_p", "resp_h", "resp_p")

#: The tables the engine writes itself, in the order they are documented.
CORE_RECORDS: tuple[type[Record], ...] = (ConnRecord, AnomalyRecord, TimelineRecord, FileRecord, EmailRecord,
                                          CommentRecord, TcpControlRecord)


@quick_init
@dataclass(frozen=True, slots=True)
class FileOpen:
    """Start of an object. ``handle`` is unique within the flow; the global file id
    is ``ctx.fuid(handle)``."""

    ts: float
    handle: str
    source: str                      # protocol that carried it: SMTP, HTTP, FTP_DATA, …
    kind: str = "file"               # "file" or "email" (parsed as a message)
    name_hint: str | None = None     # name seen on the wire; never used raw on disk
    mime_type: str | None = None     # declared type
    total_size: int | None = None    # announced size, when the protocol says it
    direction: Direction | None = None
    parent_fuid: str | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class FileData:
    ts: float
    handle: str
    data: bytes


@quick_init
@dataclass(frozen=True, slots=True)
class FileGap:
    """``length`` bytes of the object are missing (never zero-filled)."""

    ts: float
    handle: str
    length: int


@quick_init
@dataclass(frozen=True, slots=True)
class FileClose:
    ts: float
    handle: str
    complete: bool = True
    reason: str = ""


# ---------------------------------------------------------------- directives
@dataclass(frozen=True, slots=True)
class Expect:
    """Ask the engine to hand a future flow to ``service``.

    The future flow's originator (the side that opens it / sends first) is
    ``orig_h``:``orig_p``; its responder ``resp_h``:``resp_p``. ``None`` is a
    wildcard. ``token`` (unique within the parent flow) and ``meta`` reach the
    child's :class:`FlowContext` as :class:`ExpectationMatch`.
    """

    ts: float
    transport: Transport
    service: str
    resp_h: str | None
    resp_p: int | None
    orig_h: str | None = None
    orig_p: int | None = None
    token: str = ""
    ttl: float = 300.0
    meta: tuple[tuple[str, Any], ...] = ()
    single_use: bool = True


@quick_init
@dataclass(frozen=True, slots=True)
class Confirm:
    """The dissector is now sure of its protocol (no more Violation fallback)."""

    ts: float


@quick_init
@dataclass(frozen=True, slots=True)
class Violation:
    """This is not my protocol: detach me; the flow falls back to a raw transcript."""

    ts: float
    reason: str


@dataclass(frozen=True, slots=True)
class StopParsing:
    """Stop feeding me (e.g. after STARTTLS); the rest of the flow is opaque — unless the engine has a
    dissector for what follows: ``reason`` "tls" (STARTTLS, STLS, AUTH TLS accepted) or "upgrade to
    websocket" (HTTP 101), and then ``pending`` holds the bytes of each direction (ORIG, RESP) already
    received after the switch, which the next dissector gets first."""

    ts: float
    reason: str
    # how much is pending depends on how the bytes were split into segments, not on what happened: not
    # part of the item's equality
    pending: tuple[bytes, bytes] = field(default=(b"", b""), compare=False)


#: StopParsing reasons after which a registered dissector takes the flow over (the spec's name): the engine
#: switches a flow's dissector, the TLS dissector its inner one
SWITCHES: Mapping[str, str] = {"tls": "tls", "upgrade to websocket": "websocket", "upgrade to h2c": "http2"}


Item = Union[Event, Record, Anomaly, FileOpen, FileData, FileGap, FileClose,
             Expect, Confirm, Violation, StopParsing]


# ---------------------------------------------------------------- context and contract
@dataclass(frozen=True, slots=True)
class ExpectationMatch:
    """How a flow was foreseen by another: the parent flow, its token and meta."""

    parent_uid: str
    token: str
    service: str
    meta: Mapping[str, Any]
    nat: bool = False     # matched on port only (announced address differed)


_UID_CHARS = bytes.maketrans(b"+/", b"Zz")


def _civil_from_days(z: int) -> tuple[int, int, int]:
    """(year, month, day) of day ``z`` counted from 1970-01-01 in the proleptic Gregorian calendar, for
    any integer (H. Hinnant's ``civil_from_days``)."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, d


_EPOCH_DAY = date(1970, 1, 1)


def utc_text(ts: float, sep: str = " ", digits: int = 3) -> str:
    """``YYYY-MM-DD HH:MM:SS.mmm`` (UTC, ``digits`` ≤ 6 of fraction, truncated) for any finite time a
    capture can carry: pcapng's 64-bit counts and signed offsets reach far outside ``datetime``'s years
    1–9999, so those years are written as ISO 8601 expanded years (``+10000-01-01``, ``-0001-12-31``).
    A non-finite value is returned as its text."""
    if not math.isfinite(ts):
        return str(ts)
    try:                      # datetime's rounding (to the microsecond, half even) inside its range
        t = datetime.fromtimestamp(ts, timezone.utc)
        days, sod, sub = (t.date() - _EPOCH_DAY).days, t.hour * 3600 + t.minute * 60 + t.second, t.microsecond
        frac = sub // 10 ** (6 - digits)
    except (OverflowError, OSError, ValueError):
        q = math.floor(ts * 10 ** digits) if abs(ts) < 2 ** 52 / 10 ** digits else int(ts) * 10 ** digits
        secs, frac = divmod(q, 10 ** digits)
        days, sod = divmod(secs, 86400)
    y, mo, d = _civil_from_days(days)
    year = f"{y:04d}" if 0 < y <= 9999 else f"{y:+05d}"
    text = f"{year}-{mo:02d}-{d:02d}{sep}{sod // 3600:02d}:{sod // 60 % 60:02d}:{sod % 60:02d}"
    return f"{text}.{frac:0{digits}d}" if digits else text


def short_uid(prefix: str, *parts: object) -> str:
    """A deterministic Zeek-looking id: ``prefix`` + 17 letters and digits (a hash of ``parts``).
    base64 through binascii (C) — ``base64.b32encode`` is pure Python and was a per-flow cost."""
    h = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=13).digest()
    return prefix + binascii.b2a_base64(h, newline=False)[:17].translate(_UID_CHARS).decode("ascii")


#: what a MIME type is, in the words of a caption ("zip archive, 333,580 bytes: notes.zip")
MIME_LABELS: Mapping[str, str] = MappingProxyType({
    "application/zip": "zip archive", "application/gzip": "gzip archive", "application/x-bzip2": "bzip2 archive",
    "application/x-xz": "xz archive", "application/x-7z-compressed": "7-Zip archive",
    "application/vnd.rar": "RAR archive", "application/x-tar": "tar archive", "application/pdf": "PDF document",
    "application/x-ole-storage": "Office (OLE) document", "text/rtf": "RTF document",
    "application/x-executable": "ELF executable", "application/x-dosexec": "Windows executable",
    "image/png": "PNG image", "image/jpeg": "JPEG image", "image/gif": "GIF image", "image/bmp": "BMP image",
    "image/webp": "WebP image", "image/svg+xml": "SVG image", "image/x-icon": "icon",
    "audio/mpeg": "MP3 audio", "audio/ogg": "Ogg audio", "video/mp4": "MP4 video", "font/woff": "WOFF font",
    "font/woff2": "WOFF2 font", "text/plain": "text", "text/csv": "CSV text", "text/html": "HTML page",
    "application/json": "JSON", "application/xml": "XML", "text/xml": "XML", "message/rfc822": "e-mail message",
    "application/octet-stream": "binary data", "application/x-riff": "RIFF media",
})


def describe_object(mime: str | None, size: int | None, name: str | None = None) -> str:
    """One caption for an object that moved: its kind (from its MIME type, sniffed or declared), its size and
    the name it had on the wire, e.g. ``zip archive, 333,580 bytes: IP and ICMP Statistics.zip``."""
    if not size:
        what = "empty object"
    else:
        kind = MIME_LABELS.get((mime or "").split(";")[0].strip().lower()) or (mime or "data of unknown type")
        what = f"{kind}, {size:,} bytes"
    return f"{what}: {name}" if name else what


def make_fuid(flow_uid: str, handle: str) -> str:
    return short_uid("F", flow_uid, handle)


class Secrets(Protocol):
    """Session secrets the engine knows (TLS key logs, pcapng Decryption Secrets Blocks): the secret of
    ``label`` (NSS key log label, e.g. ``CLIENT_RANDOM``) for the session whose ClientHello random is
    ``client_random``, with a few words saying where it came from; None when unknown."""

    def lookup(self, label: str, client_random: bytes) -> tuple[bytes, str] | None: ...


@quick_init      # one per flow attached (3,983 in the 100 MB corpus)
@dataclass(frozen=True, slots=True)
class FlowContext:
    uid: str
    transport: Transport
    orig_h: str
    orig_p: int
    resp_h: str
    resp_p: int
    limits: Limits = field(default_factory=Limits)
    expectation: ExpectationMatch | None = None
    roles_guessed: bool = False
    secrets: Secrets | None = None     # for dissectors that decrypt (TLS)
    switched_from: str = ""            # the spec whose protocol switch handed this flow over (STARTTLS, STLS,
                                       # AUTH TLS to TLS; HTTP 101 to WebSocket or h2c)
    decrypted: bool = False            # this dissector is fed plaintext decrypted from TLS
    # the items of a dissector run inside another (the protocol inside TLS) reach the engine with this
    # prefix on their object handles, so they never meet the outer part's (STARTTLS: the clear part)
    handle_prefix: str = ""

    def fuid(self, handle: str) -> str:
        return make_fuid(self.uid, self.handle_prefix + handle)


class Dissector(Protocol):
    def feed(self, direction: Direction, data: bytes, ts: float) -> list[Item]: ...

    def gap(self, direction: Direction, length: int, ts: float) -> list[Item]: ...

    def close(self, ts: float) -> list[Item]: ...


class BulkDissector(Dissector, Protocol):
    """A dissector that can take the inside of an object in one call (bulk delivery, issue 26).

    After each ``feed`` of a direction the engine asks :meth:`bulk` of that direction. An answer
    ``n > 0`` promises that the next bytes of the direction, as long as fewer than ``n`` of them have
    come, are the inside of an object (a body of known length, a chunk, a literal, a data connection's
    stream): feeding them in any split yields the same items and state, the only items they yield are
    ``FileData``, and of the feeds' times only the first's (the object data's stamp) and the last's
    (where the data ended) matter. The engine may then hold such bytes back and feed each run as two
    calls at most: all but its last segment at the time of the packet that carried its first byte, then
    the last segment at its own time. It never holds the byte that would reach ``n``, a gap, or bytes of
    the other direction: those are fed as before, after the run. ``0``: no promise (every segment is
    fed as it comes). The answer counts from the end of the last feed and holds until the next call of
    any kind; a dissector near ``Limits.max_file_size`` answers at most the room left, so the
    ``file_size_capped`` anomaly keeps its segment's time (``dissectors._held.HeldData.room``).

    Where the object ends at a marker rather than a count (SMTP DATA and POP3 multi-line replies end at
    ``<CRLF>.<CRLF>``), the answer ``(n, stop)`` adds: only segments in which ``stop`` does not occur, nor
    across the boundary of two held segments; the dissector answers so only when any end of the object
    within the next bytes would put a whole ``stop`` among them (nothing it holds could begin one)."""

    def bulk(self, direction: Direction) -> int | tuple[int, bytes]: ...


Probe = Callable[[Direction, bytes], Verdict]
# assemble(tables) -> tables: cross-flow joins after all flows are done (see decoder.session).
# ``tables`` maps each name of ``assemble_tables`` to a re-iterable of plain row dicts (conn and files:
# child flows only, with decoder.session.ASSEMBLE_COLUMNS). Returns iterables of rows, consumed in the
# mapping's order, each to its end before the next; conn/files rows are merged back by uid/fuid, other
# tables replaced; ``assembled_objects`` rows ask for a new object made of stored ones (decoder.session.
# assemble_objects: HTTP range responses). Must not mutate its input, and should not hold whole tables
# (memory follows open flows).
Assemble = Callable[[Mapping[str, Iterable[dict]]], Mapping[str, Iterable[dict]]]


@dataclass(frozen=True, slots=True)
class Lazy:
    """A callable named ``"module:attribute"``, imported at its first call: a spec's ``factory`` and
    ``assemble``, so that detection (the registry: ports and probes) does not import the dissector
    modules (their dataclasses and the ``email`` package cost more than reading 10 MB of capture);
    ``wiretale sessions --no-decode`` never imports them, a full run imports those its flows need."""

    target: str

    def resolve(self) -> Callable[..., Any]:
        module, _, attr = self.target.partition(":")
        return getattr(importlib.import_module(module), attr)   # sys.modules caches the import

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.resolve()(*args, **kwargs)


@dataclass(frozen=True, slots=True)
class Presentation:
    """How one protocol is shown, declared beside its probe (``PRESENTATION`` in
    ``dissectors/probes/<proto>.py``), so a new protocol touches only its own files.

    ``colours``: each ``conn.service`` value it names → the HTML report's colour (``#rrggbb``; others get
    the report's grey). ``live_columns``: each of its tables → the columns ``wiretale live`` prints (others
    print their first five). ``live_colours``: each of its tables → the ANSI SGR code of its live lines.
    ``anomalies``: each anomaly name it emits → its explanation in plain words (the report shows it; names
    ending in a limit suffix are explained by reports._meanings).
    """

    colours: Mapping[str, str] = field(default_factory=dict)
    live_columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    live_colours: Mapping[str, str] = field(default_factory=dict)
    anomalies: Mapping[str, str] = field(default_factory=dict)

    @staticmethod
    def merge(parts: Iterable["Presentation"]) -> "Presentation":
        """One presentation holding every part's entries (the registry's, in its order)."""
        colours: dict[str, str] = {}
        columns: dict[str, tuple[str, ...]] = {}
        ansi: dict[str, str] = {}
        anomalies: dict[str, str] = {}
        for p in parts:
            colours.update(p.colours)
            columns.update(p.live_columns)
            ansi.update(p.live_colours)
            anomalies.update(p.anomalies)
        return Presentation(MappingProxyType(colours), MappingProxyType(columns), MappingProxyType(ansi),
                            MappingProxyType(anomalies))


@dataclass(frozen=True, slots=True)
class DissectorSpec:
    name: str                                  # "ftp", "ftp-data", "tftp-data", …
    transport: Transport
    ports: frozenset[int]                      # hints, not truth
    probe: Probe | None
    factory: Callable[[FlowContext], Dissector]
    service: str = ""                          # conn.service value; defaults to name
    expect_only: bool = False                  # reachable only through an expectation
    assemble: Assemble | None = None
    # the tables ``assemble`` reads. ``conn`` and ``files`` arrive filtered to flows foreseen by an
    # expectation (the children cross-flow joins are about), so memory does not grow with the capture
    assemble_tables: tuple[str, ...] = ("conn", "files")
    # the name of a :class:`Limits` field giving this service's own idle timeout for UDP flows (a DNS
    # flow is done once answered: Zeek's dns_session_timeout); None: the transport's timeout
    idle_timeout: str | None = None
    # when the port already matched, detection only asks whether the bytes rule the spec out (a NO from
    # ``probe``): a cheaper check that answers NO exactly when ``probe`` would, skipping what only tells
    # YES from MAYBE (DNS: the parse of the whole message). None: ``probe`` is asked
    veto: Probe | None = None
    # UDP: who sends this first datagram of a flow? True when only a responder sends it (a DNS response,
    # an SNMP Response), False when only an originator does (a query, a Get), None when it cannot tell.
    # Asked by the engine for specs on the flow's ports, so that a capture starting at a reply still makes
    # the peer that asked the originator (as Zeek flips such flows). None: roles from ports
    is_reply: Callable[[bytes], bool | None] | None = None

    @property
    def service_name(self) -> str:
        return self.service or self.name
