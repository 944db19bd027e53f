"""One hierarchy of specific errors: each says what happened, why, and what to do next."""

from __future__ import annotations

from collections.abc import Sequence


def first_few(items: Sequence[object], shown: int, sep: str = ", ") -> str:
    """The first ``shown`` of ``items`` named, and how many more: "a, b, c and 4 more"."""
    named = sep.join(str(x) for x in items[:shown])
    return named + (f" and {len(items) - shown} more" if len(items) > shown else "")


class EventStudyError(Exception):
    """Root of every error the toolkit raises on purpose."""


class DataError(EventStudyError):
    """Prices, share counts or factors could not be obtained or trusted."""


class PricesMissingError(DataError):
    """A source returned no rows for some tickers; ``reason`` is the message without the
    tickers (the same for every ticker that failed alike, so a list of failures groups them)."""

    def __init__(self, tickers: list[str], start: object, end: object, why: str = "", hint: str | None = None) -> None:
        self.tickers = list(tickers)
        why = why or "the source returned an empty frame (unknown or delisted ticker, or no network)"
        hint = (
            "Check the ticker spelling, or run offline from the committed snapshot (--offline)."
            if hint is None
            else hint
        )
        self.why, self.hint = why, hint
        self.reason = f"no prices between {start} and {end}: {why}. {hint}".rstrip()
        super().__init__(f"no prices for {', '.join(self.tickers)} between {start} and {end}: {why}. {hint}".rstrip())


class NoNetworkError(PricesMissingError):
    """The source could not be reached at all (no network): asking it for the other tickers
    would only fail the same way, so a load stops asking (:meth:`again` says so for each)."""

    def again(self, ticker: str, start: object, end: object) -> NoNetworkError:
        """The same failure for ``ticker`` over ``[start, end]``, without asking the source."""
        return NoNetworkError([ticker], start, end, why=self.why, hint=self.hint)


class DownloadError(DataError):
    """A download failed after its retries."""


class RateLimitError(DownloadError):
    """The source kept rate-limiting us after the bounded retries."""


class CacheCorruptError(DataError):
    """A cached or snapshot file cannot be read, or does not hold what its record says;
    ``why`` says what is wrong, ``hint`` what to do (the loader says what it did instead)."""

    def __init__(self, path: object, why: str, hint: str = "") -> None:
        self.path, self.why = path, why
        super().__init__(f"{path} is corrupt: {why}" + (f". {hint}" if hint else ""))


class ChecksumError(CacheCorruptError):
    """A snapshot file's sha256 differs from its MANIFEST line."""


class DataFileError(DataError):
    """A user's data file (``[data]`` of a study) cannot be read or used: the message names the
    file, and the column and row where there is one, and what to do."""

    def __init__(self, path: object, why: str, column: str = "", row: str = "") -> None:
        self.path, self.why, self.column, self.row = path, why, column, row
        where = ", ".join(x for x in (f"column {column}" if column else "", row) if x)
        super().__init__(f"{path}{f' ({where})' if where else ''}: {why}")


class CalendarError(EventStudyError):
    """An event date outside the sessions the data or the exchange calendar can serve."""


class StudyFileError(EventStudyError):
    """A study definition is missing a field, or fields have bad values: ``problems`` lists
    every (field, why), each line of the message names the file and the field."""

    def __init__(self, path: object, field: str | list[tuple[str, str]], why: str = "") -> None:
        self.path = path
        self.problems = [(field, why)] if isinstance(field, str) else list(field)
        self.field = self.problems[0][0]
        # "(file)", "(syntax)": the file as a whole, not one of its fields
        lines = [f"{path}: {w}" if f.startswith("(") else f"{path}: field '{f}': {w}" for f, w in self.problems]
        head = [f"{len(lines)} problems in {path}:"] if len(lines) > 1 else []
        super().__init__("\n".join(head + lines))


class NoFirmsLeftError(EventStudyError):
    """Every firm of a study was excluded."""

    def __init__(self, excluded: dict[str, str], note: str = "") -> None:
        self.excluded = {str(k): str(v) for k, v in excluded.items()}
        by_reason: dict[str, list[str]] = {}
        for t, why in sorted(self.excluded.items()):
            by_reason.setdefault(why, []).append(t)
        lines = "; ".join(
            f"{first_few(ts, 6)}: {why}" for why, ts in sorted(by_reason.items(), key=lambda kv: -len(kv[1]))
        )
        head = f"no firm is left to study, every one was excluded{f' ({note})' if note else ''}"
        super().__init__(f"{head}: {lines}")


class PlaceboError(EventStudyError):
    """The data allow no pseudo-event: no placebo can be drawn."""
