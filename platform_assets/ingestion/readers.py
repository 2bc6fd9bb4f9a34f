"""Read a delivered file into string columns, exactly as received, with row lineage.

Every reader returns a ``ParsedFile``: a DataFrame of ``string[pyarrow]`` columns (empty values
are null) plus ``_row`` (1-based data row) and ``_line`` (1-based physical line), the columns
the file actually had (for drift), and the rows that could not be parsed at all.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.json as pjson

STRING = pd.StringDtype("pyarrow")
BOM = b"\xef\xbb\xbf"


@dataclass
class Unparsed:
    row_number: int
    line_number: int | None
    reason: str
    record: str


@dataclass
class ParsedFile:
    name: str
    frame: pd.DataFrame
    columns: list[str]
    unparsed: list[Unparsed] = field(default_factory=list)
    lines: LineIndex | None = None

    @property
    def rows_read(self) -> int:
        return len(self.frame) + len(self.unparsed)


NEWLINE_CHUNK = 1 << 22  # bytes of a file compared at a time when finding its line ends


def newline_offsets(arr: np.ndarray) -> np.ndarray:
    """Offsets of every b"\\n" in ``arr``, found a chunk at a time into one reused mask. A mask of
    the whole file at once (64 MB for a bench-scale POS region) was new memory faulted in page
    by page: ~0.13 s of the 0.17 s this took in a step, on the close's critical path."""
    mask = np.empty(min(len(arr), NEWLINE_CHUNK), dtype=bool)
    parts = [np.empty(0, dtype=np.intp)]
    for start in range(0, len(arr), NEWLINE_CHUNK):
        chunk = arr[start:start + NEWLINE_CHUNK]
        found = np.equal(chunk, 10, out=mask[:len(chunk)])
        parts.append(np.flatnonzero(found) + start)
    return np.concatenate(parts)


class LineIndex:
    """Maps the n-th non-empty line of a file to its physical line and text."""

    def __init__(self, data: bytes):
        self.data = data
        arr = np.frombuffer(data, dtype=np.uint8)
        newlines = newline_offsets(arr)
        self.starts = np.concatenate([[0], newlines + 1])
        self.ends = np.concatenate([newlines, [len(arr)]])
        content_end = self.ends.copy()
        has_cr = (content_end > self.starts) & (arr[np.maximum(content_end - 1, 0)] == 13) if len(arr) else content_end > 0
        content_end = content_end - has_cr.astype(np.int64)
        self.nonempty = np.flatnonzero(content_end > self.starts)  # 0-based physical line indices
        self.content_end = content_end

    def physical_line(self, nonempty_index: np.ndarray) -> np.ndarray:
        """1-based physical line numbers of 0-based non-empty line indices."""
        return self.nonempty[nonempty_index] + 1

    def text(self, physical_line: int) -> str:
        i = physical_line - 1
        raw = self.data[self.starts[i]:self.content_end[i]]
        if i == 0 and raw.startswith(BOM):
            raw = raw[len(BOM):]
        return raw.decode("utf-8", errors="replace")


def _strings(values: pa.ChunkedArray | pa.Array) -> pd.Series:
    if not pa.types.is_string(values.type):
        values = values.cast(pa.string())
    # Wrapped as they are (pandas' Arrow-backed strings): converting through to_pandas took ~3.5x
    # as long, ~80 us a column of an hourly app-events file.
    return pd.Series(pd.arrays.ArrowStringArray(values))


def read_csv(name: str, data: bytes) -> ParsedFile:
    body = data[len(BOM):] if data.startswith(BOM) else data
    first_line = body.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8")
    header = next(csv.reader([first_line])) if first_line else []
    header = [h.strip() for h in header]
    bad: list[tuple[int, str, int, int]] = []

    def on_invalid(row) -> str:
        bad.append((row.number, row.text, row.expected_columns, row.actual_columns))
        return "skip"

    lines = LineIndex(data)
    if not header:
        return ParsedFile(name, pd.DataFrame(), [], lines=lines)
    table = pcsv.read_csv(
        io.BytesIO(body),
        read_options=pcsv.ReadOptions(use_threads=False, column_names=header, skip_rows=1),
        parse_options=pcsv.ParseOptions(invalid_row_handler=on_invalid),
        convert_options=pcsv.ConvertOptions(
            column_types={h: pa.string() for h in header}, strings_can_be_null=True,
            quoted_strings_can_be_null=True, null_values=[""],
        ),
    )
    # pyarrow numbers records among non-empty lines, header included (use_threads=False).
    bad_rows = {number - 1 for number, *_ in bad}
    total = table.num_rows + len(bad)
    rows = np.array([r for r in range(1, total + 1) if r not in bad_rows], dtype=np.int64) if bad else \
        np.arange(1, total + 1, dtype=np.int64)
    frame = pd.DataFrame({h: _strings(table.column(i)) for i, h in enumerate(header)})
    frame["_row"] = rows.astype(np.int32)
    frame["_line"] = _lines_for(lines, rows)
    unparsed = []
    for number, text, expected, actual in bad:
        line = _lines_for(lines, np.array([number - 1]))[0]
        unparsed.append(Unparsed(number - 1, int(line) if line > 0 else None,
                                 f"row has {actual} fields, expected {expected}", text))
    return ParsedFile(name, frame, header, unparsed, lines)


