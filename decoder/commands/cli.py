"""The ``wiretale`` command line.

Verbs (flags follow tcpdump/tshark habits where they overlap: ``-r``, ``-i``,
``-f``, ``-w``, ``-c``, ``-o``):

* ``read CAPTURE... -o OUT``  decode and write tables, files, e-mails, summary and report
* ``sessions CAPTURE``       a table of connections (``--json`` for JSON lines)
* ``follow CAPTURE UID``     one conversation, both directions in capture order
* ``live -i IFACE``          sniff and decode as it happens
* ``interfaces``             list capture interfaces
* ``batch PATHS... -o OUT``  many captures, one index (``--rubric R.toml``: and their grades)
* ``check CAPTURE --rubric R.toml``  grade one capture with a rubric

Errors are one line on stderr, never a traceback (``--debug`` shows it). ``read`` of inputs none of
which is a readable capture writes nothing (OUT is not created).
Exit codes: 0 success, 1 a capture could not be read at all or nothing in it could be decoded
(``read``: the reason is on stderr and in ``summary.json``'s ``undecodable``), 2 usage error.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Sequence

from decoder.version import __version__
from decoder.commands.exits import run_command
from decoder.commands.options import UsageError, checked_keylogs, parse_limits, read_options
from decoder.commands.read import plural, read_captures

__all__ = ["main", "build_parser", "UsageError", "plural"]

EXAMPLES = """\
examples:
  wiretale read samples/http.pcapng -o out            # tables, files, e-mails and an HTML report in out/
  wiretale read a.pcap b.pcapng -o out --tables parquet --no-html
  cat capture.pcap.gz | wiretale read - -o out      # stdin, gzip-compressed or not
  wiretale sessions samples/ftp.pcapng                # connections as a table
  wiretale sessions samples/ftp.pcapng --json         # ... as JSON lines
  wiretale follow samples/smtp.pcapng CAbc123         # the conversation, coloured by direction
  wiretale follow samples/smtp.pcapng CAbc123 --raw --side client > client.bin
  wiretale live -i lo -a duration:30 -o out         # sniff, decode, report
  wiretale batch captures/ -o report                # many captures, one index
  wiretale check lab.pcap --rubric ftp.toml         # does this capture pass the lab's rubric?
