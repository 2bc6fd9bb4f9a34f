"""The one helper that turns a dataset's pandera schema (and any extra checks) into Dagster
asset checks evaluated on the partition just computed, before it is published.

- Checks of the schema that fail rows are grouped by severity: the ``schema`` check (ERROR) holds
  every pandera check without ``raise_warning``; ``schema_warnings`` (WARN) holds those with
  ``raise_warning=True``. Each result carries a table with one line per pandera check (column,
  check, failing rows, example values), the number of failing rows and a sample of them.
- ``ExtraCheck``s cover what a row-wise schema cannot: reconciliation, totals across layers,
  anomalies, freshness of reference data.
- A failed ERROR check on a blocking spec stops the partition: the asset does not publish it, and
  Dagster fails the step, so nothing downstream of that partition runs.
- ``table_schema`` turns the pandera schema into the column schema the UI shows.

Plain pandas/pandera here; the Dagster types are only the results and specs.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import dagster as dg
import pandas as pd
import pandera.errors as pa_errors
import pandera.pandas as pa

from platform_assets.partitions import DAILY_PARTITIONS

ERROR = dg.AssetCheckSeverity.ERROR
WARN = dg.AssetCheckSeverity.WARN
SAMPLE_ROWS = 5
SCHEMA_CHECK = "schema"
SCHEMA_WARNINGS_CHECK = "schema_warnings"
# Rows of consecutive dates validated in one pandera pass at most (in_windows), for the raw
# imports (ingestion.framework.VALIDATION_GROUP_ROWS) and the staging and report contracts alike.
TOGETHER_ROWS = 250_000
T = TypeVar("T")


@dataclass
class Outcome:
    """The result of one check on one partition, before it becomes an AssetCheckResult."""

    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)
    severity: dg.AssetCheckSeverity | None = None  # overrides the check's default


@dataclass
class CheckContext:
    """What an extra check may look at: the rows about to be published, and where the rest is."""

    frame: pd.DataFrame | None            # None: the partition was validated in parts (``rows`` says how many)
    day: dt.date
    platform: Any = None                  # PlatformResource: warehouse(), ledger()
    stats: dict[str, Any] = field(default_factory=dict)
    rows: int | None = None

    @property
    def row_count(self) -> int:
        return self.rows if self.rows is not None else len(self.frame)


@dataclass(frozen=True)
class ExtraCheck:
    name: str
    description: str
    evaluate: Callable[[CheckContext], Outcome]
    severity: dg.AssetCheckSeverity = ERROR
    blocking: bool = False
    additional_deps: tuple[dg.AssetKey, ...] = ()


@dataclass(frozen=True)
class DatasetContract:
    """A dataset's pandera schema and extra checks, and whether its ERROR checks block."""

    key: dg.AssetKey
    schema: pa.DataFrameSchema
    blocking: bool = True
    extra: tuple[ExtraCheck, ...] = ()

    def split(self) -> tuple[pa.DataFrameSchema, pa.DataFrameSchema]:
        """``split_schema(self.schema)``, built once: the schema never changes, and splitting deep-
        copies it (a few ms, once per date and dataset otherwise)."""
        parts = self.__dict__.get("_split")
        if parts is None:
            parts = split_schema(self.schema)
            object.__setattr__(self, "_split", parts)  # a cache on a frozen dataclass
        return parts

    # -- specs ----------------------------------------------------------------------------
    def specs(self) -> list[dg.AssetCheckSpec]:
        # partitions_def on AssetCheckSpec (a public parameter, marked preview in 1.13) records each
        # result against its business date, which is the point of these checks; Dagster is
        # pinned to 1.13.27 so a patch release cannot change it underneath us.
        errors, warnings = self.split()
        specs = [dg.AssetCheckSpec(
            SCHEMA_CHECK, asset=self.key, blocking=self.blocking, partitions_def=DAILY_PARTITIONS,
            description=f"pandera contract {self.schema.name or self.key.to_user_string()} (ERROR): "
                        + "; ".join(describe_checks(errors)),
        )]
        if describe_checks(warnings):
            specs.append(dg.AssetCheckSpec(
                SCHEMA_WARNINGS_CHECK, asset=self.key, blocking=False, partitions_def=DAILY_PARTITIONS,
                description="pandera warnings (WARN): " + "; ".join(describe_checks(warnings))))
        for extra in self.extra:
            specs.append(dg.AssetCheckSpec(
                extra.name, asset=self.key, blocking=extra.blocking, partitions_def=DAILY_PARTITIONS,
                description=f"{extra.description} ({extra.severity.value}{', blocking' if extra.blocking else ''})",
                additional_deps=list(extra.additional_deps)))
        return specs

    def table_schema(self) -> dg.TableSchema:
        return table_schema(self.schema)

    # -- evaluation -----------------------------------------------------------------------
    def count_rows(self, frame: pd.DataFrame) -> list[SchemaCount]:
        """The schema's findings on some rows of a partition: the ERROR part, then the WARN part
        if the schema has one. Counts of the parts of a partition add up to the partition's."""
        errors, warnings = self.split()
        return [count_schema(errors, frame)] + ([count_schema(warnings, frame)] if describe_checks(warnings) else [])

    def count_rows_each(self, frames: Sequence[pd.DataFrame]) -> list[list[SchemaCount]]:
        """``count_rows`` of each frame, the frames validated together (``count_schema_each``)."""
        errors, warnings = self.split()
        parts = [count_schema_each(errors, frames)]
        if describe_checks(warnings):
            parts.append(count_schema_each(warnings, frames))
        return [list(counts) for counts in zip(*parts)] if frames else []

    def counted(self, items: Iterable[T], frame: Callable[[T], pd.DataFrame]) -> Iterator[tuple[T, list[SchemaCount]]]:
        """Each item with ``count_rows`` of its frame, consecutive items' frames validated together
        (``in_windows``)."""
        for window in in_windows(items, lambda item: len(frame(item))):
            yield from zip(window, self.count_rows_each([frame(item) for item in window]))

    def evaluate(self, ctx: CheckContext, counts: list[SchemaCount] | None = None) -> list[tuple[str, Outcome, bool]]:
        """(check name, outcome, blocking) for every check of the contract. ``counts``: the
        schema's findings when the rows were validated in parts (``count_rows``, added up); the
        extra checks then see no frame, only ``ctx.rows`` and ``ctx.stats``."""
        counts = self.count_rows(ctx.frame) if counts is None else counts
        out = [(SCHEMA_CHECK, schema_outcome(counts[0], ERROR), self.blocking)]
        if len(counts) > 1:
            out.append((SCHEMA_WARNINGS_CHECK, schema_outcome(counts[1], WARN), False))
        for extra in self.extra:
            outcome = extra.evaluate(ctx)
            if outcome.severity is None:
                outcome.severity = extra.severity
            out.append((extra.name, outcome, extra.blocking))
        return out

    def results(self, ctx: CheckContext, counts: list[SchemaCount] | None = None
                ) -> tuple[list[dg.AssetCheckResult], list[str]]:
        """AssetCheckResults, and the names of failed blocking ERROR checks (empty = publish)."""
        results, blockers = [], []
        for name, outcome, blocking in self.evaluate(ctx, counts):
            severity = outcome.severity or ERROR
            if not outcome.passed and blocking and severity == ERROR:
                blockers.append(name)
            results.append(to_result(self.key, name, outcome, severity))
        return results, blockers


