"""What a test reads and returns: a group's firm-events with a CAR in one window (Sample, or any
Summary of them: the streaming core's sums are one), and the statistic or the reason it could
not be computed."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from ..._typing import BoolArray, Float64Array
from .rank import column_mean, ranked_sars, standardized_ranks
from .rbar import calendar_residuals, group_rbar, overlap_estimate, overlap_rbar


@dataclass(frozen=True)
class Sample:
    """One group's firm-events with a CAR in one window.

    ``car``, ``scar``, ``dof`` (L_i − K) are per firm; ``ar`` (n × G) holds ARs on every
    relative day (residuals in the estimation window), ``est`` marks valid estimation days,
    ``window`` the window's days on the grid, ``rbar`` the mean pairwise correlation of the
    estimation residuals on common calendar days; :meth:`build` computes it and the daily means
    from the days' session ``dates`` (n × G, or 1 × G when all firms share one event date).
    ``days``, when given, labels the G columns with their days relative to the event.
    """

    car: Float64Array
    scar: Float64Array
    dof: np.ndarray
    ar: Float64Array
    est: BoolArray
    window: BoolArray
    rbar: float
    ar_p: Float64Array
    ubar: Float64Array
    positive_share: Float64Array
    days: np.ndarray | None = None
    positions: np.ndarray | None = None
    sigma: Float64Array | None = None
    overlap: Float64Array | None = None
    sar_ranks: tuple[Float64Array, Float64Array] | None = None
    rbar_method: str = ""  # how r̄ was computed when not pairwise over common days
    overlap_n: int = 0  # the firm-events ``overlap`` sums over (the group's, for every window)

    @classmethod
    def build(
        cls,
        car,
        scar,
        dof,
        ar,
        est,
        window,
        dates,
        ranks=None,
        days=None,
        positions=None,
        sigma=None,
        span=None,
        rbar: tuple[float, str] | None = None,
        overlap: tuple[Float64Array, int, str] | None = None,
    ) -> Sample:
        """A sample with its window-independent parts computed once: r̄, the group's mean AR
        on each day (AR_pt), the mean standardized rank on each day (Ū_t), and each firm's share
        of estimation days with a positive AR. ``ranks``, each firm's :func:`standardized_ranks`,
        are computed here unless given (they depend on the firm alone, not on the group).

        ``positions`` (each event's session in calendar time) and ``sigma`` (σ̂_i) serve the
        tests of events on different dates: when the positions differ, r̄ is the
        overlap-weighted r̄_eff of :func:`overlap_sums` over the pairs whose windows (at most
        ``span`` sessions long) can meet. On one date, ``rbar`` (value, method) is the group's
        r̄ when the caller has it (computed once for all windows), else :func:`group_rbar`; on
        different dates ``overlap`` (the :func:`overlap_sums` and how many firm-events they
        sum over, and how the sums were made) likewise."""
        ar, est = np.asarray(ar, float), np.asarray(est, bool)
        ranks = standardized_ranks(ar) if ranks is None else np.asarray(ranks, float)
        given, overlap, overlap_n, method = overlap, None, 0, ""
        if positions is not None and len(positions) > 1 and (positions != positions[0]).any():
            if given is None:
                sums, how = overlap_estimate(ar, est, np.asarray(positions), span or int(np.sum(window)))
                given = (sums, len(ar), how)
            overlap, overlap_n, method = given
            rbar = overlap_rbar(overlap, overlap_n, int(np.sum(window)))
        else:
            if rbar is None:
                rbar = group_rbar(calendar_residuals(ar, est, dates)) if len(ar) > 1 else (np.nan, "")
            rbar, method = rbar
        sar_ranks = None if sigma is None else ranked_sars(ar, est, np.asarray(sigma, float))  # every window's
        share = (est & (ar > 0)).sum(axis=1) / np.maximum(est.sum(axis=1), 1)
        return cls(
            np.asarray(car, float),
            np.asarray(scar, float),
            np.asarray(dof),
            ar,
            est,
            np.asarray(window, bool),
            rbar,
            column_mean(ar),
            column_mean(ranks),
            share,
            None if days is None else np.asarray(days),
            None if positions is None else np.asarray(positions),
            None if sigma is None else np.asarray(sigma, float),
            overlap,
            sar_ranks,
            method,
            overlap_n,
        )

    def for_window(self, car, scar, window) -> Sample:
        """The same firms and days, another window's CARs (and, for events on different dates,
        the r̄_eff of that window's length)."""
        window = np.asarray(window, bool)
        rbar = self.rbar if self.overlap is None else overlap_rbar(self.overlap, self.overlap_n, int(window.sum()))
        return replace(self, car=np.asarray(car, float), scar=np.asarray(scar, float), window=window, rbar=rbar)

    @property
    def one_date(self) -> bool:
        return self.positions is None or len(self.positions) < 2 or bool((self.positions == self.positions[0]).all())

    # what the tests read (:class:`Summary`); the streaming core's sums provide the same
    @property
    def n(self) -> int:
        return len(self.car)

    @property
    def car_mean(self) -> float:
        return self.car.mean()

    @cached_property  # read by several tests of the window
    def car_sd(self) -> float:
        return self.car.std(ddof=1)

    @property
    def scar_sum(self) -> float:
        return self.scar.sum()

    @property
    def scar_mean(self) -> float:
        return self.scar.mean()

    @cached_property  # read by several tests of the window
    def scar_sd(self) -> float:
        return self.scar.std(ddof=1)

    @property
    def patell_variance(self) -> float:
        return (self.dof / (self.dof - 2.0)).sum()

    @property
    def min_dof(self) -> float:
        return self.dof.min() if len(self.dof) else np.inf

    @property
    def est_days(self) -> BoolArray:
        return self.est.any(axis=0)

    @property
    def p_hat(self) -> float:
        return self.positive_share.mean() if self.n else np.nan

    @property
    def n_positive(self) -> int:
        return (self.car > 0).sum()

    @property
    def overlapping(self) -> bool:
        return self.overlap is not None

    @property
    def has_sigma(self) -> bool:
        return self.sigma is not None

    def calendar_means(self) -> Float64Array | None:
        """AR_p,s for each calendar session s inside at least one event window, in session
        order (None when the events' calendar positions are not known)."""
        if self.positions is None or self.days is None:
            return None
        cols = np.flatnonzero(self.window)
        ar = self.ar[:, cols]
        session = self.positions[:, None] + self.days[cols][None, :]
        ok = np.isfinite(ar)
        _, which = np.unique(session[ok], return_inverse=True)
        return np.bincount(which, ar[ok]) / np.bincount(which)

    def cars(self) -> Float64Array:
        return self.car

    def firm_ars(self) -> tuple[Float64Array, BoolArray]:
        return self.ar, self.est

    def grank_means(self) -> tuple[Float64Array, np.ndarray]:
        """GRANK's Ū_t and n_t over the estimation days, the cumulative event day last."""
        sar, rank = self.sar_ranks or ranked_sars(self.ar, self.est, self.sigma)
        v = (self.scar / self.scar.std(ddof=1))[:, None]
        # the cumulative event day joins each firm's ranked estimation days: ranks above it move up
        below, tied = (sar < v).sum(axis=1), (sar == v).sum(axis=1)
        size = np.isfinite(sar).sum(axis=1) + 1
        with np.errstate(invalid="ignore"):
            est_u = (rank + (sar > v) + 0.5 * (sar == v)) / (size[:, None] + 1) - 0.5
        u = np.column_stack([est_u, (1 + below + 0.5 * tied) / (size + 1) - 0.5])
        return column_mean(u), np.isfinite(u).sum(axis=0)
