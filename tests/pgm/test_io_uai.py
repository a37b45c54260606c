"""UAI model, evidence and result files: entries checked against file text, round trips, errors."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from genlab.pgm.errors import ParseError
from genlab.pgm.factor import Factor
from genlab.pgm.io import (
    load_model,
    read_bif,
    read_uai,
    read_uai_bayesian_network,
    read_uai_evidence,
    read_uai_result,
    uai_evidence_string,
    uai_result_string,
    uai_string,
    write_uai,
    write_uai_evidence,
    write_uai_result,
)
from genlab.pgm.models import FactorGraph
from tests.conftest import SHARED_DATA, shared_data


def _same_graph(a: FactorGraph, b: FactorGraph) -> bool:
    """Same variables (order too), cardinalities and factors, exactly."""
    return a.variables == b.variables and a.cards == b.cards and a.factors == b.factors


# -- models --------------------------------------------------------------------------------
def test_tables_list_the_last_scope_variable_fastest() -> None:
    fg = read_uai("MARKOV\n3\n2 3 2\n2\n2 0 1\n1 2\n\n6\n 1 2 3\n 4 5 6\n2\n0.5 0.25\n")
    assert fg.variables == ("0", "1", "2")
    assert fg.factors[0] == Factor(("0", "1"), [[1, 2, 3], [4, 5, 6]])
    assert fg.factors[0].value({"0": 1, "1": 0}) == 4.0
    assert fg.factors[1].table.tolist() == [0.5, 0.25]


def test_whitespace_is_free_and_isolated_variables_exist() -> None:
    fg = read_uai("markov 3 2 2 5 1 1 1 2\t3   \n\n 4")
    # variables in no factor still exist (they multiply Z by their cardinality), in index order
    assert fg.variables == ("0", "1", "2") and fg.cards == {"0": 2, "1": 2, "2": 5}
    assert [f.variables for f in fg.factors] == [("1",)]
    assert fg.factors[0].table.tolist() == [3.0, 4.0]


def test_a_variable_repeated_in_a_scope_gives_the_diagonal() -> None:
    fg = read_uai("MARKOV 2 3 2 1 3 1 0 1 12 " + " ".join(str(i) for i in range(12)))
    # psi(x1, x0, x1') with x1' == x1: entries (x1, x0) -> 6*x1 + 2*x0 + x1
    assert fg.factors[0] == Factor(("1", "0"), [[0, 2, 4], [7, 9, 11]])


def test_scope_less_factors_are_zero_dimensional() -> None:
    fg = read_uai("MARKOV 1 2 2 0 1 0 1 2.5 2 1 3")
    assert fg.factors[0].variables == () and float(fg.factors[0].table) == 2.5
    path = shared_data("uai2014", "PR", "sat-grid-pbl-0010.cnf.uai")
    fg = read_uai(path)
    empty = [f for f in fg.factors if not f.variables]
    assert len(fg.variables) == 110 and len(fg.factors) == 191 and len(empty) == 118
    assert {float(f.table) for f in empty} == {0.0}  # zero factors: taken literally, Z = 0


def test_real_files_against_their_text() -> None:
    grids = read_uai(shared_data("uai2014", "MAR", "Grids_12.uai"))
    assert grids.name == "Grids_12" and len(grids.variables) == 100 and len(grids.factors) == 280
    # last scope line "2 89 99", last table "0.00022322 4479.9 4479.9 0.00022322"
    last = grids.factors[-1]
    assert last.variables == ("89", "99")
    assert last.table.tolist() == [[0.00022322, 4479.9], [4479.9, 0.00022322]]
    sat = read_uai(shared_data("uai2014", "PR", "sat-grid-pbl-0010.cnf.uai"))
    # first scope line "4 2 4 0 1", table "1 1 1 1 1 1 1 1 1 1 1 1 0 1 1 1": entry 12 = 0b1100
    assert sat.variables == tuple(str(i) for i in range(110))  # index order, not first use
    first = sat.factors[0]
    assert first.variables == ("2", "4", "0", "1")
    assert first.value({"2": 1, "4": 1, "0": 0, "1": 0}) == 0.0
    assert first.value({"2": 0, "4": 0, "0": 1, "1": 1}) == 1.0  # the reversed-scope reading


@pytest.mark.parametrize(
    "name", ["MAR/Grids_12.uai", "PR/sat-grid-pbl-0010.cnf.uai", "MAR/DBN_11.uai"]
)
def test_round_trip_of_real_files(name: str, tmp_path: Path) -> None:
    fg = read_uai(shared_data("uai2014", name))
    assert _same_graph(read_uai(uai_string(fg)), fg)
    write_uai(fg, tmp_path / "copy.uai.gz")
    assert _same_graph(load_model(tmp_path / "copy.uai.gz"), fg)  # type: ignore[arg-type]


def test_bif_to_uai_bayes_and_back() -> None:
    bn = read_bif(shared_data("bnlearn", "child.bif.gz"))
    text = uai_string(bn)
    assert text.startswith("BAYES\n20\n")
    again = read_uai_bayesian_network(text)
    number = {v: str(i) for i, v in enumerate(bn.variables)}
    for v in bn.variables:
        assert again.parents(number[v]) == tuple(number[p] for p in bn.parents(v))
        assert np.array_equal(again.cpt(number[v]).table, bn.cpt(v).table)
    fg = read_uai(text)  # the same file as a factor graph: one factor (parents..., child) per CPT
    assert len(fg.factors) == 20 and fg.factors[0].variables[-1] == "0"


def test_bayes_reader_errors_name_the_factor_line() -> None:
    with pytest.raises(ParseError, match="needs a BAYES file"):
        read_uai_bayesian_network("MARKOV 1 2 1 1 0 2 0.5 0.5")
    with pytest.raises(ParseError, match=r"child \(last variable\) of two factors") as info:
        read_uai_bayesian_network("BAYES\n1\n2\n2\n1 0\n1 0\n2\n0.5 0.5\n2\n0.5 0.5\n")
    assert info.value.line == 6  # the scope line of the second factor
    with pytest.raises(ParseError, match=r"sum to 0\.9, not 1") as info:
        read_uai_bayesian_network("BAYES\n2\n2 2\n2\n1 0\n2 0 1\n2\n0.5 0.5\n4\n0.5 0.5 0.4 0.5\n")
    assert info.value.line == 6
    with pytest.raises(ParseError, match="needs distinct variables"):
        read_uai_bayesian_network("BAYES\n1\n2\n1\n2 0 0\n4\n1 0 0 1\n")


GOOD = "MARKOV\n2\n2 2\n2\n1 0\n2 0 1\n\n2\n0.5 0.5\n\n4\n1 2 3 4\n"


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("1 2 3 4\n", "1 2\n", 12, "end of file in the table of factor 1: 2 of 4"),
        ("\n4\n1 2", "\n5\n1 2", 11, "has 4 entries, the file says 5"),
        ("1 2 3 4", "1 2 x 4", 12, "expected a number, got 'x'"),
        ("1 2 3 4", "1 2 -3 4", 12, "entry -3.0 is not a finite number >= 0"),
        ("2 0 1", "2 0 2", 6, "names variable 2, but there are only 2"),
        ("MARKOV", "MARKOF", 1, "expected MARKOV or BAYES"),
        ("2 2\n2", "2 0\n2", 3, "the cardinality of variable 1 must be >= 1"),
        ("1 2 3 4\n", "1 2 3 4\n7\n", 13, "unexpected extra token '7'"),
        ("1 0\n2 0 1", "1 0\n2 0 1.5", 6, "(an integer), got '1.5'"),
        ("\n2\n0.5 0.5\n\n4\n1 2 3 4\n", "", 6, "end of file, expected the table of factor 0"),
    ],
)
def test_malformed_model_names_the_line(old: str, new: str, line: int, words: str) -> None:
    assert old in GOOD
    with pytest.raises(ParseError) as info:
        read_uai(GOOD.replace(old, new, 1))
    assert info.value.line == line, str(info.value)
    assert words in str(info.value)


def test_error_in_a_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.uai"
    path.write_text(GOOD.replace("0.5 0.5", "0.5 nan"))
    with pytest.raises(ParseError) as info:
        read_uai(str(path))
    assert str(info.value).startswith(f"{path}, line 9: ")


# -- evidence ------------------------------------------------------------------------------
def test_evidence_formats() -> None:
    assert read_uai_evidence("2 0 1 3 0") == {"0": 1, "3": 0}
    assert read_uai_evidence("1\n2 5 1 6 0\n") == {"5": 1, "6": 0}  # older: sample count first
    assert read_uai_evidence("1 4 2") == {"4": 2}  # one pair, no sample count
    assert read_uai_evidence("0\n") == {} and read_uai_evidence("") == {}
    assert read_uai_evidence(Path("/nonexistent/x.uai.evid")) == {}
    with pytest.raises(FileNotFoundError):
        read_uai_evidence(Path("/nonexistent/x.uai.evid"), missing_ok=False)
    reference = read_uai_evidence(shared_data("uai2014", "MAP", "Promedas_11.uai.evid"))
    assert len(reference) == 20 and reference["215"] == 1 and reference["192"] == 1


def test_evidence_round_trip_and_errors(tmp_path: Path) -> None:
    evidence = {"7": 0, "2": 3, 11: 1}
    assert uai_evidence_string(evidence) == "3 7 0 2 3 11 1\n"
    write_uai_evidence(evidence, tmp_path / "e.evid")
    assert read_uai_evidence(tmp_path / "e.evid") == {"7": 0, "2": 3, "11": 1}
    with pytest.raises(ParseError) as info:
        read_uai_evidence("3 0 1\n2 1\n")
    assert info.value.line == 2 and "3 observed variables need 6 integers" in str(info.value)
    with pytest.raises(ParseError, match="observed twice"):
        read_uai_evidence("2 0 1 0 0")
    with pytest.raises(ValueError, match="variable indices"):
        uai_evidence_string({"smoke": 1})


# -- results -------------------------------------------------------------------------------
def test_reference_result_formats() -> None:
    assert read_uai_result(shared_data("uai2014", "PR", "Alchemy_11.uai.PR")) == ("PR", 606.279)
    task, marginals = read_uai_result(shared_data("uai2014", "MAR", "DBN_11.uai.MAR"))
    assert task == "MAR" and len(marginals) == 40
    assert marginals[0].tolist() == [0.11657, 0.88343]
    task, states = read_uai_result(shared_data("uai2014", "MAP", "Grids_28.uai.MAP"))
    assert task == "MAP" and len(states) == 400 and states[:5].tolist() == [1, 1, 1, 0, 1]


def test_result_round_trips(tmp_path: Path) -> None:
    log10_z = math.log10(2.0) * 3.7
    write_uai_result("PR", log10_z, tmp_path / "x.PR")
    assert read_uai_result(tmp_path / "x.PR") == ("PR", log10_z)
    assert read_uai_result(uai_result_string("PR", -math.inf)) == ("PR", -math.inf)  # Z = 0
    marginals = {"1": [0.25, 0.75], "0": np.array([1 / 3, 1 / 3, 1 / 3])}
    text = uai_result_string("MAR", marginals)
    assert text.startswith("MAR\n2 3 0.3333333333333333 ")  # ordered by variable index
    task, values = read_uai_result(text)
    assert task == "MAR" and [v.tolist() for v in values] == [[1 / 3] * 3, [0.25, 0.75]]
    assert uai_result_string("map", [2, 0, 1]) == "MAP\n3 2 0 1\n"
    assert read_uai_result("MPE\n3 2 0 1\n")[1].tolist() == [2, 0, 1]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("MAR\n2 2 0.5 0.5\n2 0.5\n", 3, "end of file, expected the marginal of variable 1"),
        ("MAR\n1 2 0.5 x\n", 2, "got 'x'"),
        ("MAP\n3 1 0\n", 2, "end of file, expected the state of variable 2"),
        ("MAP\n2 1 0 1\n", 2, "unexpected extra token '1'"),
        ("ZZZ\n1\n", 1, "expected the task PR, MAR or MAP"),
    ],
)
def test_malformed_results_name_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(ParseError) as info:
        read_uai_result(text)
    assert info.value.line == line and words in str(info.value)


def test_result_writer_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match="NaN"):
        uai_result_string("PR", math.nan)
    with pytest.raises(ValueError, match=r"every variable 0\.\.1"):
        uai_result_string("MAP", {"0": 1, "2": 0})
    with pytest.raises(ValueError, match="task must be one of"):
        uai_result_string("BEL", [])


def _references() -> list[Path]:
    return sorted(p for p in SHARED_DATA.glob("uai2014/*/*.uai.*") if p.suffix in (".MAR", ".MAP"))


@pytest.mark.slow
def test_every_reference_and_evidence_file_fits_its_model() -> None:
    references = _references()
    if not references:
        pytest.skip(f"reference data not found under {SHARED_DATA / 'uai2014'}")
    for reference in references:
        model_path = reference.with_suffix("")
        fg = read_uai(model_path)
        cards = [fg.cards[str(i)] for i in range(len(fg.cards))]
        task, values = read_uai_result(reference)
        assert len(values) == len(cards), reference
        if task == "MAR":
            assert [len(m) for m in values] == cards, reference
        else:
            assert all(0 <= s < c for s, c in zip(values, cards, strict=True)), reference
        evidence = read_uai_evidence(Path(f"{model_path}.evid"))
        assert all(0 <= s < cards[int(v)] for v, s in evidence.items()), reference


@pytest.mark.parametrize("read", [read_uai, read_uai_result])
def test_every_truncation_is_a_parse_error(read) -> None:
    text = GOOD if read is read_uai else "MAR\n2 2 0.5 0.5 3 0.1 0.2 0.7\n"
    for cut in range(len(text)):
        prefix = text[:cut] + "\n"  # a newline keeps a one-line prefix from looking like a path
        try:
            read(prefix)
        except ParseError as error:
            assert error.line is not None and 1 <= error.line <= prefix.count("\n"), cut
        else:  # only a cut inside the last number goes unnoticed ("0.7" -> "0")
            assert len(prefix.split()) == len(text.split()), cut


@pytest.mark.parametrize("name", ["Grids_12", "CSP_12", "Promedus_11"])
def test_model_evidence_and_reference_files_agree_through_the_engine(name: str) -> None:
    # End to end: with the tables in C order and the evidence applied, exact log Z matches the
    # published log10 Z to its printed precision (about 6 significant digits).
    from genlab.pgm import log_partition

    fg = read_uai(shared_data("uai2014", "PR", f"{name}.uai"))
    evidence = read_uai_evidence(shared_data("uai2014", "PR", f"{name}.uai.evid"))
    task, log10_z = read_uai_result(shared_data("uai2014", "PR", f"{name}.uai.PR"))
    assert task == "PR"
    assert log_partition(fg, evidence) / math.log(10) == pytest.approx(log10_z, rel=1e-5, abs=1e-5)


def test_writer_numbers_named_variables_in_model_order() -> None:
    fg = FactorGraph(
        [
            Factor(("b", "a"), [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
            Factor((), 0.5),
            Factor(("c",), [1.0, 1.0, 2.0, 2.0]),
        ]
    )
    text = uai_string(fg)
    assert text.split("\n")[:7] == ["MARKOV", "3", "2 3 4", "3", "2 0 1", "0", "1 2"]
    again = read_uai(text)
    assert again.factors[0] == Factor(("0", "1"), fg.factors[0].table)
    assert float(again.factors[1].table) == 0.5 and again.cards["2"] == 4