def in_windows(items: Iterable[T], rows: Callable[[T], int], limit: int | None = None) -> Iterator[list[T]]:
    """Consecutive items (a range's dates) in windows of about ``limit`` rows (``TOGETHER_ROWS``
    unless given), one item at least: what is validated in one pass, and all of a range held in
    memory at once. ``items`` is consumed lazily, a window at a time, so items after a failed one
    are never computed."""
    limit = TOGETHER_ROWS if limit is None else limit
    window: list[T] = []
    total = 0
    for item in items:
        window.append(item)
        total += rows(item)
        if total >= limit:
            yield window
            window, total = [], 0
    if window:
        yield window


def to_result(key: dg.AssetKey, name: str, outcome: Outcome, severity: dg.AssetCheckSeverity) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(asset_key=key, check_name=name, passed=outcome.passed, severity=severity,
                               description=outcome.description, metadata=plain(outcome.metadata))


def plain(metadata: dict[str, Any]) -> dict[str, Any]:
    from platform_assets.conventions import plain_metadata

    return plain_metadata(metadata)


# ---------------------------------------------------------------------------------------------
# pandera
# ---------------------------------------------------------------------------------------------

def _is_warning(check: pa.Check) -> bool:
    return bool(getattr(check, "raise_warning", False))


def split_schema(schema: pa.DataFrameSchema) -> tuple[pa.DataFrameSchema, pa.DataFrameSchema]:
    """(ERROR part, WARN part): checks with raise_warning=True go to the WARN part, stripped of
    the flag so pandera reports their failing rows instead of emitting a Python warning."""
    errors = copy.deepcopy(schema)
    warn_cols = {}
    for name, col in schema.columns.items():
        warns = [_as_error(c) for c in col.checks if _is_warning(c)]
        if warns:
            warn_cols[name] = pa.Column(None, checks=warns, nullable=True, required=col.required, name=name)
    errors = errors.update_columns({n: {"checks": [c for c in col.checks if not _is_warning(c)]}
                                    for n, col in schema.columns.items()})
    errors.checks = [c for c in schema.checks if not _is_warning(c)]
    warnings = pa.DataFrameSchema(warn_cols, checks=[_as_error(c) for c in schema.checks if _is_warning(c)],
                                  name=f"{schema.name}_warnings", strict=False)
    return errors, warnings


