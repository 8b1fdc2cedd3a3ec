"""Downloads of an import plan: succeeded, failed and duplicate rows, or the original file.

Row files are CSV in UTF-8 with a BOM (Excel opens them correctly), with the
original columns plus the row number and the reason. Every cell that a spreadsheet
could read as a formula is neutralised.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from massreach.core.normalize import is_blank
from massreach.core.spreadsheet_safety import safe_cell
from massreach.errors import InvalidInput
from massreach.model import ImportOptions, ImportPlan, RowResult

if TYPE_CHECKING:
    from massreach.services.imports import ImportService

EXPORTS = ("succeeded", "failed", "duplicates", "original")
_OUTCOME = {"failed": "failed", "duplicates": "duplicate"}


def export_plan(service: ImportService, plan: ImportPlan, which: str, destination: Path) -> int:
    """Write one of :data:`EXPORTS` for ``plan`` to ``destination``; returns rows written."""
    if which not in EXPORTS:
        raise InvalidInput(
            f"unknown export {which!r}; choose one of {', '.join(EXPORTS)}",
            code="plan.unknown_export",
            details={"export": which},
        )
    storage = service.storage
    if which == "original":
        with storage.plan_file(plan.id) as source:
            shutil.copyfile(source, destination)
        return 0
    # read the stored file again exactly as the run read it
    options = ImportOptions(
        kind=plan.options.kind,
        encoding=plan.encoding or plan.options.encoding,
        delimiter=plan.delimiter or plan.options.delimiter,
        sheet=plan.options.sheet,
        skip_rows=plan.options.skip_rows,
        has_header=plan.options.has_header,
    )
    written = 0
    with (
        storage.plan_file(plan.id) as source,
        service._open(source, options, plan.file_name) as table,
        destination.open("w", encoding="utf-8-sig", newline="") as out,
    ):
        layout = service._layout(table, options, plan.mapping, plan.file_name)
        writer = csv.writer(out)
        extra = ["row"] if which == "succeeded" else ["row", "reason_code", "column", "reason"]
        writer.writerow([safe_cell(h) for h in layout.mapping.headers] + extra)
        width = len(layout.mapping.headers)
        results = _results(service, plan.id, _OUTCOME.get(which))
        pending = next(results, None)
        for number, cells in table.rows(start=layout.header_row + 1):
            if number <= layout.header_row or number > plan.cursor or is_blank(cells):
                continue
            while pending is not None and pending.row < number:
                pending = next(results, None)
            matched = pending is not None and pending.row == number
            if which == "succeeded":
                if matched:
                    continue
                writer.writerow(_aligned(cells, width, [str(number)]))
                written += 1
            elif matched and pending is not None:
                reason = [
                    str(number),
                    pending.code,
                    safe_cell(pending.column or ""),
                    safe_cell(pending.message),
                ]
                writer.writerow(_aligned(cells, width, reason))
                written += 1
    return written


def _aligned(cells: list[str], width: int, extra: list[str]) -> list[str]:
    """A row of the export: the file's cells under their headers (a short row
    padded), then ``extra``, then any cells beyond the headers (a misaligned row
    keeps them all, after its reason)."""
    safe = [safe_cell(c) for c in cells]
    padding = [""] * (width - len(safe))
    return safe[:width] + padding + extra + safe[width:]


def _results(service: ImportService, plan_id: int, outcome: str | None) -> Iterator[RowResult]:
    """Row results in row order, paged (``None`` = failed and duplicate rows alike)."""
    after = 0
    while True:
        page = service.storage.row_results(plan_id, outcome=outcome, after_row=after, limit=1000)
        yield from page
        if len(page) < 1000:
            return
        after = page[-1].row
