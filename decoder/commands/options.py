"""What a read is asked to do, as one frozen object, and the error a command refuses its arguments with.

:class:`ReadOptions` is built once from the parsed arguments of ``read``, ``batch`` or ``check``
(:func:`read_options`) and handed to :func:`decoder.commands.read.read_captures`, by a batch's process
pool and Dask workers too (it pickles). ``--limit NAME=VALUE`` items and ``--keylog`` files are checked
when it is built, so a mistake is one :class:`UsageError` before any capture is read.
"""
from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, field, replace
from typing import Any, Sequence

from decoder.model import Limits


class UsageError(Exception):
    """Arguments a command refuses: one line on stderr, exit code 2."""


@dataclass(frozen=True)
class ReadOptions:
    """How captures are read into OUT (``wiretale read``'s flags)."""

    tables: str = "jsonl"                   #: --tables: jsonl, csv or parquet
    html: bool = True                       #: the HTML report and session pages (not --no-html)
    show_secrets: bool = False              #: --show-secrets
    strict: bool = False                    #: --strict: re-raise wiretale's own bugs
    debug: bool = False                     #: --debug: tracebacks instead of one line
    force: bool = False                     #: --force: write into an OUT wiretale did not make
    workers: int | None = None              #: --workers: processes of the split run (0: every core; None:
    #: every core for one capture file of at least SPLIT_MIN_BYTES, else 1 — see :func:`split_workers`)
    keylogs: tuple[str, ...] = ()           #: --keylog files
    limits: Limits = field(default_factory=Limits)   #: --limit NAME=VALUE, applied


def parse_limits(items: Sequence[str] | None) -> Limits:
    """``--limit NAME=VALUE`` items as :class:`Limits` (each value of the default's type)."""
    changes: dict[str, Any] = {}
    for item in items or []:
        name, _, value = item.partition("=")
        lim = Limits()
        if not hasattr(lim, name):
            raise UsageError(f"unknown limit {name!r}; known: {', '.join(sorted(Limits.__dataclass_fields__))}")
        cur = getattr(lim, name)
        try:
            changes[name] = type(cur)(value)
        except ValueError:
            raise UsageError(f"limit {name} needs a {type(cur).__name__}, not {value!r}") from None
    return Limits(**changes)


def checked_keylogs(files: Sequence[str] | None) -> tuple[str, ...]:
    """``--keylog FILE`` (repeatable): each must be readable, checked before any capture is read."""
    from decoder.keylog import Keyring, KeylogError

    for f in files or []:
        ring = Keyring()
        try:
            ring.add_file(f)
        except KeylogError as e:
            raise UsageError(str(e)) from None
        skipped = {k: n for k, n in ring.counts.items() if k != "secrets"}
        if skipped or not ring.counts["secrets"]:
            what = ", ".join(f"{n} {k}" for k, n in sorted(skipped.items())) or "no TLS secrets"
            print(f"wiretale: warning: key log {f}: {ring.counts['secrets']} secrets read; skipped: {what}",
                  file=sys.stderr)
    return tuple(files or ())


def read_options(args: Any, **override: Any) -> ReadOptions:
    """The :class:`ReadOptions` of parsed arguments (a verb without a flag gets its default), with
    ``override`` applied (a batch reads into Parquet, ``check`` without ``-o`` writes no report)."""
    opts = ReadOptions(
        tables=getattr(args, "tables", None) or "jsonl", html=not getattr(args, "no_html", False),
        show_secrets=getattr(args, "show_secrets", False), strict=getattr(args, "strict", False),
        debug=getattr(args, "debug", False), force=getattr(args, "force", False),
        workers=getattr(args, "workers", 1), keylogs=checked_keylogs(getattr(args, "keylog", None)),
        limits=parse_limits(getattr(args, "limit", None)))
    return replace(opts, **override)


def usable_cores() -> int:
    """The CPUs this process may run on (its affinity mask, which a container's cpuset or ``taskset``
    narrows), else the machine's count: what ``--workers 0`` means for ``batch`` and ``read``."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):      # not on Linux
        return os.cpu_count() or 1


def worker_count(workers: int | None) -> int:
    """``workers`` processes, or :func:`usable_cores` when it is 0 or None."""
    return workers if workers and workers > 0 else usable_cores()


def fork_context() -> Any:
    """The ``fork`` start method's context where the platform has it, else None: the processes a command
    starts (a split run's workers, the side writer) inherit the imported engine instead of importing it
    again; without fork a split run uses the platform's default and the side writer is not started."""
    import multiprocessing

    if "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return None


#: the smallest capture file ``read`` splits over every core when ``--workers`` is not given: a judgement, not
#: a measurement — a split costs each extra process a pass over the whole file (docs/BATCH.md)
SPLIT_MIN_BYTES = 16_000_000


def split_workers(workers: int | None, paths: Sequence[str]) -> int:
    """How many processes ``read`` of ``paths`` runs: ``workers`` when given (0: every usable core); when
    None, every usable core for one regular capture file of at least :data:`SPLIT_MIN_BYTES`, else 1
    (several inputs, stdin, a FIFO or a small file are read in this process)."""
    if workers is not None:
        return worker_count(workers)
    if len(paths) != 1 or paths[0] == "-":
        return 1
    try:
        st = os.stat(paths[0])
    except OSError:
        return 1
    if not stat.S_ISREG(st.st_mode) or st.st_size < SPLIT_MIN_BYTES:
        return 1
    return usable_cores()
