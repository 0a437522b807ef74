"""Live capture: sniff an interface and decode as it happens (DESIGN.md section 2.1, issue 9).

``wiretale live -i IFACE [-f BPF] [-c N] [-a duration:SEC] [-w FILE] -o OUT [--refresh SEC]``
and, from Python, :class:`LiveSession` (an iterator of rows, or a callback).

How packets travel (``--via dumpcap``, the default)
=================================================
::

    dumpcap -i IFACE -f BPF [-c N] [-a duration:S] -B 64 [-b ring…] -w FILE   (own session)
       | FILE (pcapng), read while it grows: decoder/dumpcap.py GrowingFiles
    our pcapng reader (decoder/capture.py) in a reader thread
       | bounded queue of batches of up to 256 records (index, ts, linktype, data, wirelen)
    Engine.feed_records (the same per-frame hot path as ``read``)  →  rows (on_row)  →  tables, report

* The capture file is the queue: when decoding falls behind, the backlog waits on disk, not in the
  kernel's buffer, so a burst costs latency (``max_seconds_behind`` in the summary), not packets. Why a
  growing file and not ``dumpcap -w -``: see decoder/dumpcap.py.
* Kernel drops are dumpcap's own count (its last stderr lines); ``lost_files`` counts ring files that
  dumpcap created and deleted before we opened them (a backlog longer than the ring); both are in
  ``summary["live"]`` and in the last line printed.
* Frames are numbered as in the written file, and timestamps are the file's, so the tables of a live
  run equal those of ``wiretale read`` on the capture file afterwards (tests/live checks it).

How packets travel (``--via pyshark``, the fallback kept for comparison)
=====================================================================
::

    dumpcap -i IFACE -f BPF [-c N] [-a duration:S] -w -      (own session: Ctrl-C does not reach it)
       | pipe
    tshark -l -n -T json -x -i - -P -w FILE -j frame --disable-protocol eth ...
       | JSON on stdout, one object per packet, flushed per packet (-l)
    pyshark (LiveCapture, JSON parser, Packet objects) in a worker thread with its own event loop
       | bounded queue of Frames (index, ts, linktype, raw bytes, wire length)
    Engine.feed_frames in the caller's thread  →  rows (on_row)  →  tables, report

* pyshark is used for the capture plumbing (LiveCapture with ``use_json=True,
  include_raw=True``, its JSON parser and :class:`pyshark.packet.packet.Packet`);
  its protocol dissection is not: tshark is told to dissect nothing beyond the
  frame (``-j frame`` and disabled link layers), and the engine gets the raw frame
  bytes (``frame_raw``) and the frame's timestamp (``frame_info.time_epoch``).
* The link type is the interface's default DLT (the first line of ``dumpcap -L -i IFACE``).
* tshark writes every packet to the capture file (``-w``, default ``OUT/capture.pcapng``)
  itself, through its own dumpcap: the file is complete even if wiretale dies.

The pyshark traps and what is done about them (``--via pyshark``)
=================================================================
* **The held-back packet.** pyshark 0.6 finds the end of a packet in tshark's
  JSON by the separator tshark prints *before the next packet* (``"  },\\n"``), so
  the last packet waits until another one arrives (forever on an idle
  interface). :class:`_PromptJsonParser` ends a packet at its own closing line
  instead: tshark indents the packet objects of its top-level array by exactly two
  spaces and everything inside them deeper, and JSON strings never contain a raw
  newline, so the first ``"\\n  }"`` after a packet's ``{`` closes that packet.
  Each packet is therefore handed on as soon as tshark flushes it (``-l``).
* **Stopping.** pyshark's own timeout kills tshark and loses what it had not
  printed. Here the stop (``-c``, ``-a duration``, Ctrl-C, SIGTERM, :meth:`LiveSession.stop`)
  is delivered to *dumpcap* only (SIGTERM, or dumpcap's own ``-c``/``-a``): dumpcap
  writes what it holds and closes the pipe, tshark reads to the end, prints the last
  packets and the closing ``]``, closes the file and exits, and pyshark reaches EOF.
  pyshark 0.6 also keeps the parent's copy of the pipe's write end open (tshark
  would never see EOF); :class:`_LiveCapture` closes it.
* **Belt and braces.** After the pipeline has ended, the capture file is read with
  our own reader and every frame beyond the last one delivered through pyshark
  is fed to the engine (``summary["live"]["recovered_from_file"]``, normally 0).
  So the tables always describe exactly the packets of the written file.
* **asyncio inside a running loop** (notebooks): pyshark runs in a worker thread
  with a new event loop of its own; the caller's loop is never touched.
* **Memory.** No packet list is kept (pyshark's ``_packets`` is unused, we pass a
  callback); the queue between the threads is bounded (back-pressure reaches the
  kernel buffer, whose drops dumpcap reports: ``summary["live"]["dropped"]``); rows
  spill to disk in the engine's RowStores; flows close on idle timeouts, which in
  live mode default to 120 s (TCP) and 30 s (UDP) and are also checked on the wall
  clock while the interface is quiet. tshark's own per-packet state is reset every
  ``TSHARK_SESSION_RESET`` packets (``-M``) so it does not grow either.

pyshark carries the packets of ``--via pyshark`` only; interfaces are listed and filters checked with
dumpcap itself (``dumpcap -D``, ``dumpcap -d -f``). :class:`LiveSession` is the same API either way.

Limits: one interface per run; the refreshed tables and report (``--refresh``)
hold only flows that have ended so far and are not yet joined across flows
(``assemble`` runs once, at the end); a kernel-dropped packet is lost to the
capture file and the tables alike (the count is in the summary).
"""
from __future__ import annotations

import asyncio
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from decoder.capture import CaptureError, CaptureInfo, Frame, PcapFileSource
from decoder.dumpcap import GrowingFiles, RingSpec, dumpcap_command, parse_ring, ring_pattern
from decoder.model import Limits
from decoder.watchdog import Watchdog
from dissectors import PRESENTATION

