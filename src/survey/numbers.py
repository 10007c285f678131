"""How every figure is printed: one function per kind of figure, used by the PDF reports, the pages and the
workbook's number formats, so that the same figure reads the same everywhere.

- a mean (a rating 1 to 7, a customer's 1 to 5): one decimal, "4.3";
- a share (CSAT%, a share favourable, a response rate): a whole number with "%", "52%";
- NPS and differences of CSAT% or NPS: whole points, "-17";
- a difference printed beside its parts is the difference of the printed parts (`difference`), so that
  "0.7 below (3.6 against 4.3)" adds up however the unrounded figures fall.

Pure: no web, no database.
"""

from __future__ import annotations

from survey.vocabulary import CSAT_PCT, outcome_decimals

MEAN_DECIMALS = 1
WHOLE_DECIMALS = 0
# The workbook's number formats, matching the decimals above.
MEAN_FORMAT, WHOLE_FORMAT, SHARE_FORMAT = "0.0", "0", "0%"


def rounded(value: float, decimals: int = MEAN_DECIMALS) -> float:
    """The value as it is printed, as a number: the parts of a printed difference."""
    return float(f"{value:.{decimals}f}")


def number(value: float | None, decimals: int = MEAN_DECIMALS) -> str:
    """A figure to `decimals` places ("4.3"); "–" for none; never "-0"."""
    if value is None:
        return "–"
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def signed(value: float, decimals: int = MEAN_DECIMALS) -> str:
    """A change with its sign: "+0.3", "-21", "0.0"."""
    return ("+" if rounded(value, decimals) > 0 else "") + number(value, decimals)


def mean_text(value: float | None) -> str:
    """A mean: "4.3"."""
    return number(value, MEAN_DECIMALS)


def percent_text(value: float | None) -> str:
    """A share held as a percentage (0 to 100): "52%"."""
    return "–" if value is None else f"{number(value, WHOLE_DECIMALS)}%"


def rate_text(fraction: float | None) -> str:
    """A response rate held as a fraction (0 to 1): "52%", never "0.52"."""
    return "–" if fraction is None else percent_text(fraction * 100)


def outcome_text(measure: str, value: float | None) -> str:
    """A customer figure: CSAT% "68%", NPS "-17", a mean "5.2"."""
    if measure == CSAT_PCT:
        return percent_text(value)
    return number(value, outcome_decimals(measure))


def difference(first: float, second: float, decimals: int = MEAN_DECIMALS) -> float:
    """`first` minus `second` as printed: the difference of the two rounded figures, so that a sentence that
    prints both and their difference adds up."""
    return rounded(rounded(first, decimals) - rounded(second, decimals), decimals)
