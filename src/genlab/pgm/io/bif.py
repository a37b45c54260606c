"""BIF (the Bayesian Interchange Format of the bnlearn repository): read and write.

The reader scans tokens with regexes and converts each run of probabilities with one NumPy
call, so the 1,000-variable networks parse in a fraction of a second. State names may hold any
character but white space and ``{}()[];,|"`` (bnlearn has ``<5``, ``12+``, ``Asy/Patch``);
other names are written and read in double quotes. Every malformed input raises
:class:`~genlab.pgm.errors.ParseError` naming the file and the line.
"""

from __future__ import annotations

import itertools
import re
from typing import Literal

import numpy as np

from genlab.pgm.errors import ModelError, ParseError
from genlab.pgm.io._source import Source, line_at, read_source, write_text
from genlab.pgm.models.bayesian_network import CPT, BayesianNetwork

__all__ = ["bif_string", "read_bif", "write_bif"]

SUFFIXES = (".bif", ".bif.gz")
_SKIP = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)*", re.S)  # white space and comments
_TOKEN = re.compile(r'"[^"]*"|[{}()\[\];,|]|[^\s{}()\[\];,|"]+')
_BARE = re.compile(r'[^\s{}()\[\];,|"]+')  # a name that needs no quotes
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_NUMBER = re.compile(r"[^\s,]+")
_NOT_NUMBERS = re.compile(r'[{}()\[\]|"]')
_PUNCTUATION = frozenset("{}()[];,|")
_NOT_FAST = ('"', "//", "/*", "{", "[", "|")  # marks that send a block to the token path


class _Lexer:
    """A cursor over BIF tokens that knows where each token starts (for error lines)."""

    __slots__ = ("_end", "_start", "_token", "last", "path", "text")

    def __init__(self, text: str, path: str | None) -> None:
        self.text = text
        self.path = path
        self.last = 0  # offset of the token most recently taken
        self._seek(0)

    def _seek(self, pos: int) -> None:
        """Cache the next token at or after `pos`, skipping white space and comments."""
        pos = _SKIP.match(self.text, pos).end()  # type: ignore[union-attr]  # always matches
        if self.text.startswith("/*", pos):
            raise self.error("unterminated /* comment", pos)
        match = _TOKEN.match(self.text, pos)
        if match is None and pos < len(self.text):
            raise self.error('unterminated " string', pos)
        self._start = pos
        self._end = match.end() if match else pos
        self._token = match.group() if match else None

    def offset(self) -> int:
        """Where the next token starts (the end of the text when there is none)."""
        return self._start

    def jump(self, offset: int) -> None:
        """Continue reading at `offset` (after a block was read by other means)."""
        self._seek(offset)

    def error(self, message: str, offset: int | None = None) -> ParseError:
        """A ParseError at `offset` (default: the token most recently taken)."""
        offset = self.last if offset is None else offset
        return ParseError(message, self.path, line_at(self.text, offset))

    def peek(self) -> str | None:
        """The next token without taking it (None at the end of the text)."""
        return self._token

    def take(self, expected: str) -> str:
        """Take the next token; `expected` describes it for the end-of-file error."""
        token = self._token
        if token is None:
            raise self.error(f"unexpected end of file, expected {expected}", len(self.text))
        self.last = self._start
        self._seek(self._end)
        return token

    def expect(self, token: str) -> None:
        """Take the next token and check that it is `token`."""
        got = self.take(repr(token))
        if got != token:
            raise self.error(f"expected {token!r}, got {got!r}")

    def name(self, what: str) -> str:
        """Take a name (bare or quoted) and return it unquoted."""
        token = self.take(what)
        if token in _PUNCTUATION:
            raise self.error(f"expected {what}, got {token!r}")
        return token[1:-1] if token.startswith('"') else token

    def names_until(self, close: str, what: str) -> list[str]:
        """Names separated by commas and/or white space, up to and including `close`."""
        out = []
        while (token := self.peek()) != close:
            if token == ",":
                self.take(",")
            else:
                out.append(self.name(what))
        self.take(close)
        return out

    def skip_statement(self) -> None:
        """Skip tokens up to and including the next ';' (a property line)."""
        while self.take("';'") != ";":
            pass

    def numbers(self, what: str) -> np.ndarray:
        """Probabilities up to and including the next ';', converted in one NumPy call."""
        start = self._start
        stop = self.text.find(";", start)
        chunk = self.text[start : len(self.text) if stop < 0 else stop]
        if "/" in chunk:
            chunk = _COMMENT.sub(lambda m: " " * len(m.group()), chunk)
        if (bad := _NOT_NUMBERS.search(chunk)) is not None:
            raise self.error(f"expected ';' after {what}, got {bad.group()!r}", start + bad.start())
        if stop < 0:
            raise self.error(f"unexpected end of file in {what} (no ';')", len(self.text))
        try:
            values = np.array(chunk.replace(",", " ").split(), dtype=np.float64)
        except ValueError:
            values = np.array([_float_or_nan(m.group()) for m in _NUMBER.finditer(chunk)])
        if not np.all(np.isfinite(values) & (values >= 0)):
            k = int(np.argmin(np.isfinite(values) & (values >= 0)))
            match = list(_NUMBER.finditer(chunk))[k]
            raise self.error(
                f"{what}: {match.group()!r} is not a probability (a finite number >= 0)",
                start + match.start(),
            )
        self.last = start
        self._seek(stop + 1)
        return values


