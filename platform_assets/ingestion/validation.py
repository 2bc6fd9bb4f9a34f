"""Row-level validation of a delivery against its contract, and schema-drift detection.

Plain pandas and pandera, no Dagster: the importer calls these, and so do the raw asset checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.errors as pa_errors
import pandera.pandas as pa

from platform_assets.ingestion.contract import SourceContract
from platform_assets.quality.checks import in_row_order

# A required column whose values mostly fail their type changed type upstream: that is a
# breaking schema change, not a batch of bad rows.
RETYPED_SHARE = 0.5
RETYPED_MIN_VALUES = 20


@dataclass
class Drift:
    added: list[str] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)   # column -> files missing it
    retyped: dict[str, str] = field(default_factory=dict)         # column -> what was found

    @property
    def breaking(self) -> bool:
        return bool(self.missing or self.retyped)

    def as_dict(self) -> dict:
        out: dict = {}
        if self.added:
            out["added"] = self.added
        if self.missing:
            out["missing"] = self.missing
        if self.retyped:
            out["retyped"] = self.retyped
        return out

    def describe(self) -> str:
        parts = []
        if self.missing:
            cols = ", ".join(f"{c} (missing from {', '.join(files)})" for c, files in self.missing.items())
            parts.append(f"required column(s) missing: {cols}")
        if self.retyped:
            parts.append("column(s) changed type: " + "; ".join(f"{c}: {why}" for c, why in self.retyped.items()))
        if self.added:
            hint = " (renamed upstream?)" if self.missing else ""
            parts.append(f"new column(s){hint}: {', '.join(self.added)}")
        return "; ".join(parts)


def detect_drift(contract: SourceContract, file_columns: dict[str, list[str]], file_rows: dict[str, int]) -> Drift:
    drift = Drift()
    declared = set(contract.columns)
    added: dict[str, None] = {}
    for file_name, columns in file_columns.items():
        for c in columns:
            if c not in declared and not c.startswith("_"):
                added.setdefault(c, None)
        if contract.format != "csv" and file_rows.get(file_name, 0) == 0:
            continue  # an empty JSON file shows no keys: nothing to judge
        present = set(columns)
        for f in contract.fields:
            if f.name not in present and not (f.nullable and contract.format != "csv"):
                drift.missing.setdefault(f.name, []).append(file_name)
    drift.added = list(added)
    return drift


@dataclass
class RowValidation:
    valid: np.ndarray                     # bool per row of the frame
    reasons: dict[int, list[str]]         # row position -> reasons
    columns: dict[int, list[str]]         # row position -> failing columns
    retyped: dict[str, str]
    failures: dict[str, int] = field(default_factory=dict)   # column -> values failing their type/range
    non_null: dict[str, int] = field(default_factory=dict)   # column -> values present (every checked column)
    examples: dict[str, str] = field(default_factory=dict)   # column -> a failing value
    cases: list[tuple[int, str, str]] = field(default_factory=list)  # (row position, column, value) counted in failures

    def part(self, contract: SourceContract, rows: pd.DataFrame, start: int) -> RowValidation:
        """What validating ``rows`` alone finds, when they were validated as positions
        ``start:start + len(rows)`` of a larger frame (consecutive dates of a range): the same
        rejects and reasons in the same order, and the counts, examples and drift of these rows."""
        end = start + len(rows)
        reasons = {p - start: r for p, r in self.reasons.items() if start <= p < end}
        columns = {p - start: c for p, c in self.columns.items() if start <= p < end}
        cases = [(p - start, column, value) for p, column, value in self.cases if start <= p < end]
        failures: dict[str, int] = {}
        examples: dict[str, str] = {}
        for _, column, value in cases:
            failures[column] = failures.get(column, 0) + 1
            examples.setdefault(column, value)
        non_null = {c: int(rows[c].notna().sum()) for c in contract.columns if c in rows.columns}
        return RowValidation(self.valid[start:end], reasons, columns,
                             retyped_columns(contract, failures, non_null, examples), failures, non_null, examples, cases)


def retyped_columns(contract: SourceContract, failures: dict[str, int], non_null: dict[str, int],
                    examples: dict[str, str]) -> dict[str, str]:
    """Columns whose values mostly fail their type: changed type upstream (breaking drift).
    Judged on a whole delivery: the counts of its files are summed first."""
    retyped = {}
    for column, failed in failures.items():
        present = non_null.get(column, 0)
        if present >= RETYPED_MIN_VALUES and failed / present > RETYPED_SHARE:
            expected = contract.field(column).expected
            retyped[column] = (f"{failed / present:.0%} of {present:,} values are not {expected} "
                               f"(e.g. {examples[column]!r})")
    return retyped


def merge_flags(findings: list[dict]) -> dict:
    """flag_values of several files of one delivery as one."""
    findings = [f for f in findings if f.get("flagged_rows")]
    if not findings:
        return {}
    checks: dict[str, int] = {}
    for f in findings:
        for name, n in f["checks"].items():
            checks[name] = checks.get(name, 0) + n
    return {"flagged_rows": sum(f["flagged_rows"] for f in findings), "checks": checks,
            "sample": [row for f in findings for row in f["sample"]][:5]}


ERRORS, WARNINGS = "errors", "warnings"
# (contract, part, columns removed) -> the pandera schema; per process. Built from the contract,
# which never changes, by deep copies (split, then drop absent columns): a few ms that every file
# of every date paid. The contract is kept in the value, so its id cannot be reused while cached.
_SCHEMA_PARTS: dict[tuple[int, str, tuple[str, ...]], tuple[SourceContract, pa.DataFrameSchema]] = {}


def schema_part(contract: SourceContract, part: str, removed: Sequence[str] = ()) -> pa.DataFrameSchema:
    """The contract's ERROR or WARN checks (``split_schema``), without the columns ``removed``."""
    from platform_assets.quality.checks import split_schema

    key = (id(contract), part, tuple(removed))
    hit = _SCHEMA_PARTS.get(key)
    if hit is None or hit[0] is not contract:
        errors, warnings = split_schema(contract.schema())
        schema = errors if part == ERRORS else warnings
        hit = _SCHEMA_PARTS[key] = (contract, schema.remove_columns(list(removed)) if removed else schema)
    return hit[1]


