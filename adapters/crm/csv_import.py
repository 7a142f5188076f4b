"""Import companies, contacts or deals from a CSV file into any CrmAdapter.

The whole file is parsed before anything is written, so a file-level problem (encoding, header,
broken quoting) raises CsvFormatError and leaves the CRM untouched. Each data row then becomes a
create, an update, nothing (unchanged) or a row error; one bad row never stops the others.

Re-running a file is safe: rows are matched to existing records by natural key, only differing
fields are written, and idempotency keys are derived from the row content, so an import that was
interrupted half-way and started again does not create records twice.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from adapters.crm.base import ConflictError, CrmAdapter, CrmError, DealFilter, Record, RecordKind
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
    keys: tuple[str, ...]  # natural key fields, strongest first


_SPECS: Mapping[str, _Spec] = {
    "companies": _Spec(
        "company",
        ("external_id", "name", "domain", "industry", "employees", "country", "phone", "owner"),
        ("name",), ("external_id", "domain", "name"),
    ),
    "contacts": _Spec(
        "contact",
        ("external_id", "first_name", "last_name", "email", "phone", "title", "company", "aliases",
         "lifecycle_stage", "lead_source", "owner"),
        ("first_name", "last_name"), ("external_id", "email"),
    ),
    "deals": _Spec(
        "deal",
        ("external_id", "name", "company", "contact_email", "stage", "amount", "currency",
         "close_date", "owner"),
        ("name", "company", "amount"), ("external_id", "name"),
    ),
}

# pydantic's own wording for these is a regex or a parser detail; say what a user should type.
_HINTS = {
    "domain": "expected a domain like example.com",
    "employees": "expected a whole number of 0 or more like 250",
    "amount": "expected an amount of 0 or more like 1234.50 (dot for decimals, at most 2)",
    "currency": "expected a 3-letter currency code like EUR",
}


class _RowError(Exception):
    pass


def import_csv(crm: CrmAdapter, path: Path, kind: str) -> ImportReport:
    """Import path as records of kind ("companies", "contacts" or "deals") into crm.

    Raises CsvFormatError for file-level problems; row problems are returned in the report.
    """
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
        raise CsvFormatError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save it as CSV UTF-8"
        ) from None
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
    names = _header(rows[0][1], spec, expected)
    return [(line, _values(names, cells)) for line, cells in rows[1:]]


def _header(cells: list[str], spec: _Spec, expected: str) -> list[str]:
    names = [cell.strip().lower() for cell in cells]
    for cell, name in zip(cells, names):
        if name and name not in spec.columns:
            hint = "; columns must be separated by commas" if re.search(r"[;\t|]", name) else ""
            raise CsvFormatError(f'unknown column "{cell.strip()}" ({expected}){hint}')
        if name and names.count(name) > 1:
            raise CsvFormatError(f'column "{name}" appears more than once in the header')
    missing = [name for name in spec.required if name not in names]
    if missing:
        quoted = ", ".join(f'"{name}"' for name in missing)
        raise CsvFormatError(f"missing required column {quoted} (required: {', '.join(spec.required)})")
    return names


def _values(names: list[str], cells: list[str]) -> dict[str, str] | str:
    values = {}
    for i, cell in enumerate(cells):
        if not cell.strip():
            continue
        if i >= len(names) or not names[i]:
            # A value under no column name would otherwise be dropped without anyone noticing.
            return f'cell {i + 1} ("{_short(cell)}") is not under a named column; remove it or name the column'
        values[names[i]] = cell.strip()
    return values


class _Importer:
    """Imports the rows of one file; holds what this run has seen to catch duplicates."""

    def __init__(self, crm: CrmAdapter, spec: _Spec) -> None:
        self._crm, self._spec, self._kind = crm, spec, spec.kind
        self._keys: dict[tuple[Any, ...], int] = {}
        self._records: dict[int, int] = {}
        self._refs: dict[tuple[str, str], int] = {}

    def run(self, rows: list[tuple[int, dict[str, str] | str]]) -> ImportReport:
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        errors: list[tuple[int, str]] = []
        for line, values in rows:
            try:
                if isinstance(values, str):
                    raise _RowError(values)
                counts[self._row(line, values)] += 1
            except _RowError as exc:
                errors.append((line, str(exc)))
            except ConflictError as exc:
                errors.append((line, f"{exc}: changed by someone else during the import; run it again"))
            except CrmError as exc:
                errors.append((line, " ".join(str(exc).split())))
        return ImportReport(**counts, errors=tuple(errors))

    def _row(self, line: int, values: dict[str, str]) -> str:
        key = self._file_key(values)
        if key in self._keys:
            raise _RowError(f"duplicate of line {self._keys[key]}")
        self._keys[key] = line
        missing = [name for name in self._spec.required if name not in values]
        if missing:
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
        changes = {name: value for name, value in fields.items() if _differs(getattr(record, name), value)}
        if not changes:
            return "unchanged"
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
        if record_id in self._records:
            raise _RowError(f"duplicate of line {self._records[record_id]} (same {self._kind})")
        self._records[record_id] = line

    def _validated(self, values: dict[str, str]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name, raw in values.items():
            if name == "company":
                fields["company_id"] = self._company_id(raw)
            elif name == "contact_email":
                fields["contact_id"] = self._reference("contact", "email", raw, "contact_email")
            elif name == "aliases":
                fields[name] = [alias.strip() for alias in raw.split(";") if alias.strip()]
            elif name == "close_date":
                fields[name] = _date(raw)
            elif name in ("stage", "lifecycle_stage"):
                fields[name] = raw.lower()
            elif name == "currency":
                fields[name] = raw.upper()
            else:
                fields[name] = raw
        try:
            return validate_fields(self._kind, fields, create=False)
        except CrmError as exc:
            name, _, message = str(exc).partition(": ")
            if name not in values:
                raise _RowError(str(exc)) from None
            raise _RowError(f'{name}: {_HINTS.get(name, message)}, got "{_short(values[name])}"') from None

    def _company_id(self, ref: str) -> int:
        for field in ("external_id", "domain", "name"):
            if (found := self._reference("company", field, ref, None)) is not None:
                return found
        raise _RowError(f'company: no company matches "{_short(ref)}" (by external_id, domain or name)')

    def _reference(self, kind: RecordKind, field: str, value: str, column: str | None) -> Any:
        # Many rows name the same company; look each one up once per import.
        if (kind + field, value.casefold()) not in self._refs:
            record = self._crm.find(kind, field, value)
            if record is None and column:
                raise _RowError(f'{column}: no {kind} has {field} "{_short(value)}"')
            if record is None:
                return None
            self._refs[(kind + field, value.casefold())] = record.id
        return self._refs[(kind + field, value.casefold())]

    def _existing(self, fields: dict[str, Any]) -> Record | None:
        keys = self._spec.keys
        for i, name in enumerate(keys):
            if fields.get(name) is None:
                continue
            record = self._crm.find(self._kind, name, str(fields[name]))
            if self._kind == "deal" and name == "name" and (record is None or record.company_id != fields["company_id"]):
                record = self._deal_in_company(fields["company_id"], fields["name"])
            # A weaker key may hit a record that a stronger key says is a different one.
            if record is not None and not any(
                fields.get(k) is not None and getattr(record, k) is not None
                and str(getattr(record, k)).casefold() != str(fields[k]).casefold()
                for k in keys[:i]
            ):
                return record
        return None

    def _deal_in_company(self, company_id: int, name: str) -> Record | None:
        # find() returns one deal per name; names such as "Renewal" repeat across companies.
        deals = self._crm.list_deals(DealFilter(company_id=company_id), limit=500)
        return next((d for d in deals if d.name.casefold() == name.casefold()), None)


def _date(raw: str) -> date:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise _RowError(f'close_date: expected a date YYYY-MM-DD, got "{_short(raw)}"')


def _differs(current: Any, new: Any) -> bool:
    return current != (tuple(new) if isinstance(new, list) else new)


def _key(kind: RecordKind, operation: str, data: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return f"csv:{kind}:{operation}:{digest}"


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
