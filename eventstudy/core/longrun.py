"""Long horizons (METHODS.md §3): buy-and-hold abnormal returns with the skewness-adjusted t and
its bootstrap (Lyon, Barber & Tsai 1999), and the calendar-time portfolio regression (Jaffe 1974;
Mitchell & Stafford 2000; Fama 1998).

BHAR_i = ∏_W (1 + R_iτ) − ∏_W (1 + R_bτ), simple returns over the sessions τ1..τ2 of the window
(R_b: the study's reference, a listed series or a constructed index). A firm whose returns stop
inside the window (a delisting, the end of the data) is held to its last return and the window is
said to be short, with the sessions used; a return missing *inside* the firm's life leaves the
firm-event without a BHAR (it is never taken as zero).

Across N firm-events: S = ABHAR/s, γ̂ = Σ(BHAR − ABHAR)³/(N s³) (s with ddof 1),
t_sa = √N (S + γ̂S²/3 + γ̂/(6N)) (Johnson 1978) ~ N(0, 1), and its bootstrap (LBT 1999 as eventstudy2
does it): B = 1,000 resamples of size ⌊N/4⌋ (at least 3), each centred on the full-sample mean,
p = min(1, 2 (1 + min(#{t_b ≥ t_sa}, #{t_b ≤ t_sa})) / (1 + B)), seeded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .inference.statistic import sum_cubed, t_quantile, t_two_sided, z_two_sided
from .windows import Window

BOOTSTRAP = 1000
SEED = 19990101  # the bootstrap's resamples: the same data give the same p
MIN_PORTFOLIO = 10  # calendar-time sessions with fewer firms in the portfolio are left out (a choice)
BHAR_COLUMNS = ["event_id", "ticker", "window", "bhar", "firm_bh", "reference_bh", "sessions", "short"]
TEST_COLUMNS = ["group", "window", "test", "stat", "p", "dist", "n", "estimate", "detail"]


def ols_hc3(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OLS of ``y`` on ``x`` (its columns as given): the coefficients and their t statistics with
    MacKinnon & White's (1985) HC3 covariance, (X⁺) diag(e_i² / (1 − h_ii)²) (X⁺)ᵀ, X⁺ the
    pseudo-inverse, h_ii the leverages; statsmodels' ``OLS(y, x).fit(cov_type="HC3")``, computed
    in the same steps (its numbers to the bit), without importing it (a second of a run's start)."""
    pinv = np.linalg.pinv(x)
    beta = pinv @ y
    leverage = np.einsum("ij,ik,kj->i", x, x, pinv @ pinv.T)
    scale = ((y - x @ beta) / (1 - leverage)) ** 2
    cov = pinv @ (scale[:, None] * pinv.T)
    return beta, beta / np.sqrt(np.diag(cov))


