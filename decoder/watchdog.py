"""Capture processes that end when wiretale ends, however it ends.

``live`` starts dumpcap (and, on the pyshark path, tshark) in their own session, so that a
terminal's Ctrl-C reaches wiretale alone and wiretale stops them in order, draining what they
captured. The price: if wiretale itself is killed (SIGKILL, the OOM killer, a crash of the
interpreter), nothing would stop them and they would capture forever.

Linux's ``prctl(PR_SET_PDEATHSIG)`` is not enough: the kernel clears it when it executes a
binary with file capabilities or set-user-ID, which is exactly how dumpcap is installed for
capture without root. So a **watchdog pipe** is used instead: wiretale starts one small
watchdog process (this file run as a script, in its own session, ignoring SIGINT) holding the
read end of a pipe whose only write end stays in wiretale (pipes are not inherited by the
capture processes). wiretale writes ``+PID`` for every process it starts and ``-PID`` once it
has reaped it. When the pipe reaches end of file without a final ``x`` line — wiretale is gone
— the watchdog sends SIGTERM to the process group of every PID still listed (each leads its own
session), then SIGKILL to those still there two seconds later, and exits. A clean end writes
``x``: the watchdog exits without signalling anyone.

Limits: Linux and other POSIX systems (process groups, pipes); the watchdog is one more Python
process (about 10 MB) for the length of a live capture. A process group id reused by an
unrelated process in the instant between a capture process being reaped and wiretale's death
could be signalled (wiretale writes ``-PID`` right after reaping, so the window is tiny).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

GRACE = 2.0      # seconds between SIGTERM and SIGKILL of what outlived wiretale


class Watchdog:
    """One watchdog process per live session (started on the first :meth:`watch`)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._w: int | None = None
        self._lock = threading.Lock()

    def _send(self, line: str) -> None:
        if self._w is None:
            return
        try:
            os.write(self._w, line.encode("ascii"))
        except OSError:              # the watchdog is gone: nothing more to tell it
            pass

    def watch(self, pid: int) -> None:
        """Kill ``pid``'s process group if wiretale dies before :meth:`release` or :meth:`close`."""
        with self._lock:
            if self._proc is None:
                r, w = os.pipe()     # both non-inheritable: only the watchdog gets ``r`` (pass_fds)
                try:
                    self._proc = subprocess.Popen(        # this file as a script: stdlib only
                        [sys.executable, "-I", os.path.abspath(__file__), str(r)], pass_fds=(r,),
                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True)
                finally:
                    os.close(r)
                self._w = w
            self._send(f"+{pid}\n")

    def release(self, pid: int) -> None:
        """``pid`` was reaped: it is no longer ours to kill."""
        with self._lock:
            self._send(f"-{pid}\n")

    def close(self) -> None:
        """A clean end: the watchdog exits and signals no one."""
        with self._lock:
            if self._w is None:
                return
            self._send("x\n")
            os.close(self._w)
            self._w = None
            if self._proc is not None:
                try:
                    self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:   # pragma: no cover - it only reads a pipe
                    self._proc.kill()
                    self._proc.wait()
                self._proc = None


def _serve(fd: int) -> int:
    """The watchdog's own loop: read +PID/-PID/x lines until x (clean) or end of file (wiretale died)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    pids: set[int] = set()
    buf = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except InterruptedError:     # pragma: no cover - PEP 475 retries
            continue
        if not chunk:
            break
        buf += chunk
        *lines, buf = buf.split(b"\n")
        for line in lines:
            if line == b"x":
                return 0
            if line[:1] in (b"+", b"-") and line[1:].isdigit():
                (pids.add if line[:1] == b"+" else pids.discard)(int(line[1:]))
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = set()
        for pid in pids:
            try:
                os.killpg(pid, sig)
                alive.add(pid)
            except (ProcessLookupError, PermissionError):
                pass
        pids = alive
        deadline = time.monotonic() + GRACE
        while pids and time.monotonic() < deadline:
            time.sleep(0.05)
            pids = {p for p in pids if _group_alive(p)}
        if not pids:
            break
    return 0


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


if __name__ == "__main__":
    sys.exit(_serve(int(sys.argv[1])))
