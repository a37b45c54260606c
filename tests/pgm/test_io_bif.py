"""BIF reader/writer: the 24 bnlearn networks, round trips, both CPT forms, file-and-line errors."""

from __future__ import annotations

import functools
import gzip
import re

import numpy as np
import pytest

from genlab.pgm.errors import ParseError
from genlab.pgm.io import bif_string, load_model, read_bif, write_bif
from genlab.pgm.models import CPT, BayesianNetwork
from tests.conftest import shared_data

# (variables, arcs) as documented by the bnlearn repository (bnlearn.com/bnrepository).
BNLEARN = {
    "asia": (8, 8), "cancer": (5, 4), "earthquake": (5, 4), "survey": (6, 6),
    "sachs": (11, 17), "child": (20, 25), "insurance": (27, 52), "alarm": (37, 46),
    "barley": (48, 84), "water": (32, 66), "mildew": (35, 46), "hailfinder": (56, 66),
    "hepar2": (70, 123), "win95pts": (76, 112), "pathfinder": (109, 195),
    "andes": (223, 338), "pigs": (441, 592), "link": (724, 1125), "munin1": (186, 273),
    "munin2": (1003, 1244), "munin3": (1041, 1306), "munin4": (1038, 1388),
    "munin": (1041, 1397), "diabetes": (413, 602),
}  # fmt: skip
BIG = {"barley", "diabetes", "link", "mildew", "munin", "munin2", "munin3", "munin4", "pathfinder"}


def _param(name: str) -> pytest.param:
    """The network name as a test case; the big ones are marked slow where the test is heavy."""
    return pytest.param(name, marks=pytest.mark.slow if name in BIG else ())


@functools.cache
def _network(name: str) -> BayesianNetwork:
    return read_bif(shared_data("bnlearn", f"{name}.bif.gz"))


def _text(name: str) -> str:
    return gzip.decompress(shared_data("bnlearn", f"{name}.bif.gz").read_bytes()).decode()


@pytest.mark.parametrize("name", sorted(BNLEARN))
def test_bnlearn_network_loads_with_documented_size(name: str) -> None:
    bn = _network(name)
    assert (len(bn.variables), len(bn.edges)) == BNLEARN[name]
    # Independent spot check: the first row-form CPT line of the file, found by a plain regex.
    match = re.search(
        r"probability \( (\S+) \| ([^)]*) \) \{\s*\(([^)]*)\) ([^;]*);", _text(name)
    )
    assert match is not None
    child, parents = match.group(1), match.group(2).split(", ")
    config, numbers = match.group(3).split(", "), match.group(4).split(", ")
    assert bn.parents(child) == tuple(parents)
    at = tuple(bn.states[p].index(s) for p, s in zip(parents, config, strict=True))
    np.testing.assert_array_equal(bn.cpt(child).table[at], [float(x) for x in numbers])


def test_hand_picked_entries() -> None:
    asia = _network("asia")
    assert asia.cpt("tub").table[asia.states["asia"].index("yes")].tolist() == [0.05, 0.95]
    assert asia.cpt("asia").table.tolist() == [0.01, 0.99]
    assert asia.parents("either") == ("lung", "tub")
    assert asia.cpt("either").table[1, 1].tolist() == [0.0, 1.0]  # lung=no, tub=no
    alarm = _network("alarm")
    assert alarm.cpt("HISTORY").table.tolist() == [[0.9, 0.1], [0.01, 0.99]]
    munin = _network("munin")
    sev, typ = munin.states["DIFFN_SEV"].index("MILD"), munin.states["DIFFN_TYPE"].index("MOTOR")
    assert munin.cpt("DIFFN_SENS_SEV").table[sev, typ].tolist() == [1.0, 0.0, 0.0, 0.0]


def test_child_states_with_punctuation() -> None:
    child = _network("child")
    assert child.states["LowerBodyO2"] == ("<5", "5-12", "12+")
    assert child.states["CO2Report"] == ("<7.5", ">=7.5")
    assert child.states["CardiacMixing"][-1] == "Transp."
    patch = child.states["ChestXray"].index("Asy/Patch")
    assert child.cpt("XrayReport").table[patch].tolist() == [0.08, 0.02, 0.10, 0.10, 0.70]
    assert child.states["XrayReport"][-1] == "Asy/Patchy"


@pytest.mark.parametrize("name", [_param(n) for n in sorted(BNLEARN)])
def test_round_trip_is_identical(name: str) -> None:
    bn = _network(name)
    again = read_bif(bif_string(bn))
    assert again == bn
    assert again.variables == bn.variables


def test_write_gzip_file_and_load_model(tmp_path) -> None:
    bn = _network("child")
    write_bif(bn, tmp_path / "child.bif.gz")
    write_bif(bn, tmp_path / "child.bif")
    assert read_bif(tmp_path / "child.bif.gz") == bn
    assert load_model(tmp_path / "child.bif") == bn
    assert load_model(str(tmp_path / "child.bif.gz")) == bn


