"""Recursive-descent parser: filter string -> raw syntax tree.

Grammar (keywords are case-insensitive)::

    filter   := AND* [or_expr] AND*                    -- leading/trailing ANDs only at the very ends
    or_expr  := and_expr (OR and_expr)*
    and_expr := primary ((AND+ | <nothing>) primary)*  -- "nothing": MLflow's implicit AND, see below
    primary  := "(" or_expr ")" | clause
    clause   := ident COMPARATOR value
              | ident IS NULL | ident IS NOT NULL
              | ident [NOT] IN "(" python-literal ")"
    ident    := part (ws* "." [ws* part])*             -- raw text, split and unquoted by binding
    value    := number | 'string' | ident | NULL | "(" python-literal ")"

``OR`` and parentheses are this implementation's extensions; everything else is MLflow's grammar as its
``sqlparse``-based parser accepts it, including two oddities kept for compatibility:

* two clauses may follow each other without AND (``a = 1 b = 2``) when the second one is a binary
  comparison or the first one is ``IS [NOT] NULL``; in the remaining cases MLflow misparses or rejects
  the string, and so it is rejected here;
* in ``IS NOT NULL`` exactly one space must separate NOT and NULL.
"""

from __future__ import annotations

from eventlog.views.filter._ast import RawAnd, RawClause, RawNode, RawOr, RawValue
from eventlog.views.filter._errors import FilterError
from eventlog.views.filter._lexer import Kind, Lexer, Token
from eventlog.views.filter._pylist import ListSyntaxError, read_list

__all__ = ["ILL_FORMED_LIST", "parse_filter_text", "scan_identifier"]

ILL_FORMED_LIST = (
    "While parsing a list in the query, expected a non-empty list of string values, but got ill-formed list."
)
_MAX_DEPTH = 64
_IDENT_START = (Kind.NAME, Kind.BQ, Kind.DQ)
_IDENT_PART = (Kind.NAME, Kind.BQ, Kind.DQ, Kind.STRING, Kind.STAR)


def _describe(tok: Token) -> str:
    if tok.kind is Kind.EOF:
        return "end of input"
    if tok.kind is Kind.ERROR:
        return f"{tok.sub} {tok.text!r}"
    return f"{tok.text!r}"