def _as_error(check: pa.Check) -> pa.Check:
    """The same check reporting failing rows (pandera's raise_warning only emits a warning)."""
    plain_check = copy.copy(check)
    plain_check.raise_warning = False
    return plain_check


def describe_checks(schema: pa.DataFrameSchema) -> list[str]:
    parts = []
    for name, col in schema.columns.items():
        bits = []
        if col.dtype is not None:
            bits.append(f"type {col.dtype}")
        if not col.nullable:
            bits.append("not null")
        if col.unique:
            bits.append("unique")
        bits += [c.error or c.name for c in col.checks]
        if bits:
            parts.append(f"{name}: {', '.join(str(b) for b in bits)}")
    if schema.unique:
        parts.append(f"unique ({', '.join(schema.unique)})")
    parts += [c.error or c.name for c in schema.checks]
    return parts


def _only_reads(schema: pa.DataFrameSchema) -> bool:
    """True when validating cannot change the frame: no coercion, parsers, added or filtered columns."""
    columns = schema.columns.values()
    return not (schema.coerce or getattr(schema, "parsers", None) or schema.add_missing_columns
                or schema.strict == "filter" or any(c.coerce or getattr(c, "parsers", None) for c in columns))


@dataclass
class SchemaCount:
    """What validating rows against a pandera schema found, in a form parts of one partition
    (e.g. one region's rows each, validated in parallel) add up to the whole partition's result."""

    rows_checked: int
    failing_rows: int          # rows failing at least one check
    structural: int            # schema-level failures (a missing column, a wrong dtype)
    table: list[dict]          # one line per declared check: column, check, failing_rows, examples
    sample: list[dict]         # up to SAMPLE_ROWS failing rows

    def __add__(self, other: SchemaCount) -> SchemaCount:
        lines = {(r["column"], r["check"]): dict(r) for r in self.table}
        for r in other.table:
            line = lines.setdefault((r["column"], r["check"]), {**r, "failing_rows": 0, "examples": ""})
            if line is not r:
                line["failing_rows"] += r["failing_rows"]
                examples = [e for e in (line["examples"].split(", ") + r["examples"].split(", ")) if e]
                line["examples"] = ", ".join(list(dict.fromkeys(examples))[:3])
        return SchemaCount(self.rows_checked + other.rows_checked, self.failing_rows + other.failing_rows,
                           self.structural + other.structural, list(lines.values()),
                           (self.sample + other.sample)[:SAMPLE_ROWS])


