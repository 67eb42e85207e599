"""The `credcheck` command (credcheck.entry): `run` goes to the operator, whose flags it parses itself; everything
else to the CLI, which never imports the controller (.importlinter's contract)."""

import subprocess
import sys
from collections.abc import Sequence

import pytest

import credcheck.controller.main
from credcheck import entry


def test_run_goes_to_the_operator_with_its_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []

    def operator(argv: Sequence[str] | None = None) -> int:
        seen.append(list(argv or []))
        return 0

    monkeypatch.setattr(credcheck.controller.main, "main", operator)
    assert entry.main(["run", "--namespaces", "kubermatic"]) == 0
    assert seen == [["--namespaces", "kubermatic"]]


def test_a_bug_in_the_operator_exits_4_not_pythons_1(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    def operator(argv: Sequence[str] | None = None) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(credcheck.controller.main, "main", operator)
    assert entry.main(["run"]) == 4
    assert "RuntimeError: a bug" in capsys.readouterr().err


def test_the_operators_flags_are_parsed_by_the_operator() -> None:
    """`credcheck run --help` lists the settings' flags (controller.settings), read before anything starts."""
    with pytest.raises(SystemExit) as exited:
        credcheck.controller.main.main(["--no-such-flag"])
    assert exited.value.code == 2


def test_every_other_command_is_the_clis(capsys: pytest.CaptureFixture[str]) -> None:
    assert entry.main(["catalog"]) == 0
    assert '"actions"' in capsys.readouterr().out


def test_python_dash_m_credcheck_is_the_command_and_the_cli_module_alone_says_where_run_is() -> None:
    found = subprocess.run([sys.executable, "-m", "credcheck", "run", "--help"], capture_output=True, text=True, check=False,
                           timeout=60)
    assert found.returncode == 0 and "--namespaces" in found.stdout
    alone = subprocess.run([sys.executable, "-m", "credcheck.cli.main", "run"], capture_output=True, text=True, check=False,
                           timeout=60)
    assert alone.returncode == 2 and "python -m credcheck run" in alone.stderr
