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

import numpy as np
import pandas as pd

from .errors import PricesMissingError


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


def benchmark_returns(
    spec,
    returns: pd.DataFrame,
    mv: pd.DataFrame,
    groups: Mapping[str, Sequence[str]],
    companies: pd.DataFrame,
    primary_of: Mapping[str, str],
):
    """The daily return series of benchmark ``spec``, and (constructed only) per day its
    member count and the firms left out for lack of a weight."""
    if not spec.constructed:
        if spec.ticker not in returns or returns[spec.ticker].isna().all():
            raise PricesMissingError(
                [spec.ticker], returns.index[0].date(), returns.index[-1].date(), why="the benchmark has no prices"
            )
        return returns[spec.ticker], None
    out = {f for g in spec.exclude for f in groups[g]}
    stocks = companies.ticker[companies.asset_type == "stock"]
    members = sorted({primary_of.get(t, t) for t in stocks} - out)
    members = [m for m in members if m in returns]
    weights = mv if spec.weights == "value" else None
    if weights is not None:
        members = [m for m in members if m in mv and mv[m].notna().any()]
    ret, n = constructed_index(returns, weights, members)
    days = pd.DataFrame({"ret": ret, "n_firms": n})
    days.attrs["members"] = len(members)
    return ret.where(n > 0, np.nan), days