def count_schema(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> SchemaCount:
    """Validate lazily; count failures per pandera check, with a sample of failing rows."""
    frame = _positional(frame)
    return _counted(schema, frame, _failure_cases(schema, frame))


def count_schema_each(schema: pa.DataFrameSchema, frames: Sequence[pd.DataFrame]) -> list[SchemaCount]:
    """``count_schema`` of each frame (a range run's dates), from one pandera pass over all of
    them where that finds exactly what validating each alone finds: pandera's fixed cost per
    validation, not the rows, is most of validating a small date (docs/decisions.md, "A range's
    rows are validated in one pass").

    The rows are validated together against the schema's column checks, with each frame's
    uniqueness key extended by the frame it came from, and each failure goes back to its frame's
    row. What depends on a frame as a whole is evaluated per frame: the frame-level checks (one
    business date, a group's count), and everything when a check finds a structural failure or
    the frames differ in columns or types (each frame is then validated alone)."""
    frames = [_positional(f) for f in frames]
    together, frame_checks = _merge_plan(schema)
    if len(frames) < 2 or together is None or not _same_columns(frames):
        return [count_schema(schema, f) for f in frames]
    offsets = [0]
    for f in frames:
        offsets.append(offsets[-1] + len(f))
    part = pd.Series(range(len(frames))).repeat([len(f) for f in frames]).to_numpy()
    merged = pd.concat(frames, ignore_index=True).assign(**{_PART: part})
    cases = _failure_cases(together, merged)
    if cases["index"].isna().any():  # a structural failure: what each frame alone finds
        return [count_schema(schema, f) for f in frames]
    cases = cases[cases["column"] != _PART]
    cases = cases.assign(index=cases["index"].astype("int64"))
    position = cases["index"].to_numpy()
    counted = []
    for i, frame in enumerate(frames):
        mine = cases[(position >= offsets[i]) & (position < offsets[i + 1])]
        mine = mine.assign(index=mine["index"] - offsets[i])
        if frame_checks is not None:
            mine = pd.concat([mine, _failure_cases(frame_checks, frame)], ignore_index=True)
        counted.append(_counted(schema, frame, in_row_order(mine, list(schema.columns))))
    return counted


_PART = "__platform_part"
# pandera's own column checks that judge each value alone; any other column check (a custom
# function could return one verdict for the whole column) makes a schema validated frame by frame.
_ROW_WISE_CHECKS = {"greater_than", "greater_than_or_equal_to", "less_than", "less_than_or_equal_to", "in_range",
                    "isin", "notin", "str_length", "str_matches", "str_contains", "str_startswith", "str_endswith",
                    "equal_to", "not_equal_to"}
_ROW_WISE = "row-wise"  # the name of this module's own per-value column checks (money)


def _positional(frame: pd.DataFrame) -> pd.DataFrame:
    index = frame.index
    if not (isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1):
        frame = frame.reset_index(drop=True)  # failure cases name rows by position
    return frame


def _failure_cases(schema: pa.DataFrameSchema, frame: pd.DataFrame) -> pd.DataFrame:
    try:
        # pandera copies the frame first unless inplace (with reset_index's copy, 0.5 s for a million
        # POS lines); a schema that only reads it (ours) is validated on the frame itself.
        schema.validate(frame, lazy=True, inplace=_only_reads(schema))
        return pd.DataFrame(columns=["schema_context", "column", "check", "failure_case", "index"])
    except pa_errors.SchemaErrors as exc:
        return in_row_order(exc.failure_cases, list(schema.columns))


def in_row_order(cases: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """pandera's failure cases by row, then the schema's column order, then check; cases of no row
    (structural) first. pandera orders them with an unstable sort, so which failing value is a
    check's first example changed with the frame's size, and rows validated together with other
    dates' rows must report what they report alone."""
    if not len(cases):
        return cases
    order = {c: i for i, c in enumerate(columns)}
    keys = pd.DataFrame({"row": pd.to_numeric(cases["index"], errors="coerce").fillna(-1).to_numpy(),
                         "column": cases["column"].map(order).fillna(len(order)).to_numpy(),
                         "check": cases["check"].astype(str).to_numpy()})
    return cases.iloc[keys.sort_values(["row", "column", "check"], kind="stable").index].reset_index(drop=True)


def _counted(schema: pa.DataFrameSchema, frame: pd.DataFrame, cases: pd.DataFrame) -> SchemaCount:
    rows = sorted({int(i) for i in cases["index"].dropna()}) if len(cases) else []
    structural = int(cases["index"].isna().sum()) if len(cases) else 0
    sample = frame.iloc[rows[:SAMPLE_ROWS]] if rows else frame.iloc[:0]
    return SchemaCount(len(frame), len(rows), structural, _per_check_table(schema, cases), _records(sample))


def _merge_plan(schema: pa.DataFrameSchema) -> tuple[pa.DataFrameSchema | None, pa.DataFrameSchema | None]:
    """How ``count_schema_each`` validates frames against ``schema``, built once per schema: the
    schema that validates several frames' rows at once (None when one of its column checks may
    judge a column as a whole), and its frame-level checks alone, run on one frame at a time."""
    cached = _MERGE_PLANS.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1], cached[2]
    row_wise = all(not col.unique and all(c.name in _ROW_WISE_CHECKS or c.name == _ROW_WISE for c in col.checks)
                   for col in schema.columns.values())
    together = None
    if row_wise and not schema.add_missing_columns and schema.strict != "filter":
        together = copy.deepcopy(schema)
        together.checks = []
        together = together.add_columns({_PART: pa.Column("int64")})
        if schema.unique:
            together.unique = [*schema.unique, _PART]
    frame_checks = pa.DataFrameSchema(checks=list(schema.checks), name=schema.name, strict=False) \
        if schema.checks else None
    _MERGE_PLANS[id(schema)] = (schema, together, frame_checks)
    return together, frame_checks


_MERGE_PLANS: dict[int, tuple[pa.DataFrameSchema, pa.DataFrameSchema | None, pa.DataFrameSchema | None]] = {}


def _same_columns(frames: Sequence[pd.DataFrame]) -> bool:
    first = frames[0].dtypes
    return all(f.columns.equals(frames[0].columns) and f.dtypes.equals(first) for f in frames[1:])


def schema_outcome(count: SchemaCount, severity: dg.AssetCheckSeverity) -> Outcome:
    passed = not (count.failing_rows or count.structural)
    label = "contract" if severity == ERROR else "warning checks"
    if passed:
        description = f"{count.rows_checked:,} rows pass the {label} ({len(count.table)} checks)"
    else:
        failing = [f"{r['column']}: {r['check']} ({r['failing_rows']:,})" for r in count.table if r["failing_rows"]]
        description = (f"{count.failing_rows:,} of {count.rows_checked:,} rows fail the {label}: "
                       + "; ".join(failing[:6])
                       + (f"; {count.structural} schema-level failure(s)" if count.structural else ""))
    return Outcome(passed, description, {
        "rows_checked": count.rows_checked,
        "failing_rows": count.failing_rows + (1 if count.structural and not count.failing_rows else 0),
        "checks": dg.MetadataValue.md(_markdown(count.table)),
        "failing_rows_sample": dg.MetadataValue.json(count.sample),
    })


def run_schema(schema: pa.DataFrameSchema, frame: pd.DataFrame, severity: dg.AssetCheckSeverity) -> Outcome:
    """Validate lazily; summarize failures per pandera check, with a sample of failing rows."""
    return schema_outcome(count_schema(schema, frame), severity)


def _per_check_table(schema: pa.DataFrameSchema, cases: pd.DataFrame) -> list[dict]:
    """Every declared check with its failing-row count (0 for those that passed)."""
    counts: dict[tuple[str, str], tuple[int, list[str]]] = {}
    if len(cases):
        # pandera reports a multi-column uniqueness failure once per column: count rows once.
        unique_rows = cases["check"] == "multiple_fields_uniqueness"
        if unique_rows.any():
            dup = cases[unique_rows]
            counts[(str(schema.unique), "multiple_fields_uniqueness")] = (
                int(dup["index"].nunique()), [str(v) for v in dup["failure_case"].dropna().unique()[:3]])
            cases = cases[~unique_rows]
    for (column, check), group in (cases.groupby(["column", "check"], dropna=False) if len(cases) else []):
        examples = [str(v) for v in group["failure_case"].dropna().unique()[:3]]
        counts[(str(column), str(check))] = (int(group["index"].nunique()) or len(group), examples)
    rows, seen = [], set()

    def add(column: str, check: str) -> None:
        n, examples = counts.get((column, check), (0, []))
        seen.add((column, check))
        rows.append({"column": column, "check": check, "failing_rows": n, "examples": ", ".join(examples)})

    for name, col in schema.columns.items():
        if col.dtype is not None:
            add(name, f"dtype('{col.dtype}')")
        if not col.nullable:
            add(name, "not_nullable")
        for c in col.checks:
            add(name, str(c.error or c.name))
    if schema.unique:
        add(str(schema.unique), "multiple_fields_uniqueness")  # key as counted above
    for c in schema.checks:
        add(str(schema.name), str(c.error or c.name))
    for (column, check), (n, examples) in counts.items():  # failures of checks not declared above
        if (column, check) not in seen:
            rows.append({"column": column, "check": check, "failing_rows": n, "examples": ", ".join(examples)})
    return rows


def _markdown(rows: list[dict]) -> str:
    lines = ["| column | check | failing rows | examples |", "|---|---|---:|---|"]
    for r in rows:
        lines.append(f"| {r['column']} | {r['check']} | {r['failing_rows']:,} | {r['examples']} |")
    return "\n".join(lines)


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.astype(str).to_json(orient="records")) if len(frame) else []


