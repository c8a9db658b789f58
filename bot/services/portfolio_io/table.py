"""Spreadsheet files as a table of text cells: CSV (UTF-8, with or without a BOM, comma or semicolon) and XLSX.

Every cell reads as text, named by its column, with the line (CSV) or row (XLSX) it starts on, so that each
problem can be reported as `FILE:LINE: column: what is wrong`.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from bot.services.portfolio_io.columns import COLUMN_NAMES, REQUIRED, header_name

FORMATS = ("csv", "xlsx")
# A cell starting with one of these is a formula to Excel and LibreOffice. An export writes such a text after an
# apostrophe, so that opening the file never runs what someone typed into a title (CSV injection); an import drops
# that apostrophe again.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Problem:
    line: int
    column: str
    message: str

    def describe(self, filename: str) -> str:
        return f"{filename}:{self.line}: {self.column}: {self.message}"


class ImportFileError(Exception):
    """The file cannot be read as a table, or its header is wrong: nothing in it was checked further."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class SourceRow:
    line: int
    cells: Mapping[str, str]  # column name -> the cell's text; a column the file lacks is absent


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    rows: tuple[SourceRow, ...]


def file_format(filename: str) -> str:
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix not in FORMATS:
        raise ImportFileError([Problem(1, "file", "only .csv and .xlsx files can be imported; in Excel, save as "
                                                  "'CSV UTF-8' or 'Excel Workbook (.xlsx)'")])
    return suffix


def read_table(filename: str, content: bytes) -> Table:
    """The file's rows under its header; blank rows are skipped."""
    lines = _xlsx_lines(content) if file_format(filename) == "xlsx" else _csv_lines(content)
    try:
        header_line, header = next(lines)
    except StopIteration:
        raise ImportFileError([Problem(1, "file", "the file is empty; its first line names the columns, "
                                                  "for example title,stage,business_owner")]) from None
    columns = _columns(header_line, header)
    rows = []
    problems = []
    for line, cells in lines:
        if not any(cell.strip() for cell in cells):
            continue
        extra = [cell for cell in cells[len(columns):] if cell.strip()]
        if extra:
            problems.append(Problem(line, "row", f"{len(columns) + len(extra)} cells, but the header names only "
                                                 f"{len(columns)} columns"))
            continue
        rows.append(SourceRow(line, {name: cell for name, cell in zip(columns, cells, strict=False) if name}))
    if problems:
        raise ImportFileError(problems)
    return Table(columns=tuple(name for name in columns if name), rows=tuple(rows))


def _columns(line: int, header: list[str]) -> list[str]:
    names = [header_name(cell) for cell in header]
    while names and not names[-1]:
        names.pop()  # Excel writes the separators of empty trailing columns
    problems = []
    unknown = [name for name in names if name and name not in COLUMN_NAMES]
    if unknown:
        problems.append(Problem(line, "header", f"unknown column(s) {', '.join(unknown)}; the columns are "
                                                f"{', '.join(COLUMN_NAMES)}"))
    if "" in names:
        problems.append(Problem(line, "header", f"column {names.index('') + 1} has no name"))
    repeated = sorted({name for name in names if name and names.count(name) > 1})
    if repeated:
        problems.append(Problem(line, "header", f"column(s) {', '.join(repeated)} appear more than once"))
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        problems.append(Problem(line, "header", f"no {', '.join(missing)} column; the first line names the "
                                                f"columns, for example title,stage,business_owner"))
    if problems:
        raise ImportFileError(problems)
    return names


def _csv_lines(content: bytes) -> Iterator[tuple[int, list[str]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise ImportFileError([Problem(line, "file", "not UTF-8 text; in Excel, save as 'CSV UTF-8'")]) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    while True:
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError([Problem(line, "file", f"not a CSV line ({exc})")]) from None
        yield line, [_without_formula_guard(cell) for cell in cells]


def _delimiter(text: str) -> str:
    """Excel writes semicolons where the decimal separator is a comma: the header line tells which it is."""
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _without_formula_guard(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(_FORMULA_STARTS) else cell


def _xlsx_lines(content: bytes) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError):
        raise ImportFileError([Problem(1, "file", "not an Excel workbook (.xlsx)")]) from None
    try:
        sheet = workbook.worksheets[0]
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, [_cell_text(value) for value in values]
    finally:
        workbook.close()


def _cell_text(value: object) -> str:
    """A cell as the text a person sees in it: whole numbers without `.0`, dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_csv(columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> bytes:
    """UTF-8 with a BOM (without one Excel reads it in the machine's code page), commas, CRLF."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_with_formula_guard(row.get(name, "")) for name in columns])
    return out.getvalue().encode("utf-8-sig")


def _with_formula_guard(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def write_xlsx(columns: Sequence[str], rows: Iterable[Mapping[str, str]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=False)
    sheet = workbook.active
    sheet.title = "Initiatives"
    sheet.append(list(columns))
    for row in rows:
        sheet.append([row.get(name, "") for name in columns])
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if cell.data_type == "f":
                cell.data_type = "s"  # text someone typed, never a formula (see _FORMULA_STARTS)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
