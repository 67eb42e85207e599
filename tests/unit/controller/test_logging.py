"""The JSON log format keeps exceptions: without that, production logs never say why a handler failed, and the
suites' scans of operator logs (for "Traceback", for leaked secrets) could not fail."""

import json
import logging
import sys

from credcheck.controller.main import JSONFormatter


def record_with(exc: BaseException) -> logging.LogRecord:
    try:
        raise exc
    except type(exc):
        return logging.LogRecord("credcheck.test", logging.ERROR, __file__, 1, "check failed", (), sys.exc_info())


def test_a_json_log_line_carries_the_traceback() -> None:
    line = JSONFormatter().format(record_with(KeyError("no simulation result for ec2:X")))
    entry = json.loads(line)
    assert entry["message"] == "check failed" and entry["level"] == "ERROR"
    assert entry["exception"].startswith("Traceback (most recent call last):")
    assert "KeyError: 'no simulation result for ec2:X'" in entry["exception"]
    assert "\n" not in line, "one line per entry"


def test_the_log_scans_see_what_an_exception_carries() -> None:
    """What tests/cluster scan for: a traceback, and a value inside an exception's message."""
    planted = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYPLANTED01"
    line = JSONFormatter().format(record_with(ValueError(f"bad secret {planted}")))
    assert "Traceback" in line, "test_bad_input's no-crash scan would fail on this line"
    assert planted in line, "the cluster tests' leak scan (running_operator) would fail on this line (and credcheck never logs such a message)"
