"""CSV for spreadsheets: cells that a spreadsheet would run as formulas are kept as text."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from typing import BinaryIO

# OWASP "CSV injection": a cell starting with one of these is a formula (or DDE) in Excel,
# LibreOffice and Google Sheets. A line feed is quoted like a carriage return, NUL as OWASP ASVS
# 1.2.10 asks, and the full-width forms too: East Asian Excel may turn them into their ASCII
# twins, and a quote in front of a harmless cell costs only a character.
FORMULA_STARTS = (
    "=",
    "+",
    "-",
    "@",
    "\t",
    "\r",
    "\n",
    "\0",
    "\uff1d",
    "\uff0b",
    "\uff0d",
    "\uff20",
)


def spreadsheet_safe(value: object) -> object:
    """``value``, with a ``'`` in front when it is text a spreadsheet would run as a formula."""
    if not isinstance(value, str) or not value:
        return value
    # Spreadsheets skip leading blanks (a space, a non-breaking space) before they look for a
    # formula, so every kind of white space in front is skipped here too.
    if value.startswith(FORMULA_STARTS) or value.lstrip().startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(
    output: BinaryIO, *, columns: list[str], rows: Iterable[Mapping[str, object]]
) -> None:
    """Write ``rows`` as UTF-8 CSV with a BOM (so Excel reads æøå), every cell made safe."""
    text = io.TextIOWrapper(output, encoding="utf-8-sig", newline="")
    try:
        writer = csv.DictWriter(text, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({column: spreadsheet_safe(row.get(column)) for column in columns})
        text.flush()
    finally:
        # The stream belongs to the caller; detaching keeps the wrapper from closing it.
        text.detach()
