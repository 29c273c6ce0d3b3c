"""Entry point of the ``triplet`` command.

Every stage keeps its commands in its own module (``triplet/cli/<stage>.py``) exposing
``register(app)``. :func:`main` turns every :class:`~triplet.errors.TripletError` into a clear
message and exit code, and any unexpected exception into a one-line internal-error message
(the traceback only with ``TRIPLET_DEBUG=1``): users never see a bare traceback.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading

import typer
from rich.console import Console

from triplet import __version__
from triplet.errors import InputError, TripletError

app = typer.Typer(
    name="triplet",
    help="Triple-T evidence-based policing: target harm, test fairly, track effects.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)

# Stage command modules, in the order of the strategy.
COMMAND_MODULES = (
    "triplet.cli.registry",
    "triplet.cli.records",
    "triplet.cli.targeting",
    "triplet.cli.geography",
    "triplet.cli.testing",
    "triplet.cli.tracking",
    "triplet.cli.delivery",
    "triplet.cli.reports",
    "triplet.cli.performance",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"triplet {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Triple-T evidence-based policing: target harm, test fairly, track effects."""


for _name in COMMAND_MODULES:
    try:
        _module = importlib.import_module(_name)
    except ModuleNotFoundError as exc:  # a stage not built yet
        if exc.name != _name:
            raise
        continue
    _module.register(app)


def report_error(exc: TripletError) -> int:
    """Print a user-facing error (every problem of an InputError) and return the exit code."""
    if isinstance(exc, InputError):
        for problem in exc.problems:
            err.print(f"[red]error[/red] {problem}", highlight=False, markup=True, soft_wrap=True)
        n = len(exc.problems)
        err.print(f"{n} problem{'s' if n != 1 else ''} found.", highlight=False)
    else:
        err.print(f"[red]error[/red] {exc}", highlight=False, soft_wrap=True)
    return exc.exit_code


def honour_sigint() -> object | None:
    """Make Ctrl-C raise KeyboardInterrupt even if SIGINT was ignored when the process started
    (a shell starts background jobs with SIGINT ignored; Python then never sees it and the
    command ran on to exit 0). Returns the previous handler (None if it could not be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    try:
        return signal.signal(signal.SIGINT, signal.default_int_handler)
    except (ValueError, OSError):  # pragma: no cover - no signals here
        return None


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; return (and exit with) its exit code.

    Ctrl-C (SIGINT) at any point prints "interrupted" and exits 130; files are written
    atomically, so an interrupted command leaves no partial output (issue 10, defect 2).
    """
    previous = honour_sigint()
    try:
        code = _run(argv)
    except KeyboardInterrupt:  # between the command and its error report
        err.print("interrupted")
        code = 130
    finally:
        if previous is not None and argv is not None:  # called in-process: restore
            signal.signal(signal.SIGINT, previous)
    if argv is None:
        if previous is not None:  # the outcome is decided: a late Ctrl-C must not change it
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        sys.exit(code)
    return code


def _run(argv: list[str] | None) -> int:
    try:
        rv = app(args=argv, standalone_mode=False)
    except TripletError as exc:
        code = report_error(exc)
    except (typer.Exit, SystemExit) as exc:
        code = getattr(exc, "exit_code", None) or getattr(exc, "code", 0) or 0
    except typer.Abort as exc:  # click turns Ctrl-C (and EOF at a prompt) into Abort
        err.print("interrupted" if isinstance(exc.__cause__, KeyboardInterrupt) else "aborted")
        code = 130
    except KeyboardInterrupt:
        err.print("interrupted")
        code = 130
    except Exception as exc:  # usage errors (typer's click) and anything unexpected
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # a click-style usage error
            if type(exc).__name__ == "NoArgsIsHelpError":
                code = 0
            else:
                exc.show(file=sys.stderr)
                code = exc.exit_code
        elif os.environ.get("TRIPLET_DEBUG"):
            raise
        else:
            err.print(
                f"[red]internal error[/red] {type(exc).__name__}: {exc}\n"
                "This is a bug in triplet; rerun with TRIPLET_DEBUG=1 for the traceback.",
                highlight=False,
            )
            code = 70
    else:
        # typer catches KeyboardInterrupt inside a command and, outside standalone mode,
        # *returns* Exit(130)'s code (and any other typer.Exit's) instead of raising it
        code = rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
        if code == 130:
            err.print("interrupted")
    return code


if __name__ == "__main__":  # pragma: no cover
    main()
