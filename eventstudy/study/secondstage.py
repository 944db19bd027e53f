"""Second stage: what explains the CARs? CAR_i = a + b′z_i + u_i by OLS (statsmodels), with
heteroskedasticity-robust (HC1) standard errors and t(n − K) p-values, clustered by event date
when several events share a date (their CARs share that day's news; p-values from t with G − 1
degrees of freedom for G dates); HC3 beside HC1 (MacKinnon & White 1985; Long & Ervin 2000
recommend it below 250 observations); each coefficient's influential events. Pure: frames in,
a result out.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core.influence import drives, regression_influence
from ..core.summary import Summary

COLUMNS = ["window", "term", "coef", "se", "t", "p", "n", "cov", "se_hc3", "p_hc3"]
INFLUENCE_COLUMNS = ["window", "left_out", "events", "term", "coef", "coef_without", "se", "p", "p_without", "cooks_d"]


@dataclass(frozen=True)
class SecondStage:
    """One window's regression: the tidy ``table`` (:data:`COLUMNS`; HC3 standard errors and
    t(n − K) p-values beside the main ones when they are not clustered), the statsmodels
    results ``fit`` (``params``, ``bse``, ``conf_int()``, ``get_influence()`` work), its
    ``summary`` text, the influential events or dates (``influence``: :data:`INFLUENCE_COLUMNS`,
    the units whose removal flips a coefficient's sign, moves it by more than its standard
    error or moves its p across 5 %, and the largest by Cook's distance), and why it was not
    run (``reason``) when it could not be."""

    window: str
    table: pd.DataFrame
    summary_text: str = ""
    reason: str = ""
    r2: float = float("nan")
    fit: object = None
    influence: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=INFLUENCE_COLUMNS))

    def summary(self):
        """statsmodels' summary of the fit (``as_text()``, ``as_html()``, ``as_latex()``), or why
        the regression was not run."""
        if self.fit is None:
            return Summary(f"second stage {self.window}", (f"not run ({self.reason})",))
        with _few_observations_quiet():
            return self.fit.summary(title=f"CAR {self.window} on event characteristics")

    def drivers(self) -> pd.DataFrame:
        """The rows of ``influence`` that change a coefficient's sign or conclusion."""
        return self.influence[self.influence.drives] if "drives" in self.influence else self.influence


def _statsmodels():
    """``statsmodels.api``, imported when a regression is run: the import takes about 0.6 s,
    which ``import eventstudy`` (its API loads this module) should not cost a user who runs none."""
    import statsmodels.api as sm

    return sm


@contextmanager
def _few_observations_quiet() -> Iterator[None]:
    """statsmodels' summary without the warning its normality tests give below 8 observations."""
    from statsmodels.tools.sm_exceptions import ValueWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ValueWarning)
        yield


def _not_run(window: str, reason: str) -> SecondStage:
    return SecondStage(window, pd.DataFrame(columns=COLUMNS), reason=reason)


