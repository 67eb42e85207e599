"""The end-to-end alert test's measurements, printed in pytest's summary (also without -s)."""

import pytest

REPORT: list[str] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if REPORT:
        terminalreporter.section("alerting: break -> notify")
        for line in REPORT:
            terminalreporter.write_line(line)