def _lines_for(lines: LineIndex, data_rows: np.ndarray) -> np.ndarray:
    """Physical line of data row k (1-based), given the header is the first non-empty line."""
    if len(lines.nonempty) < len(data_rows) + 1 or len(data_rows) == 0:
        out = np.zeros(len(data_rows), dtype=np.int32)
        ok = data_rows < len(lines.nonempty)
        out[ok] = lines.physical_line(data_rows[ok])
        return out
    return lines.physical_line(data_rows).astype(np.int32)


def json_text(value) -> str:
    """A parsed JSON value as text, the way a string column keeps it: a string as it is, anything
    else as compact JSON. Integers and finite floats are written by ``repr``, which is what
    ``json.dumps`` writes for them, without its encoder's overhead (a month of orders has ~150,000
    such values, checked in the import and converted again in staging)."""
    kind = type(value)
    if kind is str:
        return value
    if kind is int or (kind is float and math.isfinite(value)):
        return repr(value)
    return json.dumps(value, separators=(",", ":"))


def _stringify(value) -> str | None:
    return None if value is None else json_text(value)


# What json.dumps (ASCII output) writes differently from the characters themselves: quotes,
# backslashes, control characters (escaped) and anything beyond ASCII (\u escapes).
_ESCAPED = r'["\\\x00-\x1f]|[^\x00-\x7f]'


def _items_columns(arrays: pa.ListArray) -> dict[str, pa.Array] | None:
    """The values of each key of the objects in JSON arrays Arrow parsed (list<struct>), as the
    text ``json_text`` gives them (strings as they are, integers as digits); None when Arrow's
    values could differ from what json.loads gives row by row: an item that is null or not an
    object, a missing or null value (Arrow cannot tell the two apart), a type other than string or
    64-bit integer (floats print differently)."""
    if not pa.types.is_list(arrays.type) or not pa.types.is_struct(arrays.type.value_type):
        return None
    items = pc.list_flatten(arrays)
    if items.type.num_fields == 0 or items.null_count:
        return None
    out = {}
    for i, values in enumerate(items.flatten()):
        if values.null_count or not (pa.types.is_string(values.type) or pa.types.is_int64(values.type)):
            return None
        out[items.type.field(i).name] = values.cast(pa.string())
    return out


def _lengths(arrays: pa.ListArray) -> np.ndarray:
    return pc.list_value_length(arrays).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)


def _array_texts(arrays: pa.ListArray) -> pa.Array | None:
    """The text ``json_text`` gives each JSON array of flat objects Arrow parsed, built column-wise
    (``[{"sku":"A","quantity":2},...]``, keys in Arrow's order); None when it could differ
    (``_items_columns``, or a key or string json.dumps would escape). Arrow orders keys by first
    appearance in the file, so an item with its keys in another order is caught by the reader,
    which finds each text in its line."""
    columns = _items_columns(arrays)
    if columns is None:
        return None
    parts: list = []
    for i, (key, values) in enumerate(columns.items()):
        if re.search(_ESCAPED, key):
            return None
        if pa.types.is_string(arrays.type.value_type.field(key).type):
            if pc.any(pc.match_substring_regex(values, _ESCAPED)).as_py():
                return None
            values = pc.binary_join_element_wise('"', values, '"', "")
        parts += [("{" if i == 0 else ",") + json.dumps(key) + ":", values]
    items = pc.binary_join_element_wise(*parts, "}", "")
    offsets = pa.array(np.concatenate([[0], np.cumsum(_lengths(arrays))]), pa.int32())
    lists = pa.ListArray.from_arrays(offsets, items, mask=arrays.is_null())
    return pc.binary_join_element_wise("[", pc.binary_join(lists, ","), "]", "")


