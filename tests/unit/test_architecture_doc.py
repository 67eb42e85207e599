"""docs/architecture.md names every module of the package (a module added without its row fails here)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "operator" / "credcheck"


def test_every_module_of_the_package_has_its_row_in_the_architecture_doc() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    modules = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")
    assert len(modules) > 60, "the package was found"
    missing = [m for m in modules if f"`{m}`" not in doc]
    assert missing == [], f"docs/architecture.md lacks rows for {missing}"