def bhar(
    returns: pd.DataFrame, reference: pd.Series, events: pd.DataFrame, windows: Sequence[Window]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per firm-event and window, the BHAR (:data:`BHAR_COLUMNS`), and per firm-event the mean
    BHAR path: ``event_id, day, bhar`` on every session of the longest window (held after a
    firm's last return)."""
    days = returns.index
    have = np.isfinite(returns.to_numpy(dtype=float)).any(axis=1)
    data_end = int(np.flatnonzero(have).max()) if have.any() else -1  # the last session with any return
    rows, paths = [], []
    far = max(w.end for w in windows)
    first = min(w.start for w in windows)
    b = reference.reindex(days).to_numpy(dtype=float)  # the reference on the same sessions, for every event
    for ev in events.itertuples(index=False):
        if ev.ticker not in returns or ev.event_date not in days:
            continue
        pos = days.get_loc(ev.event_date)
        r = returns[ev.ticker].to_numpy(dtype=float)
        for w in windows:
            rows.append((ev.event_id, ev.ticker, w.label, *_one(r, b, pos + w.start, pos + w.end, data_end)))
        lo, hi = pos + first, min(pos + far, len(days) - 1)
        if lo >= 0 and lo <= hi:
            path = _path(r[lo : hi + 1], b[lo : hi + 1])
            paths.append(
                pd.DataFrame({"event_id": ev.event_id, "day": np.arange(first, first + len(path)), "bhar": path})
            )
    table = pd.DataFrame(rows, columns=BHAR_COLUMNS)
    path = pd.concat(paths, ignore_index=True) if paths else pd.DataFrame(columns=["event_id", "day", "bhar"])
    return table, path


def _one(r: np.ndarray, b: np.ndarray, lo: int, hi: int, data_end: int) -> tuple:
    """BHAR over positions lo..hi: the firm's returns to its last one inside the window
    (``data_end``: the last session of the data, any series)."""
    if lo < 0:
        return np.nan, np.nan, np.nan, 0, "the window starts before the data"
    end = min(hi, len(r) - 1)
    firm = r[lo : end + 1]
    have = np.flatnonzero(np.isfinite(firm))
    if not len(have):
        return np.nan, np.nan, np.nan, 0, "no return in the window"
    last = have[-1]
    gaps = int((~np.isfinite(firm[: last + 1])).sum())
    if gaps:
        return np.nan, np.nan, np.nan, int(last + 1), f"{gaps} missing return(s) inside the window: no BHAR"
    ref = b[lo : lo + last + 1]
    if not np.isfinite(ref).all():
        return np.nan, np.nan, np.nan, int(last + 1), "the reference has a missing return in the window"
    firm_bh, ref_bh = np.prod(1 + firm[: last + 1]) - 1, np.prod(1 + ref) - 1
    sessions = int(last + 1)
    short = ""
    if sessions < hi - lo + 1:
        short = "the data end" if lo + last >= data_end else "the firm's returns stop (a delisting?)"
        short = f"{short}: {sessions} of {hi - lo + 1} sessions"
    return firm_bh - ref_bh, firm_bh, ref_bh, sessions, short


def _path(r: np.ndarray, b: np.ndarray) -> np.ndarray:
    """BHAR from the window's first session to each later one; NaN after a gap in either."""
    ok = np.isfinite(r) & np.isfinite(b)
    broken = np.cumsum(~ok) > 0
    firm, ref = np.cumprod(np.where(ok, 1 + r, 1.0)) - 1, np.cumprod(np.where(ok, 1 + b, 1.0)) - 1
    return np.where(broken, np.nan, firm - ref)


def skewness_adjusted(x: np.ndarray) -> tuple[float, float, float]:
    """(t_sa, γ̂, S) of Johnson (1978) as Lyon, Barber & Tsai (1999) use it."""
    n, s, mean = len(x), x.std(ddof=1), x.mean()
    big_s, gamma = mean / s, sum_cubed(x - mean) / (n * s**3)
    return float(np.sqrt(n) * (big_s + gamma * big_s**2 / 3 + gamma / (6 * n))), float(gamma), float(big_s)


def bootstrap_p(x: np.ndarray, t_sa: float, draws: int = BOOTSTRAP, seed: int = SEED) -> float:
    """LBT's bootstrapped two-sided p of t_sa (module docstring)."""
    n = len(x)
    size = max(n // 4, 3)
    rng = np.random.default_rng(seed)
    sample = x[rng.integers(0, n, (draws, size))]
    s_b = sample.std(axis=1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        big_s = (sample.mean(axis=1) - x.mean()) / s_b
        gamma = sum_cubed(sample - sample.mean(axis=1, keepdims=True), axis=1) / (size * s_b**3)
        t_b = np.sqrt(size) * (big_s + gamma * big_s**2 / 3 + gamma / (6 * size))
    t_b = t_b[np.isfinite(t_b)]
    tail = min(int((t_b >= t_sa).sum()), int((t_b <= t_sa).sum()))
    return float(min(1.0, 2 * (1 + tail) / (1 + len(t_b))))


def bhar_tests(table: pd.DataFrame, groups: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Per group and window: the cross-sectional t, the skewness-adjusted t and its bootstrap."""
    rows = []
    for group, ids in groups.items():
        for window, part in table[table.event_id.isin(set(ids))].groupby("window", sort=False):
            x = part.bhar.dropna().to_numpy()
            n = len(x)
            if n < 3 or not x.std(ddof=1) > 0:
                rows.append((group, window, "skewness-adjusted-t", np.nan, np.nan, "", n, np.nan, "fewer than 3 BHARs"))
                continue
            t = x.mean() / (x.std(ddof=1) / np.sqrt(n))
            rows.append((group, window, "bhar-t", t, t_two_sided(t, n - 1), f"t({n - 1})", n, x.mean(), ""))
            t_sa, gamma, _ = skewness_adjusted(x)
            p_b = bootstrap_p(x, t_sa)
            detail = f"γ̂ = {gamma:.3f}; {BOOTSTRAP} resamples of {max(n // 4, 3)}, seed {SEED}"
            rows.append(
                (
                    group,
                    window,
                    "skewness-adjusted-t",
                    t_sa,
                    z_two_sided(t_sa),
                    "N(0,1)",
                    n,
                    x.mean(),
                    detail,
                )
            )
            rows.append((group, window, "skewness-adjusted-bootstrap", t_sa, p_b, "bootstrap", n, x.mean(), detail))
    return pd.DataFrame(rows, columns=TEST_COLUMNS)


@dataclass(frozen=True)
class CalendarTime:
    """A calendar-time portfolio regression: the intercept, its HC3 t, the sessions used, and the
    portfolio's mean and smallest number of firms."""

    alpha: float
    t: float
    p: float
    sessions: int
    mean_firms: float
    min_firms: int


def calendar_time(
    returns: pd.DataFrame,
    events: pd.DataFrame,
    window: Window,
    factors: pd.DataFrame,
    columns: Sequence[str],
    weights: pd.DataFrame | None = None,
    min_firms: int = MIN_PORTFOLIO,
) -> CalendarTime | None:
    """R_pt − rf = a + b′f_t + e_t over the sessions whose portfolio (the events whose ``window``
    holds the session; equal weights, or ``weights``: each firm's market value the session
    before) has at least ``min_firms`` firms; ``factors`` in decimals with ``rf``. None when fewer
    than K + 3 sessions remain."""
    days = returns.index
    member = np.zeros((len(days), returns.shape[1]), bool)
    col = {t: j for j, t in enumerate(returns.columns)}
    for ev in events.itertuples(index=False):
        if ev.ticker in col and ev.event_date in days:
            pos = days.get_loc(ev.event_date)
            member[max(pos + window.start, 0) : max(pos + window.end + 1, 0), col[ev.ticker]] = True
    r = returns.to_numpy(dtype=float)
    held = member & np.isfinite(r)
    if weights is None:
        w = np.where(held, 1.0, 0.0)
    else:
        prior = weights.reindex(index=days, columns=returns.columns).shift(1).to_numpy(dtype=float)
        w = np.where(held, prior, 0.0)
    w = np.where(np.isfinite(w), w, 0.0)
    total = w.sum(axis=1)
    count = held.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rp = (np.where(held, r, 0.0) * w).sum(axis=1) / total
    f = factors.reindex(days)
    keep = (count >= min_firms) & (total > 0) & f[list(columns) + ["rf"]].notna().all(axis=1).to_numpy()
    if keep.sum() < len(columns) + 3:
        return None
    y = rp[keep] - f.rf.to_numpy()[keep]
    x = np.column_stack([np.ones(len(y)), f[list(columns)].to_numpy()[keep]])
    alpha, t = ols_hc3(y, x)
    return CalendarTime(
        float(alpha[0]),
        float(t[0]),
        float(z_two_sided(t[0])),
        int(keep.sum()),
        float(count[keep].mean()),
        int(count[keep].min()),
    )


@dataclass(frozen=True)
class LongRun:
    """A long-horizon study: ``bhar`` (:data:`BHAR_COLUMNS`), ``tests`` (:data:`TEST_COLUMNS`:
    the BHAR tests and the calendar-time alphas), ``path`` (``group, day, bhar, lo, hi, n``: the
    mean BHAR from the window's start to each session, with its 95 % interval) and the reference."""

    bhar: pd.DataFrame
    tests: pd.DataFrame
    path: pd.DataFrame
    reference: str
    calendar_model: str = ""  # ff3 | carhart: the factors of the calendar-time regressions ("" none)


def mean_path(paths: pd.DataFrame, groups: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Each group's mean BHAR path with a t interval (the firms' own dispersion, each session)."""
    frames = []
    for group, ids in groups.items():
        part = paths[paths.event_id.isin(set(ids))].dropna(subset=["bhar"])
        agg = part.groupby("day", sort=True).bhar.agg(["mean", "std", "count"])
        n = agg["count"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            half = np.where(n > 1, t_quantile(0.975, np.maximum(n - 1, 1)) * agg["std"] / np.sqrt(n), np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "group": group,
                    "day": agg.index,
                    "bhar": agg["mean"],
                    "lo": agg["mean"] - half,
                    "hi": agg["mean"] + half,
                    "n": n,
                }
            )  # fmt: skip
        )
    columns = ["group", "day", "bhar", "lo", "hi", "n"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def calendar_rows(
    group: str, window: Window, fits: Mapping[str, CalendarTime | None], model: str, min_firms: int
) -> list[tuple]:
    """The tests-table rows of the calendar-time regressions (equal and value weights)."""
    rows = []
    for weights, fit in fits.items():
        name = f"calendar-time-{weights}"
        if fit is None:
            why = f"too few sessions with at least {min_firms} firms in the portfolio (lower [long] min_firms)"
            rows.append((group, window.label, name, np.nan, np.nan, "", 0, np.nan, why))
            continue
        detail = (
            f"{model}, HC3; alpha per session; {fit.sessions} sessions, {fit.mean_firms:.1f} firms on average "
            f"(at least {fit.min_firms})"
        )
        rows.append((group, window.label, name, fit.t, fit.p, "N(0,1)", fit.sessions, fit.alpha, detail))
    return rows
