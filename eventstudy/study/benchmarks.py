"""Market series for a study: a listed series (``SPY``, ``^GSPC``) or an index constructed
from the data's stocks, value- or equal-weighted, minus named groups of the study.

A constructed index (one listing per issuer, ETFs never) returns on day t

.. math:: R_{I,t} = \\sum_i w_{i,t-1} R_{i,t} / \\sum_i w_{i,t-1}

over the members with a return on t and a weight on t − 1: previous-day market values for a
value-weighted index (members without a share count are left out and listed), 1 for an
equal-weighted one. Weights are renewed daily; the number of members each day is reported.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ..errors import PricesMissingError


def constructed_index(
    returns: pd.DataFrame, weights: pd.DataFrame | None, members: Sequence[str]
) -> tuple[pd.Series, pd.Series]:
    """Daily return of the index over ``members`` and how many members each day held.

    ``weights`` (dates × tickers, e.g. market values) are lagged one session; ``None`` means
    equal weights."""
    r = returns.reindex(columns=list(members))
    w = (
        pd.DataFrame(1.0, index=r.index, columns=r.columns)
        if weights is None
        else weights.reindex(index=r.index, columns=r.columns).shift(1)
    )
    use = r.notna() & w.notna() & (w > 0)
    wr = (w.where(use, 0.0) * r.where(use, 0.0)).sum(axis=1)
    total = w.where(use, 0.0).sum(axis=1)
    ret = (wr / total).where(total > 0)
    return ret.rename("index"), use.sum(axis=1).rename("n_firms")


@dataclass(frozen=True)
class ConstructedIndex:
    """How a constructed index was made: its daily return and member count (``days``), its
    members, and the stocks left out for lack of a weight (no share count)."""

    name: str
    weights: str
    excluded_groups: tuple[str, ...]
    days: pd.DataFrame
    members: tuple[str, ...]
    no_weight: tuple[str, ...]


def benchmark_returns(
    spec,
    returns: pd.DataFrame,
    mv: pd.DataFrame,
    groups: Mapping[str, Sequence[str]],
    companies: pd.DataFrame,
    primary_of: Mapping[str, str],
):
    """The daily return series of benchmark ``spec``, and for a constructed index its
    :class:`ConstructedIndex` (``None`` for a listed series)."""
    if not spec.constructed:
        if spec.ticker not in returns or returns[spec.ticker].isna().all():
            raise PricesMissingError(
                [spec.ticker],
                returns.index[0].date(),
                returns.index[-1].date(),
                why="the benchmark has no prices in the study's span",
                hint="Choose a benchmark the data cover (model.benchmark), or move the windows.",
            )
        return returns[spec.ticker], None
    out = {f for g in spec.exclude for f in groups[g]}
    stocks = companies.ticker[companies.asset_type == "stock"]
    members = [m for m in sorted({primary_of.get(t, t) for t in stocks} - out) if m in returns]
    weights, no_weight = None, []
    if spec.weights == "value":
        weights = mv
        no_weight = [m for m in members if m not in mv or mv[m].isna().all()]
        members = [m for m in members if m not in no_weight]
    ret, n = constructed_index(returns, weights, members)
    info = ConstructedIndex(
        spec.name,
        spec.weights,
        spec.exclude,
        pd.DataFrame({"ret": ret, "n_firms": n}),
        tuple(members),
        tuple(no_weight),
    )
    return ret, info