def json_array_items(texts: pd.Series) -> tuple[np.ndarray, dict[str, pd.Series]] | None:
    """Texts of JSON arrays of objects parsed in one Arrow pass: how many items each text holds,
    and each key's values over all items in order, as ``json_text`` gives them. None when only
    json.loads row by row can say what the texts hold (a null, text that is not one JSON array of
    objects, ``_items_columns``): the caller then parses them so. A month of orders holds ~150,000
    such texts: json.loads took 1.5 s for a bench-scale day's (158,000), this 0.2 s."""
    values = texts.array.__arrow_array__() if hasattr(texts.array, "__arrow_array__") else \
        pa.array(texts, type=pa.string(), from_pandas=True)  # Arrow-backed (often in chunks) or objects
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.cast(pa.string())
    if len(values) == 0 or values.null_count or pc.any(pc.match_substring_regex(values, r"[\r\n]")).as_py():
        return None
    # One JSON object a line, {"v":<text>}; one block, so the types are inferred from all texts at once.
    lines = pc.binary_join_element_wise('{"v":', values, "}", "")
    buffer = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines), "\n")[0]
    try:
        table = pjson.read_json(pa.BufferReader(buffer.as_buffer()),
                                read_options=pjson.ReadOptions(block_size=buffer.as_buffer().size + 1))
        table.validate(full=True)  # Arrow 26 builds a malformed list for [null, {...}]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(values) or table.column_names != ["v"]:  # text that closed the object early
        return None
    arrays = table.column("v").combine_chunks()
    columns = _items_columns(arrays)
    if columns is None:
        return None
    return _lengths(arrays), {k: pd.Series(pd.arrays.ArrowStringArray(v)) for k, v in columns.items()}


def _records_frame(name: str, records: list[dict], rows: list[int], line_numbers: list[int | None],
                   contract_columns: list[str], unparsed: list[Unparsed], lines: LineIndex | None) -> ParsedFile:
    seen: dict[str, None] = {}
    for rec in records:
        for key in rec:
            seen.setdefault(key, None)
    columns = list(seen)
    frame = pd.DataFrame({c: pd.Series([_stringify(r.get(c)) for r in records], dtype=STRING)
                          for c in dict.fromkeys(contract_columns + columns) if c in seen})
    frame["_row"] = np.array(rows, dtype=np.int32)
    frame["_line"] = np.array([ln or 0 for ln in line_numbers], dtype=np.int32)
    return ParsedFile(name, frame, columns, unparsed, lines)


def read_jsonl(name: str, data: bytes, contract_columns: list[str]) -> ParsedFile:
    lines = LineIndex(data)
    fast = _read_jsonl_arrow(name, data, contract_columns, lines)
    if fast is not None:
        return fast
    records, rows, line_numbers, unparsed = [], [], [], []
    for k, idx in enumerate(lines.nonempty, start=1):
        text = data[lines.starts[idx]:lines.content_end[idx]].decode("utf-8-sig", errors="replace")
        try:
            obj = json.loads(text)
        except ValueError as exc:
            unparsed.append(Unparsed(k, int(idx) + 1, f"not valid JSON ({exc.msg} at column {exc.colno})", text))
            continue
        if not isinstance(obj, dict):
            unparsed.append(Unparsed(k, int(idx) + 1, "expected a JSON object", text))
            continue
        records.append(obj)
        rows.append(k)
        line_numbers.append(int(idx) + 1)
    return _records_frame(name, records, rows, line_numbers, contract_columns, unparsed, lines)


