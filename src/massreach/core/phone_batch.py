"""Phone numbers a column at a time: :meth:`PhoneColumn.e164_many`.

``PhoneColumn(region).e164_many(cells)`` is exactly
``[PhoneNormalizer(region).e164_or_none(c) for c in cells]`` for any list of
strings, but decides the common cells with a few C-level passes over the whole
column instead of a Python call per cell:

1. ``text = "\\n" + "\\n".join(cells) + "\\n"``: one line per cell. When some
   cell would not be one clean line -- it contains ``"\\n"``, is longer than the
   fast path's 64 characters, contains the plus marker :data:`_PLUS`, or has a
   ``"+"`` anywhere but at its very start -- the text is joined again with those
   cells as empty lines (so they are left to the per-cell function, below). Only
   ``"\\n"`` separates lines: ``str.split("\\n")`` and the ``"\\n"`` literals of
   the expressions treat ``"\\r"``, ``"\\x1c"`` and the like as ordinary
   characters, which no shape accepts.
2. Excel floats: a line that is spaces, ASCII digits, ``"."``, zeros, spaces
   (after ``strip()``: ``_EXCEL_FLOAT`` of :mod:`~massreach.core.phones`) loses
   its ``".0…"``. This is done on the reversed text, where the part to remove is
   at the start of the line and the rest can be checked with a lookahead, so the
   replacement is a literal (``re.sub`` calls no Python code per match).
3. The fast path's separators ``" -.()"`` are deleted and the leading ``"+"``
   (the only one left) becomes :data:`_PLUS`: one ``str.translate`` (chained
   ``str.replace`` when the text is not ASCII, where ``translate`` is slow).
4. One ``re.sub`` with the literal replacement ``"\\n+CC"`` rewrites the start of
   each line of a recognised shape (below) and leaves the national significant
   number (NSN) in place, so the line becomes its E.164 text; which NSNs are
   accepted is checked by a lookahead. Every original ``"+"`` has become
   :data:`_PLUS`, so a line starts with ``"+"`` exactly when it was rewritten.
5. ``text[1:-1].split("\\n")`` is the answer list; the lines that do not start
   with ``"+"`` (found by one ``re.finditer``, usually few) are replaced by
   ``PhoneNormalizer.e164_or_none`` of the *original* cell, empty lines included.

So a cell's answer comes either from the per-cell function itself or from a
rewrite, and a rewrite happens only when the per-cell function gives that very
E.164 text (next section). Lines that fit no shape, invalid numbers, numbers of
other countries and anything unusual simply take the per-cell path.

Why a rewritten line gives what the per-cell path gives
--------------------------------------------------------

Let H be the default region: its metadata must be "plain enough" (``_plan``):
H is the main region of its country code CC, there is no national prefix
transform rule, and no shorter prefix of CC is a country code. Otherwise no
line is rewritten. IDD is H's international prefix, NP its
national-prefix-for-parsing (either may be absent).

*Reaching the fast path.* ``e164_or_none(raw)`` first checks the Excel float
(``"." in raw and _EXCEL_FLOAT.fullmatch(raw.strip())``); step 2 removes the
``".0…"`` of exactly those cells (with spaces around; a cell with other
whitespace around is not rewritten at all, since step 4 only accepts digits), so
the line holds ``clean_excel_number(raw)``, which is what ``e164_or_none`` then
gives to the fast path. For other cells it gives ``raw`` itself. In both cases the
fast path (``_home_e164`` of :mod:`~massreach.core.phone_patterns`) strips the
text (at most 64 characters, checked in step 1), takes a leading ``"+"``, deletes
``" -.()"`` and needs ASCII digits, at least three. Step 3 does the same deletion;
a line is rewritten only when, after it, the line is an optional :data:`_PLUS`
followed by ASCII digits, i.e. ``digits`` and ``plus`` of ``_home_e164``. Each
shape needs at least three digits. When the fast path returns an E.164 text,
``e164_or_none`` returns it unchanged.

*NSN validity.* ``valid(nsn)`` below is the fast path's test, for NSNs of 3 to 17
digits: ``valid_by_length`` of H, or for a country code shared by several regions
``_is_valid`` (leading digits, then each region's ``valid_by_length``). Those
patterns are compiled (``_Automaton``) into one deterministic regular expression
per shape, listing digit by digit which NSNs pass -- the same language as the
regexes of :mod:`~massreach.core.phone_patterns`, checked without backtracking.
``general`` is H's general pattern (full match); ``starts_np(x)`` is
``NP.match(x) is not None``.

The shapes, as the line looks after step 3 (``P`` is :data:`_PLUS`):

``P CC nsn`` -- ``plus``; ``digits.startswith(CC)`` and H is the main region, so
    ``finish_home(nsn)``. With ``not starts_np(nsn)`` the national prefix is not
    stripped (plain NP: ``startswith`` is false; otherwise
    ``strip_national_prefix`` finds no match; no NP: nothing to strip), so
    ``national == nsn`` and the answer is ``+CC nsn`` iff ``valid(nsn)``.
    Needed: ``valid(nsn) and not starts_np(nsn)``.

``IDD CC nsn`` -- no plus; the digits start with IDD (its first match, an atomic
    group ``(?>IDD)``, as ``idd.match``) not followed by ``"0"`` (CC never starts
    with 0), so ``_international(CC nsn)``: CC is split off (country codes are
    prefix-free, checked), ``_country(CC)`` is H's, ``_finish(H, regions, nsn)``:
    with ``not starts_np(nsn)`` ``strip_national_prefix`` keeps ``nsn`` and the
    answer is ``+CC nsn`` iff ``valid(nsn)``. Needed: as for ``plus``.

``CC nsn`` -- no plus, not international (below), starts with CC. In the
    ``digits.startswith(cc_text)`` branch, ``rest = nsn`` (``not starts_np(nsn)``:
    nothing stripped), and the branch is taken when
    ``length_result[len(digits)] == TOO_LONG or (general(nsn) and not
    general(digits))``; then ``finish_home(nsn)`` gives ``+CC nsn`` iff
    ``valid(nsn)``. Needed: ``valid(nsn) and general(nsn) and not
    starts_np(nsn) and (too_long(len(CC nsn)) or not general(CC nsn))``;
    ``general(CC nsn)`` is followed digit by digit from the state of ``general``
    after CC.

``NP nsn`` -- no plus, not international, not starting with CC, NP is the first
    match of ``(?>NP)``. ``finish_home(digits)``: ``general(nsn)`` holds, so the
    stripped candidate is ``nsn`` (plain NP: ``known``; other NP:
    ``strip_national_prefix`` keeps the stripped text when it matches
    ``general``), and it replaces ``national`` when
    ``length_result[len(nsn)]`` is not TOO_SHORT, LOCAL_ONLY or INVALID_LENGTH.
    Then ``+CC nsn`` iff ``valid(nsn)``. Needed: ``valid(nsn) and general(nsn)
    and strippable(len(nsn))``.

``nsn`` -- no plus, not international, not starting with CC (the CC branch is
    skipped), ``not starts_np(nsn)`` (nothing stripped): ``finish_home(nsn)`` is
    ``+CC nsn`` iff ``valid(nsn)``. Needed: as for ``plus``.

"Not international" is ``(?!(?>IDD)(?!0))`` at the start of the digits (simplified
to literals when IDD, NP and CC are plain digit strings); "not starting with CC"
is ``(?!CC)``.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Callable, Sequence
from typing import Any, cast

from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from massreach.core.phone_patterns import (
    _MAX_INPUT,
    _MAX_NSN,
    _NOT_STRIPPABLE,
    _TOO_LONG,
    _country,
    _Region,
    _region,
)
from massreach.core.phones import PhoneNormalizer

__all__ = ["PhoneColumn", "phone_column"]

_parser: Any = importlib.import_module("re._parser")

#: Stands for a leading "+" while the column is one text; cells containing it go row by row.
_PLUS = "\x02"
_MIN_DIGITS = 3  # the fast path wants at least three digits
_MAX_REGEX = 400_000  # characters of one shape's NSN expression before giving up on a region
_DIGITS = "0123456789"
_ALL_DIGITS = frozenset(_DIGITS)

# Excel floats, found on the reversed text: "  0+." then digits and spaces to the end of line.
_EXCEL_REVERSED = re.compile(r"\n *0+\.(?=[0-9]+ *\n)")
_SEPARATORS = str.maketrans({" ": None, "-": None, ".": None, "(": None, ")": None, "+": _PLUS})
_NOT_REWRITTEN = re.compile(r"\n(?!\+)")
_LEADING_ANY = re.compile(r"\\d(?:\{([0-9]+)\})?")


class _Unsupported(Exception):
    """A pattern uses something the automaton does not model: the region goes row by row."""


# ----------------------------------------------------------------- automata


class _Automaton:
    """A Thompson automaton of a regular expression, over the ten ASCII digits.

    Built from ``re``'s own parse of the pattern; only the constructs of
    phonenumbers' metadata are modelled (literals, classes, ``\\d``, groups,
    alternation, counted repeats and a final ``\\Z``), anything else raises
    :class:`_Unsupported`. ``accepts`` after ``step``-ping through a digit string
    is ``re.fullmatch(pattern, digits) is not None``.
    """

    def __init__(self, pattern: str) -> None:
        self._eps: list[list[int]] = []
        self._moves: list[dict[str, list[int]]] = []
        items = list(_parser.parse(pattern))
        if items and items[-1][0].name == "AT" and items[-1][1].name == "AT_END_STRING":
            items.pop()
        first = self._state()
        self.accept = self._sequence(items, first)
        self.start = self._closure([first])
        self._steps: dict[tuple[frozenset[int], str], frozenset[int]] = {}

    def _state(self) -> int:
        self._eps.append([])
        self._moves.append({})
        return len(self._eps) - 1

    def _sequence(self, items: Sequence[Any], state: int) -> int:
        for op, arg in items:
            state = self._item(op.name, arg, state)
        return state

    def _item(self, name: str, arg: Any, state: int) -> int:
        if name in ("LITERAL", "NOT_LITERAL", "ANY", "IN"):
            if name == "LITERAL":
                chars = _ALL_DIGITS & {chr(arg)}
            elif name == "NOT_LITERAL":
                chars = _ALL_DIGITS - {chr(arg)}
            elif name == "ANY":
                chars = _ALL_DIGITS
            else:
                chars = _charset(arg)
            end = self._state()
            for ch in chars:
                self._moves[state].setdefault(ch, []).append(end)
            return end
        if name == "BRANCH":
            end = self._state()
            for alternative in arg[1]:
                entry = self._state()
                self._eps[state].append(entry)
                self._eps[self._sequence(alternative, entry)].append(end)
            return end
        if name == "SUBPATTERN":
            _group, add_flags, del_flags, items = arg
            if add_flags or del_flags:
                raise _Unsupported("inline flags")
            return self._sequence(items, state)
        if name in ("MAX_REPEAT", "MIN_REPEAT"):  # greedy or lazy: the same language
            low, high, items = arg
            if low > _MAX_INPUT or (high != _parser.MAXREPEAT and high > _MAX_INPUT):
                raise _Unsupported("large repeat")
            for _ in range(low):
                state = self._sequence(items, state)
            if high == _parser.MAXREPEAT:
                loop = self._state()
                self._eps[state].append(loop)
                self._eps[self._sequence(items, loop)].append(loop)
                return loop
            exits = [state]
            for _ in range(high - low):
                state = self._sequence(items, state)
                exits.append(state)
            end = self._state()
            for state in exits:
                self._eps[state].append(end)
            return end
        raise _Unsupported(name)

    def _closure(self, states: Sequence[int]) -> frozenset[int]:
        seen = set(states)
        todo = list(states)
        while todo:
            for nxt in self._eps[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return frozenset(seen)

    def step(self, states: frozenset[int], digit: str) -> frozenset[int]:
        key = (states, digit)
        found = self._steps.get(key)
        if found is None:
            found = self._closure([t for s in states for t in self._moves[s].get(digit, ())])
            self._steps[key] = found
        return found


def _charset(items: Sequence[Any]) -> frozenset[str]:
    chars: set[str] = set()
    negate = False
    for op, arg in items:
        name = op.name
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            chars.add(chr(arg))
        elif name == "RANGE":
            chars.update(d for d in _DIGITS if arg[0] <= ord(d) <= arg[1])
        elif name == "CATEGORY" and arg.name == "CATEGORY_DIGIT":
            chars.update(_DIGITS)
        elif name == "CATEGORY" and arg.name == "CATEGORY_NOT_DIGIT":
            pass
        else:
            raise _Unsupported(name)
    return _ALL_DIGITS - chars if negate else _ALL_DIGITS & chars


# The state of all components after some digits: the live ones (component, automaton
# states), in component order, and the prefix-matching components that have matched.
_Live = tuple[tuple[int, frozenset[int]], ...]
_State = tuple[_Live, frozenset[int]]


class _NsnLanguages:
    """The NSNs each shape accepts, as deterministic regular expressions.

    Components, each an automaton run over the NSN's digits: per region its general
    pattern, its ``types_by_length[n]`` for every n (dropped after n digits) and its
    leading digits (a prefix match: once matched it stays matched); H's national
    prefix (a prefix match) and H's general pattern started after the digits of CC.
    The expression lists, digit by digit, the NSNs whose final state ``accepts``.
    """

    def __init__(self, home: _Region, regions: tuple[_Region, ...]) -> None:
        self._automata: list[_Automaton] = []
        self._sticky: list[bool] = []
        self._last: list[int] = []
        built: dict[str, _Automaton] = {}
        live: list[tuple[int, frozenset[int]]] = []
        matched: set[int] = set()

        def add(
            pattern: str, *, sticky: bool = False, after: str = "", last: int = _MAX_NSN
        ) -> int:
            automaton = built.get(pattern)
            if automaton is None:
                automaton = built[pattern] = _Automaton(pattern)
            component = len(self._automata)
            self._automata.append(automaton)
            self._sticky.append(sticky)
            self._last.append(last)
            states = automaton.start
            for digit in after:
                states = automaton.step(states, digit)
            if sticky and automaton.accept in states:
                matched.add(component)
            elif states:
                live.append((component, states))
            return component

        self._single = len(regions) == 1
        self._general: list[int] = []
        self._types: list[dict[int, int]] = []
        self._leading: list[int | None] = []
        for region in regions:
            if region.general is None:
                raise _Unsupported("no general pattern")
            self._general.append(add(region.general.pattern))
            types: dict[int, int] = {}
            for n in range(_MIN_DIGITS, _MAX_NSN + 1):
                pattern = region.types_by_length[n]
                if pattern is not None:
                    types[n] = add(pattern.pattern, last=n)
            self._types.append(types)
            leading = region.leading_digits
            self._leading.append(add(leading.pattern, sticky=True) if leading is not None else None)
        self._type_components = frozenset(c for types in self._types for c in types.values())
        self._type_region = {c: i for i, types in enumerate(self._types) for c in types.values()}
        self._home_general = self._general[regions.index(home)]
        self._general_region = {
            c: i for i, c in enumerate(self._general) if c != self._home_general
        }
        prefix = home.national_prefix
        self._np = add(prefix.pattern, sticky=True) if prefix is not None else None
        if home.general is None:  # pragma: no cover - checked above
            raise _Unsupported("no general pattern")
        self._general_after_cc = add(home.general.pattern, after=home.cc_text)
        self._cc_len = len(home.cc_text)
        self._length_result = home.length_result
        self._start: _State = (tuple(live), frozenset(matched))
        self._memo: dict[tuple[str, _State, int], str | None] = {}
        self._steps: dict[tuple[_State, str, int], _State] = {}

    # -- acceptance

    def accepts(self, shape: str, state: _State, n: int) -> bool:
        """Whether an NSN of ``n`` digits ending in ``state`` is rewritten in ``shape``."""
        if not _MIN_DIGITS <= n <= _MAX_NSN:
            return False
        live, matched = state
        accepted = {c for c, states in live if self._automata[c].accept in states}

        def valid_in(i: int) -> bool:
            types = self._types[i].get(n)
            return types in accepted and self._general[i] in accepted

        if self._single:  # valid_by_length of the one region
            valid = valid_in(0)
        else:  # _is_valid over the regions of the country code
            valid = False
            for i, leading in enumerate(self._leading):
                if leading is not None:
                    if leading in matched:
                        valid = valid_in(i)
                        break
                elif valid_in(i):
                    valid = True
                    break
        if not valid:
            return False
        starts_np = self._np in matched
        if shape == "plain":  # "P CC nsn", "IDD CC nsn", "nsn"
            return not starts_np
        home_general = self._home_general in accepted
        if shape == "national":  # "NP nsn"
            return home_general and self._length_result[n] not in _NOT_STRIPPABLE
        # "CC nsn"
        return (
            home_general
            and not starts_np
            and (
                self._length_result[self._cc_len + n] == _TOO_LONG
                or self._general_after_cc not in accepted
            )
        )

    # -- the expression

    def _step(self, state: _State, digit: str, depth: int) -> _State:
        """The state after one more digit (the ``depth + 1``-th)."""
        key = (state, digit, depth)
        found = self._steps.get(key)
        if found is None:
            live, matched = state
            new_live = []
            new_matched = set(matched)
            for component, states in live:
                if self._last[component] <= depth:  # types_by_length[n] after n digits
                    continue
                automaton = self._automata[component]
                nxt = automaton.step(states, digit)
                if self._sticky[component] and automaton.accept in nxt:
                    new_matched.add(component)
                elif nxt:
                    new_live.append((component, nxt))
            if not self._single:  # another region's general pattern matters only with its types
                alive = {self._type_region.get(c) for c, _ in new_live}
                new_live = [
                    (c, states)
                    for c, states in new_live
                    if self._general_region.get(c, -1) in alive or c not in self._general_region
                ]
            found = self._steps[key] = (tuple(new_live), frozenset(new_matched))
        return found

    def expression(self, shape: str) -> str | None:
        """A regex matching ``nsn + "\\n"`` for exactly the NSNs ``shape`` accepts."""
        return self._emit(shape, self._start, 0)

    def _emit(self, shape: str, state: _State, depth: int) -> str | None:
        key = (shape, state, depth)
        if key in self._memo:
            return self._memo[key]
        result: str | None = None
        if any(c in self._type_components for c, _ in state[0]):
            alternatives = ["\n"] if self.accepts(shape, state, depth) else []
            if depth < _MAX_NSN:
                by_rest: dict[str, list[str]] = {}
                for digit in _DIGITS:
                    rest = self._emit(shape, self._step(state, digit, depth), depth + 1)
                    if rest is not None:
                        by_rest.setdefault(rest, []).append(digit)
                alternatives.extend(_prepend(digits, rest) for rest, digits in by_rest.items())
            if alternatives:
                result = (
                    alternatives[0]
                    if len(alternatives) == 1
                    else "(?:" + "|".join(alternatives) + ")"
                )
                if len(result) > _MAX_REGEX:
                    raise _Unsupported("expression too large")
        self._memo[key] = result
        return result


def _prepend(digits: list[str], rest: str) -> str:
    """``[digits]`` followed by ``rest``, runs of ``\\d`` counted."""
    if len(digits) == len(_DIGITS):
        found = _LEADING_ANY.match(rest)
        if found is not None:
            count = int(found.group(1) or 1) + 1
            return rf"\d{{{count}}}" + rest[found.end() :]
        return r"\d" + rest
    if len(digits) == 1:
        return digits[0] + rest
    first, last = digits[0], digits[-1]
    if len(digits) > 2 and ord(last) - ord(first) == len(digits) - 1:
        return f"[{first}-{last}]" + rest
    return "[" + "".join(digits) + "]" + rest


# ------------------------------------------------------------------- shapes


def _plan(code: str) -> str | None:
    """The line-start expression of region ``code``, or None (every cell row by row)."""
    home = _region(code)
    country = _country(home.country_code)
    if country is None:
        return None
    main, regions = country
    if main is not home or home.transform is not None or home.general is None:
        return None
    cc = home.cc_text
    if any(int(cc[:size]) in COUNTRY_CODE_TO_REGION_CODE for size in range(1, len(cc))):
        return None
    try:
        languages = _NsnLanguages(home, regions)
        plain_nsn = languages.expression("plain")
        national_nsn = languages.expression("national")
        cc_nsn = languages.expression("cc")
    except _Unsupported:
        return None
    idd = home.idd.pattern if home.idd is not None else None
    idd_plain = home.idd_plain
    np = home.national_prefix.pattern if home.national_prefix is not None else None
    np_plain = home.national_prefix_plain  # the transform rule is None here
    # "Not international" and "not CC" for a line starting with ``consumed``
    # digits, written after them; None when the line always is.
    not_intl_any = f"(?!(?>{idd})(?!0))" if idd is not None else ""

    def not_intl_after(consumed: str) -> str | None:
        if idd is None:
            return ""
        if idd_plain is None:
            raise AssertionError("only for plain prefixes")
        if idd_plain.startswith(consumed):
            return f"(?!{idd_plain[len(consumed) :]}(?!0))"
        if consumed.startswith(idd_plain):
            return None if consumed[len(idd_plain)] != "0" else ""
        return ""

    def not_cc_after(consumed: str) -> str | None:
        if cc.startswith(consumed):
            rest = cc[len(consumed) :]
            return f"(?!{rest})" if rest else None
        return None if consumed.startswith(cc) else ""

    # The shapes exclude each other; the national one, the most common, comes first.
    shapes: list[str] = []
    if national_nsn is not None and np is not None:  # NP nsn
        if np_plain is not None and (idd is None or idd_plain is not None):
            intl, not_cc = not_intl_after(np_plain), not_cc_after(np_plain)
            if intl is not None and not_cc is not None:
                shapes.append(f"{np_plain}{intl}{not_cc}(?={national_nsn})")
        else:
            shapes.append(f"{not_intl_any}(?!{cc})(?>{np})(?={national_nsn})")
    if cc_nsn is not None:  # CC nsn
        if idd is None or idd_plain is not None:
            after = not_intl_after(cc)
            if after is not None:
                shapes.append(f"{cc}{after}(?={cc_nsn})")
        else:
            shapes.append(f"{not_intl_any}{cc}(?={cc_nsn})")
    if plain_nsn is not None:  # P CC nsn, IDD CC nsn
        if idd is None:
            shapes.append(f"{_PLUS}{cc}(?={plain_nsn})")
        elif idd_plain is not None:
            shapes.append(f"(?:{_PLUS}|{idd_plain}){cc}(?={plain_nsn})")
        else:
            shapes.append(f"(?:{_PLUS}|(?>{idd})(?!0)){cc}(?={plain_nsn})")
    if plain_nsn is not None:  # nsn
        shapes.append(f"{not_intl_any}(?!{cc})(?={plain_nsn})")
    if not shapes:
        return None
    return "\n(?:" + "|".join(shapes) + ")"


# ------------------------------------------------------------------- column


class PhoneColumn:
    """E.164 of a whole column of phone cells for one default region.

    ``PhoneColumn("VN").e164_many(["0912345678", "n/a"]) == ["+84912345678", None]``.
    Build it with :func:`phone_column` (compiled once per region and process).
    """

    __slots__ = ("_one", "_pattern", "_template", "region")

    def __init__(self, region: str) -> None:
        normalizer = PhoneNormalizer(region)
        self.region = normalizer.default_region
        self._one: Callable[[str], str | None] = normalizer.e164_or_none
        plan = _plan(self.region)
        self._pattern = re.compile(plan, re.ASCII) if plan is not None else None
        self._template = "\n+" + _region(self.region).cc_text

    @property
    def vectorised(self) -> bool:
        """Whether cells of this region can be decided without a per-cell call."""
        return self._pattern is not None

    def e164_many(self, cells: Sequence[str]) -> list[str | None]:
        """``[PhoneNormalizer(region).e164_or_none(c) for c in cells]``, a column at a time."""
        one = self._one
        pattern = self._pattern
        if pattern is None:
            return [one(c) for c in cells]
        count = len(cells)
        if not count:
            return []
        text = "\n" + "\n".join(cells) + "\n"
        if (
            text.count("\n") != count + 1
            or _PLUS in text
            or text.count("+") != text.count("\n+")
            or max(map(len, cells)) > _MAX_INPUT
        ):
            text = "\n" + "\n".join(map(_screened, cells)) + "\n"
        if ".0" in text:
            text = _EXCEL_REVERSED.sub("\n", text[::-1])[::-1]
        if text.isascii():
            text = text.translate(_SEPARATORS)
        else:  # translate() looks every character up in a dict when the text is not ASCII
            for separator in " -.()":
                text = text.replace(separator, "")
            text = text.replace("+", _PLUS)
        text = pattern.sub(self._template, text)
        results = cast("list[str | None]", text[1:-1].split("\n"))
        # The lines that were not rewritten (they do not start with "+"), by index.
        line = last = 0
        for found in _NOT_REWRITTEN.finditer(text, 0, len(text) - 1):
            at = found.start()
            line += text.count("\n", last, at)
            last = at
            results[line] = one(cells[line])
        return results


def _screened(cell: str) -> str:
    """``cell``, or "" when it cannot be one line of the column text (it goes row by row)."""
    if len(cell) > _MAX_INPUT or "\n" in cell or _PLUS in cell or cell.rfind("+") > 0:
        return ""
    return cell


def phone_column(region: str) -> PhoneColumn:
    """The :class:`PhoneColumn` of ``region`` (any case), built once per process."""
    return _column(region.upper())


@functools.cache
def _column(region: str) -> PhoneColumn:
    return PhoneColumn(region)
