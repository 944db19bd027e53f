"""Array aliases and the literal option names."""

from typing import Literal

import numpy as np
import numpy.typing as npt

Float64Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

ModelName = Literal[
    "market",
    "market-adjusted",
    "constant-mean",
    "dimson",
    "scholes-williams",
    "trade-to-trade",
    "garch",
    "ff3",
    "carhart",
    "ff5",
]
TestName = Literal[
    "kolari-pynnonen",
    "portfolio",
    "corrado-rank",
    "csect-t",
    "patell",
    "bmp",
    "generalized-sign",
    "grank",
    "calendar-time",
    "corrado-zivney",
    "patell-kp",
    "permutation",
    "wilcoxon",
    "skewness-t",
]
EngineName = Literal["auto", "memory", "stream", "dask"]
