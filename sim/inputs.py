"""What the simulator takes from users and files, checked before anything runs.

Command-line values and files (scenarios, traces) are untrusted: a mistake must end in
one line on stderr and exit status 2, before a run starts, never in a traceback or
after minutes of work, and nothing read from a file may run code. So:

* the ``argparse`` types here reject bad numbers, seeds, strategies and implementation
  names with a one-line reason;
* ``output_file`` and ``output_dir`` check that an output can be written before the run
  whose result it will hold (without creating directories for a file);
* ``scenario_from_json`` turns JSON into a ``Scenario`` whose every field has the type
  and range the driver assumes (``InputError`` otherwise); traces use it too;
* ``adapter_for_trace`` resolves a trace's implementation name only among the registered
  adapters: a ``module:factory`` name from a file is imported only when the user names
  it with ``--impl``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from sim.files import read_file
from sim.jsonl import MAX_SECONDS
from sim.scenario import Advance, Scenario, Send, Subscribe, Unsubscribe

__all__ = [
    "InputError",
    "OneLineParser",
    "adapter_for_trace",
    "column_width",
    "exit_with",
    "impl_name",
    "negative_values",
    "non_negative_int",
    "os_reason",
    "output_dir",
    "output_file",
    "positive_int",
    "read_json",
    "registered",
    "replay_command",
    "scenario_file",
    "scenario_from_json",
    "seed",
    "seed_range",
    "strategies",
    "tolerance",
]

#: the most threads of either kind a scenario may ask for (the simulator runs them all)
MAX_THREADS = 64
#: the widest lane of a printed timeline (``replay --width``)
MAX_WIDTH = 1000
#: the longest a seed range may name; ``range`` keeps it lazy, this keeps it meaningful
MAX_SEEDS = 10**12


class InputError(ValueError):
    """A command-line value or an input file is not usable; the text is the one-line reason."""


class OneLineParser(argparse.ArgumentParser):
    """``argparse`` whose usage errors are one line on stderr and exit status 2."""

    def error(self, message: str) -> Any:
        self.exit(2, f"{self.prog}: error: {message}\n")


# argparse types -------------------------------------------------------------------------------
def _int(text: str, what: str) -> int:
    try:
        return int(text.strip(), 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{what} must be an integer, not {text[:40]!r}") from None


def positive_int(text: str) -> int:
    value = _int(text, "the value")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def column_width(text: str) -> int:
    """``--width``: characters per lane, 1 to ``MAX_WIDTH`` (a huge one filled memory)."""
    value = positive_int(text)
    if value > MAX_WIDTH:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_WIDTH}, not {value}")
    return value


def non_negative_int(text: str) -> int:
    value = _int(text, "the value")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def seed(text: str) -> int:
    value = _int(text, "a seed")
    if value < 0:
        raise argparse.ArgumentTypeError(f"seeds are integers >= 0, not {value}")
    return value


def seed_range(text: str) -> range:
    """``N`` or ``A..B`` (inclusive), seeds >= 0; a lazy ``range``, however long."""
    lo, dots, hi = text.partition("..")
    first = seed(lo)
    last = seed(hi) if dots else first
    if last < first:
        raise argparse.ArgumentTypeError(f"empty seed range {text!r}")
    if last - first >= MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"seed range {text!r} is longer than {MAX_SEEDS:.0e}")
    return range(first, last + 1)


def strategies(text: str) -> list[str]:
    """A comma-separated list of campaign strategies (at least one, each known)."""
    from sim.strategies import STRATEGIES

    names = [name.strip() for name in text.split(",")]
    campaignable = sorted(n for n in STRATEGIES if n not in ("exhaustive", "replay"))
    bad = [n for n in names if n not in campaignable]
    if not text.strip() or bad:
        shown = ", ".join(repr(n) for n in bad) if bad else repr(text)
        raise argparse.ArgumentTypeError(
            f"unknown strategy {shown}; known: {', '.join(campaignable)}"
        )
    return names


def tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text[:40]!r}") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(
            f"must be a finite number of seconds from 0 to {MAX_SECONDS:g}, not {text[:40]}"
        )
    return value


def impl_name(text: str) -> str:
    """An implementation the user names: resolved now, so a typo fails before any run."""
    from sim.adapters import load_adapter

    try:
        load_adapter(text)
    except Exception as exc:  # ImportError, AttributeError, ValueError, a failing factory
        raise argparse.ArgumentTypeError(
            f"cannot load implementation {text!r}: {_reason(exc)}"
        ) from None
    return text


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# implementations named by files ----------------------------------------------------------------
def registered(name: object) -> bool:
    """Whether *name* is one of the built-in adapters (never a ``module:factory`` import)."""
    if not isinstance(name, str):
        return False
    if name in ("refimpl", "lona", "lona-1worker"):
        return True
    if name.startswith("mutant:"):
        from sim.mutants import MUTANTS

        return name.split(":", 1)[1] in MUTANTS
    return False


def replay_command(path: object, impl: str) -> str:
    """The one-line command that replays the trace at *path* of implementation *impl*.

    A trace of a ``module:factory`` implementation replays only with ``--impl`` (the file
    cannot choose code to import), so the command says it.
    """
    command = f"python -m sim replay {path}"
    return command if registered(impl) else f"{command} --impl {impl}"


def adapter_for_trace(name: str, explicit: str | None = None) -> Any:
    """The adapter to replay a trace that names *name*; *explicit* is the user's ``--impl``."""
    from sim.adapters import load_adapter

    if explicit is not None:
        return load_adapter(explicit)
    if not registered(name):
        raise InputError(
            f"the trace names implementation {name!r}, which is not a registered adapter "
            "(refimpl, lona, lona-1worker, mutant:NAME); a trace cannot choose code to import: "
            f"pass --impl {name} to run it if you trust it"
        )
    return load_adapter(name)


