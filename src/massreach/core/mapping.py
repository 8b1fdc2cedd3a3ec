"""Which column of a file fills which field: proposed automatically, overridden by hand.

A target is a canonical field (:data:`~massreach.core.headers.CANONICAL_FIELDS`),
``"custom:<name>"`` (a named custom field) or ``None`` (the column is ignored).

Rules of :func:`propose_mapping`:

* a header matching a built-in or plugin alias (see :mod:`massreach.core.headers`)
  proposes that field; each field is proposed at most once -- the first matching
  column wins and later ones become custom fields;
* then, for the fields still free, a header whose annotations are dropped matches
  the same way (:func:`~massreach.core.headers.loose_header_key`: "Phone
  (required)", "手机号码（必填）", "Email 1" …), so an exact header elsewhere in the
  row still wins;
* any other header is kept as ``custom:<header as written, stripped>``; a repeated
  custom name gets `` (2)``, `` (3)`` … appended;
* a column with an empty header is ignored (override it by column number).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence

from attrs import field, frozen

from massreach.core.headers import (
    CANONICAL_FIELDS,
    CUSTOM_PREFIX,
    IGNORE,
    builtin_field_for_key,
    header_key,
    is_target,
    loose_header_key,
)
from massreach.errors import InvalidInput

__all__ = ["ColumnMapping", "parse_target", "positional_mapping", "propose_mapping"]

_CANONICAL = frozenset(CANONICAL_FIELDS)


def _headers(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _targets(value: Iterable[str | None]) -> tuple[str | None, ...]:
    return tuple(None if t == IGNORE else t for t in value)


def _check_targets(
    instance: ColumnMapping, _attribute: object, value: tuple[str | None, ...]
) -> None:
    if len(value) != len(instance.headers):
        raise InvalidInput(
            f"The mapping has {len(instance.headers)} headers but {len(value)} targets.",
            code="mapping.length_mismatch",
            details={"headers": len(instance.headers), "targets": len(value)},
        )
    seen: set[str] = set()
    for header, target in zip(instance.headers, value, strict=True):
        if not isinstance(header, str) or not (target is None or isinstance(target, str)):
            raise InvalidInput("Headers and targets must be texts.", code="mapping.invalid")
        if not is_target(target):
            raise InvalidInput(
                f"Column {header!r}: {target!r} is not a field.",
                code="mapping.unknown_field",
                column=header,
                details={"field": target},
            )
        if target is not None:
            if target in seen:
                raise InvalidInput(
                    f"Field {target!r} is mapped to more than one column.",
                    code="mapping.duplicate_field",
                    column=header,
                    details={"field": target},
                )
            seen.add(target)


def parse_target(value: str | None) -> str | None:
    """A target as a user writes it → a target (None for ``ignore`` or empty).

    Accepts a canonical field name, ``custom:<name>``, ``ignore``, and any header
    alias of a field ("telefon" → ``phone``). Raises :class:`InvalidInput`
    ``mapping.unknown_field`` otherwise.
    """
    if value is None:
        return None
    text = value.strip()
    if not text or text.casefold() == IGNORE:
        return None
    if text[: len(CUSTOM_PREFIX)].casefold() == CUSTOM_PREFIX:
        name = text[len(CUSTOM_PREFIX) :].strip()
        if name:
            return CUSTOM_PREFIX + name
    elif text in _CANONICAL:
        return text
    else:
        known = builtin_field_for_key(header_key(text))
        if known is not None:
            return known
    raise InvalidInput(
        f"{value!r} is not a field; use one of {', '.join(CANONICAL_FIELDS)}, "
        "custom:<name> or ignore.",
        code="mapping.unknown_field",
        details={"field": value},
    )


def _unique_custom(name: str, used: set[str]) -> str:
    target = CUSTOM_PREFIX + name
    n = 2
    while target in used:
        target = f"{CUSTOM_PREFIX}{name} ({n})"
        n += 1
    return target


@frozen
class ColumnMapping:
    """The target of every column of a file, in column order (None: ignored)."""

    headers: tuple[str, ...] = field(converter=_headers)
    targets: tuple[str | None, ...] = field(converter=_targets, validator=_check_targets)

    @property
    def signature(self) -> str:
        """A stable hash of the normalised headers, to remember a mapping by."""
        text = "\x1f".join(header_key(h) for h in self.headers)
        digest = hashlib.sha256(f"v1\x1e{len(self.headers)}\x1e{text}".encode())
        return digest.hexdigest()[:32]

    def field_columns(self) -> dict[str, int]:
        """Target → 0-based column index, for the columns that are not ignored."""
        return {t: i for i, t in enumerate(self.targets) if t is not None}

    def column_of(self, key: str) -> int:
        """The 0-based index of a column named by header or 1-based number.

        The header as written wins, then the first header with the same key
        (:func:`header_key`), then a column number. Raises :class:`InvalidInput`
        ``mapping.unknown_header``.
        """
        text = key.strip()
        stripped = [h.strip() for h in self.headers]
        if text in stripped:
            return stripped.index(text)
        wanted = header_key(text)
        if wanted:
            for i, header in enumerate(self.headers):
                if header_key(header) == wanted:
                    return i
        if text.isdigit() and text.isascii() and 1 <= int(text) <= len(self.headers):
            return int(text) - 1
        raise InvalidInput(
            f"The file has no column {key!r}.",
            code="mapping.unknown_header",
            column=key,
            details={"headers": list(self.headers)},
        )

    def with_overrides(self, overrides: Mapping[str, str]) -> ColumnMapping:
        """This mapping with some columns set by hand.

        Keys name a column (header or 1-based number, see :meth:`column_of`);
        values are targets as accepted by :func:`parse_target`. A field taken away
        from the column it was proposed for turns that column into a custom field
        (or ignores it, if it already was a custom field of that name). Two
        overrides giving the same field raise ``mapping.duplicate_field``.
        """
        targets = list(self.targets)
        chosen: dict[int, str | None] = {}
        for key, value in overrides.items():
            column = self.column_of(str(key))
            target = parse_target(value)
            if target is not None and target in chosen.values():
                raise InvalidInput(
                    f"Field {target!r} is given to more than one column.",
                    code="mapping.duplicate_field",
                    column=str(key),
                    details={"field": target},
                )
            chosen[column] = target
        for column, target in chosen.items():
            targets[column] = target
        used = {t for t in targets if t is not None}
        for i, target in enumerate(self.targets):
            if i in chosen or target is None or target not in chosen.values():
                continue
            if target in _CANONICAL and self.headers[i].strip():
                custom = _unique_custom(self.headers[i].strip(), used)
                used.add(custom)
                targets[i] = custom
            else:
                targets[i] = None
        return ColumnMapping(headers=self.headers, targets=tuple(targets))


def propose_mapping(
    headers: Sequence[str],
    extra_aliases: Mapping[str, Sequence[str]] | None = None,
) -> ColumnMapping:
    """The automatic mapping of a header row (see the module doc for the rules).

    ``extra_aliases`` (from plugins) maps a target (a canonical field or
    ``custom:<name>``) to more header names; they take precedence over the
    built-in ones.
    """
    extra: dict[str, str] = {}
    for wanted, aliases in (extra_aliases or {}).items():
        resolved = parse_target(wanted)
        if resolved is None or resolved != wanted.strip():
            raise InvalidInput(
                f"Header aliases given for {wanted!r}, which is not a field.",
                code="mapping.unknown_field",
                details={"field": wanted},
            )
        for alias in aliases:
            extra[header_key(alias)] = resolved

    def field_for(key: str) -> str | None:
        return (extra.get(key) or builtin_field_for_key(key)) if key else None

    texts = [header.strip() for header in headers]
    found: list[str | None] = [None] * len(texts)
    used: set[str] = set()
    for keyed in (header_key, loose_header_key):  # exact headers first
        for index, text in enumerate(texts):
            proposed = field_for(keyed(text)) if text and found[index] is None else None
            if proposed is not None and proposed not in used:
                found[index] = proposed
                used.add(proposed)
    for index, text in enumerate(texts):
        if found[index] is None and text:
            custom = _unique_custom(text, used)
            found[index] = custom
            used.add(custom)
    return ColumnMapping(headers=tuple(headers), targets=tuple(found))


def positional_mapping(n_columns: int, fields: Sequence[str]) -> ColumnMapping:
    """The mapping of a file without a header row: ``fields`` in column order.

    Headers are ``"column 1"``, ``"column 2"`` …; columns after the last field are
    ignored. Fields are parsed by :func:`parse_target`.
    """
    if len(fields) > n_columns:
        raise InvalidInput(
            f"{len(fields)} fields given for {n_columns} columns.",
            code="mapping.too_many_fields",
            details={"fields": len(fields), "columns": n_columns},
        )
    targets = [parse_target(f) for f in fields]
    targets.extend([None] * (n_columns - len(fields)))
    headers = tuple(f"column {i}" for i in range(1, n_columns + 1))
    return ColumnMapping(headers=headers, targets=tuple(targets))