def flag_values(contract: SourceContract, accepted: pd.DataFrame) -> dict:
    """Accepted rows whose values fail a warning-level check (e.g. a lower-case currency):
    {"flagged_rows": n, "checks": {"currency: preferably an upper-case code": n}, "sample": [...]}."""
    warnings = schema_part(contract, WARNINGS)
    present = [c for c in warnings.columns if c in accepted.columns]
    if not present or accepted.empty:
        return {}
    warnings = schema_part(contract, WARNINGS, [c for c in warnings.columns if c not in present])
    try:
        warnings.validate(accepted[present].reset_index(drop=True), lazy=True)
        return {}
    except pa_errors.SchemaErrors as exc:
        cases = exc.failure_cases.dropna(subset=["index"])
    counts = {f"{c}: {chk}": int(g["index"].nunique()) for (c, chk), g in cases.groupby(["column", "check"])}
    rows = sorted({int(i) for i in cases["index"]})
    sample = accepted.reset_index(drop=True).iloc[rows[:5]]
    keep = [c for c in ("_file", "_row", *present) if c in sample.columns]
    return {"flagged_rows": len(rows), "checks": counts,
            "sample": [{k: (None if pd.isna(v) else (int(v) if k == "_row" else str(v))) for k, v in r.items()}
                       for r in sample[keep].to_dict("records")]}


