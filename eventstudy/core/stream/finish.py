"""From the summed partials to the result frames: each group's moments as the tests read them, r̄
from the sum identity, GRANK's scale, and the tidy rows in the sample's order."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..._typing import BoolArray, Float64Array
from .. import exclusions
from ..inference import TEST_COLUMNS, TestSpec, test_row
from ..inference.rbar import IDENTITY_METHOD, overlap_rbar, stratified_identity
from ..inference.statistic import t_two_sided
from ..labels import tiled
from ..results import CarTable, caar_frame
from . import kernel
from .memory import small_pages
from .plan import ESTIMATION_METHOD, Layout, Plan, Rows
from .second_pass import Partial


@dataclass(frozen=True)
class Moments:
    """One group's firm-events with a CAR in one window, as the tests of
    :mod:`eventstudy.core.inference` read them (:class:`~eventstudy.core.inference.statistic.Summary`), from the
    summed partials."""

    n: int
    car_mean: float
    car_sd: float
    scar_sum: float
    scar_mean: float
    scar_sd: float
    patell_variance: float
    min_dof: float
    rbar: float
    rbar_method: str
    overlapping: bool
    ar_p: Float64Array
    est_days: BoolArray
    window: BoolArray
    ubar: Float64Array
    days: np.ndarray | None
    p_hat: float
    n_positive: int
    calendar: Float64Array | None = None
    grank: tuple[Float64Array, np.ndarray] | None = None
    has_sigma: bool = True
    gathered: Float64Array | None = None  # the group's CARs, gathered from the per-event rows

    def calendar_means(self) -> Float64Array | None:
        return self.calendar

    def cars(self) -> Float64Array | None:
        return self.gathered

    def firm_ars(self) -> None:
        return None  # the streamed core keeps sums, not each firm's ARs

    def grank_means(self) -> tuple[Float64Array, np.ndarray]:
        assert self.grank is not None
        return self.grank


def _ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.full(np.shape(a), np.nan), where=np.asarray(b) > 0)


def _sd(total: float, squares: float, n: float) -> float:
    """The standard deviation (ddof 1) from a sum and a sum of squares."""
    if n < 2:
        return float("nan")
    mean = total / n
    return float(np.sqrt(max(squares - n * mean * mean, 0.0) / (n - 1)))


def rbar_of(plan: Plan, sums: Mapping[str, np.ndarray], g: int) -> tuple[float | Float64Array, str]:
    """The group's r̄ (one date) or its overlap sums Σ ρ at each distance d (different dates),
    from the position sums of z and w, and how it was computed."""
    z, w, at, k = sums["z"][g], sums["w"][g], sums["at"][g], sums["ok"][g]
    complete = sums["valid_days"][g] == sums["group_n"][g] * sums["day_any"][g].sum()
    if sums["min_pos"][g] == sums["max_pos"][g]:
        if "z_band" in sums:  # the identity by coverage stratum (exact on complete residuals)
            rbar = stratified_identity(sums["z_band"][g], sums["w_band"][g], sums["n_band"][g])
            return (rbar if sums["group_n"][g] > 1 else float("nan")), "" if complete else IDENTITY_METHOD
        p = int(sums["min_pos"][g])
        common = w[p] @ w[p] - k
        rbar = float((z[p] @ z[p] - k) / common) if sums["group_n"][g] > 1 and common > 0 else float("nan")
        return rbar, "" if complete else ESTIMATION_METHOD
    length = z.shape[1]
    out = np.zeros(plan.span)
    lags = max(min(plan.span, length - 30 + 1), 0)  # MIN_COMMON_SESSIONS common days at least
    zz, ww = (lag_products(table, lags, plan.kernel) for table in (z, w))
    for d in range(lags):
        if d == 0:
            s, c = (zz[0] - k) / 2, (ww[0] - k) / 2
            pairs = np.sum(at * (at - 1)) / 2
        else:
            s, c = zz[d], ww[d]
            pairs = np.sum(at[:-d] * at[d:])
        if pairs > 0 and c > 0:
            out[d] = s / c * pairs
    return out, ESTIMATION_METHOD


def lag_products(table: Float64Array, lags: int, compiled: bool = False) -> Float64Array:
    """Σ over positions p of table[p, d:] · table[p + d, :L − d] for each distance d < ``lags``
    (``table``: r̄'s sums by position, positions × L days): each row's dot product in numpy's
    pairwise order, the positions' added one after another (0 where no two positions are d
    apart). The compiled loop takes a position at a time with the rows it meets in cache (at
    7,500 sessions and 11 distances, 19 ms of numpy's products and einsum's sums against 3)."""
    if compiled:
        out = np.empty(lags)
        kernel.compiled("lag_products")(np.ascontiguousarray(table), out)
        return out
    s, length = table.shape
    out = np.zeros(lags)
    for d in range(min(lags, s)):
        rows = np.multiply(table[: s - d, d:], table[d:, : max(length - d, 0)]).sum(axis=1)
        out[d] = np.cumsum(rows)[-1]
    return out


def moments(plan: Plan, sums: Mapping[str, np.ndarray], j: int, g: int, rbar, cars=None) -> Moments:
    w = plan.windows[j]
    n = int(sums["n"][j, g])
    rbar_value, method = rbar
    overlapping = not np.isscalar(rbar_value)
    calendar = grank = None
    if "cal" in sums:
        cal_n = sums["cal_n"][j, g]
        calendar = sums["cal"][j, g][cal_n > 0] / cal_n[cal_n > 0]
    if "grank_u" in sums:
        est_n = sums["grank_n"][j, g]
        est_u = _ratio(sums["grank_u"][j, g], est_n)
        grank = (np.r_[est_u, sums["grank_event"][j, g] / n if n else np.nan], np.r_[est_n, n].astype(np.int64))
    est_days = np.zeros(len(plan.grid), bool)
    est_days[plan.est_cols] = sums["ar_n"][j, g][plan.est_cols] > 0
    return Moments(
        n=n,
        car_mean=float(sums["car"][j, g] / n) if n else float("nan"),
        car_sd=_sd(sums["car"][j, g], sums["car2"][j, g], n),
        scar_sum=float(sums["scar"][j, g]),
        scar_mean=float(sums["scar"][j, g] / n) if n else float("nan"),
        scar_sd=_sd(sums["scar"][j, g], sums["scar2"][j, g], n),
        patell_variance=float(sums["patell"][j, g]),
        min_dof=float(sums["min_dof"][j, g]),
        rbar=overlap_rbar(rbar_value, int(sums["group_n"][g]), w.length) if overlapping else rbar_value,
        rbar_method=method,
        overlapping=overlapping,
        ar_p=_ratio(sums["ar"][j, g], sums["ar_n"][j, g]),
        est_days=est_days,
        window=plan.inside(w),
        ubar=_ratio(sums["u"][j, g], sums["ar_n"][j, g]),
        days=plan.grid,
        p_hat=float(sums["share"][j, g] / n) if n else float("nan"),
        n_positive=int(sums["positive"][j, g]),
        calendar=calendar,
        grank=grank,
        gathered=cars,
    )


def scar_scale(sums: Mapping[str, np.ndarray]) -> Float64Array:
    """1 / s(SCAR) of every window and group (GRANK's SCAR* = SCAR / s(SCAR))."""
    n = sums["n"]
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (sums["scar2"] - sums["scar"] ** 2 / n) / (n - 1)
        return np.where(n > 1, 1.0 / np.sqrt(np.maximum(var, 0.0)), np.nan)


def tests_rows(
    plan: Plan, sums: Mapping[str, np.ndarray], specs: Sequence[TestSpec], cars: Mapping | None = None
) -> pd.DataFrame:
    """The tests of every group and window; ``cars`` ((window, group) → the CARs), gathered from
    the per-event rows, serve the tests that rank or take moments of the CARs themselves."""
    rows = []
    for g, group in enumerate(plan.groups):
        rbar = rbar_of(plan, sums, g)
        for j, w in enumerate(plan.windows):
            s = moments(plan, sums, j, g, rbar, None if cars is None else cars[j, g])
            rows += [test_row(group, w.label, spec, s, plan.apart) for spec in specs]
    return pd.DataFrame(rows, columns=TEST_COLUMNS)


def caar_rows(plan: Plan, sums: Mapping[str, np.ndarray]) -> pd.DataFrame:
    in_est = np.zeros(len(plan.grid), bool)
    in_est[plan.est_cols] = True
    inside = plan.inside(plan.path)
    frames = [
        caar_frame(group, plan.grid, _ratio(sums["group_ar"][g], sums["group_ar_n"][g]), in_est, inside)
        for g, group in enumerate(plan.groups)
    ]
    return pd.concat(frames, ignore_index=True)


def finish(
    plan: Plan,
    parts: Partial,
    specs: Sequence[TestSpec],
    index: pd.DatetimeIndex,
    layout: Layout,
    side: Callable[[CarTable], object] | None = None,
) -> dict:
    """The result frames from the summed partials (per firm-event rows in the sample's order),
    ``groups``: each group's fitted firm-events, and ``table``: the CAR frame's CAR and standard
    error as the influence table and the intervals read them (a
    :class:`~eventstudy.core.results.CarTable`, made from the layout: the frame holds every
    fitted firm-event's windows in order, so no id is looked up). ``parts``' rows of a fixed number
    per firm-event come already in place (:func:`placing`; their blocks become the frames), the
    exclusions as lists; each kind is taken out of ``parts`` as its frame is made.

    ``side``, when given, is called with the table on a thread of its own while the frames and
    the tests are made (the influence table's numbers: on two cores the two halves of the work
    left after the passes run side by side); under ``side`` is the future of its result (None
    without), which the caller waits for once it has done what it can meanwhile. The CARs'
    p-values are worked out on another thread meanwhile, from the placed t and degrees of
    freedom: in the passes, on the chunks' threads, they took about a tenth of the second pass
    (0.5 s of a thread at 1,000,000 firm-events), and the work after the passes leaves a core
    free for them."""
    frames = parts.frames
    placed_events, placed_car = frames.pop("events"), frames.pop("car")
    rows = placed_car.rows  # the fitted firm-events: each has its row and its CARs
    ids, tickers = layout.event_ids.take(rows), layout.tickers.take(rows)
    windows = pd.Index([w.label for w in plan.windows])
    shape = (len(rows), len(windows))
    table = CarTable(
        ids.rename(None),
        tickers.array,
        windows,
        {name: placed_car.column(name).reshape(shape) for name in ("car", "se")},
        layout.places(rows),
    )
    pool = ThreadPoolExecutor(2)
    # the CARs' p-values (each a special function's, the heaviest of the rows' numbers) beside the frames
    p_values = pool.submit(t_two_sided, placed_car.column("t"), placed_car.column("dof"))
    later = pool.submit(side, table) if side is not None else None
    pool.shutdown(wait=False)  # its threads end with the tasks; the caller waits for side's result
    events = placed_events.frame(ids, tickers)
    events.insert(2, "event_date", index[events.pop("pos").to_numpy()])
    gathered = gather_cars(layout.member[rows], table.values["car"])
    out = {"events": events, "car": None, "tests": tests_rows(plan, parts.sums, specs, gathered)}
    out["caar"] = caar_rows(plan, parts.sums)
    if "ar" in frames:
        ar = frames.pop("ar").frame(ids, tickers)
        at = ar.pop("pos").to_numpy()
        ar.insert(3, "date", index.take(np.clip(at, 0, len(index) - 1)).where((at >= 0) & (at < len(index))))
        out["ar"] = ar
    else:
        out["ar"] = pd.DataFrame(columns=["event_id", "ticker", "day", "date", "ar", "se", "sar", "car"])
    out["excluded"] = exclusions.table([layout.excluded, _table(frames.pop("excluded"), layout)])
    out["groups"] = layout.kept(rows)
    out["table"] = table
    out["side"] = later
    # the CAR frame last: its p-values are the other thread's
    car = placed_car.frame(ids, tickers)
    car.insert(2, "window", tiled(windows, len(rows)))  # each firm-event's rows: the windows in order
    car.insert(car.columns.get_loc("t") + 1, "p", p_values.result())
    out["car"] = car
    return out


def gather_cars(member: BoolArray, cars: Float64Array) -> dict:
    """(window, group) → the CARs of the group's firm-events in the window (``cars``: the fitted
    firm-events' CARs, one column a window; ``member``: their groups, one column a group), in their
    order: what a test that ranks the CARs needs, gathered once (it cannot be summed over chunks)."""
    ok = np.isfinite(cars)
    return {(j, g): cars[ok[:, j] & member[:, g], j] for j in range(cars.shape[1]) for g in range(member.shape[1])}


class Placed:
    """Tidy rows of one kind, ``per`` of them for each firm-event with rows (``fitted``: a mask
    over the layout's rows, known once the first pass is done), each written at its final place
    (the sample's order) as its chunk's rows come (:meth:`extend`, as :meth:`Partial.add
    <eventstudy.core.stream.second_pass.Partial.add>` calls it), into one block for each run of
    columns of one type, which becomes the frame's. No sort and no gathered copy at the end: on
    threads the main thread writes while it waits for the chunks (at 1,000,000 firm-events the
    sort and the gathered copies of the CAR rows took about 1 s after the passes)."""

    def __init__(self, fitted: BoolArray, per: int):
        self.per = per
        self.rows = np.flatnonzero(fitted)
        self.place = np.where(fitted, np.cumsum(fitted) - 1, -1)
        self.runs: list[tuple[list[str], np.ndarray]] = []
        self.written = 0

    def extend(self, parts: Sequence[Rows]) -> None:
        for rows in parts:
            self.put(rows)

    def put(self, rows: Rows) -> None:
        if not self.runs:  # the first rows say the columns and their types
            size = len(self.rows) * self.per
            with small_pages():  # written once, a chunk's rows all over each block
                self.runs = [(run, np.empty((len(run), size), rows[run[0]].dtype)) for run in _runs(rows)]
        at = self.place[rows["order"][:: self.per]]
        assert (at >= 0).all(), "rows of a firm-event the first pass excluded"
        self.written += len(at)
        if self.per > 1:
            at = (at[:, None] * self.per + np.arange(self.per)).ravel()
        for names, block in self.runs:
            for j, name in enumerate(names):
                block[j][at] = rows[name]  # into the row's view: numpy's one-index path, twice as fast

    def column(self, name: str) -> np.ndarray:
        """The values of the column ``name``, every row's in place (a view of its block)."""
        assert self.written == len(self.rows), "a fitted firm-event without its rows"
        return next(block[names.index(name)] for names, block in self.runs if name in names)

    def frame(self, ids: pd.Index, tickers: pd.Index) -> pd.DataFrame:
        """The rows, led by each one's id and ticker (``ids`` and ``tickers``: those of the
        firm-events with rows, :attr:`rows`, in order). The blocks become the frame's."""
        assert self.runs and self.written == len(self.rows), "a fitted firm-event without its rows"
        runs, self.runs = self.runs, []
        if self.per > 1:
            every = np.repeat(np.arange(len(self.rows)), self.per)
            ids, tickers = ids.take(every), tickers.take(every)
        return _tidy(ids, tickers, runs)


def placing(plan: Plan, fitted: BoolArray) -> dict[str, Placed]:
    """Where the passes' per firm-event rows are written as they come, for the firm-events
    ``fitted`` (a mask over the layout's rows): each one's row, its CARs (one a window) and,
    when kept, its ARs on the path."""
    out = {"events": Placed(fitted, 1), "car": Placed(fitted, len(plan.windows))}
    if plan.keep_ar:
        out["ar"] = Placed(fitted, int(plan.inside(plan.path).sum()))
    return out


def _runs(rows: Rows) -> list[list[str]]:
    """The columns of ``rows`` but ``order``, in runs of one type."""
    names = [k for k in rows if k != "order"]
    return [list(run) for _, run in itertools.groupby(names, key=lambda k: rows[k].dtype)]


def _tidy(ids: pd.Index, tickers: pd.Index, runs: Sequence[tuple[list[str], np.ndarray]]) -> pd.DataFrame:
    """The frame of rows led by their ids and tickers; ``runs``: column names and the block
    (columns × rows) of their values, which becomes the frame's without a copy."""
    frames = [pd.DataFrame({"event_id": ids, "ticker": tickers})]
    frames += [pd.DataFrame(block.T, columns=names, copy=False) for names, block in runs]
    return pd.concat(frames, axis=1)


def _table(parts: Sequence[Rows], layout: Layout) -> pd.DataFrame:
    """The rows of ``parts``, any number for each firm-event, in the sample's order (a stable
    sort on ``order`` keeps a firm-event's rows in theirs), led by each one's id and ticker."""
    order = np.concatenate([p["order"] for p in parts])
    sort = np.argsort(order, kind="stable")
    rows = order[sort]
    runs = [(run, np.stack([np.concatenate([p[k] for p in parts])[sort] for k in run])) for run in _runs(parts[0])]
    return _tidy(layout.event_ids.take(rows), layout.tickers.take(rows), runs)
