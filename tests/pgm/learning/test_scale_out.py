"""Counts are additive: chunks of a CSV, lists of DataFrames and a Dask cluster give exactly the
in-process counts, CPTs, scores and marginals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from genlab.pgm import examples, marginals
from genlab.pgm.errors import ModelError
from genlab.pgm.io.csv import iter_csv, write_csv
from genlab.pgm.learning.counts import count, count_many
from genlab.pgm.learning.data import as_dataset, to_frame
from genlab.pgm.learning.parameters import fit
from genlab.pgm.learning.rows import frame_marginals
from genlab.pgm.learning.scores import Scorer
from genlab.pgm.learning.sources import ChunkedSource, csv_chunks

BN = examples.red_blue_network()
SCOPES = [("X1",), ("X2", "X1"), ("X4", "X2", "X3"), ()]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    df = to_frame(BN.sample(5000, seed=11), BN.variables, BN.states).astype(object)
    df = df.mask(np.random.default_rng(11).random(df.shape) < 0.1)
    return df.assign(w=np.random.default_rng(12).random(len(df)))


def _assert_same_tables(a: list[np.ndarray], b: list[np.ndarray]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12)


def test_csv_chunks_count_like_memory(frame, tmp_path) -> None:
    path = tmp_path / "rows.csv"
    write_csv(frame, path)
    memory = as_dataset(frame, BN, weights="w")
    chunks = csv_chunks(path, chunksize=700, weights="w").with_states(
        {v: BN.state_names(v) for v in BN.variables}
    )
    _assert_same_tables(count_many(memory, SCOPES), count_many(chunks, SCOPES))
    assert sum(len(c) for c in iter_csv(path, 700)) == 5000


def test_fit_and_scores_from_chunks_equal_in_memory(frame) -> None:
    data = frame.drop(columns="w")
    parts = [data.iloc[i : i + 1200] for i in range(0, len(data), 1200)]
    memory = fit(BN, data, missing="available")
    assert fit(BN, parts, missing="available") == memory
    assert fit(BN, iter(parts), missing="available") == memory  # one pass suffices for fit
    s_mem = Scorer(as_dataset(data, BN), "bdeu", 3.0)
    s_chunks = Scorer(ChunkedSource(parts, states={v: BN.state_names(v) for v in BN.variables}),
                      "bdeu", 3.0)
    assert s_chunks.total(BN) == pytest.approx(s_mem.total(BN), rel=1e-12)


def test_chunked_em_is_refused_and_one_shot_iterators_say_so(frame) -> None:
    data = frame.drop(columns="w")
    parts = [data.iloc[i : i + 1200] for i in range(0, len(data), 1200)]
    with pytest.raises(ModelError, match="rows in memory"):
        fit(BN, parts)  # missing="em" with missing cells
    states = {v: BN.state_names(v) for v in BN.variables}
    once = ChunkedSource(iter(parts), states=states)
    count(once, ["X1"])
    with pytest.raises(ModelError, match="already consumed"):
        count(once, ["X1"])


def test_chunks_without_states_read_them_in_a_first_pass(frame) -> None:
    data = frame.drop(columns="w").dropna()
    parts = [data.iloc[i : i + 999] for i in range(0, len(data), 999)]
    source = ChunkedSource(parts)
    assert source.variables == BN.variables
    assert source.states["X1"] == ("blue", "red")  # sorted, as for in-memory data
    np.testing.assert_array_equal(count(source, ["X1", "X5"]), count(as_dataset(data),
                                                                     ["X1", "X5"]))


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local, distributed.Client(local) as client:
        yield client


def test_dask_cluster_counts_cpts_and_marginals_equal_in_process(frame, cluster) -> None:
    dd = pytest.importorskip("dask.dataframe")
    from genlab.pgm.learning.distributed import DaskSource, map_marginals

    ddf = dd.from_pandas(frame.astype({"w": float}), npartitions=6)
    states = {v: BN.state_names(v) for v in BN.variables}
    source = DaskSource(ddf, states=states, weights="w")
    memory = as_dataset(frame, BN, weights="w")
    _assert_same_tables(count_many(memory, SCOPES), source.count_many(SCOPES))
    data = frame.drop(columns="w")
    assert fit(BN, dd.from_pandas(data, npartitions=5), missing="available") == fit(
        BN, data, missing="available"
    )
    evidence = data[["X1", "X4"]].iloc[:300]
    lazy = map_marginals(BN, dd.from_pandas(evidence, npartitions=3), ["X2", "X3"])
    got = lazy.compute().sort_index()
    want = frame_marginals(BN, evidence, ["X2", "X3"])
    pd.testing.assert_frame_equal(got, want, rtol=1e-12)
    row = evidence.iloc[7].dropna().to_dict()
    np.testing.assert_allclose(
        want.iloc[7][["P(X3=red)", "P(X3=blue)"]].to_numpy(float), marginals(BN, row)["X3"]
    )


def test_learn_from_chunks_and_a_cluster_equals_in_memory(frame, cluster) -> None:
    dd = pytest.importorskip("dask.dataframe")
    from genlab.pgm.learning import learn

    data = frame.drop(columns="w").dropna()
    memory = learn(data, "hc")
    parts = [data.iloc[i : i + 1500] for i in range(0, len(data), 1500)]
    chunked = learn(parts, "hc")
    assert chunked.dag == memory.dag and chunked.network == memory.network
    assert chunked.score == pytest.approx(memory.score, rel=1e-12)
    distributed = learn(dd.from_pandas(data, npartitions=4), "pc")
    assert distributed.cpdag == learn(data, "pc").cpdag


def test_a_consumed_one_shot_source_refuses_every_later_pass(frame) -> None:
    data = frame.drop(columns="w").dropna()
    states = {v: BN.state_names(v) for v in BN.variables}
    once = ChunkedSource(iter([data.iloc[:500], data.iloc[500:]]), states=states)
    fit(BN, once, missing="available")
    with pytest.raises(ModelError, match="already consumed"):
        fit(BN, once, missing="available")  # a re-stated copy shares the spent iterator


def test_dask_source_with_some_states_keeps_every_column(frame) -> None:
    dd = pytest.importorskip("dask.dataframe")
    from genlab.pgm.learning.distributed import DaskSource

    data = frame.drop(columns="w").dropna()
    source = DaskSource(dd.from_pandas(data, npartitions=2), states={"X1": ("red", "blue")})
    assert source.variables == BN.variables
    assert source.states["X1"] == ("red", "blue") and source.states["X2"] == ("blue", "red")


def test_csv_line_numbers_survive_blank_lines_and_headers_are_read_raw(tmp_path) -> None:
    from genlab.pgm.errors import ParseError
    from genlab.pgm.io.csv import read_csv

    path = tmp_path / "gaps.csv"
    path.write_text("a,b\nx,1\n\ny,2\nz,oops\n")
    with pytest.raises(ModelError, match="'oops' \\(first at line 5\\)"):
        as_dataset(read_csv(path), states={"b": ["1", "2"]})
    path.write_text("v,v.1\n1,2\n")
    assert list(read_csv(path).columns) == ["v", "v.1"]
    path.write_text("v,v\n1,2\n")
    with pytest.raises(ParseError, match=r"line 1: the header repeats column name\(s\) \['v'\]"):
        read_csv(path)
    path.write_text("v,w\n1,2\n3,bad\n")
    with pytest.raises(ModelError, match="weights column 'w' is not numeric: 'bad' at line 3"):
        as_dataset(read_csv(path), weights="w")
