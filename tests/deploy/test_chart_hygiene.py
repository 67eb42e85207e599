"""The chart's key hygiene and excess access values reach the operator's settings (and the operator parses them)."""

import argparse
from typing import Any

from credcheck.controller.settings import add_arguments, from_arguments
from credcheck_testground import chart


def _env(*flags: str) -> dict[str, Any]:
    (deployment,) = [d for d in chart.rendered(*flags) if d["kind"] == "Deployment"]
    return {e["name"]: e.get("value") for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]}


def _settings(env: dict[str, Any], monkeypatch: Any) -> Any:
    for name, value in env.items():
        if name.startswith(("CREDCHECK_KEY_", "CREDCHECK_EXCESS_")) and value is not None:
            monkeypatch.setenv(name, value)
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return from_arguments(parser.parse_args([]))


def test_hygiene_is_on_by_default_with_90_and_30_days(monkeypatch: Any) -> None:
    settings = _settings(_env(), monkeypatch)
    assert settings.excess_permissions is True and settings.key_hygiene is True
    assert (settings.key_max_age_days, settings.key_unused_days) == (90, 30)


def test_chart_values_turn_it_off_and_set_the_days(monkeypatch: Any) -> None:
    env = _env("--set", "excessPermissions=false", "--set", "keyHygiene.enabled=false",
               "--set", "keyHygiene.maxAgeDays=60", "--set", "keyHygiene.unusedDays=14")
    settings = _settings(env, monkeypatch)
    assert settings.excess_permissions is False and settings.key_hygiene is False
    assert (settings.key_max_age_days, settings.key_unused_days) == (60, 14)