# output paths ------------------------------------------------------------------------------
def output_file(path: str, what: str) -> None:
    """InputError unless *path* can be written as a file now; no directory is created.

    The check writes: permission bits say nothing to root, and a file system may be
    read-only. An existing file is opened for appending (left as it was); a new one is
    created and removed again.
    """
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{what} {path}: is a directory")
    parent = target.parent
    if not parent.is_dir():
        raise InputError(f"{what} {path}: directory {parent} does not exist")
    existed = target.exists()
    try:
        with target.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot be written: {exc.strerror or exc}") from None
    if not existed:
        target.unlink(missing_ok=True)


def output_dir(path: str, what: str) -> None:
    """InputError unless *path* is, or can be created as, a writable directory.

    Probed by making (and removing) a directory inside it, or inside its nearest
    existing ancestor when it does not exist yet; nothing is left behind.
    """
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise InputError(f"{what} {path}: exists and is not a directory")
    ancestor = target.absolute()
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InputError(f"{what} {path}: {ancestor} is not a directory")
    try:
        probe = Path(tempfile.mkdtemp(prefix=".chanspec-probe-", dir=ancestor))
    except OSError as exc:
        raise InputError(
            f"{what} {path}: cannot write in {ancestor}: {exc.strerror or exc}"
        ) from None
    probe.rmdir()


def os_reason(exc: OSError) -> str:
    """An ``OSError`` as one line: the file and the system's reason, no traceback."""
    where = f"{exc.filename}: " if exc.filename is not None else ""
    return f"{where}{exc.strerror or exc}"


def negative_values(argv: Sequence[str]) -> list[str]:
    """``--seeds -3..-1`` as ``--seeds=-3..-1``: argparse would read the value as an option,
    and report "expected one argument" instead of why a negative seed is refused."""
    out: list[str] = []
    for token in argv:
        if out and out[-1] in ("--seed", "--seeds") and re.fullmatch(r"-\d[\d.\-:]*", token):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def exit_with(main: Callable[[], int]) -> NoReturn:
    """``sys.exit(main())`` for a command-line entry point, with two endings made quiet.

    A reader that goes away (``python -m bench --list | head -3``) raised
    ``BrokenPipeError`` with a traceback: the output is simply cut, status 141 as from a
    shell. Ctrl-C is one line, status 130.
    """
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout once more at exit: point it at nothing first
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 141
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    sys.exit(code)