def table_schema(schema: pa.DataFrameSchema) -> dg.TableSchema:
    """The column schema Dagster shows on the asset, from the pandera schema."""
    columns = []
    for name, col in schema.columns.items():
        other = [str(c.error or c.name) for c in col.checks]
        columns.append(dg.TableColumn(
            name, str(col.dtype) if col.dtype is not None else "string", description=col.description,
            constraints=dg.TableColumnConstraints(nullable=col.nullable, unique=col.unique, other=other)))
    return dg.TableSchema(columns=columns, constraints=dg.TableConstraints(
        other=[f"unique ({', '.join(schema.unique)})"] if schema.unique else []))


# ---------------------------------------------------------------------------------------------
# Helpers for schema modules
# ---------------------------------------------------------------------------------------------

STRING = pd.StringDtype("pyarrow")
UTC = pd.DatetimeTZDtype(tz="UTC")
DATE = "datetime64[ns]"


def text(description: str = "", nullable: bool = False, isin: Sequence[str] | None = None, **kw) -> pa.Column:
    checks = [pa.Check.str_length(min_value=1, error="non-empty")] if not isin else \
        [pa.Check.isin(list(isin), error=f"one of {'/'.join(isin)}")]
    return pa.Column(STRING, checks=checks, nullable=nullable, description=description or None, **kw)


