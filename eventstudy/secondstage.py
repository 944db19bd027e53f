"""Second stage: what explains the CARs? CAR_i = a + b′z_i + u_i by OLS (statsmodels), with
heteroskedasticity-robust (HC1) standard errors, clustered by event date when several events
share a date (their CARs share that day's news; p-values from t with G − 1 degrees of freedom
for G dates). Pure: frames in, a result out.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import ValueWarning

COLUMNS = ["window", "term", "coef", "se", "t", "p", "n", "cov"]


@dataclass(frozen=True)
class SecondStage:
    """One window's regression: the tidy ``table`` (:data:`COLUMNS`), the statsmodels
    ``summary`` text, and why it was not run (``reason``) when it could not be."""

    window: str
    table: pd.DataFrame
    summary_text: str = ""
    reason: str = ""
    r2: float = float("nan")

    def summary(self) -> str:
        return self.summary_text or f"second stage {self.window}: not run ({self.reason})"


def second_stage(
    car: pd.Series, regressors: pd.DataFrame, dates: pd.Series, window: str, terms: Sequence[str]
) -> SecondStage:
    """Regress ``car`` (by event_id) on the ``terms`` columns of ``regressors`` (by event_id).
    Rows with a missing value are left out; a term without variation is an error of the study,
    said in ``reason``. Standard errors are clustered by ``dates`` when any date repeats, else
    HC1."""
    data = pd.concat([car.rename("car"), regressors[list(terms)]], axis=1, join="inner").dropna()
    data = data.astype("float64")
    k = len(terms) + 1
    if len(data) < k + 2:
        return SecondStage(
            window, pd.DataFrame(columns=COLUMNS), reason=f"{len(data)} events with every value; {k + 2} are needed"
        )
    flat = [t for t in terms if data[t].std() == 0]
    if flat:
        return SecondStage(window, pd.DataFrame(columns=COLUMNS), reason=f"{', '.join(flat)} does not vary")
    x = sm.add_constant(data[list(terms)], has_constant="add")
    day = pd.Series(dates).reindex(data.index)
    clustered = day.duplicated().any()
    if clustered and day.nunique() <= k:
        return SecondStage(
            window,
            pd.DataFrame(columns=COLUMNS),
            reason=f"{day.nunique()} event dates for {k} coefficients: standard errors clustered by date "
            "need more dates than coefficients",
        )
    model = sm.OLS(data["car"], x)
    if clustered:
        # t with G − 1 degrees of freedom, as Stata and Cameron & Miller (2015) advise for few clusters
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(day)[0]}, use_t=True)
        cov = f"clustered by event date ({day.nunique()} dates)"
    else:
        fit = model.fit(cov_type="HC1")
        cov = "HC1"
    with warnings.catch_warnings():  # the summary's normality tests warn below 8 observations
        warnings.simplefilter("ignore", ValueWarning)
        text = str(fit.summary(title=f"CAR {window} on event characteristics"))
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
        }
    )
    return SecondStage(window, table, text, "", float(fit.rsquared))
