"""Import companies, contacts or deals from a CSV file into any CrmAdapter.

The whole file is parsed before anything is written, so a file-level problem (encoding, header,
broken quoting) raises CsvFormatError and leaves the CRM untouched. Each data row then becomes a
create, an update, nothing (unchanged) or a row error; one bad row never stops the others.
Re-running a file is safe: rows are matched to records by natural key, only differing fields are
written, and idempotency keys come from the row content, so a re-run never creates a record twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from adapters.crm.base import LOOKUP_FIELDS, ConflictError, CrmAdapter, CrmError, Record, RecordKind
from adapters.crm.fields import validate_fields


class CsvFormatError(Exception):
    """The file as a whole cannot be imported; the message is one line saying what to fix."""


@dataclass(frozen=True)
class ImportReport:
    """Outcome of an import: every data row is counted once; errors are (line, reason)."""

    created: int
    updated: int
    unchanged: int
    errors: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class _Spec:
    kind: RecordKind
    columns: tuple[str, ...]
    required: tuple[str, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Natural key fields, strongest first: the fields a CRM can look records up by."""
        return LOOKUP_FIELDS[self.kind]


_SPECS: Mapping[str, _Spec] = {
    "companies": _Spec("company", ("external_id", "name", "domain", "industry", "employees", "country",
                                   "phone", "owner"), ("name",)),
    "contacts": _Spec("contact", ("external_id", "first_name", "last_name", "email", "phone", "title",
                                  "company", "aliases", "lifecycle_stage", "lead_source", "owner"),
                      ("first_name", "last_name")),
    "deals": _Spec("deal", ("external_id", "name", "company", "contact_email", "stage", "amount",
                            "currency", "close_date", "owner"),
                   ("name", "company", "amount")),
}
# pydantic's own wording for these is a regex or a parser detail; say what a user should type.
_HINTS = {
    "domain": "expected a domain like example.com",
    "employees": "expected a whole number of 0 or more like 250",
    "amount": "expected an amount of 0 or more like 1234.50 (dot for decimals, at most 2)",
    "currency": "expected a 3-letter currency code like EUR",
}


class _RowError(CrmError):
    """One row cannot be imported; the message is its reason."""


def import_csv(crm: CrmAdapter, path: Path, kind: str) -> ImportReport:
    """Import path as kind ("companies", "contacts", "deals"); file problems raise CsvFormatError."""
    spec = _SPECS.get(kind)
    if spec is None:
        raise ValueError(f"kind must be one of {', '.join(_SPECS)}, not {kind!r}")
    return _Importer(crm, spec).run(_parse(path, spec))