# -- the forms of the format -------------------------------------------------------------------
TWO_PARENTS_ROWS = """
network dogs { property "a network property" ; }
variable bowel { type discrete [ 2 ] { true, false }; }
variable family { type discrete [ 2 ] { true, false }; }
variable dog { type discrete [ 2 ] { true, false }; property position = (1, 2) ; }
probability ( bowel ) { table 0.01, 0.99; }
probability ( family ) { table 0.15, 0.85; }
probability ( dog | bowel, family ) {
  (true, true) 0.99, 0.01;
  (true, false) 0.97, 0.03;
  (false, true) 0.9, 0.1;
  (false, false) 0.3, 0.7;
}
"""


def test_table_form_with_parents_lists_the_child_slowest() -> None:
    # JavaBayes / BIF 0.15 (and pgmpy's reader): C order over (child, parents...). Under any
    # other order these rows would not sum to one and the network would be rejected.
    table_form = TWO_PARENTS_ROWS.split("probability ( dog")[0] + (
        "probability ( dog | bowel, family ) { table 0.99 0.97 0.9 0.3 0.01 0.03 0.1 0.7 ; }"
    )
    rows = read_bif(TWO_PARENTS_ROWS)
    assert read_bif(table_form) == rows
    assert rows.cpt("dog").table[1, 0].tolist() == [0.9, 0.1]  # bowel=false, family=true
    assert rows.name == "dogs"


def test_default_row_fills_unlisted_configurations() -> None:
    text = TWO_PARENTS_ROWS.replace(
        "  (true, false) 0.97, 0.03;\n  (false, true) 0.9, 0.1;", "  default 0.5 0.5;"
    )
    table = read_bif(text).cpt("dog").table
    assert table.tolist() == [[[0.99, 0.01], [0.5, 0.5]], [[0.5, 0.5], [0.3, 0.7]]]


def test_comments_quotes_and_old_header_style() -> None:
    text = """// a line comment
/* a block
   comment */
network "two words" { }
variable "my var" { type discrete [ 3 ] { "a b", c,d }; }  // states without spaces
variable y { type discrete [ 2 ] { n y }; }
probability ( "my var" ) { table 0.2 /* inline */ 0.3 0.5 ; }
probability ( y "my var" ) {   // old style: child then parents, no '|'
  ("a b") 0.1, 0.9;  (c) 0.2, 0.8;
  (d) 0.3, 0.7;
}
"""
    bn = read_bif(text)
    assert bn.name == "two words"
    assert bn.states["my var"] == ("a b", "c", "d")
    assert bn.parents("y") == ("my var",)
    assert bn.cpt("y").table.tolist() == [[0.1, 0.9], [0.2, 0.8], [0.3, 0.7]]
    assert bn.cpt("my var").table.tolist() == [0.2, 0.3, 0.5]
    assert read_bif(bif_string(bn)) == bn  # names that need quotes are written quoted


def test_exact_floats_survive_the_round_trip() -> None:
    p = 1 / 3
    bn = BayesianNetwork([CPT("a", [p, 1 - p]), CPT("b", [[0.1 + 0.2, 0.7 - 1e-17]] * 2, ["a"])])
    again = read_bif(bif_string(bn))
    assert again.cpt("a").table[0] == p  # repr is exact, not "0.3333"
    assert all(np.array_equal(again.cpt(v).table, bn.cpt(v).table) for v in bn.variables)
    assert again.states["a"] == ("0", "1")  # written for a network without state names


def test_writer_rejects_names_it_cannot_quote() -> None:
    bn = BayesianNetwork([CPT("a", [0.5, 0.5])], states={"a": ['say "hi"', "no"]})
    with pytest.raises(ValueError, match="double quote"):
        bif_string(bn)


# -- malformed input: ParseError naming the file and the line ---------------------------------
ASIA_LIKE = """network unknown {
}
variable asia {
  type discrete [ 2 ] { yes, no };
}
variable tub {
  type discrete [ 2 ] { yes, no };
}
probability ( asia ) {
  table 0.01, 0.99;
}
probability ( tub | asia ) {
  (yes) 0.05, 0.95;
  (no) 0.01, 0.99;
}
"""


