"""From a study's groups to firms: ETFs never, one firm per issuer, unknown tickers named."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from .spec import GroupSpec


def primary_listing(companies: pd.DataFrame, shares: pd.DataFrame) -> dict[str, str]:
    """Each listed ticker → the ticker that stands for its issuer: the one the filings table
    keys the issuer by (GOOG → GOOGL), else the first alphabetically."""
    filed = set(shares.ticker)
    out = {}
    for _, tickers in companies.groupby("issuer").ticker:
        ts = sorted(tickers)
        primary = next((t for t in ts if t in filed), ts[0])
        out.update(dict.fromkeys(ts, primary))
    return out


def resolve_groups(
    specs: Mapping[str, GroupSpec],
    companies: pd.DataFrame,
    tables: Mapping[str, pd.DataFrame],
    primary_of: Mapping[str, str],
    known: set[str] | None,
) -> tuple[dict[str, tuple[str, ...]], dict[str, str], dict[str, tuple[str, ...]]]:
    """Group name → firms (sorted, no duplicates), ticker → reason for every ticker left out, and
    group name → every member the study names (the firms and the unknown tickers; ETFs are
    never members). ``known`` (the tickers the offline data hold: snapshot and cache) marks the
    others unknown; ``None`` lets every ticker through to the download, which reports the ones
    it cannot find."""
    kind = companies.set_index("ticker").asset_type
    raw: dict[str, list[str]] = {}

    def members(name: str) -> list[str]:
        if name not in raw:
            spec = specs[name]
            ts = list(spec.tickers) + [t for g in spec.union for t in members(g)]
            if spec.from_table:
                ts += list(tables[spec.from_table].ticker)
            if spec.within:
                inside = {primary_of.get(t, t) for t in members(spec.within)}
                ts = [t for t in ts if primary_of.get(t, t) in inside]
            raw[name] = ts
        return raw[name]

    left_out: dict[str, str] = {}
    groups, named = {}, {}
    for name in sorted(specs):  # one order whatever the study file's: outputs do not depend on it
        firms, unknown = set(), set()
        for t in members(name):
            if kind.get(t) == "etf":
                left_out[t] = "an ETF, never a firm"
            elif known is not None and t not in known and t not in kind.index:
                left_out[t] = (
                    "unknown ticker offline: not in the company list, the snapshot or the cache "
                    "(run online to look it up)"
                )
                unknown.add(t)
            else:
                firms.add(primary_of.get(t, t))
        groups[name] = tuple(sorted(firms))
        named[name] = tuple(sorted(firms | unknown))
    return groups, left_out, named