def second_stage(
    car: pd.Series, regressors: pd.DataFrame, dates: pd.Series, window: str, terms: Sequence[str]
) -> SecondStage:
    """Regress ``car`` (by event_id) on the ``terms`` columns of ``regressors`` (by event_id).
    Rows with a missing value are left out; a term without variation is an error of the study,
    said in ``reason``. Standard errors are clustered by ``dates`` when any date repeats (t with
    G − 1 degrees of freedom), else HC1 (t with n − K): one convention, t throughout."""
    data = pd.concat([car.rename("car"), regressors[list(terms)]], axis=1, join="inner").dropna()
    data = data.astype("float64")
    k = len(terms) + 1
    if len(data) < k + 2:
        return _not_run(window, f"{len(data)} events with every value; {k + 2} are needed")
    flat = [t for t in terms if data[t].std() == 0]
    if flat:
        return _not_run(window, f"{', '.join(flat)} does not vary")
    sm = _statsmodels()
    x = sm.add_constant(data[list(terms)], has_constant="add")
    day = pd.Series(dates).reindex(data.index)
    clustered = bool(day.duplicated().any())
    if clustered and day.nunique() <= k:
        return _not_run(
            window,
            f"{day.nunique()} event dates for {k} coefficients: standard errors clustered by date "
            "need more dates than coefficients",
        )
    fit, cov = _fit(data["car"], x, day if clustered else None)
    with _few_observations_quiet():
        text = str(fit.summary(title=f"CAR {window} on event characteristics"))
    hc3 = None if clustered else sm.OLS(data["car"], x).fit(cov_type="HC3", use_t=True)
    table = pd.DataFrame(
        {
            "window": window,
            "term": x.columns,
            "coef": fit.params.to_numpy(),
            "se": fit.bse.to_numpy(),
            "t": fit.tvalues.to_numpy(),
            "p": fit.pvalues.to_numpy(),
            "n": int(fit.nobs),
            "cov": cov,
            "se_hc3": np.nan if hc3 is None else hc3.bse.to_numpy(),
            "p_hc3": np.nan if hc3 is None else hc3.pvalues.to_numpy(),
        }
    )
    influence = _influence(data, x, day, clustered, fit, window)
    return SecondStage(window, table, text, "", float(fit.rsquared), fit, influence)


def _fit(y: pd.Series, x: pd.DataFrame, day: pd.Series | None):
    """OLS with standard errors clustered by ``day`` (t(G − 1), as Stata and Cameron & Miller
    2015 advise for few clusters), or HC1 with t(n − K) when ``day`` is None."""
    model = _statsmodels().OLS(y, x)
    if day is not None:
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(day)[0]}, use_t=True)
        return fit, f"clustered by event date ({day.nunique()} dates)"
    return model.fit(cov_type="HC1", use_t=True), "HC1"


def _influence(data, x, day, clustered: bool, fit, window: str, top: int = 3) -> pd.DataFrame:
    """Leave one event (or, when clustered, one date) out: per coefficient but the constant, the
    units that flip its sign, move it by more than its standard error, or (refitted) move its p
    across 5 %, and the ``top`` largest by Cook's distance."""
    codes = pd.factorize(day)[0] if clustered else None
    labels = pd.Index(day.dt.strftime("%Y-%m-%d")) if clustered else pd.Index(data.index.astype(str))
    infl = regression_influence(data["car"].to_numpy(), x.to_numpy(), labels, codes)
    terms = [j for j, t in enumerate(x.columns) if t != "const"]
    b, se, p = fit.params.to_numpy(), fit.bse.to_numpy(), fit.pvalues.to_numpy()
    nan = np.full(len(infl.units), np.nan)
    picked = set(np.argsort(-infl.cooks_d, kind="stable")[:top])
    for j in terms:
        picked |= set(np.flatnonzero(drives(b[j], infl.without[:, j], se[j], p[j], nan)))
    rows = []
    for u in sorted(picked, key=lambda u: (-infl.cooks_d[u], str(infl.units[u]))):
        keep = (codes != u) if clustered else (np.arange(len(data)) != u)
        refit, _ = _fit(data["car"][keep], x[keep], day[keep] if clustered else None)
        events = int((~keep).sum())
        for j in terms:
            rows.append(
                (
                    window,
                    infl.units[u],
                    events,
                    x.columns[j],
                    b[j],
                    infl.without[u, j],
                    se[j],
                    p[j],
                    float(refit.pvalues.iloc[j]),
                    infl.cooks_d[u],
                )
            )
    out = pd.DataFrame(rows, columns=INFLUENCE_COLUMNS)
    flag = (
        drives(
            out.coef.to_numpy(),
            out.coef_without.to_numpy(),
            out.se.to_numpy(),
            out.p.to_numpy(),
            out.p_without.to_numpy(),
        )
        if len(out)
        else np.zeros(0, bool)
    )
    return out.assign(drives=flag)