def _float_or_nan(token: str) -> float:
    """float(token), or NaN when it is not a number (so the caller can point at it)."""
    try:
        return float(token)
    except ValueError:
        return float("nan")


class _Parser:
    """Reads the blocks of one BIF text into declarations and CPT tables."""

    def __init__(self, text: str, path: str | None) -> None:
        self.lex = _Lexer(text, path)
        self.name = ""
        self.states: dict[str, tuple[str, ...]] = {}
        self.declared_at: dict[str, int] = {}
        self.cpts: dict[str, CPT] = {}
        self.block_at: dict[str, int] = {}  # offset of each probability block

    def parse(self) -> BayesianNetwork:
        """All blocks, then the network (semantic errors name the file)."""
        lex = self.lex
        while (token := lex.peek()) is not None:
            if token == "network":
                self._network()
            elif token == "variable":
                self._variable()
            elif token == "probability":
                self._probability()
            else:
                lex.take("a block")
                raise lex.error(f"expected 'network', 'variable' or 'probability', got {token!r}")
        if not self.states:
            raise ParseError("no variables declared (empty or not a BIF file)", lex.path, 1)
        for v, offset in self.declared_at.items():
            if v not in self.cpts:
                raise lex.error(f"variable {v!r} has no probability block", offset)
        try:
            return BayesianNetwork(
                [self.cpts[v] for v in self.states], states=self.states, name=self.name
            )
        except ModelError as exc:  # e.g. rows not summing to one: point at the block if we can
            named = re.match(r"CPT of '(.+?)'", str(exc))
            at = self.block_at.get(named.group(1)) if named else None
            line = None if at is None else line_at(lex.text, at)
            raise ParseError(str(exc), lex.path, line) from exc

    def _network(self) -> None:
        lex = self.lex
        lex.take("'network'")
        self.name = " ".join(lex.names_until("{", "a network name"))
        while lex.peek() != "}":
            self._property("network")
        lex.take("'}'")

    def _property(self, block: str) -> None:
        lex = self.lex
        token = lex.take("'property' or '}'")
        if token != "property":
            raise lex.error(f"expected 'property' or '}}' in the {block} block, got {token!r}")
        lex.skip_statement()

    def _variable(self) -> None:
        lex = self.lex
        lex.take("'variable'")
        at = lex.last
        v = lex.name("a variable name")
        if v in self.declared_at:
            raise lex.error(
                f"variable {v!r} declared twice "
                f"(first at line {line_at(lex.text, self.declared_at[v])})",
                at,
            )
        lex.expect("{")
        states: list[str] | None = None
        while lex.peek() != "}":
            if lex.peek() != "type":
                self._property(f"variable {v!r}")
                continue
            lex.take("'type'")
            kind = lex.take("'discrete'")
            if kind != "discrete":
                raise lex.error(f"variable {v!r}: only discrete variables are supported ({kind!r})")
            lex.expect("[")
            count = lex.take("a number of states")
            if not count.isdigit() or int(count) < 1:
                raise lex.error(f"variable {v!r}: the number of states must be >= 1, got {count!r}")
            lex.expect("]")
            lex.expect("{")
            states = lex.names_until("}", "a state name")
            if len(states) != int(count):
                raise lex.error(f"variable {v!r} declares {count} states but lists {len(states)}")
            if len(set(states)) != len(states):
                raise lex.error(f"variable {v!r} has repeated state names {states}")
            lex.expect(";")
        lex.take("'}'")
        if states is None:
            raise lex.error(f"variable {v!r} has no 'type discrete [...] {{...}};' line", at)
        self.declared_at[v] = at
        self.states[v] = tuple(states)

    def _probability(self) -> None:
        lex = self.lex
        lex.take("'probability'")
        at = lex.last
        lex.expect("(")
        scope: list[str] = []
        bar = None
        while (token := lex.peek()) != ")":
            if token == "|":
                lex.take("'|'")
                bar = len(scope)
            elif token == ",":
                lex.take(",")
            else:
                scope.append(lex.name("a variable name"))
                if scope[-1] not in self.states:
                    raise lex.error(
                        f"unknown variable {scope[-1]!r} (declare it before its probability block)"
                    )
        lex.take("')'")
        if not scope or bar not in (None, 1):
            raise lex.error("expected '( child )' or '( child | parents )'", at)
        v, parents = scope[0], tuple(scope[1:])
        if v in self.cpts:
            raise lex.error(f"variable {v!r} has two probability blocks", at)
        if len(set(scope)) != len(scope):
            raise lex.error(f"probability block of {v!r} names a variable twice: {scope}", at)
        lex.expect("{")
        self.block_at[v] = at
        self.cpts[v] = CPT(v, self._body(v, parents, at), parents)

    def _body(self, v: str, parents: tuple[str, ...], at: int) -> np.ndarray:
        """The statements of a probability block as a table (*parent_cards, card)."""
        card = len(self.states[v])
        parent_cards = tuple(len(self.states[p]) for p in parents)
        table = np.full((*parent_cards, card), np.nan)
        filled = np.zeros(parent_cards, dtype=bool)
        default = self._fast_body(v, parents, table, filled)
        if default is False:  # the block needs the careful (token by token) reading
            table[...] = np.nan
            filled[...] = False
            default = self._token_body(v, parents, table, filled)
        if default is not None:
            table[~filled] = default
        elif not filled.all():
            missing = tuple(int(i) for i in np.argwhere(~filled)[0])
            config = ", ".join(
                f"{p}={self.states[p][i]}" for p, i in zip(parents, missing, strict=True)
            )
            raise self.lex.error(f"{v!r}: no probabilities for parent configuration ({config})", at)
        return table

    def _fast_body(
        self, v: str, parents: tuple[str, ...], table: np.ndarray, filled: np.ndarray
    ) -> np.ndarray | Literal[False] | None:
        """Read a plain block (no quotes, comments or errors) with string splits and one NumPy
        conversion; return the default row (None if none), or False to ask for the token path."""
        lex = self.lex
        start = lex.offset()
        end = lex.text.find("}", start)
        body = lex.text[start:end]
        if end < 0 or any(mark in body for mark in _NOT_FAST):
            return False
        *statements, tail = body.split(";")
        if tail.strip():
            return False
        card = len(self.states[v])
        index = [{s: i for i, s in enumerate(self.states[p])} for p in parents]
        keys: list[tuple[int, ...]] = []
        numbers: list[str] = []
        whole: list[str] | None = None
        default: list[str] | None = None
        for statement in statements:
            statement = statement.strip()
            head, _, rest = statement.partition(")") if statement[:1] == "(" else ("", "", "")
            if head:
                config = head[1:].replace(",", " ").split()
                if len(config) != len(parents) or "(" in rest:
                    return False
                try:
                    keys.append(tuple(ix[s] for ix, s in zip(index, config, strict=True)))
                except KeyError:
                    return False
                row = rest.replace(",", " ").split()
                if len(row) != card:
                    return False
                numbers += row
            else:
                word, _, rest = " ".join(statement.split()).partition(" ")
                if word == "table" and whole is None and rest:
                    whole = rest.replace(",", " ").split()
                elif word == "default" and default is None and rest:
                    default = rest.replace(",", " ").split()
                elif word != "property":
                    return False
        if whole is not None and (keys or len(whole) != table.size):
            return False
        if default is not None and len(default) != card:
            return False
        try:
            values = np.array(numbers + (whole or []) + (default or []), dtype=np.float64)
        except ValueError:
            return False
        if not np.all(np.isfinite(values) & (values >= 0)):
            return False
        rows = values[: len(numbers)].reshape(-1, card)
        if keys:
            at = tuple(np.array(keys, dtype=np.intp).T)
            filled[at] = True
            if int(filled.sum()) != len(keys):  # a configuration given twice
                return False
            table[at] = rows
        if whole is not None:
            full = values[len(numbers) : len(numbers) + len(whole)]
            table[...] = np.moveaxis(full.reshape(card, *table.shape[:-1]), 0, -1)
            filled[...] = True
        lex.jump(end)
        lex.take("'}'")
        return values[-card:] if default is not None else None

    def _token_body(
        self, v: str, parents: tuple[str, ...], table: np.ndarray, filled: np.ndarray
    ) -> np.ndarray | None:
        """Read the block token by token, naming the line of any error; return the default row."""
        lex = self.lex
        card = len(self.states[v])
        index = [{s: i for i, s in enumerate(self.states[p])} for p in parents]
        default: np.ndarray | None = None
        while (token := lex.peek()) != "}":
            if token == "(":
                lex.take("'('")
                row_at = lex.last
                config = lex.names_until(")", "a parent state")
                if len(config) != len(parents):
                    raise lex.error(
                        f"{v!r} has {len(parents)} parents {parents}, "
                        f"the row names {len(config)} states",
                        row_at,
                    )
                for p, ix, s in zip(parents, index, config, strict=True):
                    if s not in ix:
                        known = ", ".join(self.states[p])
                        raise lex.error(f"unknown state {s!r} of {p!r} (states: {known})", row_at)
                key = tuple(ix[s] for ix, s in zip(index, config, strict=True))
                values = lex.numbers(f"the row of {v!r}")
                if filled[key]:
                    given = ", ".join(config)
                    raise lex.error(f"{v!r}: configuration ({given}) given twice", row_at)
                filled[key] = True
                table[key] = self._checked(values, card, f"the row of {v!r}")
            elif token in ("table", "default"):
                lex.take(token)
                values = lex.numbers(f"the {token} of {v!r}")
                if token == "default":
                    if default is not None:
                        raise lex.error(f"{v!r}: two 'default' rows")
                    default = self._checked(values, card, f"the default row of {v!r}")
                    continue
                if filled.any():
                    raise lex.error(f"{v!r}: 'table' together with other rows of the same block")
                full = self._checked(values, table.size, f"the table of {v!r}")
                # BIF lists the child slowest: C order over (child, *parents).
                table[...] = np.moveaxis(full.reshape(card, *table.shape[:-1]), 0, -1)
                filled[...] = True
            else:
                self._property(f"probability block of {v!r}")
        lex.take("'}'")
        return default

    def _checked(self, values: np.ndarray, size: int, what: str) -> np.ndarray:
        if values.size != size:
            raise self.lex.error(f"{what} has {values.size} probabilities, expected {size}")
        return values


