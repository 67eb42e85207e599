"""The shipped profile data is exactly what hack/generate_profiles.py makes from KKP's call list."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
CALLS = ROOT / "hack" / "kkp-audit" / "kkp-aws-calls-v2.31.json"


def test_shipped_profiles_equal_the_generators_output() -> None:
    spec = importlib.util.spec_from_file_location("generate_profiles", ROOT / "hack" / "generate_profiles.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data = ROOT / "operator" / "credcheck" / "engine" / "requirements" / "data"
    built = module.build(CALLS)
    assert set(built) == {"kkp-2.29.yaml", "kkp-2.30.yaml", "kkp-2.31.yaml", "eks.yaml"}
    for name, text in built.items():
        assert (data / name).read_text("utf-8") == text, f"{name} is stale: run python hack/generate_profiles.py"
