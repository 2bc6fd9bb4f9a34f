"""File contracts: what each source's rows must look like, as pandera schemas.

A source module declares its columns with the builders below (``text``, ``integer``,
``decimal``, ``timestamp`` ...). Each builder makes a pandera column over the raw string value
with a check whose message says what was expected ("expected an integer >= 1"), so a rejected
row's reason reads "quantity: expected an integer >= 1, found '-2'". The same schema validates
rows at import (row-level rejects) and backs the raw asset checks.

Values stay strings exactly as received; staging parses them into types.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from platform_assets.ingestion.readers import json_array_items, json_text
from platform_assets.storage.frames import float_numbers, reporting_dates, utc_timestamps

Validator = Callable[[pd.Series], pd.Series]
# ISO 4217 codes of currencies in circulation (a code outside this list is a typo, not a new
# currency); case is not checked here, staging upper-cases.
ISO_4217 = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD
CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD
GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT
LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR
NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP
STN SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF
YER ZAR ZMW ZWL
""".split())


# Every validator and date rule here is element-wise: a value's verdict never depends on another
# row. A column with few distinct values (the business date, a region, quantities, a price list)
# is checked once per distinct value and the verdicts taken back to the rows: a bench-scale POS
# region (360k rows) has one business date, 8 quantities and ~500 unit prices; its business_date
# check took 96 ms and its business-date rule 73 ms, ~10 ms each this way. Whether a column is
# such a column is judged on its first DISTINCT_SAMPLE values: a column of ids or timestamps is
# checked as it is, without paying for a factorization that would not pay back.
DISTINCT_SAMPLE = 4096
DISTINCT_SHARE = 0.25


def per_distinct(fn: Callable[[pd.Series], pd.Series]) -> Callable[[pd.Series], pd.Series]:
    """``fn`` (element-wise, a Series in, a Series of its index out) applied to each distinct value
    of a string column once; exactly ``fn(s)`` (missing values are a value of their own)."""

    def apply(s: pd.Series) -> pd.Series:
        if len(s) <= DISTINCT_SAMPLE or not isinstance(s.dtype, pd.StringDtype):
            return fn(s)
        if s.iloc[:DISTINCT_SAMPLE].nunique(dropna=False) > DISTINCT_SHARE * DISTINCT_SAMPLE:
            return fn(s)
        codes, uniques = pd.factorize(s, use_na_sentinel=False)
        verdicts = fn(pd.Series(uniques, dtype=s.dtype, name=s.name)).take(codes)
        verdicts.index = s.index
        return verdicts

    return apply


@dataclass(frozen=True)
class Field:
    name: str
    expected: str                 # "an integer >= 1": used in reject reasons and docs
    validator: Validator          # True where a (non-null) value is valid
    nullable: bool = False
    description: str = ""
    # value -> business date (NY) as a datetime64 midnight, NaT where it does not parse (a Python
    # date per row made the rule 0.31 s of a 360k-row POS region file; now 0.12 s)
    to_date: Callable[[pd.Series], pd.Series] | None = None
    # (what is preferred, check) pairs: values failing them are accepted but flagged (WARN)
    warnings: tuple[tuple[str, Validator], ...] = ()

    def pandera_column(self) -> pa.Column:
        return pa.Column(
            None,
            checks=[pa.Check(per_distinct(self.validator), error=f"expected {self.expected}", name=self.name)]
            + [pa.Check(per_distinct(v), error=f"preferably {what}", name=f"{self.name}_{i}", raise_warning=True)
               for i, (what, v) in enumerate(self.warnings)],
            nullable=self.nullable,
            required=True,
            description=self.description or None,
            title=self.expected,
        )


def _regex(pattern: str) -> Validator:
    compiled = re.compile(pattern)
    return lambda s: s.str.fullmatch(compiled.pattern).astype("boolean").fillna(False).astype(bool)


def _and(*validators: Validator) -> Validator:
    def check(s: pd.Series) -> pd.Series:
        ok = validators[0](s)
        for v in validators[1:]:
            if ok.any():
                ok = ok & v(s.where(ok, None))
        return ok

    return check


def text(name: str, *, nullable: bool = False, description: str = "") -> Field:
    return Field(name, "a non-empty text", lambda s: (s.str.strip().str.len() > 0).fillna(False).astype(bool),
                 nullable, description)


def enum(name: str, values: tuple[str, ...], *, nullable: bool = False, description: str = "") -> Field:
    allowed = list(values)
    return Field(name, "one of " + "/".join(values), lambda s: s.isin(allowed).astype(bool), nullable, description)


