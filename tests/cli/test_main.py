"""The CLI entry point: user errors become messages and exit codes, never tracebacks."""

from __future__ import annotations

import pytest

from triplet.cli import main as cli_main
from triplet.errors import InputError, Problem, StateError


def test_version(capsys):
    from triplet import __version__

    assert cli_main.main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys):
    assert cli_main.main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert "No such command" in err
    assert "Traceback" not in err


def test_input_error_lists_every_problem(capsys):
    exc = InputError(
        [
            Problem("trial.yaml", "field required", line=3, field="design.seed"),
            Problem("trial.yaml", "not a month", line=9, field="periods.baseline.start"),
        ]
    )
    assert cli_main.report_error(exc) == 1
    err = capsys.readouterr().err
    assert "trial.yaml:3: design.seed: field required" in err
    assert "trial.yaml:9: periods.baseline.start: not a month" in err
    assert "2 problems found" in err


def test_unexpected_exception_is_reported_without_traceback(monkeypatch, capsys):
    def boom(*args, **kwargs):
        raise ZeroDivisionError("oops")

    monkeypatch.setattr(cli_main, "app", boom)
    monkeypatch.delenv("TRIPLET_DEBUG", raising=False)
    assert cli_main.main([]) == 70
    err = capsys.readouterr().err
    assert "internal error" in err and "ZeroDivisionError" in err
    assert "Traceback" not in err


def test_state_error_exit_code(monkeypatch, capsys):
    def refuse(*args, **kwargs):
        raise StateError("trial hotspot-patrol is already assigned")

    monkeypatch.setattr(cli_main, "app", refuse)
    assert cli_main.main([]) == 1
    assert "already assigned" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--help"])
def test_help_lists_commands(flag, capsys):
    assert cli_main.main([flag]) == 0
    assert "Usage" in capsys.readouterr().out
