"""The team's configuration: people, upstream teams, and which pipeline owns which asset.

Read from ``<PLATFORM_CONFIG_DIR or platform_assets/config>/team.yaml`` when definitions are
built (never at import time). Owners are expressed the way Dagster shows them: an email for a
person, ``team:<name>`` for a team.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

PACKAGED_CONFIG = Path(__file__).parent / "config"


@dataclass(frozen=True)
class Person:
    key: str
    name: str
    email: str
    slack: str

    @property
    def owner(self) -> str:
        return self.email


@dataclass(frozen=True)
class Pipeline:
    name: str
    description: str
    primary: str
    secondary: str
    asset_patterns: tuple[str, ...]
    runbook: str = "docs/runbooks/platform_operations.md"

    def matches(self, asset_name: str) -> bool:
        return any(fnmatch.fnmatchcase(asset_name, p) for p in self.asset_patterns)


@dataclass(frozen=True)
class Team:
    people: dict[str, Person]
    teams: dict[str, dict]
    pipelines: dict[str, Pipeline]
    config_dir: Path
    platform: dict = None  # owners and run book of the platform's own machinery

    def runbook(self, pipeline: str) -> str:
        return self.pipelines[pipeline].runbook

    def owner_id(self, ref: str) -> str:
        """'danny' -> danny@retailer.example; 'team:pos-engineering' stays as it is."""
        if ref.startswith("team:"):
            if ref[5:] not in self.teams:
                raise ValueError(f"unknown team {ref!r} in {self.config_dir / 'team.yaml'}")
            return ref
        if ref not in self.people:
            raise ValueError(f"unknown person {ref!r} in {self.config_dir / 'team.yaml'}; "
                             f"known: {', '.join(sorted(self.people))}")
        return self.people[ref].owner

    def pipeline_for(self, asset_name: str) -> Pipeline:
        """The pipeline naming the asset exactly, else the one with the most specific pattern."""
        exact = [p for p in self.pipelines.values() if asset_name in p.asset_patterns]
        if len(exact) == 1:
            return exact[0]
        if len(exact) > 1:
            raise ValueError(f"asset {asset_name!r} is listed by several pipelines in "
                             f"{self.config_dir / 'team.yaml'}: {', '.join(p.name for p in exact)}")
        scored = sorted(((max(len(x) for x in p.asset_patterns if fnmatch.fnmatchcase(asset_name, x)), p)
                         for p in self.pipelines.values() if p.matches(asset_name)), key=lambda sp: -sp[0])
        if not scored:
            raise ValueError(f"asset {asset_name!r} belongs to no pipeline in {self.config_dir / 'team.yaml'}")
        if len(scored) > 1 and scored[0][0] == scored[1][0]:
            raise ValueError(f"asset {asset_name!r} matches equally specific patterns of "
                             f"{scored[0][1].name} and {scored[1][1].name} in {self.config_dir / 'team.yaml'}")
        return scored[0][1]

    def owners(self, asset_name: str) -> list[str]:
        p = self.pipeline_for(asset_name)
        return [self.owner_id(p.primary), self.owner_id(p.secondary)]


def config_dir(override: Path | None = None) -> Path:
    return Path(override) if override else PACKAGED_CONFIG


@cache
def load_team(directory: Path | None = None) -> Team:
    base = config_dir(directory)
    path = base / "team.yaml"
    raw = yaml.safe_load(path.read_text())
    people = {k: Person(k, v["name"], v["email"], v.get("slack", "")) for k, v in raw["people"].items()}
    pipelines = {}
    for name, spec in raw["pipelines"].items():
        for role in ("primary", "secondary"):
            if role not in spec:
                raise ValueError(f"{path}: pipeline {name} has no {role} owner")
        pipelines[name] = Pipeline(name, spec.get("description", ""), spec["primary"], spec["secondary"],
                                   tuple(spec.get("assets", [])), spec.get("runbook", Pipeline.runbook))
    platform = raw.get("platform") or {"owners": [next(iter(people))] * 2, "runbook": Pipeline.runbook}
    # The platform's machinery (sensors, daemon) is owned like a pipeline, matched by name only.
    pipelines["platform"] = Pipeline("platform", "sensors, daemon and alerting", platform["owners"][0],
                                     platform["owners"][-1], ("platform:*",), platform["runbook"])
    team = Team(people, raw.get("teams", {}), pipelines, base, platform)
    for p in pipelines.values():  # fail on a typo at load time, not at the first alert
        team.owner_id(p.primary)
        team.owner_id(p.secondary)
    return team