def read_bif(source: Source) -> BayesianNetwork:
    """Read a BIF file (a path; .gz decompressed) or BIF text into a BayesianNetwork.

    >>> bn = read_bif("network n {}\\nvariable a { type discrete [2] { y, n }; }\\n"
    ...               "probability ( a ) { table 0.25, 0.75; }")
    >>> bn.cpt("a").table.tolist(), bn.states["a"]
    ([0.25, 0.75], ('y', 'n'))
    """
    text, path = read_source(source, SUFFIXES)
    return _Parser(text, path).parse()


def _quote(name: str) -> str:
    """`name` as a BIF token: bare when it can be, else in double quotes."""
    if _BARE.fullmatch(name) and not name.startswith(("//", "/*")):
        return name
    if '"' in name:
        raise ValueError(f"BIF cannot hold a name with a double quote: {name!r}")
    return f'"{name}"'


def _numbers(values: np.ndarray) -> str:
    """Probabilities as shortest round-trip reprs, so reading them back is exact."""
    return ", ".join(map(repr, values.tolist()))


def bif_string(bn: BayesianNetwork) -> str:
    """The network as BIF text: rows per parent configuration, floats exact (repr)."""
    lines = [f"network {_quote(bn.name or 'unknown')} {{", "}"]
    for v in bn.variables:
        states = ", ".join(map(_quote, bn.state_names(v)))
        lines += [f"variable {_quote(v)} {{"]
        lines += [f"  type discrete [ {bn.cards[v]} ] {{ {states} }};", "}"]
    for v in bn.variables:
        cpt = bn.cpt(v)
        given = " | " + ", ".join(map(_quote, cpt.parents)) if cpt.parents else ""
        lines.append(f"probability ( {_quote(v)}{given} ) {{")
        rows = np.asarray(cpt.table).reshape(-1, bn.cards[v])
        if cpt.parents:
            configs = itertools.product(*(map(_quote, bn.state_names(p)) for p in cpt.parents))
            pairs = zip(configs, rows, strict=True)
            lines += [f"  ({', '.join(c)}) {_numbers(r)};" for c, r in pairs]
        else:
            lines.append(f"  table {_numbers(rows[0])};")
        lines.append("}")
    return "\n".join(lines) + "\n"


def write_bif(bn: BayesianNetwork, path: Source) -> None:
    """Write the network as a BIF file (atomically; gzip when `path` ends in .gz)."""
    write_text(path, bif_string(bn))
