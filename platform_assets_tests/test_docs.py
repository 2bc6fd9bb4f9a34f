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
    """Every test named in the README, docs/sample-data.md and docs/decisions.md exists (docs must
    not point at removed tests)."""
    import re

    text = "\n".join((ROOT / doc).read_text() for doc in ("README.md", "docs/sample-data.md", "docs/decisions.md"))
    names = set(re.findall(r"`(test_[a-z0-9_]+)`", text))
    sources = "\n".join(p.read_text() for p in (ROOT / "platform_assets_tests").rglob("test_*.py"))
    missing = sorted(n for n in names if f"def {n}(" not in sources)
    assert not missing, missing


def test_every_pipeline_has_a_run_book_with_the_teams_sections():
    import re

    from platform_assets.team import load_team

    sections = ("## Overview", "## Pipeline steps", "## Monitoring and alerts", "## Common issues and resolution steps")
    for pipeline in load_team().pipelines.values():
        path, _, anchor = pipeline.runbook.partition("#")
        text = (ROOT / path).read_text()
        for section in sections:
            assert section in text, (path, section)
        if anchor:
            headings = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
                        for h in re.findall(r"^#+ (.+)$", text, flags=re.M)}
            assert anchor in headings, (path, anchor)