def scan_identifier(lexer: Lexer, start: Token) -> int:
    """End offset of the identifier that begins with ``start`` (a NAME/BQ/DQ token).

    Like sqlparse, parts are joined by dots with optional whitespace around them; a dot not followed by
    a valid part still belongs to the identifier (``params.x.`` names the key ``x.``).
    """
    end = start.end
    while True:
        dot = lexer.at(lexer.skip_ws(end))
        if dot.kind is not Kind.DOT:
            return end
        end = dot.end
        part = lexer.next(end)
        if part.kind in _IDENT_PART:
            end = part.end


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.lexer = Lexer(text)
        self.depth = 0
        self.extensions: set[str] = set()

    def error(self, message: str, pos: int) -> FilterError:
        return FilterError(f"{message} at position {pos}", position=pos)

    # -- entry -------------------------------------------------------------------------------------

    def parse(self) -> RawNode:
        tokens = self.lexer.tokens()
        if all(t.kind is Kind.WS for t in tokens):
            # sqlparse finds no statement at all in a blank string (an empty one never reaches here)
            raise FilterError(f"Invalid filter '{self.text}'. Could not be parsed.", position=0)
        self._check_statements(tokens)
        lexer = self.lexer
        pos = self._skip_ands(0)
        if lexer.next(pos).kind is Kind.EOF:
            return RawAnd(())
        node, pos = self.or_expr(pos)
        tok = lexer.next(pos)
        if tok.kind is Kind.EOF:
            return node
        if tok.kind is Kind.RPAREN:
            raise self.error("Unbalanced ')'", tok.start)
        if tok.kind is Kind.SEMI:
            raise self.error("A filter is a single expression: ';' is not allowed", tok.start)
        if tok.kind is Kind.KW and tok.sub == "NOT":
            raise self.error(
                "NOT is only supported as part of NOT IN and IS NOT NULL; found 'NOT'", tok.start
            )
        raise self.error(f"Expected AND, OR or the end of the filter but found {_describe(tok)}", tok.start)

    def _check_statements(self, tokens: list[Token]) -> None:
        """MLflow (sqlparse) splits the string into statements at top-level ';'."""
        depth = 0
        seen_semi = False
        for tok in tokens:
            if tok.kind is Kind.WS:
                continue
            if seen_semi:
                raise FilterError(
                    f"Search filter contained multiple expression {self.text!r}. "
                    "Provide AND-ed expression list.",
                    position=tok.start,
                )
            if tok.kind is Kind.LPAREN:
                depth += 1
            elif tok.kind is Kind.RPAREN:
                depth = max(0, depth - 1)
            elif tok.kind is Kind.SEMI and depth == 0:
                seen_semi = True

    # -- expressions -------------------------------------------------------------------------------

    def _skip_ands(self, pos: int) -> int:
        while True:
            tok = self.lexer.next(pos)
            if not (tok.kind is Kind.KW and tok.sub == "AND"):
                return pos
            pos = tok.end

    def or_expr(self, pos: int) -> tuple[RawNode, int]:
        items: list[RawNode] = []
        node, pos = self.and_expr(pos)
        items.append(node)
        while True:
            tok = self.lexer.next(pos)
            if not (tok.kind is Kind.KW and tok.sub == "OR"):
                break
            node, pos = self.and_expr(tok.end, after="OR")
            items.append(node)
            self.extensions.add("OR")
        return (items[0] if len(items) == 1 else RawOr(tuple(items))), pos

    def and_expr(self, pos: int, after: str | None = None) -> tuple[RawNode, int]:
        lexer = self.lexer
        first, pos, grouped = self.primary(pos, after)
        items: list[RawNode] = [first]
        while True:
            tok = lexer.next(pos)
            if tok.kind is Kind.KW and tok.sub == "AND":
                pos = self._skip_ands(tok.end)
                if lexer.next(pos).kind is Kind.EOF:  # trailing ANDs, as MLflow allows
                    break
                node, pos, grouped = self.primary(pos, "AND")
                items.append(node)
            elif tok.kind in _IDENT_START and tok.sub != "func":
                prev = items[-1]
                node, end = self.clause(tok)
                if grouped or not isinstance(prev, RawClause):
                    raise self.error("Missing AND or OR after ')'", tok.start)
                if not (node.binary or prev.op in ("IS NULL", "IS NOT NULL")):
                    raise self.error(f"Missing AND before {tok.text!r}", tok.start)
                items.append(node)
                pos, grouped = end, False
            elif tok.kind is Kind.LPAREN:
                raise self.error("Missing AND or OR before '('", tok.start)
            else:
                break
        return (items[0] if len(items) == 1 else RawAnd(tuple(items))), pos

    def primary(self, pos: int, after: str | None) -> tuple[RawNode, int, bool]:
        """A parenthesised group or a clause; the flag tells which."""
        tok = self.lexer.next(pos)
        if tok.kind is Kind.LPAREN:
            if self.lexer.next(tok.end).kind is Kind.RPAREN:
                raise self.error("Empty parentheses", tok.start)
            self.depth += 1
            self.extensions.add("parentheses")
            if self.depth > _MAX_DEPTH:
                raise self.error(f"Parentheses nested deeper than {_MAX_DEPTH} levels", tok.start)
            node, pos = self.or_expr(tok.end)
            self.depth -= 1
            close = self.lexer.next(pos)
            if close.kind is not Kind.RPAREN:
                raise self.error(
                    f"Expected ')' to close the '(' at position {tok.start} but found {_describe(close)}",
                    close.start,
                )
            return node, close.end, True
        if tok.kind in _IDENT_START and tok.sub != "func":
            clause, end = self.clause(tok)
            return clause, end, False
        where = f" after {after}" if after else ""
        if tok.kind is Kind.KW and tok.sub == "NOT":
            raise self.error(
                "NOT is only supported as part of NOT IN and IS NOT NULL; found 'NOT'", tok.start
            )
        raise self.error(f"Expected a comparison{where} but found {_describe(tok)}", tok.start)

    # -- clauses -----------------------------------------------------------------------------------

    def clause(self, start: Token) -> tuple[RawClause, int]:
        lexer = self.lexer
        end = scan_identifier(lexer, start)
        ident = self.text[start.start : end]
        op = lexer.next(end)
        if op.kind is Kind.COMP:
            value, pos = self.value(op)
            return RawClause(ident, start.start, op.text, op.start, value, binary=True), pos
        if op.kind is Kind.KW and op.sub == "IS":
            nxt = lexer.next(op.end)
            if nxt.kind is Kind.KW and nxt.sub == "NULL":
                return RawClause(ident, start.start, "IS NULL", op.start, None, binary=False), nxt.end
            if nxt.kind is Kind.NOTNULL:
                if nxt.text.upper() != "NOT NULL":
                    raise self.error(
                        "IS NOT NULL must be written with a single space between NOT and NULL", nxt.start
                    )
                return RawClause(ident, start.start, "IS NOT NULL", op.start, None, binary=False), nxt.end
            raise self.error(f"Expected NULL or NOT NULL after IS but found {_describe(nxt)}", nxt.start)
        if op.kind is Kind.KW and op.sub == "IN":
            value, pos = self.in_list(op)
            return RawClause(ident, start.start, op.text, op.start, value, binary=False), pos
        if op.kind is Kind.KW and op.sub == "NOT":
            in_tok = lexer.next(op.end)
            if not (in_tok.kind is Kind.KW and in_tok.sub == "IN"):
                raise self.error(
                    f"Expected IN after NOT but found {_describe(in_tok)} (NOT is only supported in "
                    "NOT IN and IS NOT NULL)",
                    in_tok.start,
                )
            value, pos = self.in_list(in_tok)
            return RawClause(ident, start.start, "NOT IN", op.start, value, binary=False), pos
        raise self.error(
            f"Expected a comparison operator after {ident!r} but found {_describe(op)}", op.start
        )

    def in_list(self, in_tok: Token) -> tuple[RawValue, int]:
        paren = self.lexer.next(in_tok.end)
        if paren.kind is not Kind.LPAREN:
            raise self.error(
                f"Expected a parenthesised list after {in_tok.text.upper()} but found {_describe(paren)}",
                paren.start,
            )
        return self.paren_value(paren)

    def paren_value(self, paren: Token) -> tuple[RawValue, int]:
        try:
            lst = read_list(self.text, paren.start)
        except ListSyntaxError as exc:
            raise FilterError(ILL_FORMED_LIST, position=exc.position) from None
        raw = self.text[lst.start : lst.end]
        return RawValue("list", raw, paren.start, items=lst.items), lst.end

    def value(self, op: Token) -> tuple[RawValue, int]:
        tok = self.lexer.next(op.end)
        kind = tok.kind
        if kind is Kind.NUMBER:
            return RawValue("number", tok.text, tok.start, sub=tok.sub), tok.end
        if kind is Kind.STRING:
            return RawValue("string", tok.text, tok.start), tok.end
        if kind in _IDENT_START and tok.sub != "func":
            end = scan_identifier(self.lexer, tok)
            return RawValue("ident", self.text[tok.start : end], tok.start), end
        if kind is Kind.HEX or (kind is Kind.KW and tok.sub == "NULL"):
            return RawValue("other", tok.text, tok.start), tok.end
        if kind is Kind.LPAREN:
            return self.paren_value(tok)
        raise self.error(f"Expected a value after {op.text!r} but found {_describe(tok)}", tok.start)


def parse_filter_text(text: str) -> tuple[RawNode, set[str]]:
    """Parse a filter string into the raw tree (``RawAnd(())`` for an empty filter) and the names of the
    grammar extensions it uses (``OR``, ``parentheses``)."""
    parser = _Parser(text)
    node = parser.parse()
    return node, parser.extensions
