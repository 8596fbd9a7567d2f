"""Cells for CSV files that people open in a spreadsheet.

A cell starting with = + - @ runs as a formula in Excel and its kin, and some of them drop a
leading tab or carriage return first. Anything people typed (names, titles, addresses, an
imported row) gets a leading apostrophe then, so it shows as text.
"""

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