"""


# ----------------------------------------------------------------------------- verbs
def cmd_read(args: argparse.Namespace) -> int:
    paths = list(args.captures) + ([args.read] if args.read else [])
    return read_captures(paths, Path(args.output), read_options(args))


def _fmt_bytes(n: int) -> str:
    for unit in ("B", "K", "M", "G"):
        if n < 1024 or unit == "G":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return str(n)


def cmd_sessions(args: argparse.Namespace) -> int:
    import tempfile

    from decoder.pipeline import Engine, run_engine

    # the engine alone, rows streamed from its tables (no DataFrames: pandas is not even imported)
    with tempfile.TemporaryDirectory(prefix="wiretale-") as tmp:
        engine = Engine(limits=parse_limits(args.limit), out_dir=Path(tmp), strict=args.strict,
                        detect_only=args.no_decode)
        run_engine(engine, [args.capture])
        for e in engine.results.errors:
            print(f"wiretale: {e}", file=sys.stderr)
        if not engine.results.captures:
            return 1
        return _print_sessions(engine.results.tables.get("conn") or [], args.json)


def _print_sessions(rows, as_json: bool) -> int:
    """The conn rows as JSON lines or an aligned table (the whole table is measured first)."""
    if as_json:
        from reports.export import row_line      # orjson for plain rows (all conn rows are), else json

        sys.stdout.flush()
        write = sys.stdout.buffer.write
        for r in rows:
            write(row_line(r))
        sys.stdout.buffer.flush()
        return 0
    from decoder.model import utc_text

    hdr = ("uid", "proto", "service", "client", "server", "start (UTC)", "dur", "c→s", "s→c", "pkts", "missed",
           "history")
    lines = [hdr]
    for r in rows:
        lines.append((r["uid"], r["proto"], r["service"] or "-",
                      _ep(r["orig_h"], r["orig_p"]), _ep(r["resp_h"], r["resp_p"]),
                      utc_text(r["ts"]),
                      f"{r['duration']:.3f}", _fmt_bytes(r["orig_bytes"]), _fmt_bytes(r["resp_bytes"]),
                      f"{r['orig_pkts']}/{r['resp_pkts']}", str(r["missed_bytes"]), r["history"]))
    widths = [max(len(str(l[i])) for l in lines) for i in range(len(hdr))]
    for l in lines:
        print("  ".join(str(v).ljust(w) for v, w in zip(l, widths)).rstrip())
    print(f"{len(rows)} sessions", file=sys.stderr)
    return 0


def _ep(h: str, p: int) -> str:
    return f"[{h}]:{p}" if ":" in h else f"{h}:{p}"


def follow_chunks(capture: str, uid: str, limits=None, decode: bool = False):
    """The reassembled chunks of one flow (``conn`` is None when the uid is unknown).
    uids do not depend on decoding, so ``decode=False`` (faster) finds the same flow."""
    from decoder.api import analyze

    a = analyze([capture], limits=limits, keep_streams={uid}, decode=decode)
    try:
        conn = next((r for r in a.rows.get("conn", []) if r["uid"] == uid), None)
        return a, conn, a.streams.get(uid, [])
    finally:
        a.close()


def cmd_follow(args: argparse.Namespace) -> int:
    a, conn, chunks = follow_chunks(args.capture, args.uid, parse_limits(args.limit), decode=not args.raw)
    for e in a.errors:
        print(f"wiretale: {e}", file=sys.stderr)
    if not a.captures:
        return 1
    if conn is None:
        # with decode=False uids are the same as with decoding (they do not depend on dissectors)
        print(f"wiretale: no session {args.uid!r} in {args.capture} (see 'wiretale sessions {args.capture}')",
              file=sys.stderr)
        return 1
    out = sys.stdout.buffer
    if args.raw:
        want = None if args.side == "both" else (0 if args.side == "client" else 1)
        for c in chunks:
            if c.data is not None and (want is None or c.direction == want):
                out.write(c.data)
        out.flush()
        return 0
    color = sys.stdout.isatty() and not args.no_color
    cols = ("\x1b[31m", "\x1b[34m") if color else ("", "")
    reset = "\x1b[0m" if color else ""
    # without colour (piped, --no-color) each line says who spoke, unless --no-prefix
    prefixes = ("C: ", "S: ") if (args.prefix if args.prefix is not None else not color) else ("", "")
    print(f"# {conn['uid']} {conn['proto']} {_ep(conn['orig_h'], conn['orig_p'])} -> "
          f"{_ep(conn['resp_h'], conn['resp_p'])} service={conn['service'] or '-'}")
    last = None               # the side of the line being written, None at a line start
    for c in chunks:
        who = "client" if c.direction == 0 else "server"
        col, pre = cols[c.direction], prefixes[c.direction]
        if last is not None and (c.data is None or args.hex or last != c.direction):
            sys.stdout.write(f"{reset}\n")
            last = None
        if c.data is None:
            print(f"{col}{pre}[{c.gap} bytes missing from the {who} here: not in the capture]{reset}")
            continue
        if args.hex:
            print(f"{col}{pre}# {who} frame {c.frame} ({len(c.data)} bytes){reset}")
            for i in range(0, len(c.data), 16):
                part = c.data[i:i + 16]
                asc = "".join(chr(b) if 32 <= b < 127 else "." for b in part)
                print(f"{col}{pre}{i:08x}  {part.hex(' '):<47}  {asc}{reset}")
            continue
        for piece in escaped(c.data).splitlines(keepends=True):
            if last is None:
                sys.stdout.write(f"{col}{pre}")
            sys.stdout.write(piece.rstrip("\n"))
            if piece.endswith("\n"):
                sys.stdout.write(f"{reset}\n")
                last = None
            else:
                last = c.direction
    if last is not None:
        sys.stdout.write(f"{reset}\n")
    return 0


_TEXT_CONTROLS = frozenset(b"\r\n\t")


def escaped(data: bytes) -> str:
    """Bytes as text for a terminal. Text (valid UTF-8 without control characters other than CR, LF and
    tab) is kept, CR LF becoming a line end. Anything else — Telnet IAC sequences, DNS messages, binary —
    is one line with printable ASCII kept and every other byte written ``\\xNN``."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(ch.isprintable() or ord(ch) in _TEXT_CONTROLS for ch in text):
        return text.replace("\r\n", "\n").replace("\r", "\\x0d")
    return "".join(chr(b) if 32 <= b < 127 else f"\\x{b:02x}" for b in data) + "\n"