def _error(text: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        read_bif(text)
    return info.value


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("  (no) 0.01, 0.99;\n}\n", "  (no) 0.01,", 14, "end of file"),  # truncated
        ("(no) 0.01, 0.99", "(no) 0.01, 0.9x9", 14, "'0.9x9' is not a probability"),
        ("(yes) 0.05, 0.95", "(yes) 0.05, -0.95", 13, "'-0.95'"),
        ("table 0.01, 0.99", "table 0.01, 0.98, 0.01", 10, "3 probabilities, expected 2"),
        ("(no) 0.01, 0.99", "(no) 0.01", 14, "1 probabilities, expected 2"),
        ("( tub | asia )", "( tub | asai )", 12, "unknown variable 'asai'"),
        ("(no) 0.01", "(maybe) 0.01", 14, "unknown state 'maybe' of 'asia'"),
        ("variable tub", "variable asia", 6, "declared twice (first at line 3)"),
        ("[ 2 ] { yes, no };\n}\nprob", "[ 3 ] { yes, no };\n}\nprob", 7, "declares 3 states"),
        ("  (no) 0.01, 0.99;\n", "  (yes) 0.01, 0.99;\n", 14, "given twice"),
        ("  (no) 0.01, 0.99;\n", "", 12, "no probabilities for parent configuration (asia=no)"),
        ("(no) 0.01, 0.99;", "(no) 0.01, 0.99", 15, "expected ';'"),
        ("probability ( tub | asia ) {", "probability ( asia ) { table 0.5 0.5; }\n"
         "probability ( tub | asia ) {", 12, "two probability blocks"),
        ("network unknown", "netwrok unknown", 1, "expected 'network', 'variable'"),
        ("{ yes, no };\n}\nprobability ( asia", "{ yes, no };\n}\n/* open\nprobability ( asia",
         9, "unterminated /* comment"),
    ],
)  # fmt: skip
def test_malformed_input_names_the_line(old: str, new: str, line: int, words: str) -> None:
    assert old in ASIA_LIKE
    error = _error(ASIA_LIKE.replace(old, new, 1))
    assert error.line == line, str(error)
    assert words in str(error)
    assert str(error).startswith(f"<text>, line {line}: ")


def test_variable_without_probability_block_and_bad_row_sums() -> None:
    error = _error(ASIA_LIKE.replace("probability ( tub", "probability ( tubx"))
    assert "unknown variable 'tubx'" in str(error)
    error = _error(ASIA_LIKE[: ASIA_LIKE.index("probability ( tub")])
    assert error.line == 6 and "'tub' has no probability block" in str(error)
    error = _error(ASIA_LIKE.replace("(yes) 0.05, 0.95", "(yes) 0.05, 0.5"))
    assert "'tub'" in str(error) and "sum to 0.55" in str(error)
    assert error.line == 12  # the probability block of tub


def test_error_in_a_file_names_the_file(tmp_path) -> None:
    path = tmp_path / "broken.bif"
    path.write_text(ASIA_LIKE.replace("0.99;\n}\nprobability ( tub", "0.99;\nprobability ( tub"))
    with pytest.raises(ParseError) as info:
        read_bif(path)
    assert info.value.line == 11 and info.value.path == str(path)
    assert str(info.value).startswith(f"{path}, line 11: ")
    assert "got 'probability'" in str(info.value)


def test_every_truncation_is_a_parse_error() -> None:
    # Cut the text at every character: only the complete text may parse, and every failure is a
    # ParseError with a line inside the text (no IndexError/KeyError escaping from the reader).
    for cut in range(len(ASIA_LIKE) + 1):
        prefix = ASIA_LIKE[:cut] + "\n"  # the newline keeps a one-word prefix from being a path
        try:
            read_bif(prefix)
        except ParseError as error:
            assert error.line is not None and 1 <= error.line <= prefix.count("\n") + 1
        else:
            assert prefix.rstrip() == ASIA_LIKE.rstrip(), cut


def test_tour_section_round_trips_the_lecture_models(tmp_path) -> None:
    from genlab.pgm.io.tour import tour_section
    from genlab.tour import TourContext

    ctx = TourContext(run_dir=tmp_path, fast=True)
    text = tour_section(ctx)
    assert text.count("identical") == 3 and "DIFFERENT" not in text
    assert {p.name for p in ctx.outputs} == {"red_blue.bif", "red_blue.uai", "food.uai"}
    assert all(p.exists() for p in ctx.outputs)


@pytest.mark.parametrize("name", ["child", "alarm", "hailfinder", _param("barley")])
def test_fast_path_and_token_path_agree(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Plain probability blocks are read by string splits; the token-by-token reader (used for
    # quotes, comments and every error) must give the same network.
    from genlab.pgm.io import bif

    text = _text(name)
    fast = read_bif(text)
    monkeypatch.setattr(bif._Parser, "_fast_body", lambda self, *args: False)
    assert read_bif(text) == fast


def test_windows_line_ends() -> None:
    crlf = ASIA_LIKE.replace("\n", "\r\n").replace("table ", "table\r\n    ")
    assert read_bif(crlf) == read_bif(ASIA_LIKE)
    assert _error(crlf.replace("0.05, 0.95", "0.05, x")).line == 14  # one line lower: "table"
