"""CSV downloads that a spreadsheet opens as data, never as formulas.

A cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel, Sheets
and LibreOffice as a formula (OWASP's "CSV injection"): a workspace named
`=HYPERLINK("http://evil.test","x")` would become a live link in the admin's spreadsheet.
Such text cells get a leading apostrophe, which spreadsheets show as text. Numbers are written
as they are, so a negative amount stays a number.
"""

import csv
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def csv_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> HttpResponse:
    """A CSV attachment named `filename`, every text cell made safe for spreadsheets."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow([safe_cell(cell) for cell in header])
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return response


class _Lines:
    """A file-like object whose `write` hands back the line written, for streaming."""

    def write(self, line: str) -> str:
        return line


def csv_streaming_response(
    filename: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> StreamingHttpResponse:
    """`csv_response` for exports too long to hold in memory: rows are written as they are
    produced, every text cell made safe for spreadsheets."""
    writer = csv.writer(_Lines())

    def lines() -> Iterable[str]:
        yield writer.writerow([safe_cell(cell) for cell in header])
        for row in rows:
            yield writer.writerow([safe_cell(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
