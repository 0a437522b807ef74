"""How a command ends: its exceptions as one line on stderr and an exit code, never a traceback.

:func:`run_command` runs a command (``wiretale VERB`` after its arguments are parsed, or one capture of a
batch) under the memory policy of the command line (:mod:`decoder.gcpolicy`) and maps what it raises:

- :class:`~decoder.commands.options.UsageError`: 2;
- Ctrl-C: 130; SIGTERM/SIGHUP (:class:`decoder.commands.output.Stopped`): 128 + the signal;
- a broken pipe (``wiretale sessions … | head``): 0;
- an environment error on OUT or an input (:func:`decoder.outdir.describe_env_error`): 1, what to do;
- :class:`decoder.outdir.OutputError` (OUT locked, foreign, a file): its own code;
- anything else, wiretale's own bug: 3 "internal error", re-raised with ``debug`` or ``strict``.
"""
from __future__ import annotations

import sys
from typing import Callable

from decoder.commands.options import UsageError


def run_command(fn: Callable[[], int | None], *, debug: bool = False, strict: bool = False,
                output: str | None = None) -> int:
    """``fn()``'s exit code (``None`` is 0), or the code of what it raised (see the module docstring).
    ``output`` is the OUT folder named in environment errors."""
    from decoder.gcpolicy import bulk, fixed_mmap_threshold

    fixed_mmap_threshold()
    try:
        with bulk():      # the whole verb: decoding, then writing tables and reports
            return int(fn() or 0)
    except UsageError as e:
        print(f"wiretale: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        from decoder.commands.output import Stopped

        if isinstance(e, Stopped):
            print(f"wiretale: stopped by {e}; the files written are whole, summary.json says what is missing",
                  file=sys.stderr)
            return 128 + e.signum
        print("wiretale: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:
        from decoder.outdir import describe_env_error

        msg = describe_env_error(e, output)
        if msg is None:
            if debug or strict:
                raise
            return _internal_error(e)
        print(f"wiretale: {msg}", file=sys.stderr)
        return 1
    except Exception as e:
        from decoder.outdir import OutputError

        if isinstance(e, OutputError):
            print(f"wiretale: {e}", file=sys.stderr)
            return e.code
        if debug or strict:
            raise
        return _internal_error(e)


def _internal_error(e: BaseException) -> int:
    print(f"wiretale: internal error: {type(e).__name__}: {e} (run with --debug for details; "
          "please report it)", file=sys.stderr)
    return 3