# files -------------------------------------------------------------------------------------------
def read_json(path: str | Path, what: str) -> Any:
    """Parse a JSON file; InputError (one line) for anything unreadable or too deep."""
    try:
        text = read_file(path).decode("utf-8")
    except IsADirectoryError:
        raise InputError(f"{what} {path}: is a directory") from None
    except OSError as exc:
        raise InputError(f"{what} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{what} {path}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    try:
        return json.loads(text)
    except RecursionError:
        raise InputError(f"{what} {path}: JSON nested too deeply") from None
    except ValueError as exc:  # invalid JSON, or an integer of more than 4,300 digits
        raise InputError(f"{what} {path}: invalid JSON: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def scenario_file(path: str) -> Scenario:
    return scenario_from_json(read_json(path, "scenario"), f"scenario {path}")


def _is_int(value: object, low: int = 0, high: int | None = None) -> bool:
    return type(value) is int and value >= low and (high is None or value <= high)


def _is_seconds(value: object, low: float = 0.0, *, above: bool = False) -> bool:
    ok = type(value) in (int, float) and math.isfinite(value)  # type: ignore[arg-type]
    if not ok:
        return False
    number = float(value)  # type: ignore[arg-type]
    return (number > low if above else number >= low) and number <= threading.TIMEOUT_MAX


def scenario_from_json(data: Any, source: str = "scenario") -> Scenario:
    """A ``Scenario`` from JSON, every field checked; ``InputError`` names the first bad one."""

    def fail(text: str) -> InputError:
        return InputError(f"{source}: {text}")

    if not isinstance(data, dict):
        raise fail(f"must be a JSON object, not {type(data).__name__}")
    missing = [
        k
        for k in ("channels", "threads", "brokers", "workers", "timeout", "shutdown")
        if k not in data
    ]
    if missing:
        raise fail(f"lacks {', '.join(missing)}")
    channels, threads = data["channels"], data["threads"]
    if not isinstance(channels, list) or not channels:
        raise fail("'channels' must be a non-empty list")
    if not isinstance(threads, list) or not all(isinstance(t, list) for t in threads):
        raise fail("'threads' must be a list of lists of operations")
    try:
        scenario = Scenario.from_json(data)
    except (TypeError, ValueError, KeyError, IndexError) as exc:
        raise fail(_reason(exc)) from None
    _check_scenario(scenario, fail)
    return scenario


def _check_scenario(s: Scenario, fail: Callable[[str], InputError]) -> None:
    from refimpl import validate_topic

    n = len(s.channels)
    for name, value in (("brokers", s.brokers), ("workers", s.workers)):
        if not _is_int(value, 1, MAX_THREADS):
            raise fail(f"'{name}' must be an integer from 1 to {MAX_THREADS}, not {value!r}")
    for name, value in (("task_batch", s.task_batch), ("route_batch", s.route_batch)):
        if not _is_int(value, 1):
            raise fail(f"'{name}' must be an integer >= 1, not {value!r}")
    if not _is_seconds(s.timeout, above=True):
        raise fail(f"'timeout' must be a number of seconds > 0, not {s.timeout!r}")
    if type(s.shutdown) is not bool:
        raise fail(f"'shutdown' must be true or false, not {s.shutdown!r}")
    for c, ch in enumerate(s.channels):
        try:
            validate_topic(ch.topic)
        except (TypeError, ValueError) as exc:
            raise fail(f"channel {c}: {exc}") from None
        # ``raises`` is checked by Scenario.from_json (a name from scenario.RAISES)
        if not all(type(f) is bool for f in (ch.subscribed, ch.reply_droppable)):
            raise fail(f"channel {c}: subscribed and reply_droppable must be true/false")
        if not _is_seconds(ch.sleep):
            raise fail(f"channel {c}: sleep must be a number of seconds >= 0, not {ch.sleep!r}")
        if ch.reply is not None and not _is_int(ch.reply, 0, n - 1):
            raise fail(f"channel {c}: reply must be a channel index 0..{n - 1}, not {ch.reply!r}")
    listed = [(f"thread {t} op", ops) for t, ops in enumerate(s.threads)]
    listed += [(f"channel {c} action", ch.actions) for c, ch in enumerate(s.channels)]
    for name, ops in listed:
        for i, op in enumerate(ops):
            where = f"{name} {i}"
            if isinstance(op, (Send, Subscribe, Unsubscribe)) and not _is_int(op.channel, 0, n - 1):
                raise fail(f"{where}: channel index {op.channel!r} is not in 0..{n - 1}")
            if isinstance(op, Send):
                # a number (format 1) became an Expiry too: check the seconds of either
                spec = op.expiry_spec()
                if spec is not None and not _is_seconds(spec.seconds, -threading.TIMEOUT_MAX):
                    raise fail(
                        f"{where}: expiry must be a finite number of seconds within "
                        f"±{threading.TIMEOUT_MAX:g}, or null"
                    )
                if type(op.droppable) is not bool or type(op.local) is not bool:
                    raise fail(f"{where}: droppable and local must be true or false")
            if isinstance(op, Advance) and not _is_seconds(op.seconds):
                raise fail(f"{where}: advance must be a number of seconds >= 0")
