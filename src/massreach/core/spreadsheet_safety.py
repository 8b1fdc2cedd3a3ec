"""Cells that are safe to open in Excel, LibreOffice and Google Sheets.

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return can
be run as a formula (CSV injection). Such a cell gets a leading apostrophe, which
spreadsheets show as text; nothing else changes.
"""

from __future__ import annotations

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: str) -> str:
    """``value`` neutralised so a spreadsheet never evaluates it."""
    if value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value