LIVE_TCP_IDLE = 120.0
LIVE_UDP_IDLE = 30.0
QUEUE_FRAMES = 2048            # frames between pyshark's thread and the engine (≤ 128 MiB at 64 KiB each)
BATCH = 256                    # records per batch from the file reader (dumpcap path)
QUEUE_BATCHES = 8              # batches between the reader thread and the engine: the rest waits on disk
VIAS = ("dumpcap", "pyshark")
TSHARK_SESSION_RESET = 100_000  # tshark -M: forget per-packet state every this many packets
DRAIN_TIMEOUT = 20.0           # seconds allowed for tshark to finish after dumpcap stopped
TICK = 0.25                    # seconds between idle checks when no packet arrives

# pcap link-layer header type names (dumpcap -L) → numbers (https://www.tcpdump.org/linktypes.html)
DLT_BY_NAME = {
    "NULL": 0, "EN10MB": 1, "IEEE802": 6, "ARCNET": 7, "SLIP": 8, "PPP": 9, "FDDI": 10, "RAW": 101,
    "PPP_SERIAL": 50, "PPP_ETHER": 51, "C_HDLC": 104, "IEEE802_11": 105, "LOOP": 108, "LINUX_SLL": 113,
    "IEEE802_11_RADIO": 127, "IPV4": 228, "IPV6": 229, "LINUX_SLL2": 276, "NFLOG": 239,
    "USBPCAP": 249, "BLUETOOTH_HCI_H4_WITH_PHDR": 201, "DBUS": 231, "NETLINK": 253,
}

# tshark dissects nothing past the frame: raw bytes are all we take from it
_TSHARK_QUIET = ["-P", "-j", "frame", "-M", str(TSHARK_SESSION_RESET)] + [
    a for p in ("eth", "sll", "ip", "ipv6", "null", "loop", "raw", "wlan", "radiotap", "nflog")
    for a in ("--disable-protocol", p)]

INSTALL_HINT = ("install them (Debian/Ubuntu: sudo apt-get install tshark; Fedora: sudo dnf install "
                "wireshark-cli; macOS: brew install wireshark)")


class LiveError(Exception):
    """A one-line problem for the user, with what to do. ``code``: 1 cannot capture, 2 usage."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# ----------------------------------------------------------------------------- pre-flight checks
def find_tools() -> tuple[str, str]:
    """Paths of tshark and dumpcap, or a :class:`LiveError` saying how to install them."""
    tshark = shutil.which("tshark")
    dumpcap = shutil.which("dumpcap")
    if dumpcap is None:
        for cand in ("/usr/bin/dumpcap", "/usr/sbin/dumpcap", "/usr/local/bin/dumpcap",
                     "/Applications/Wireshark.app/Contents/MacOS/dumpcap"):
            if os.access(cand, os.X_OK):
                dumpcap = cand
                break
    missing = [n for n, p in (("tshark", tshark), ("dumpcap", dumpcap)) if p is None]
    if missing:
        raise LiveError(f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not installed "
                        f"and live capture needs {'it' if len(missing) == 1 else 'them'}: {INSTALL_HINT}")
    return tshark, dumpcap  # type: ignore[return-value]


def list_interfaces(dumpcap: str) -> list[str]:
    """Interface names as ``dumpcap -D`` lists them (works without capture rights)."""
    try:
        r = subprocess.run([dumpcap, "-D"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return []
    names = []
    for line in r.stdout.splitlines():
        m = re.match(r"\s*\d+\.\s+(\S+)", line)
        if m:
            names.append(m.group(1))
    return names


def _last_error(stderr: str) -> str:
    lines = [l.strip() for l in stderr.splitlines() if l.strip()]
    for l in lines:
        if l.startswith("dumpcap:") or l.startswith("tshark:"):
            return l.split(":", 1)[1].strip()
    return lines[-1] if lines else "unknown error"


def classify_error(stderr: str, iface: str, dumpcap: str, bpf: str | None = None,
                   known: list[str] | None = None) -> LiveError:
    """Turn dumpcap's complaint into one line that says what to do."""
    low = stderr.lower()
    if "permission" in low or "not permitted" in low or "operation not permitted" in low:
        return LiveError(
            f"not permitted to capture on {iface}: run as root, or let your user capture with "
            f"'sudo usermod -aG wireshark $USER' (then log in again; needs dumpcap set up by "
            f"'sudo dpkg-reconfigure wireshark-common'), or "
            f"'sudo setcap cap_net_raw,cap_net_admin=eip {dumpcap}'", 1)
    if "no such device" in low or "doesn't exist" in low or "does not exist" in low or \
            "no such interface" in low:
        names = known if known is not None else list_interfaces(dumpcap)
        return LiveError(f"unknown interface {iface!r}; known: {', '.join(names) or '(none found)'} "
                         "(see 'wiretale interfaces')", 2)
    if "capture filter" in low:
        m = re.search(r"\(([^()]*)\)\.?\s*$", stderr.split("See the User", 1)[0].strip())
        why = m.group(1) if m else _last_error(stderr)
        return LiveError(f"invalid capture filter {bpf!r}: {why} (BPF syntax: man pcap-filter)", 2)
    return LiveError(f"cannot capture on {iface}: {_last_error(stderr)}", 1)


def probe_interface(dumpcap: str, iface: str, bpf: str | None = None) -> int:
    """Check the interface exists, that we may capture on it and that the filter compiles;
    return its default link type (the first DLT ``dumpcap -L`` lists)."""
    known = list_interfaces(dumpcap)
    if known and iface not in known and not iface.isdigit():
        raise LiveError(f"unknown interface {iface!r}; known: {', '.join(known)} (see 'wiretale interfaces')", 2)
    r = subprocess.run([dumpcap, "-L", "-i", iface], capture_output=True, text=True, timeout=30, check=False)
    if r.returncode != 0:
        raise classify_error(r.stderr + r.stdout, iface, dumpcap, bpf, known)
    dlt = None
    for line in (r.stdout + "\n" + r.stderr).splitlines():
        m = re.match(r"\s+([A-Z0-9_]+)(\s|$)", line)
        if m:
            dlt = DLT_BY_NAME.get(m.group(1))
            if dlt is None:
                m2 = re.match(r"DLT (\d+)", m.group(1))
                dlt = int(m2.group(1)) if m2 else None
            break
    if bpf:
        r = subprocess.run([dumpcap, "-d", "-i", iface, "-f", bpf], capture_output=True, text=True, timeout=30,
                           check=False)
        if r.returncode != 0:
            raise classify_error(r.stderr, iface, dumpcap, bpf, known)
    return 1 if dlt is None else dlt


