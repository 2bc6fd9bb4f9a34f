"""The README's promises that can be checked mechanically."""

from pathlib import Path

from platform_assets.settings import ENVIRONMENT_VARIABLES

ROOT = Path(__file__).resolve().parents[1]


def test_readme_documents_every_environment_variable_and_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    for name in ENVIRONMENT_VARIABLES:
        assert f"`{name}`" in readme, name
    assert "make demo" in readme and "make test" in readme


def test_docs_name_tests_that_exist():
    """Every test named in docs/sample-data.md exists (docs must not point at removed tests)."""
    import re

    text = (ROOT / "docs" / "sample-data.md").read_text()
    names = set(re.findall(r"`(test_[a-z0-9_]+)`", text))
    sources = "\n".join(p.read_text() for p in (ROOT / "platform_assets_tests").rglob("test_*.py"))
    missing = sorted(n for n in names if f"def {n}(" not in sources)
    assert not missing, missing