def _numeric_range(minimum: float | None, maximum: float | None, exclusive_min: bool) -> Validator:
    def check(s: pd.Series) -> pd.Series:
        v = pd.Series(float_numbers(s, errors="coerce"), index=s.index)  # NaN: missing or no number
        ok = v.notna()
        if minimum is not None:
            ok &= (v > minimum) if exclusive_min else (v >= minimum)
        if maximum is not None:
            ok &= v <= maximum
        return ok.fillna(False).astype(bool)

    return check


def _bounds_text(kind: str, minimum: float | None, maximum: float | None, exclusive_min: bool) -> str:
    parts = [kind]
    if minimum is not None:
        parts.append(f"{'>' if exclusive_min else '>='} {minimum:g}")
    if maximum is not None:
        parts.append(f"<= {maximum:g}")
    return " ".join(parts)


def integer(name: str, *, minimum: int | None = None, maximum: int | None = None, nullable: bool = False,
            description: str = "") -> Field:
    return Field(name, _bounds_text("an integer", minimum, maximum, False),
                 _and(_regex(r"-?\d{1,15}"), _numeric_range(minimum, maximum, False)), nullable, description)


def decimal(name: str, *, places: int = 2, minimum: float | None = None, exclusive_min: bool = False,
            maximum: float | None = None, nullable: bool = False, description: str = "") -> Field:
    return Field(
        name, _bounds_text(f"a decimal with up to {places} places", minimum, maximum, exclusive_min),
        _and(_regex(rf"-?\d{{1,13}}(\.\d{{1,{places}}})?"), _numeric_range(minimum, maximum, exclusive_min)),
        nullable, description,
    )


def _parses(fmt: str | None, utc: bool = False) -> Validator:
    def check(s: pd.Series) -> pd.Series:
        if fmt is None and utc:
            parsed = utc_timestamps(s, errors="coerce")
        elif fmt is None:
            parsed = pd.to_datetime(s, format="ISO8601", utc=utc, errors="coerce")
        else:
            parsed = pd.to_datetime(s, format=fmt, errors="coerce")
        return parsed.notna().astype(bool)

    return check


def _date_of(fmt: str) -> Callable[[pd.Series], pd.Series]:
    return lambda s: pd.to_datetime(s, format=fmt, errors="coerce").dt.normalize()


def _ny_date_of_timestamp(s: pd.Series) -> pd.Series:
    return reporting_dates(utc_timestamps(s, errors="coerce"))


def date(name: str, *, fmt: str = "%Y-%m-%d", nullable: bool = False, description: str = "") -> Field:
    shown = {"%Y-%m-%d": "YYYY-MM-DD", "%m/%d/%Y": "MM/DD/YYYY"}.get(fmt, fmt)
    pattern = {"%Y-%m-%d": r"\d{4}-\d{2}-\d{2}", "%m/%d/%Y": r"\d{2}/\d{2}/\d{4}"}.get(fmt, r".+")
    return Field(name, f"a date as {shown}", _and(_regex(pattern), _parses(fmt)), nullable, description,
                 to_date=_date_of(fmt))


TS_WITH_OFFSET = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})"
TS_UTC = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|\+00:00)"


def timestamp(name: str, *, utc_only: bool = False, nullable: bool = False, description: str = "") -> Field:
    if utc_only:
        return Field(name, "an ISO-8601 UTC timestamp (…Z)", _and(_regex(TS_UTC), _parses(None, utc=True)),
                     nullable, description, to_date=_ny_date_of_timestamp)
    return Field(name, "an ISO-8601 timestamp with a UTC offset", _and(_regex(TS_WITH_OFFSET), _parses(None, utc=True)),
                 nullable, description, to_date=_ny_date_of_timestamp)


def local_datetime(name: str, *, fmt: str = "%Y-%m-%d %H:%M:%S", description: str = "") -> Field:
    """A wall-clock date and time without zone (as some ad platforms export their report day)."""
    return Field(name, f"a date and time as {fmt.replace('%', '')}", _parses(fmt), False, description,
                 to_date=_date_of(fmt))


def currency(name: str = "currency", *, description: str = "ISO 4217 code") -> Field:
    """Case is accepted (staging upper-cases) but a lower-case code is flagged as a warning."""
    return Field(name, "an ISO 4217 currency code", lambda s: s.str.upper().isin(ISO_4217).fillna(False).astype(bool),
                 False, description,
                 warnings=(("an upper-case code", lambda s: (s == s.str.upper()).fillna(True).astype(bool)),))


