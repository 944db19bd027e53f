"""Columns of repeated labels (eventstudy.core.labels): numpy's tile of the labels, in the type
pandas gives a column of strings, whichever storage it keeps them in."""

import warnings

import numpy as np
import pandas as pd
import pytest

from eventstudy.core.labels import PIECE, tiled


def _pandas_column(labels, n):
    """The column pandas makes of the labels tiled, one string a row."""
    return pd.Series(list(np.tile(np.array(labels, dtype=object), n)) or [""])[: len(labels) * n]


@pytest.mark.parametrize("infer_string", [True, False])
@pytest.mark.parametrize(
    ("labels", "n"),
    [
        (["[-1,+1]"], 4),
        (["[0,0]", "[-1,+1]", "[-5,+5]"], 5),
        (["kolari-pynnonen"], 2 * PIECE),  # two whole pieces
        (["kolari-pynnonen"], 2 * PIECE + 3),  # and a piece cut short
        (["[0,0]", "[-1,+1]", "[-5,+5]"], PIECE),  # rounds of three: a piece holds a whole number of them
        (["a", "b"], 0),
        ([], 7),
    ],
)
def test_tiled_labels_are_the_column_pandas_makes_of_them(infer_string, labels, n):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the option is deprecated in pandas 3
        with pd.option_context("future.infer_string", infer_string):
            made = pd.Series(tiled(labels, n))
            want = _pandas_column(labels, n)
    assert want.dtype == (pd.StringDtype("pyarrow", na_value=np.nan) if infer_string else object)
    pd.testing.assert_series_equal(made, want)


def test_a_long_column_is_one_piece_referred_to_again():
    """Past a piece's rows the column's chunks are the one piece's buffers (no memory of its own
    for each row), the last cut short after a whole round of the labels."""
    labels = ["[0,0]", "[-1,+1]", "[-5,+5]"]
    per = PIECE // 3  # rounds of the labels in a piece
    made = pd.Series(tiled(labels, 2 * per + 5))
    assert isinstance(made.dtype, pd.StringDtype) and made.dtype.storage == "pyarrow"
    chunks = made.array._pa_array.chunks
    assert [len(c) for c in chunks] == [3 * per, 3 * per, 15]
    assert len({c.buffers()[2].address for c in chunks}) == 1  # one piece's characters
    assert made.iloc[-1] == "[-5,+5]" and made.iloc[3 * per] == "[0,0]"