def cmd_interfaces(args: argparse.Namespace) -> int:
    """Capture interfaces, as dumpcap lists them (it runs no extcap plugin); ``--all`` adds tshark's
    extcap pseudo-interfaces (ciscodump, randpkt, sshdump …), which ``live`` cannot use as they are."""
    exe = shutil.which("tshark") if args.all else shutil.which("dumpcap")
    if exe is None:
        raise UsageError(f"{'tshark' if args.all else 'dumpcap'} is not installed: install it "
                         "(Debian: apt-get install tshark)")
    import subprocess

    r = subprocess.run([exe, "-D"], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        msg = (r.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise UsageError(f"cannot list interfaces: {msg}")
    sys.stdout.write(r.stdout)
    return 0


def cmd_live(args: argparse.Namespace) -> int:
    from decoder.commands.live import run_live

    checked_keylogs(getattr(args, "keylog", None))      # each key log readable, before the capture starts
    return run_live(args)


def cmd_batch(args: argparse.Namespace) -> int:
    from decoder.commands.batch import run_batch

    return run_batch(args)


def cmd_check(args: argparse.Namespace) -> int:
    """Grade one capture with a rubric: the rubric is checked first, then the capture read
    (``read --tables parquet`` into OUT, or a temporary folder without a report), then graded."""
    import tempfile

    from decoder.commands.batch import batch_options, grade_capture, process_capture
    from reports.rubric import RubricError, load_rubric, text_report

    if args.tables:
        from reports.rubric import schema_markdown

        print(schema_markdown(), end="")
        return 0
    if not args.capture or not args.rubric:
        raise UsageError("check needs a CAPTURE and --rubric R.toml (or --tables to list what a check can query)")
    try:
        rubric = load_rubric(args.rubric)
    except RubricError as e:
        raise UsageError(str(e)) from None
    if not os.path.exists(args.capture):
        raise UsageError(f"{args.capture}: no such file")
    with tempfile.TemporaryDirectory(prefix="wiretale-check-") as tmp:
        out = Path(args.output) if args.output else Path(tmp) / "out"
        opts = batch_options(args, **({} if args.output else {"html": False}))
        facts = process_capture(args.capture, str(out), opts, Path(args.capture).name)
        result = grade_capture(rubric, facts, out)
        if facts["error"]:
            print(f"wiretale: {facts['name']}: {facts['error']}", file=sys.stderr)
        print(text_report(result, rubric, args.capture, out / "sessions" if args.output else None))
    return 0 if result.passed else 1


# ----------------------------------------------------------------------------- parser
def _keylog_arg(p: argparse.ArgumentParser, live: bool = False) -> None:
    p.add_argument("--keylog", action="append", metavar="FILE",
                   help="TLS secrets in NSS key log format (SSLKEYLOGFILE), repeatable; TLS sessions whose keys "
                        "it holds are decrypted and decoded (pcapng Decryption Secrets Blocks are read too)"
                        + ("; re-read as the client appends to it" if live else ""))


def _workers(value: str) -> int:
    """``--workers``: a number of processes, 0 for every core."""
    try:
        n = int(value)
    except ValueError:
        n = -1
    if n < 0:
        raise argparse.ArgumentTypeError(f"a number of processes (0: every core), not {value!r}")
    return n


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--strict", action="store_true", help="re-raise wiretale's own bugs instead of recording them")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    p.add_argument("--limit", action="append", metavar="NAME=VALUE",
                   help="raise or lower a limit, e.g. --limit max_file_size=1000000000 (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="wiretale", description="Turn packet captures into the story of what happened on the wire.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", action="version", version=f"wiretale {__version__}")
    sub = ap.add_subparsers(dest="verb", metavar="VERB")

    p = sub.add_parser("read", help="decode captures into tables, files, e-mails and a report",
                       epilog="example:\n  wiretale read samples/http.pcapng -o out\n",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("captures", nargs="*", help="pcap/pcapng files (gzip too); - for stdin")
    p.add_argument("-r", dest="read", help="a capture to read (as tshark -r)")
    p.add_argument("-o", "--output", default="wiretale-out", help="output folder (default: wiretale-out)")
    p.add_argument("--tables", choices=("jsonl", "csv", "parquet"), default="jsonl")
    p.add_argument("--no-html", action="store_true", help="tables, files and summary only")
    p.add_argument("--show-secrets", action="store_true", help="show passwords in the HTML report")
    p.add_argument("--force", action="store_true",
                   help="write into an output folder that holds files wiretale did not make (they are left alone; "
                        "only wiretale's own file names are replaced)")
    p.add_argument("--workers", type=_workers, default=None,
                   help="split one capture by host pair across this many processes, and render the report's pages in "
                        "as many, 0 for every core (same results; default: every core for one capture file of 16 MB "
                        "or more, else 1)")
    _keylog_arg(p)
    _common(p)
    p.set_defaults(fn=cmd_read)

    p = sub.add_parser("sessions", help="list connections",
                       epilog="examples:\n  wiretale sessions capture.pcap\n  wiretale sessions capture.pcap --json\n",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("capture")
    p.add_argument("--json", action="store_true", help="JSON lines")
    p.add_argument("--no-decode", action="store_true",
                   help="find each flow's service by detection only and decode nothing (faster; FTP and TFTP "
                        "data flows, found by decoding their control flow, then have no service)")
    _common(p)
    p.set_defaults(fn=cmd_sessions)

    p = sub.add_parser("follow", help="show one conversation",
                       epilog="examples:\n  wiretale follow capture.pcap CAbc\n"
                              "  wiretale follow capture.pcap CAbc --raw --side server > reply.bin\n",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("capture")
    p.add_argument("uid", help="a session uid from 'wiretale sessions'")
    p.add_argument("--raw", action="store_true", help="write the reassembled bytes only")
    p.add_argument("--side", choices=("client", "server", "both"), default="both")
    p.add_argument("--hex", action="store_true", help="hex dump")
    p.add_argument("--no-color", action="store_true")
    p.add_argument("--prefix", action=argparse.BooleanOptionalAction, default=None,
                   help="start each line with C: (client) or S: (server); default: on when there are no colours "
                        "(output piped or --no-color)")
    _common(p)
    p.set_defaults(fn=cmd_follow)

    p = sub.add_parser("live", help="sniff an interface and decode as it happens",
                       epilog="example:\n  wiretale live -i lo -f 'tcp port 25' -a duration:60 -o out\n",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-i", "--interface", required=True)
    p.add_argument("-f", dest="bpf", help="capture filter (BPF)")
    p.add_argument("-c", dest="count", type=int, help="stop after this many packets")
    p.add_argument("-a", dest="autostop", help="duration:SECONDS")
    p.add_argument("-w", dest="write", help="write the capture here (pcapng; default inside OUT)")
    p.add_argument("-o", "--output", default="wiretale-live")
    p.add_argument("--force", action="store_true",
                   help="write into an output folder that holds files wiretale did not make (they are left alone)")
    p.add_argument("--refresh", type=float, default=0.0, help="rewrite the report every SEC seconds")
    p.add_argument("--tables", choices=("jsonl", "csv", "parquet"), default="jsonl")
    p.add_argument("--no-html", action="store_true")
    p.add_argument("--show-secrets", action="store_true")
    _keylog_arg(p, live=True)
    p.add_argument("--ring", metavar="files:N,filesize:MB",
                   help="a ring of N capture files of MB megabytes (or duration:SEC) each, as dumpcap -b: "
                        "for runs of hours; the oldest file is deleted when the ring is full")
    p.add_argument("--via", choices=("dumpcap", "pyshark"), default="dumpcap",
                   help="packet path: dumpcap's capture file read as it grows (default, line rate), or "
                        "dumpcap → tshark JSON → pyshark (the older path, ~1,000 packets/s)")
    _common(p)
    p.set_defaults(fn=cmd_live)

    p = sub.add_parser("check", help="grade one capture with a rubric (exit 0 when every check passes)",
                       epilog="examples:\n  wiretale check lab.pcap --rubric samples/rubrics/ftp.toml\n"
                              "  wiretale check lab.pcap --rubric ftp.toml -o out   # keep the report: "
                              "evidence links to its session pages\n"
                              "  wiretale check --tables                            # what a check can query\n",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("capture", nargs="?")
    p.add_argument("--rubric", metavar="R.toml", help="the rubric (docs/COURSEWORK.md)")
    p.add_argument("--tables", action="store_true",
                   help="list the tables a check can query, with their columns and DuckDB types, and exit")
    p.add_argument("-o", "--output", help="also keep the capture's wiretale read output (report, tables) here")
    _common(p)
    p.set_defaults(fn=cmd_check)

    p = sub.add_parser("interfaces", help="list capture interfaces",
                       epilog="examples:\n  wiretale interfaces\n  wiretale interfaces --all\n",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--all", action="store_true",
                   help="also list tshark's extcap pseudo-interfaces (ciscodump, randpkt, sshdump …)")
    _common(p)
    p.set_defaults(fn=cmd_interfaces)

    p = sub.add_parser("batch", help="many captures, one index",
                       epilog="examples:\n  wiretale batch labs/ -o report\n"
                              "  wiretale batch 'week/*.pcap' -o report --scheduler tcp://127.0.0.1:8786\n"
                              "  wiretale batch class/ -o grades --rubric samples/rubrics/ftp.toml\n",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", help="files, folders or globs")
    p.add_argument("-o", "--output", default="wiretale-batch")
    p.add_argument("--workers", type=_workers, default=0, help="processes (default 0: every core this process may use)")
    p.add_argument("--scheduler", help="Dask scheduler address (runs on a cluster)")
    p.add_argument("--rubric", metavar="R.toml",
                   help="grade every capture with this rubric: a grid in OUT/index.html, OUT/grades.csv")
    p.add_argument("--no-html", action="store_true")
    p.add_argument("--show-secrets", action="store_true")
    p.add_argument("--force", action="store_true",
                   help="write into an output folder that holds files wiretale did not make (they are left alone)")
    _common(p)
    p.set_defaults(fn=cmd_batch)
    return ap


def main(argv: Sequence[str] | None = None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if not getattr(args, "fn", None):
        ap.print_help()
        return 2
    return run_command(lambda: args.fn(args), debug=getattr(args, "debug", False),
                       strict=getattr(args, "strict", False), output=getattr(args, "output", None))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