def epoch(text: str) -> float:
    """tshark's ``frame.time_epoch`` ("1700000000.123456789") as the float our pcapng reader makes of
    the same packet in the written file (nanosecond units × 10⁻⁹), so flow uids, which hash the
    first timestamp, are the same live and when the file is read again later."""
    sec, _, frac = text.strip().partition(".")
    if not sec.lstrip("-").isdigit() or (frac and not frac.isdigit()):
        return float(text)
    return (int(sec) * 1_000_000_000 + int((frac + "000000000")[:9])) * (10.0 ** -9)


# ----------------------------------------------------------------------------- pyshark plumbing
_END = object()


_CLASSES: tuple | None = None


def _pyshark_classes() -> tuple[type, type]:
    """(the JSON parser, pyshark's LiveCapture) with the fixes described in the module docstring,
    built lazily: pyshark is imported only when a live capture starts."""
    global _CLASSES
    if _CLASSES is None:
        _CLASSES = _build_classes()
    return _CLASSES


def _build_classes() -> tuple[type, type]:
    try:
        from pyshark.capture.live_capture import LiveCapture
        from pyshark.tshark.output_parser.tshark_json import TsharkJsonParser
    except ImportError:  # pragma: no cover - pyshark is a dependency
        raise LiveError("pyshark is not installed: pip install pyshark", 1) from None

    class _PromptJsonParser(TsharkJsonParser):
        def _extract_packet_from_data(self, data, got_first_packet=True):
            start = data.find(b"{")
            if start == -1:
                return None, data
            end = data.find(b"\n  }", start)
            if end == -1:
                return None, data
            end += 4
            return data[start:end], data[end:]

    class _LiveCapture(LiveCapture):
        def __init__(self, *, session: "LiveSession", eventloop: asyncio.AbstractEventLoop) -> None:
            self._session = session
            self._stop_args: list[str] = []
            self._version = None
            if session.count:
                self._stop_args += ["-c", str(session.count)]
            if session.duration:
                self._stop_args += ["-a", f"duration:{session.duration:g}"]
            super().__init__(interface=session.interface, bpf_filter=session.bpf, use_json=True,
                             include_raw=True, output_file=str(session.capture_path), eventloop=eventloop,
                             tshark_path=session.tshark, custom_parameters=list(_TSHARK_QUIET))
            self.dumpcap_process = None
            self.tshark_process = None

        def _get_tshark_version(self):
            # pyshark runs "tshark -v" in our process group, where a terminal's Ctrl-C kills it
            if self._version is None:
                from packaging import version

                r = subprocess.run([self._session.tshark, "-v"], capture_output=True, text=True, check=False,
                                   start_new_session=True)
                m = re.search(r"TShark (?:\(Wireshark\) )?(\d+\.\d+\.\d+)", r.stdout)
                self._version = version.parse(m.group(1) if m else "4.0.0")
            return self._version

        def _setup_tshark_output_parser(self):
            return _PromptJsonParser(self._get_tshark_version())

        def _get_dumpcap_parameters(self):
            params = super()._get_dumpcap_parameters()   # [-q, -f BPF, -i IFACE, -w -]
            return params[:-2] + self._stop_args + params[-2:]

        async def _get_tshark_process(self, packet_count=None, stdin=None):
            s = self._session
            read_fd, write_fd = os.pipe()
            try:
                dumpcap = await asyncio.create_subprocess_exec(
                    s.dumpcap, *self._get_dumpcap_parameters(), stdin=subprocess.DEVNULL, stdout=write_fd,
                    stderr=subprocess.PIPE, start_new_session=True)
            except BaseException:
                os.close(read_fd)
                raise
            finally:
                os.close(write_fd)     # pyshark 0.6 keeps it open: tshark would never see EOF
            self.dumpcap_process = dumpcap
            self._running_processes.add(dumpcap)
            s._dumpcap_pid = dumpcap.pid
            s._watchdog.watch(dumpcap.pid)
            self._stderr_handling_tasks.append(asyncio.ensure_future(s._read_stderr(dumpcap.stderr, "dumpcap")))
            params = [s.tshark, "-l", "-n", "-T", "json"] + self.get_parameters() + ["--no-duplicate-keys"]
            try:
                tshark = await asyncio.create_subprocess_exec(
                    *params, stdin=read_fd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    start_new_session=True)
            finally:
                os.close(read_fd)
            self.tshark_process = tshark
            self._running_processes.add(tshark)
            s._tshark_pid = tshark.pid
            s._watchdog.watch(tshark.pid)
            self._stderr_handling_tasks.append(asyncio.ensure_future(s._read_stderr(tshark.stderr, "tshark")))
            if s._stop_requested.is_set():
                s._signal_dumpcap()
            return tshark

        async def _cleanup_subprocess(self, process):
            # never raise from cleanup (pyshark does on a non-zero exit); the session reads the exit
            # codes and stderr itself
            if process.returncode is None:
                try:
                    process.kill()
                except ProcessLookupError:
                    pass
                try:
                    await asyncio.wait_for(process.wait(), 5)
                except asyncio.TimeoutError:  # pragma: no cover
                    pass

    return _PromptJsonParser, _LiveCapture