def _parse(path: Path, spec: _Spec) -> list[tuple[int, dict[str, str] | str]]:
    """Data rows as (first line of the row, column -> non-empty value, or a row error)."""
    expected = f"expected some of: {', '.join(spec.columns)}"
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CsvFormatError(f"cannot read the file ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        where = f"byte 0x{data[exc.start]:02x} on line {line}"
        raise CsvFormatError(f"not UTF-8 text ({where}); save it as CSV UTF-8") from None
    if not text.strip():
        raise CsvFormatError(f"the file is empty; expected a header row naming the columns ({expected})")
    # strict: a quote that is never closed would otherwise swallow the rest of the file silently.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[tuple[int, list[str]]] = []
    end = 0
    try:
        for cells in reader:
            start, end = end + 1, reader.line_num  # line_num counts the lines of multi-line fields
            if any(cell.strip() for cell in cells):
                rows.append((start, cells))
    except csv.Error as exc:
        raise CsvFormatError(f"line {end + 1}: cannot parse the CSV ({exc}); check the quotes") from None
    if not rows:
        raise CsvFormatError(f"no header row; expected a first line naming the columns ({expected})")
    names = [cell.strip().lower() for cell in rows[0][1]]
    for cell, name in zip(rows[0][1], names):
        if name and name not in spec.columns:
            hint = "; columns must be separated by commas" if re.search(r"[;\t|]", name) else ""
            raise CsvFormatError(f'unknown column "{cell.strip()}" ({expected}){hint}')
        if name and names.count(name) > 1:
            raise CsvFormatError(f'column "{name}" appears more than once in the header')
    if missing := [name for name in spec.required if name not in names]:
        quoted = ", ".join(f'"{name}"' for name in missing)
        raise CsvFormatError(f"missing required column {quoted} (required: {', '.join(spec.required)})")
    return [(line, _values(names, cells)) for line, cells in rows[1:]]


def _values(names: list[str], cells: list[str]) -> dict[str, str] | str:
    values = {}
    for i, cell in enumerate(c.strip() for c in cells):
        if cell and (i >= len(names) or not names[i]):
            # A value under no column name would otherwise be dropped without anyone noticing.
            return f'cell {i + 1} ("{_short(cell)}") is not under a named column; remove it or name the column'
        if cell:
            values[names[i]] = cell
    return values


class _Importer:
    """Imports the rows of one file; remembers what this run has seen to catch duplicates."""

    def __init__(self, crm: CrmAdapter, spec: _Spec) -> None:
        self._crm, self._spec, self._kind = crm, spec, spec.kind
        self._keys: dict[tuple[Any, ...], int] = {}
        self._records: dict[int, int] = {}
        self._refs: dict[tuple[str, str, str], int | None] = {}

    def run(self, rows: list[tuple[int, dict[str, str] | str]]) -> ImportReport:
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        errors: list[tuple[int, str]] = []
        for line, values in rows:
            try:
                if isinstance(values, str):
                    raise _RowError(values)
                counts[self._row(line, values)] += 1
            except CrmError as exc:
                retry = "; it changed during the import, run it again" if isinstance(exc, ConflictError) else ""
                errors.append((line, " ".join(str(exc).split()) + retry))
        return ImportReport(**counts, errors=tuple(errors))

    def _row(self, line: int, values: dict[str, str]) -> str:
        key = self._file_key(values)
        if key in self._keys:
            raise _RowError(f"duplicate of line {self._keys[key]}")
        self._keys[key] = line
        if missing := [name for name in self._spec.required if name not in values]:
            raise _RowError(f"{missing[0]}: required, but the cell is empty")
        fields = self._validated(values)
        record = self._existing(fields)
        if record is None:
            result = self._crm.create(self._kind, fields, idempotency_key=_key(self._kind, "create", fields))
            if not result.replayed:
                self._claim(result.record.id, line)
                return "created"
            # An earlier run created it from this very row; the record may have changed since.
            record = self._crm.get(self._kind, result.record.id)
            if record is None:
                raise _RowError(f"{self._kind} {result.record.id} was imported before but no longer exists")
        self._claim(record.id, line)
        changes = {name: value for name, value in fields.items()
                   if getattr(record, name) != (tuple(value) if isinstance(value, list) else value)}
        if not changes:
            return "unchanged"
        # The version is part of the key: the same change made again later is a new write.
        what = {"id": record.id, "version": record.version, **changes}
        self._crm.update(self._kind, record.id, changes, expected_version=record.version,
                         idempotency_key=_key(self._kind, "update", what))
        return "updated"

    def _file_key(self, values: dict[str, str]) -> tuple[Any, ...]:
        for name in self._spec.keys:
            if name in values:
                scope = values.get("company", "").casefold() if self._kind == "deal" and name == "name" else ""
                return (name, scope, values[name].casefold())
        return ("row", tuple(sorted(values.items())))  # no natural key: only identical rows clash

    def _claim(self, record_id: int, line: int) -> None:
        # Rows with different keys can still land on one record (name on one line, domain on another).
        if record_id in self._records:
            raise _RowError(f"duplicate of line {self._records[record_id]} (same {self._kind})")
        self._records[record_id] = line

    def _validated(self, values: dict[str, str]) -> dict[str, Any]:
        fields: dict[str, Any] = {name: _CONVERT.get(name, str)(raw) for name, raw in values.items()}
        if ref := fields.pop("company", None):
            lookups = (self._find_id("company", field, ref) for field in LOOKUP_FIELDS["company"])
            if (company_id := next(filter(None, lookups), None)) is None:
                raise _RowError(f'company: no company matches "{_short(ref)}" (by external_id, domain or name)')
            fields["company_id"] = company_id
        if email := fields.pop("contact_email", None):
            if (contact_id := self._find_id("contact", "email", email)) is None:
                raise _RowError(f'contact_email: no contact has email "{_short(email)}"')
            fields["contact_id"] = contact_id
        try:
            return validate_fields(self._kind, fields, create=False)
        except CrmError as exc:
            name, _, message = str(exc).partition(": ")
            if name not in values:
                raise _RowError(str(exc)) from None
            raise _RowError(f'{name}: {_HINTS.get(name, message)}, got "{_short(values[name])}"') from None

    def _find_id(self, kind: RecordKind, field: str, value: str) -> int | None:
        # Many rows name the same company; look each one up once per import.
        key = (kind, field, value.casefold())
        if key not in self._refs:
            self._refs[key] = getattr(self._crm.find(kind, field, value), "id", None)
        return self._refs[key]

    def _existing(self, fields: dict[str, Any]) -> Record | None:
        keys = self._spec.keys
        for i, name in enumerate(keys):
            if fields.get(name) is None:
                continue
            # Deal names such as "Renewal" repeat across companies: a name matches within one.
            scope = fields["company_id"] if self._kind == "deal" and name == "name" else None
            record = self._crm.find(self._kind, name, str(fields[name]), company_id=scope)
            # A weaker key may hit a record that a stronger key says is a different one.
            if record is not None and not any(
                fields.get(k) is not None and getattr(record, k) is not None
                and str(getattr(record, k)).casefold() != str(fields[k]).casefold()
                for k in keys[:i]
            ):
                return record
        return None


def _date(raw: str) -> date:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise _RowError(f'close_date: expected a date YYYY-MM-DD, got "{_short(raw)}"')


_CONVERT: Mapping[str, Callable[[str], Any]] = {
    "aliases": lambda raw: [alias.strip() for alias in raw.split(";") if alias.strip()],
    "close_date": _date, "currency": str.upper, "stage": str.lower, "lifecycle_stage": str.lower,
}


def _key(kind: RecordKind, operation: str, data: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return f"csv:{kind}:{operation}:{digest}"


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