def cents(description: str = "", minimum: int | None = 0, nullable: bool = False, warn_above: int | None = None) -> pa.Column:
    checks = [] if minimum is None else [pa.Check.ge(minimum, error=f">= {minimum}")]
    if warn_above is not None:
        checks.append(pa.Check.le(warn_above, error=f"<= {warn_above:,} (unusually large)", raise_warning=True))
    return pa.Column("int64", checks=checks, nullable=nullable, description=description or None)


def count(description: str = "", minimum: int = 0) -> pa.Column:
    return pa.Column("int64", checks=[pa.Check.ge(minimum, error=f">= {minimum}")], description=description or None)


def money(description: str = "", minimum: float | None = None, nullable: bool = False) -> pa.Column:
    """A report's exact money column (Decimal objects, two places)."""
    import decimal

    checks = [pa.Check(lambda s: s.map(lambda v: isinstance(v, decimal.Decimal) and v == v.quantize(decimal.Decimal("0.01"))),
                       error="an exact decimal with 2 places", ignore_na=True, name=_ROW_WISE)]
    if minimum is not None:
        checks.append(pa.Check(lambda s: s.map(lambda v: v >= minimum), error=f">= {minimum}", ignore_na=True,
                               name=_ROW_WISE))
    return pa.Column(object, checks=checks, nullable=nullable, description=description or None)


def ratio(description: str = "", nullable: bool = True, minimum: float | None = None,
          maximum: float | None = None) -> pa.Column:
    checks = []
    if minimum is not None:
        checks.append(pa.Check.ge(minimum, error=f">= {minimum}"))
    if maximum is not None:
        checks.append(pa.Check.le(maximum, error=f"<= {maximum}"))
    return pa.Column("float64", checks=checks, nullable=nullable, coerce=False, description=description or None)


def business_date() -> pa.Column:
    return pa.Column(DATE, description="business date (partition)")


def one_business_date() -> pa.Check:
    return pa.Check(lambda df: df["business_date"].nunique() <= 1, error="all rows belong to one business date")