def validate_rows(contract: SourceContract, frame: pd.DataFrame, business_date: dt.date,
                  days: np.ndarray | None = None) -> RowValidation:
    """Check every row of ``frame`` against the contract. ``days``: each row's business date
    (datetime64), when the rows are several dates' deliveries validated together (``part`` gives
    each date's result); otherwise every row's is ``business_date``."""
    frame = frame.reset_index(drop=True)
    n = len(frame)
    reasons: dict[int, list[str]] = {}
    failing_cols: dict[int, list[str]] = {}
    per_column_failures: dict[str, int] = {}
    examples: dict[str, str] = {}
    cases_counted: list[tuple[int, str, str]] = []

    def add(pos: int, column: str, reason: str) -> None:
        reasons.setdefault(pos, []).append(reason)
        failing_cols.setdefault(pos, []).append(column)

    present = [c for c in contract.columns if c in frame.columns]
    if n and present:
        # warning-level checks never reject a row
        schema = schema_part(contract, ERRORS, [c for c in contract.columns if c not in frame.columns])
        try:
            schema.validate(frame[present], lazy=True)
        except pa_errors.SchemaErrors as exc:
            cases = exc.failure_cases
            # In row order (in_row_order): rows validated with other dates' rows (import_days) must
            # report what they report alone, and the order of a row's reasons is its own.
            cases = in_row_order(cases[cases["index"].notna()], list(contract.columns))
            for column, check, value, index in zip(cases["column"], cases["check"], cases["failure_case"],
                                                   cases["index"]):
                pos = int(index)
                if check == "not_nullable":
                    add(pos, column, f"{column}: required value is missing")
                    continue
                add(pos, column, f"{column}: {check}, found {value!r}")
                per_column_failures[column] = per_column_failures.get(column, 0) + 1
                examples.setdefault(column, str(value))
                cases_counted.append((pos, column, str(value)))

    if n and contract.date_rule and contract.date_rule.column in frame.columns:
        rule = contract.date_rule
        dates = contract.business_dates(frame)
        known = dates.notna()
        day = pd.Timestamp(business_date) if days is None else pd.Series(days, index=dates.index)
        if rule.relation == "equals":
            wrong = known & (dates != day)
            verb = "is not the delivery's business date"
        else:
            wrong = known & (dates > day)
            verb = "is after the delivery's business date"
        for pos in np.flatnonzero(wrong.to_numpy()):
            tz_note = " (New York)" if contract.field(rule.column).expected.startswith("an ISO-8601") else ""
            delivered = business_date if days is None else pd.Timestamp(days[pos]).date()
            add(int(pos), rule.column,
                f"{rule.column}: business date {dates.iloc[pos].date()}{tz_note} {verb} {delivered}")

    column = contract.split_column
    if n and column and column in frame.columns and "_file" in frame.columns:
        labels = {file_name: label for label, file_name in contract.split_files.items()}
        files = frame["_file"].to_numpy(dtype=object)
        values = frame[column]
        other_part = values.isin(list(contract.split_files)).to_numpy(dtype=bool)  # anything else fails its own check
        for file_name in pd.unique(files):
            label = labels.get(file_name)
            if label is None:
                continue
            wrong = (files == file_name) & other_part & (values != label).to_numpy(dtype=bool, na_value=False)
            for pos in np.flatnonzero(wrong):
                add(int(pos), column, f"{column}: {values.iloc[pos]!r} in {file_name}, which holds {column} {label} only")

    # values present in every checked column, not only those failing here: a delivery's files are
    # summed, and a column that fails in one file is judged against all its values (retyped_columns)
    non_null = {column: int(frame[column].notna().sum()) for column in present}
    valid = np.ones(n, dtype=bool)
    if reasons:
        valid[np.fromiter(reasons.keys(), dtype=np.int64)] = False
    return RowValidation(valid, reasons, failing_cols, retyped_columns(contract, per_column_failures, non_null, examples),
                         per_column_failures, non_null, examples, cases_counted)