# ----------------------------------------------------------------------------- the session
@dataclass
class LiveResult:
    summary: dict
    out_dir: Path | None
    capture_path: Path
    analysis: Any = None     # decoder.api.Analysis (DataFrames) when kept


class LiveSession:
    """Sniff ``interface`` and decode as it happens.

    Iterate :meth:`rows` for ``(table, row)`` pairs as they are made (``conn`` when a flow
    ends, protocol tables when a transaction completes, ``files``, ``emails``,
    ``credentials``, ``timeline``, ``anomalies``), or call :meth:`run` with a callback, or
    :meth:`start` it in a background thread (notebooks) and :meth:`stop` it later. The
    capture ends on ``count`` packets, after ``duration`` seconds, or on :meth:`stop`; then
    open flows are closed, sessions assembled, and (with ``out_dir``) tables, summary and
    report written. :attr:`result` holds the summary and, with ``keep_analysis``, the
    :class:`~decoder.api.Analysis` (DataFrames).

    >>> s = LiveSession("lo", bpf="udp port 53", duration=10)            # doctest: +SKIP
    >>> for table, row in s.rows():                                      # doctest: +SKIP
    ...     if table == "dns": print(row["query"])
    >>> s.result.analysis.tables["dns"]                                  # doctest: +SKIP

    Safe inside a running event loop (Jupyter): pyshark runs in its own thread and loop.
    """

    def __init__(self, interface: str, bpf: str | None = None, count: int | None = None,
                 duration: float | None = None, write: str | Path | None = None,
                 out_dir: str | Path | None = None, limits: Limits | None = None, strict: bool = False,
                 refresh: float = 0.0, tables: str = "jsonl", html: bool = True, show_secrets: bool = False,
                 keep_analysis: bool = True, transcripts: bool | None = None, via: str = "dumpcap",
                 ring: RingSpec | str | None = None, keylogs: tuple[str, ...] = (), force: bool = False) -> None:
        if via not in VIAS:
            raise LiveError(f"--via takes {' or '.join(VIAS)}, not {via!r}", 2)
        if isinstance(ring, str):
            try:
                ring = parse_ring(ring)
            except ValueError as e:
                raise LiveError(str(e), 2) from None
        if ring is not None and via != "dumpcap":
            raise LiveError("--ring needs --via dumpcap", 2)
        self.via = via
        self.ring: RingSpec | None = ring
        self.interface = interface
        self.bpf = bpf or None
        self.count = count if count and count > 0 else None
        self.duration = duration if duration and duration > 0 else None
        self._tmp = None
        if out_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="wiretale-live-")
            self.out_dir = Path(self._tmp.name)
            self.write_outputs = False
        else:
            self.out_dir = Path(out_dir)
            self.write_outputs = True
        self.capture_path = Path(write) if write else self.out_dir / "capture.pcapng"
        self.force = force              # --force: OUT may hold files wiretale did not write
        self._od: Any = None            # OUT claimed (decoder.outdir) while the session runs
        if limits is None:
            limits = Limits(tcp_idle_timeout=LIVE_TCP_IDLE, udp_idle_timeout=LIVE_UDP_IDLE)
        self.limits = limits
        self.strict = strict
        self.refresh = refresh if refresh and refresh > 0 else 0.0
        self.tables_fmt = tables
        self.html = html
        self.show_secrets = show_secrets
        self.keylogs = tuple(keylogs)      # TLS key logs, re-read as they grow (SSLKEYLOGFILE of a live client)
        self.keep_analysis = keep_analysis
        self.transcripts = html if transcripts is None else transcripts
        self.tshark = ""
        self.dumpcap = ""
        self.linktype = 1
        self.result: LiveResult | None = None
        self.report_error: str | None = None    # the HTML report failed (our bug); everything else was written
        self.stderr: dict[str, deque] = {"dumpcap": deque(maxlen=50), "tshark": deque(maxlen=50)}
        self.ready = threading.Event()          # set when dumpcap is capturing (or the capture ended)
        self.delivered = 0                      # frames handed to the engine as they were captured
        self.max_behind = 0.0                   # the most a batch's last packet was behind the wall clock (s)
        self._files: GrowingFiles | None = None
        self._caught_up = threading.Event()     # the reader waits at the end of what dumpcap wrote
        self._proc: subprocess.Popen | None = None
        self.recovered = 0                      # frames read back from the capture file at the end
        self._q: queue.Queue = queue.Queue(maxsize=QUEUE_BATCHES if via == "dumpcap" else QUEUE_FRAMES)
        self._stop_requested = threading.Event()
        self._abort = threading.Event()
        self._dumpcap_pid: int | None = None
        self._tshark_pid: int | None = None
        self._watchdog = Watchdog()     # ends dumpcap/tshark if wiretale is killed (decoder/watchdog.py)
        self._worker: threading.Thread | None = None
        self._worker_error: BaseException | None = None
        self._bg: threading.Thread | None = None
        self._started = False
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ control
    def stop(self) -> None:
        """End the capture (thread-safe, idempotent): dumpcap is asked to stop, everything it
        captured is still decoded, open flows are closed and outputs written."""
        self._stop_requested.set()
        self._signal_dumpcap()

    def _signal_dumpcap(self) -> None:
        pid = self._dumpcap_pid
        if pid is not None:
            try:
                os.kill(pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass

    def _kill_all(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                self._proc.kill()
            except ProcessLookupError:
                pass
        for pid in (self._dumpcap_pid, self._tshark_pid):
            if pid is not None:
                try:
                    os.killpg(pid, signal.SIGKILL)   # its own session: tshark's dumpcap child too
                except (ProcessLookupError, PermissionError):
                    pass

    async def _read_stderr(self, stream, who: str) -> None:
        buf = self.stderr[who]
        while True:
            line = await stream.readline()
            if not line:
                break
            text = line.decode("utf-8", "replace").rstrip()
            if text:
                buf.append(text)
            # dumpcap prints "Capturing on ..." before it opens the device, "File: ..." once the
            # device is open with its filter set and packets are being taken
            if who == "dumpcap" and text.startswith("File:"):
                self.ready.set()

    # ------------------------------------------------------------------ dumpcap path
    def _start_dumpcap(self) -> None:
        cmd = dumpcap_command(self.dumpcap, self.interface, self.capture_path, self.bpf, self.count,
                              self.duration, self.ring)
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, start_new_session=True)
        self._dumpcap_pid = self._proc.pid
        self._watchdog.watch(self._proc.pid)
        threading.Thread(target=self._stderr_lines, args=(self._proc.stderr, "dumpcap"),
                         name="wiretale-dumpcap-stderr", daemon=True).start()
        if self._stop_requested.is_set():
            self._signal_dumpcap()

    def _stderr_lines(self, stream, who: str) -> None:
        buf = self.stderr[who]
        for line in iter(stream.readline, b""):
            text = line.decode("utf-8", "replace").rstrip()
            if text:
                buf.append(text)
            if who == "dumpcap" and text.startswith("File:"):
                self.ready.set()
        stream.close()

    def _read_files(self) -> None:
        """Reader thread: records of the growing capture file(s) → batches on the queue. A batch is handed
        on when full or when the reader is about to wait for dumpcap (so a quiet link is not delayed)."""
        proc = self._proc
        assert proc is not None
        batch: list[tuple] = []

        def flush() -> None:
            if batch:
                self._put(batch[:])
                batch.clear()

        def at_end() -> None:
            flush()
            self._caught_up.set()          # everything dumpcap wrote is queued: the wall clock may rule

        files = GrowingFiles(self.capture_path, producer_done=lambda: proc.poll() is not None,
                             ring=self.ring is not None, abort=self._abort, on_wait=at_end)
        self._files = files
        src = PcapFileSource(self.capture_path, stream=files)
        try:
            for rec in src.records():
                if not batch:
                    self._caught_up.clear()
                batch.append(rec)
                if len(batch) >= BATCH:
                    flush()
            flush()
        except CaptureError as e:
            if files.bytes:                  # an empty file is a capture that never started: see stderr
                self._worker_error = e
        except BaseException as e:  # reported by the consuming thread
            self._worker_error = e
        finally:
            files.close()
            self._info.warnings.extend(src.info.warnings)
            try:
                proc.wait(timeout=DRAIN_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
            self.ready.set()
            self._put(_END)

    def _capture_files(self) -> list[Path]:
        """The file(s) dumpcap wrote: the one path, or the ring files still on disk."""
        if self.ring is None:
            return [self.capture_path]
        pat = ring_pattern(self.capture_path)
        try:
            names = sorted(n for n in os.listdir(self.capture_path.parent) if pat.match(n))
        except OSError:
            return []
        return [self.capture_path.parent / n for n in names]

    # ------------------------------------------------------------------ pyshark thread
    def _pump(self) -> None:
        loop = asyncio.new_event_loop()
        cap = None
        try:
            cls = _pyshark_classes()[1]
            cap = cls(session=self, eventloop=loop)

            async def go() -> None:
                tshark = await cap._get_tshark_process()
                await cap._go_through_packets_from_fd(tshark.stdout, self._on_packet)
                try:
                    await asyncio.wait_for(tshark.wait(), DRAIN_TIMEOUT)
                except asyncio.TimeoutError:
                    pass
                if cap.dumpcap_process is not None:
                    try:
                        await asyncio.wait_for(cap.dumpcap_process.wait(), 5)
                    except asyncio.TimeoutError:
                        pass

            loop.run_until_complete(go())
        except BaseException as e:  # reported by the consuming thread
            self._worker_error = e
        finally:
            try:
                if cap is not None:
                    loop.run_until_complete(cap.close_async())
            except BaseException:
                pass
            loop.close()
            self.ready.set()
            self._put(_END)

    def _put(self, item: Any) -> None:
        while not self._abort.is_set():
            try:
                self._q.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _on_packet(self, pkt) -> None:
        from pyshark.capture.capture import StopCapture

        if self._abort.is_set():
            raise StopCapture()
        fi = pkt.frame_info
        try:
            raw = pkt.frame_raw.value
            data = bytes.fromhex(raw if isinstance(raw, str) else raw[0])
        except Exception:
            data = pkt.get_raw_packet()
        try:
            wirelen = int(fi.len)
        except Exception:
            wirelen = len(data)
        self.delivered += 1
        self._put(Frame(self.delivered, epoch(fi.time_epoch), self.linktype, data, max(wirelen, len(data))))

    # ------------------------------------------------------------------ the consuming side
    def _prepare(self) -> None:
        self.tshark, self.dumpcap = find_tools()
        self.linktype = probe_interface(self.dumpcap, self.interface, self.bpf)
        if self.write_outputs:           # locked and owned as read's OUT: two sessions never mix
            from decoder.outdir import LIVE_FILES, claim

            self._od = claim(self.out_dir, force=self.force, top_files=LIVE_FILES)
        else:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.capture_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with open(self.capture_path, "ab"):
                pass
        except OSError as e:
            raise LiveError(f"cannot write the capture file {self.capture_path}: {e.strerror or e}", 1) from None
        if self.via == "dumpcap":
            # the reader follows what dumpcap writes at this path: nothing older may be found there
            stale = [self.capture_path] + (self._capture_files() if self.ring is not None else [])
            for p in stale:
                p.unlink(missing_ok=True)

    def rows(self) -> Iterator[tuple[str, dict]]:
        """Start the capture and yield ``(table, row)`` as rows are made, until it ends."""
        with self._lock:
            if self._started:
                raise RuntimeError("a LiveSession runs once")
            self._started = True
        from decoder.pipeline import Engine

        self._prepare()
        pending: deque = deque()
        engine = Engine(limits=self.limits, out_dir=self.out_dir, strict=self.strict,
                        transcripts=self.transcripts, on_row=lambda t, r: pending.append((t, r)),
                        keylogs=self.keylogs)
        self.engine = engine
        info = CaptureInfo(path=str(self.capture_path), format="pcapng")
        info.linktypes.add(self.linktype)
        self._info = info
        self._t0 = time.monotonic()
        if self.via == "dumpcap":
            self._start_dumpcap()
            self._worker = threading.Thread(target=self._read_files, name="wiretale-reader", daemon=True)
        else:
            self._worker = threading.Thread(target=self._pump, name="wiretale-pyshark", daemon=True)
        self._worker.start()
        next_refresh = time.monotonic() + self.refresh if self.refresh else None
        stop_deadline = None
        done = False
        try:
            while not done:
                try:
                    item = self._q.get(timeout=TICK)
                except queue.Empty:
                    item = None
                except KeyboardInterrupt:
                    if self._stop_requested.is_set():
                        raise            # a second interrupt: give up (the finally kills the pipeline)
                    self.stop()          # the first: stop cleanly and decode what was captured
                    item = None
                if item is _END:
                    done = True
                elif type(item) is list:
                    engine.feed_records(item, info)
                    self.delivered += len(item)
                    behind = time.time() - item[-1][1]
                    if behind > self.max_behind:
                        self.max_behind = behind
                elif item is not None:
                    engine.feed_frames((item,), info)
                else:
                    self._tick(engine)
                while pending:
                    yield pending.popleft()
                now = time.monotonic()
                if next_refresh is not None and now >= next_refresh:
                    self._refresh(engine)
                    next_refresh = now + self.refresh
                if self.duration and stop_deadline is None and now - self._t0 > self.duration + 10:
                    self.stop()           # dumpcap's own -a did not fire: ask it ourselves
                if self._stop_requested.is_set() and stop_deadline is None:
                    stop_deadline = now + DRAIN_TIMEOUT
                if stop_deadline is not None and now > stop_deadline:
                    self._kill_all()      # the pipeline did not drain: the file is read below
                    stop_deadline = float("inf")
            self._worker.join(timeout=10)
            self._raise_worker_error()
            if self.via == "pyshark":
                self._recover_from_file(engine, info)
            while pending:
                yield pending.popleft()
            self._finish(engine, info)
            while pending:
                yield pending.popleft()
        finally:
            if not done:            # the consumer went away (generator closed, exception): abort
                self._abort.set()
                self._kill_all()
                if self._worker is not None:
                    self._worker.join(timeout=10)
            self._watchdog.close()
            self._release_out(done)

    def _release_out(self, done: bool) -> None:
        """The run manifest's last word (``complete`` or ``partial``) and OUT's lock released."""
        od, self._od = self._od, None
        if od is None:
            return
        try:
            if done and self.result is not None:
                od.write_manifest("complete")
            else:
                od.write_manifest("partial", "the live session was aborted before its outputs were written")
        finally:
            od.close()

    def _raise_worker_error(self) -> None:
        """After the pipeline ended: a capture that never started is an error (one line); a
        pipeline that broke after some packets is a warning (the rest comes from the file)."""
        err = self._worker_error
        if isinstance(err, LiveError):
            raise err
        dump = [l for l in self.stderr["dumpcap"] if l.startswith("dumpcap:")]
        tsh = [l for l in self.stderr["tshark"] if l.startswith("tshark:") and l.strip() != "tshark:"]
        size = sum(p.stat().st_size for p in self._capture_files() if p.exists())
        if self._stop_requested.is_set() and self.delivered == 0 and not dump and size == 0:
            return      # stopped (Ctrl-C) before the capture had started: a clean, empty run
        if self.delivered == 0 and dump:
            raise classify_error("\n".join(self.stderr["dumpcap"]), self.interface, self.dumpcap, self.bpf)
        if self.delivered == 0 and size == 0 and (err is not None or tsh):
            why = tsh[-1].split(":", 1)[1].strip() if tsh else f"{type(err).__name__}: {err}"
            raise LiveError(f"live capture failed: {why}", 1)
        if err is not None or tsh:
            why = f"{type(err).__name__}: {err}" if err is not None else tsh[-1]
            self._info.warnings.append(f"live pipeline: {why}; frames after the last delivered one were "
                                       "read from the capture file")

    def _tick(self, engine) -> None:
        """The interface is quiet: let idle flows time out on the wall clock (a little behind it,
        so packets still in the pipe are not overtaken). Not while a backlog is being decoded: then
        the packets' own times rule, exactly as in ``read`` of the same file."""
        if self.via == "dumpcap" and not self._caught_up.is_set():
            return
        engine.tick(time.time() - 2.0)

    def _recover_from_file(self, engine, info: CaptureInfo) -> None:
        """Feed every frame of the written file beyond the last one pyshark delivered."""
        if not self.capture_path.exists() or self.capture_path.stat().st_size == 0:
            return
        try:
            src = PcapFileSource(self.capture_path)
        except CaptureError:
            return
        seen = self.delivered
        try:
            def rest():
                for rec in src.records():
                    if rec[0] > seen:
                        self.recovered += 1
                        yield Frame(*rec)
            engine.feed_frames(rest(), info)
        except CaptureError:
            pass
        finally:
            src.close()
        info.warnings.extend(src.info.warnings)
        info.size = self.capture_path.stat().st_size

    def _capture_entry(self, engine, info: CaptureInfo) -> dict:
        files = [p for p in self._capture_files() if p.exists()]
        size = sum(p.stat().st_size for p in files)
        extra = {"ring_files": [str(p) for p in files]} if self.ring is not None else {}
        return {"path": str(self.capture_path), "format": "pcapng", "size": size, "gzip": False, **extra,
                "linktypes": sorted(info.linktypes), "frames": info.frames, "first_ts": info.first_ts,
                "last_ts": info.last_ts, "warnings": list(info.warnings),
                "packets_counted": sum(engine.results.packets.values())}

    def _live_facts(self) -> dict:
        received = dropped = None
        for line in self.stderr["dumpcap"]:
            m = re.search(r"received/dropped on interface .*?: (\d+)/(\d+)", line)
            if m:
                received, dropped = int(m.group(1)), int(m.group(2))
        facts = {"interface": self.interface, "filter": self.bpf, "count": self.count, "duration": self.duration,
                 "via": self.via, "received": received, "dropped": dropped,
                 "seconds": round(time.monotonic() - self._t0, 3)}
        if self.via == "pyshark":
            facts.update(delivered_by_pyshark=self.delivered, recovered_from_file=self.recovered)
        else:
            files = self._files
            facts.update(delivered=self.delivered, max_seconds_behind=round(max(self.max_behind, 0.0), 3),
                         lost_files=files.lost_files if files is not None else 0,
                         ring=None if self.ring is None else {"files": self.ring.files,
                                                              "filesize_kb": self.ring.filesize_kb,
                                                              "duration": self.ring.duration})
        return facts

    def _snapshot(self, engine):
        """An Analysis of the rows so far without ending the run (spilled rows are kept)."""
        from decoder.api import Analysis

        res = engine.results
        res.captures.append(self._capture_entry(engine, self._info))
        try:
            return Analysis(engine, None, snapshot=True)
        finally:
            res.captures.pop()

    def _refresh(self, engine) -> None:
        if not self.write_outputs:
            return
        from decoder.pipeline import build_summary
        from reports.export import write_json, write_row_tables

        tmp = self.out_dir / ".tables.refresh"
        shutil.rmtree(tmp, ignore_errors=True)
        write_row_tables(engine.results.tables, tmp, self.tables_fmt)
        (self.out_dir / "tables").mkdir(parents=True, exist_ok=True)
        for p in tmp.iterdir():
            os.replace(p, self.out_dir / "tables" / p.name)
        shutil.rmtree(tmp, ignore_errors=True)
        engine.results.captures.append(self._capture_entry(engine, self._info))
        try:
            summary = build_summary(engine)
        finally:
            engine.results.captures.pop()
        summary["live"] = dict(self._live_facts(), running=True)
        write_json(summary, self.out_dir / "summary.json")
        if self.html:
            from reports.html import write_report

            write_report(self._snapshot(engine), self.out_dir, show_secrets=self.show_secrets)

    def _finish(self, engine, info: CaptureInfo) -> None:
        from decoder.api import Analysis
        from decoder.pipeline import build_summary
        from decoder.session import assemble

        engine.finish_capture()
        engine.results.captures.append(self._capture_entry(engine, info))
        assemble(engine)
        analysis = None
        if self.keep_analysis or (self.html and self.write_outputs):
            analysis = Analysis(engine, None)
            summary = analysis.summary
        else:
            summary = build_summary(engine)
        summary["live"] = dict(self._live_facts(), running=False)
        if analysis is not None:
            analysis.summary = summary
        if self.write_outputs:
            from reports.export import write_json, write_row_tables

            if analysis is not None:
                write_row_tables(analysis.rows, self.out_dir / "tables", self.tables_fmt)
            else:
                write_row_tables(engine.results.tables, self.out_dir / "tables", self.tables_fmt)
                engine.results.cleanup()
            write_json(summary, self.out_dir / "summary.json")
            if analysis is not None and self.html:
                from reports.html import write_report

                try:   # tables, summary and capture file are safe on disk whatever happens here
                    write_report(analysis, self.out_dir, show_secrets=self.show_secrets)
                except Exception as e:
                    if self.strict:
                        raise
                    self.report_error = f"{type(e).__name__}: {e}"
        elif analysis is None:
            engine.results.cleanup()
        self.result = LiveResult(summary, self.out_dir if self.write_outputs else None, self.capture_path,
                                 analysis if self.keep_analysis else None)

    def run(self, on_row: Callable[[str, dict], None] | None = None) -> LiveResult:
        """Capture until the end condition (or :meth:`stop`; a first KeyboardInterrupt while waiting
        for packets stops cleanly too, a second one aborts), calling ``on_row(table, row)`` for each row; return the result."""
        for table, row in self.rows():
            if on_row is not None:
                on_row(table, row)
        assert self.result is not None
        return self.result

    def start(self, on_row: Callable[[str, dict], None] | None = None) -> "LiveSession":
        """Run in a background thread (returns at once); :meth:`stop` and :meth:`wait` later."""
        def target() -> None:
            try:
                self.run(on_row)
            except BaseException as e:
                self._bg_error = e
        self._bg_error: BaseException | None = None
        self._bg = threading.Thread(target=target, name="wiretale-live", daemon=True)
        self._bg.start()
        return self

    def wait(self, timeout: float | None = None) -> LiveResult | None:
        if self._bg is not None:
            self._bg.join(timeout)
            if self._bg.is_alive():
                return None
            if self._bg_error is not None:
                raise self._bg_error
        return self.result

    async def arows(self):
        """``async for table, row in session.arows()``: the rows, without blocking the event loop."""
        gen = self.rows()
        end = object()
        while True:
            item = await asyncio.to_thread(next, gen, end)
            if item is end:
                return
            yield item

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None


# ----------------------------------------------------------------------------- one line per row
#: The columns printed for each table: the engine's own here, each protocol's beside it
#: (``PRESENTATION`` in dissectors/probes/<proto>.py).
ROW_FIELDS: dict[str, tuple[str, ...]] = {
    "conn": ("proto", "service", "duration", "orig_bytes", "resp_bytes", "conn_state"),
    "files": ("source", "kind", "filename", "mime_type", "seen_bytes", "complete"),
    "emails": ("from", "to", "subject", "attachments"),
    "credentials": ("protocol", "username", "secret", "kind", "success"),
    **PRESENTATION.live_columns,
}
QUIET_TABLES = frozenset({"timeline", "anomalies", "ftp_listing"})
_LEAD = ("ts", "uid", "orig_h", "orig_p", "resp_h", "resp_p")
_COLOURS = {"conn": "2", "credentials": "1;31", "files": "34", "emails": "1;35", **PRESENTATION.live_colours}
_CTRL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _clean(v: Any, width: int = 60) -> str:
    if isinstance(v, (list, tuple)):
        v = ",".join(_clean(x, width) for x in v)
    elif isinstance(v, float):
        v = f"{v:.3f}"
    s = _CTRL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(v))   # captured text never drives the terminal
    return s if len(s) <= width else s[:width - 1] + "…"


def format_row(table: str, row: dict, color: bool = False, show_secrets: bool = False) -> str | None:
    """One line for a row, or None for tables not printed live (timeline, anomalies, listings)."""
    if table in QUIET_TABLES:
        return None
    from datetime import datetime

    ts = row.get("ts")
    when = datetime.fromtimestamp(ts).strftime("%H:%M:%S.%f")[:-3] if isinstance(ts, (int, float)) else "-"

    def ep(h, p):
        if h is None:
            return "-"
        return f"[{h}]:{p}" if ":" in str(h) else f"{h}:{p}"

    fields = ROW_FIELDS.get(table) or tuple(k for k in row if k not in _LEAD)[:5]
    parts = []
    for f in fields:
        v = row.get(f)
        if v is None or v == "" or v == [] or v == ():
            continue
        if f == "secret" and not show_secrets:
            v = "****"
        parts.append(f"{f}={_clean(v)}")
    line = (f"{when} {table:<11} {ep(row.get('orig_h'), row.get('orig_p'))} → "
            f"{ep(row.get('resp_h'), row.get('resp_p'))}  {' '.join(parts)}  {row.get('uid') or ''}").rstrip()
    if color:
        line = f"\x1b[{_COLOURS.get(table, '0')}m{line}\x1b[0m"
    return line


# ----------------------------------------------------------------------------- the CLI verb
def parse_autostop(value: str | None) -> tuple[float | None, int | None]:
    """``-a duration:SEC`` (also ``packets:N``) → (duration, count)."""
    if not value:
        return None, None
    dur = cnt = None
    for part in value.split(","):
        key, _, num = part.partition(":")
        try:
            if key == "duration":
                dur = float(num)
                if dur <= 0:
                    raise ValueError
            elif key == "packets":
                cnt = int(num)
            else:
                raise ValueError
        except ValueError:
            raise LiveError(f"-a takes duration:SECONDS (or packets:N), not {value!r}", 2) from None
    return dur, cnt


def run_live(args) -> int:
    """``wiretale live``: returns the exit code (0 on a clean stop, however it was asked for)."""
    from decoder.commands.options import parse_limits

    try:
        duration, pk = parse_autostop(args.autostop)
        count = args.count if args.count is not None else pk
        if count is not None and count <= 0:        # (-c 0 used to read as "no -c": never stop)
            raise LiveError("-c takes a positive packet count", 2)
        limits = parse_limits(getattr(args, "limit", None))
        given = {item.partition("=")[0] for item in (getattr(args, "limit", None) or [])}
        changes = {}
        if "tcp_idle_timeout" not in given:
            changes["tcp_idle_timeout"] = LIVE_TCP_IDLE
        if "udp_idle_timeout" not in given:
            changes["udp_idle_timeout"] = LIVE_UDP_IDLE
        if changes:
            import dataclasses
            limits = dataclasses.replace(limits, **changes)
        out = Path(args.output)
        session = LiveSession(args.interface, bpf=args.bpf, count=count, duration=duration, write=args.write,
                              out_dir=out, limits=limits, strict=args.strict, refresh=args.refresh,
                              tables=args.tables, html=not args.no_html, show_secrets=args.show_secrets,
                              keep_analysis=not args.no_html, via=getattr(args, "via", "dumpcap"),
                              ring=getattr(args, "ring", None), keylogs=tuple(getattr(args, "keylog", None) or ()),
                              force=getattr(args, "force", False))
        color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")

        def on_row(table: str, row: dict) -> None:
            line = format_row(table, row, color=color, show_secrets=args.show_secrets)
            if line is not None:
                print(line, flush=True)

        def announce() -> None:
            session.ready.wait()
            if session.delivered or any(l.startswith("File:") for l in session.stderr["dumpcap"]):
                stops = [f"{count} packets" if count else "", f"{duration:g} s" if duration else "", "Ctrl-C"]
                print(f"wiretale: capturing on {args.interface}"
                      f"{f' (filter: {args.bpf})' if args.bpf else ''} until {' or '.join(s for s in stops if s)}"
                      f"; capture file {session.capture_path}", file=sys.stderr, flush=True)

        hits = [0]

        def on_signal(signum, frame) -> None:
            hits[0] += 1
            if hits[0] > 1 and signum == signal.SIGINT:
                raise KeyboardInterrupt
            session.stop()

        old = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                old[sig] = signal.signal(sig, on_signal)
        try:
            threading.Thread(target=announce, daemon=True).start()
            res = session.run(on_row)
        finally:
            for sig, h in old.items():
                signal.signal(sig, h)
    except LiveError as e:
        print(f"wiretale: {e}", file=sys.stderr)
        return e.code
    if session.report_error:
        print(f"wiretale: internal error while writing the HTML report: {session.report_error} (tables, "
              f"summary and capture file were written; run with --debug for details; please report it)",
              file=sys.stderr)
    s = res.summary
    live = s["live"]
    drop = f", {live['dropped']} dropped by the kernel" if live.get("dropped") else ""
    if live.get("lost_files"):
        drop += (f", {live['lost_files']} ring file{'s' if live['lost_files'] != 1 else ''} deleted by dumpcap "
                 "before they could be read (decoding fell behind by more than the ring holds)")
    print(f"{s['packets']['total']} packets{drop}, {s['flows']['total']} flows "
          f"({', '.join(f'{k} {v}' for k, v in s['sessions'].items()) or 'none'}), "
          f"{s['files']} files, {s['emails']} e-mails, {len(s['anomalies'])} kinds of anomaly → {out} "
          f"(capture: {session.capture_path})", file=sys.stderr)
    return 3 if session.report_error else 0