def json_array(name: str, item_fields: tuple[Field, ...], *, description: str = "") -> Field:
    """A JSON array (kept as its JSON text) of objects whose values follow ``item_fields``."""
    names = [f.name for f in item_fields]

    def check(s: pd.Series) -> pd.Series:
        parsed = json_array_items(s)
        if parsed is not None and all(n in parsed[1] for n in names):
            # Every text an array of objects with a value for every key: non-empty arrays whose
            # items' values pass the item fields are valid.
            lengths, values = parsed
            ok_mask = lengths > 0
            owners = np.repeat(np.arange(len(s)), lengths)
            for f in item_fields:
                bad = ~f.validator(values[f.name]).to_numpy(dtype=bool)
                ok_mask[owners[bad]] = False
            return pd.Series(ok_mask, index=s.index, dtype=bool)
        valid, flat, owners = [], [], []
        for position, text_value in enumerate(s.tolist()):
            try:
                items = json.loads(text_value) if isinstance(text_value, str) else None
            except ValueError:
                items = None
            ok = isinstance(items, list) and len(items) > 0 and all(
                isinstance(i, dict) and all(k in i and i[k] is not None for k in names) for i in items)
            valid.append(ok)
            if ok:
                flat.extend(items)
                owners.extend([position] * len(items))
        ok_mask = np.array(valid, dtype=bool)
        # Check the items' values with the item fields, vectorized over all items of the column.
        owners_array = np.array(owners, dtype=np.int64)
        for f in item_fields:
            if not flat:
                break
            values = pd.Series([json_text(i[f.name]) for i in flat], dtype="string[pyarrow]")
            bad = ~f.validator(values).to_numpy(dtype=bool)
            ok_mask[owners_array[bad]] = False
        return pd.Series(ok_mask, index=s.index, dtype=bool)

    described = ", ".join(f"{f.name} ({f.expected})" for f in item_fields)
    return Field(name, f"a non-empty JSON array of objects with {described}", check, False, description)


@dataclass(frozen=True)
class DateRule:
    """How a row's business date is checked against the partition it was delivered for."""

    column: str
    relation: str = "equals"   # equals | not_after


@dataclass(frozen=True)
class SourceContract:
    name: str
    description: str
    domain: str                       # sales, finance, reference, customers, marketing
    format: str                       # csv | jsonl | json
    files: str                        # regex every data file name matches
    fields: tuple[Field, ...]
    business_key: tuple[str, ...]
    date_rule: DateRule | None = None
    required_files: tuple[str, ...] = ()
    max_reject_rate: float = 0.01
    version: str = "1"
    owners_pipeline: str | None = None
    extra: dict = field(default_factory=dict)
    # Files imported in parallel steps, one each (label -> file name); see scheduling.py.
    split_files: dict[str, str] = field(default_factory=dict)
    # The column each split file holds one value of, its label (pos_AMER.csv: region AMER): a row
    # of another value is rejected, so the parts can be staged by that column downstream too.
    split_column: str | None = None

    def __post_init__(self) -> None:
        if self.format not in ("csv", "jsonl", "json"):
            raise ValueError(f"{self.name}: format must be csv, jsonl or json")
        names = [f.name for f in self.fields]
        for key in self.business_key:
            if key not in names:
                raise ValueError(f"{self.name}: business key {key!r} is not a declared column")
        if self.date_rule and self.date_rule.column not in names:
            raise ValueError(f"{self.name}: date rule column {self.date_rule.column!r} is not declared")
        for label, file_name in self.split_files.items():
            if not re.fullmatch(r"[A-Za-z0-9]+", label) or not self.matches(file_name):
                raise ValueError(f"{self.name}: split file {label}={file_name!r} needs an alphanumeric label and a "
                                 f"file name matching {self.files!r}")
        if self.split_column is not None and (self.split_column not in names or not self.split_files):
            raise ValueError(f"{self.name}: split column {self.split_column!r} needs split files and a declared column")

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def matches(self, file_name: str) -> bool:
        return re.fullmatch(self.files, file_name) is not None

    def schema(self) -> pa.DataFrameSchema:
        """The raw contract as a pandera schema (string values, checks per column)."""
        return pa.DataFrameSchema(
            {f.name: f.pandera_column() for f in self.fields},
            name=f"raw_{self.name}",
            description=self.description,
            # Added columns are drift (a warning), not row errors; duplicates of the business
            # key are expected in raw (re-sent rows) and removed in staging.
            strict=False,
            coerce=False,
        )

    def business_dates(self, frame: pd.DataFrame) -> pd.Series:
        rule = self.date_rule
        assert rule is not None
        f = self.field(rule.column)
        if f.to_date is None:
            raise ValueError(f"{self.name}: column {rule.column} cannot give a business date")
        return per_distinct(f.to_date)(frame[rule.column])