def _read_jsonl_arrow(name: str, data: bytes, contract_columns: list[str], lines: LineIndex) -> ParsedFile | None:
    """Fast path for files whose contract values are JSON strings or arrays of flat objects; None to
    fall back."""
    if not data.strip():
        return ParsedFile(name, pd.DataFrame({"_row": np.array([], np.int32), "_line": np.array([], np.int32)}), [],
                          lines=lines)
    # A contract column holding a JSON array in the first line (orders' lines) is left for Arrow to
    # infer, and written back as the text the careful path keeps (_array_texts).
    first = lines.nonempty[0]
    try:
        head = json.loads(data[lines.starts[first]:lines.content_end[first]].decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError):
        return None
    arrays = [c for c in contract_columns if isinstance(head, dict) and isinstance(head.get(c), list)]
    try:
        table = pjson.read_json(io.BytesIO(data), parse_options=pjson.ParseOptions(
            explicit_schema=pa.schema([(c, pa.string()) for c in contract_columns if c not in arrays]),
            unexpected_field_behavior="infer"))
        if arrays:
            table.validate(full=True)  # Arrow 26 builds a malformed list for [null, {...}]
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(lines.nonempty):
        return None
    for c in arrays:
        texts = _array_texts(table.column(c).combine_chunks())
        if texts is None or not _in_lines(data, lines, c, texts):
            return None
        table = table.set_column(table.column_names.index(c), c, texts)
    table = table.select([c for c in contract_columns if c in table.column_names]
                         + [c for c in table.column_names if c not in contract_columns])
    # Which keys really occur: an explicit-schema column that is null throughout may be absent (the
    # first 200 lines decide). Parsed only when there is such a column: ~1 ms a file otherwise spent
    # on every hourly app-events file.
    all_null = [c for c in table.column_names if table.column(c).null_count == table.num_rows]
    present = {k for i in lines.nonempty[:200] for k in json.loads(data[lines.starts[i]:lines.content_end[i]])} \
        if all_null else set()
    columns = [c for c in table.column_names if c in present or table.column(c).null_count < table.num_rows]
    if any(not pa.types.is_string(table.schema.field(c).type) for c in columns if c not in contract_columns):
        return None  # nested extras: let the careful path stringify them
    frame = pd.DataFrame({c: _strings(table.column(c)) for c in columns})
    frame["_row"] = np.arange(1, table.num_rows + 1, dtype=np.int32)
    frame["_line"] = lines.physical_line(np.arange(table.num_rows)).astype(np.int32)
    return ParsedFile(name, frame, columns, [], lines)


def _in_lines(data: bytes, lines: LineIndex, key: str, texts: pa.Array) -> bool:
    """Whether each line holds ``"key":text`` as written: the text json.dumps would give is then
    the one in the file (same key order, no spaces, same numbers). Inside a JSON string the text's
    quotes would be escaped, so it can only be the key's value."""
    prefix = json.dumps(key).encode() + b":"
    starts, ends = lines.starts[lines.nonempty].tolist(), lines.content_end[lines.nonempty].tolist()
    return all(text is None or data.find(prefix + text.encode(), start, end) >= 0
               for text, start, end in zip(texts.to_pylist(), starts, ends))


def read_json_list(name: str, data: bytes, contract_columns: list[str]) -> ParsedFile:
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except ValueError as exc:
        return ParsedFile(name, pd.DataFrame({"_row": np.array([], np.int32), "_line": np.array([], np.int32)}), [],
                          [Unparsed(0, None, f"not valid JSON ({exc})", data[:500].decode("utf-8", "replace"))])
    if not isinstance(value, list):
        return ParsedFile(name, pd.DataFrame({"_row": np.array([], np.int32), "_line": np.array([], np.int32)}), [],
                          [Unparsed(0, None, "expected a JSON list of objects", data[:500].decode("utf-8", "replace"))])
    records, rows, unparsed = [], [], []
    for k, obj in enumerate(value, start=1):
        if isinstance(obj, dict):
            records.append(obj)
            rows.append(k)
        else:
            unparsed.append(Unparsed(k, None, "expected a JSON object", json.dumps(obj)))
    return _records_frame(name, records, rows, [None] * len(records), contract_columns, unparsed, None)


def read_file(name: str, data: bytes, fmt: str, contract_columns: list[str]) -> ParsedFile:
    if fmt == "csv":
        return read_csv(name, data)
    if fmt == "jsonl":
        return read_jsonl(name, data, contract_columns)
    if fmt == "json":
        return read_json_list(name, data, contract_columns)
    raise ValueError(f"unknown format {fmt!r}")


def record_text(parsed: ParsedFile, row_frame: pd.Series) -> str:
    """The row as received: its line for line-based files, else its values as JSON."""
    line = int(row_frame.get("_line", 0) or 0)
    if parsed.lines is not None and line > 0:
        return parsed.lines.text(line)
    values = {k: (None if pd.isna(v) else v) for k, v in row_frame.items() if not str(k).startswith("_")}
    return json.dumps(values)
