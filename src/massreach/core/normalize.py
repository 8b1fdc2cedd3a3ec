"""One row of a customer file → an :class:`ImportedRecord`, or a :class:`RowFailure` saying why not.

:class:`RowNormalizer` works out the column of every field once; ``normalize`` is
then a handful of string operations per row and never raises. Rules:

* more non-empty cells than headers: ``row.misaligned``; fewer: the missing cells
  are empty;
* phone numbers → E.164 (:class:`~massreach.core.phones.PhoneNormalizer`), e-mail
  addresses checked (kept as written);
* gender → ``"F"``/``"M"``: F/K/female/kobieta/女/nữ and M/male/mężczyzna/男/nam;
* tags: the tag column split on ``, ; |`` (and Chinese ``，；、``), trimmed,
  de-duplicated in order, then the constant tags;
* name: the name column, else first name and last name joined by a space;
* status: a real status (:func:`~massreach.core.statuses.parse_status`); a "my
  record" status needs a contact date and an agent and becomes a callback pinned
  to that agent at that time (dates: ISO, ``dd/mm/yyyy``, ``dd.mm.yyyy``,
  ``dd-mm-yyyy``, ``yyyy/mm/dd``, ``yyyy.mm.dd``, optionally ``HH:MM[:SS]``; a
  time without zone is in ``options.timezone``). Without a "my record" status the
  contact date is not read;
* custom fields and ``param0`` … ``param9``: non-empty cells only, in
  :attr:`ImportedRecord.fields` keyed by field name (custom fields without the
  ``custom:`` prefix);
* required by kind: ``bulk_send`` a phone or an e-mail and at least one tag,
  ``crm_status`` a CRM id and a status, ``calling`` a phone.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from typing import Literal, NamedTuple, NoReturn
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from attrs import field, frozen, validators

from massreach.core.headers import CUSTOM_PREFIX, header_key
from massreach.core.mapping import ColumnMapping
from massreach.core.masking import mask_email, mask_phone
from massreach.core.phone_patterns import supported_region
from massreach.core.phones import (
    PhoneNormalizer,
    email_key,
    is_valid_email,
    shortened_by_excel,
)
from massreach.core.statuses import STATUS_VALUES, parse_status
from massreach.errors import InvalidInput, RowError

__all__ = [
    "GENDER_WORDS",
    "UNSTATED_GENDER_WORDS",
    "FieldValues",
    "ImportKind",
    "ImportedRecord",
    "NormalizeOptions",
    "RowFailure",
    "RowNormalizer",
    "is_blank",
    "parse_datetime",
]

_SHORTENED = (
    "%s is a number shortened to scientific notation (as Excel writes a long number in"
    " General format): its last digits are lost. Format the column as text in the"
    " spreadsheet, or as a number with no decimals, and save the file again"
)
_INVISIBLE = str.maketrans("", "", "\u200b\u200c\u200d\u2060\ufeff")
_TAG_SEPARATORS = frozenset(",;|，；、")
_TAG_SPLIT = re.compile(f"[{''.join(sorted(_TAG_SEPARATORS))}]")
_TIME = r"(?:[ T]+([0-9]{1,2}):([0-9]{2})(?::([0-9]{2}))?)?"
_DMY = re.compile(rf"([0-9]{{1,2}})[./-]([0-9]{{1,2}})[./-]([0-9]{{4}}){_TIME}")
_YMD = re.compile(rf"([0-9]{{4}})[./]([0-9]{{1,2}})[./]([0-9]{{1,2}}){_TIME}")
#: Gender cells by their :func:`header_key`: letters, words and salutations
#: (Mrs, bà, chị, 女士, Pani …) in the four languages.
GENDER_WORDS: dict[str, Literal["F", "M"]] = {
    **dict.fromkeys(
        ["f", "k", "female", "woman", "kobieta", "pani", "女", "nu", "nugioi", "女性",
         "mrs", "ms", "miss", "madam", "ba", "chi", "co", "女士", "小姐"],
        "F",
    ),
    **dict.fromkeys(
        ["m", "male", "man", "mezczyzna", "pan", "男", "nam", "namgioi", "男性",
         "mr", "mister", "sir", "ong", "anh", "先生"],
        "M",
    ),
}  # fmt: skip
#: Gender cells that say it is not known or neither (``-``, N/A, khác, 未知, inna …):
#: no gender, and no reason to refuse the row.
UNSTATED_GENDER_WORDS: frozenset[str] = frozenset(
    ["", "na", "nd", "none", "unknown", "other", "khac", "khongro", "khongxacdinh",
     "其他", "未知", "不详", "保密", "inna", "inne", "nieznana", "nieznany", "brak"]
)  # fmt: skip


class ImportKind(StrEnum):
    """What a file is imported as."""

    bulk_send = "bulk_send"  # a mass-target list: phone or e-mail, and a tag
    crm_status = "crm_status"  # "CRM records by CSV": CRM ids and campaign statuses
    calling = "calling"  # an outbound calling task: phone required, tag optional


# "Nguyễn Văn A <a@example.vn>", "<a@example.vn>", "mailto:a@example.vn" (what mail
# programs and web pages put in a cell).
_WRAPPED_EMAIL = re.compile(r"(?:[^<>]*<\s*)?(?:mailto:)?\s*([^<>\s]+)\s*>?", re.IGNORECASE)


def _address_in(text: str) -> str | None:
    """The valid address a cell holds in a mail program's form, else None."""
    found = _WRAPPED_EMAIL.fullmatch(text)
    if found is None or ("<" in text) != text.endswith(">"):
        return None
    address = found.group(1)
    return address if is_valid_email(address) else None


def _tags(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(t.strip() for t in value if t.strip()))


def _region(_instance: object, _attribute: object, value: str) -> None:
    if not isinstance(value, str) or not supported_region(value):
        raise InvalidInput(
            f"Unknown region {value!r} for phone numbers.",
            code="phone.unknown_region",
            details={"region": value},
        )


def _zone(name: str) -> tzinfo:
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise InvalidInput(
            f"Unknown time zone {name!r}.",
            code="import.unknown_timezone",
            details={"timezone": name},
        ) from exc


def _check_zone(_instance: object, _attribute: object, value: str) -> None:
    _zone(value)


@frozen
class NormalizeOptions:
    """How rows are read: the kind of import, default phone region, tags, time zone."""

    kind: ImportKind = field(converter=ImportKind)
    default_region: str = field(default="VN", validator=_region)
    constant_tags: tuple[str, ...] = field(default=(), converter=_tags)
    timezone: str = field(default="UTC", validator=_check_zone)


class FieldValues(dict[str, str]):
    """An immutable, hashable, ordered ``name → value`` mapping (custom fields, params).

    A ``dict`` underneath (read and encoded at dict speed); every method that would
    change it raises ``TypeError``.
    """

    __slots__ = ()

    def _immutable(self, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError("FieldValues cannot be changed")

    __setitem__ = __delitem__ = _immutable
    clear = pop = popitem = setdefault = update = _immutable
    __ior__ = _immutable

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))

    def __repr__(self) -> str:
        return f"FieldValues({dict(self)!r})"


def _field_values(value: Mapping[str, str] | Iterable[tuple[str, str]]) -> FieldValues:
    return value if type(value) is FieldValues else FieldValues(value)


_GENDER_VALUES = frozenset({"F", "M", None})
_STATUS_VALUES = frozenset({*STATUS_VALUES, None})


class _RecordTuple(NamedTuple):
    row: int
    phone: str | None
    email: str | None
    name: str | None
    description: str | None
    gender: Literal["F", "M"] | None
    crm_id: str | None
    tags: tuple[str, ...]
    fields: Mapping[str, str]
    status: str | None
    callback_at: datetime | None
    agent: str | None
    #: How the e-mail address compares: trimmed and case-folded (derived, not given).
    email_key: str | None


class ImportedRecord(_RecordTuple):
    """One accepted row, normalised. Its repr masks the phone and e-mail.

    A million of these are made per import, so a record is a named tuple (made
    by :class:`RowNormalizer` without a second look at values it has just
    checked). Made directly, its values are checked: ``row`` is an int,
    ``gender`` is ``"F"``, ``"M"`` or None, ``status`` one of the processing
    statuses or None, ``tags`` a tuple, ``callback_at`` aware (``ValueError``
    otherwise); ``fields`` becomes a :class:`FieldValues` and ``email_key`` is
    derived from ``email``. (The normaliser's records hold a plain ``dict`` of
    fields, which nothing changes: a dict of texts costs the garbage collector
    nothing.)
    """

    __slots__ = ()

    def __new__(  # noqa: PLR0917 - one parameter per field
        cls,
        row: int,
        phone: str | None = None,
        email: str | None = None,
        name: str | None = None,
        description: str | None = None,
        gender: Literal["F", "M"] | None = None,
        crm_id: str | None = None,
        tags: tuple[str, ...] = (),
        fields: Mapping[str, str] | Iterable[tuple[str, str]] = (),
        status: str | None = None,
        callback_at: datetime | None = None,
        agent: str | None = None,
    ) -> ImportedRecord:
        if (
            type(row) is not int
            or gender not in _GENDER_VALUES
            or status not in _STATUS_VALUES
            or type(tags) is not tuple
            or (callback_at is not None and callback_at.utcoffset() is None)
        ):
            raise ValueError(
                f"invalid imported record (row {row!r}): gender {gender!r}, status "
                f"{status!r}, tags {type(tags).__name__}, callback_at {callback_at!r}"
            )
        values = (
            row, phone, email, name, description, gender, crm_id, tags,
            _field_values(fields), status, callback_at, agent,
            None if email is None else email_key(email),
        )  # fmt: skip
        return tuple.__new__(cls, values)

    def __hash__(self) -> int:
        return hash((self[:8], frozenset(self.fields.items()), self[9:]))

    def replace(self, **changes: object) -> ImportedRecord:
        """A copy with some values changed (checked as in the constructor)."""
        values = self._asdict()
        del values["email_key"]
        return ImportedRecord(**{**values, **changes})

    def __repr__(self) -> str:
        return (
            f"ImportedRecord(row={self.row}, phone={mask_phone(self.phone)!r}, "
            f"email={mask_email(self.email)!r}, tags={self.tags!r}, status={self.status!r}, "
            f"fields={len(self.fields)}, callback_at={self.callback_at!r})"
        )


#: Makes a record from its 13 values without checking them (the normaliser's path).
trusted_record: Callable[[type[ImportedRecord], tuple[object, ...]], ImportedRecord] = tuple.__new__


@frozen
class RowFailure:
    """A row that is not imported: where (row, column) and why (code, message)."""

    row: int = field(validator=validators.instance_of(int))
    code: str = field(validator=validators.instance_of(str))
    column: str | None = field(validator=validators.optional(validators.instance_of(str)))
    message: str = field(validator=validators.instance_of(str))


def is_blank(cells: Sequence[str]) -> bool:
    """Whether a row holds nothing: every cell empty, whitespace or invisible marks."""
    for cell in cells:  # a plain loop: this runs once per row of every import
        # Invisible marks are not ASCII: most cells are decided without translate().
        if cell and not cell.isspace() and (cell.isascii() or cell.translate(_INVISIBLE).strip()):
            return False
    return True


def parse_datetime(text: str, zone: tzinfo) -> datetime | None:
    """A date and time as found in files (see the module doc); None if not one."""
    s = text.strip()
    found = _DMY.fullmatch(s)
    if found is not None:
        day, month, year = found.group(1, 2, 3)
    else:
        found = _YMD.fullmatch(s)
        if found is None:
            try:
                value = datetime.fromisoformat(s)
            except ValueError:
                return None
            return value if value.tzinfo is not None else value.replace(tzinfo=zone)
        year, month, day = found.group(1, 2, 3)
    hour, minute, second = (int(g) if g else 0 for g in found.group(4, 5, 6))
    try:
        return datetime(int(year), int(month), int(day), hour, minute, second, tzinfo=zone)
    except ValueError:
        return None


_SLOTS = (
    "phone", "email", "name", "first_name", "last_name", "description", "gender",
    "crm_id", "tag", "status", "contact_date", "agent",
)  # fmt: skip


class RowNormalizer:
    """Normalises the rows of one file with one mapping and one set of options."""

    def __init__(self, mapping: ColumnMapping, options: NormalizeOptions) -> None:
        self.mapping = mapping
        self.options = options
        self._headers = mapping.headers
        width = self._width = len(mapping.headers)
        columns = mapping.field_columns()
        self._col = {name: columns.get(name, -1) for name in _SLOTS}
        # Unmapped fields read the padding cell at index ``width`` (always "").
        self._get = operator.itemgetter(*(i if i >= 0 else width for i in self._col.values()))
        self._pads = tuple(("",) * (width + 1 - n) for n in range(width + 1))
        self._extras = tuple(
            (i, t[len(CUSTOM_PREFIX) :] if t.startswith(CUSTOM_PREFIX) else t)
            for t, i in sorted(columns.items(), key=lambda item: item[1])
            if t.startswith((CUSTOM_PREFIX, "param"))
        )
        self._phones = PhoneNormalizer(options.default_region)
        self._phone_e164 = self._phones.e164_or_none
        self._zone = _zone(options.timezone)
        self._bulk_send = options.kind is ImportKind.bulk_send
        self._crm_status = options.kind is ImportKind.crm_status
        self._constant_tags = options.constant_tags
        # Decided once per distinct value by normalize_batch.normalize_rows.
        self._tag_cache: dict[str, object] = {}
        self._gender_cache: dict[str, object] = {}
        self._status_cache: dict[str, object] = {}

    def _tags_of(self, tag_text: str) -> tuple[str, ...]:
        """The tags of a (stripped) tag cell, then the constant tags."""
        if not tag_text:
            return self._constant_tags
        if _TAG_SEPARATORS.isdisjoint(tag_text):
            tags: tuple[str, ...] = (tag_text,)
        else:
            tags = _tags(_TAG_SPLIT.split(tag_text))
        if self._constant_tags:
            tags = _tags((*tags, *self._constant_tags))
        return tags

    def _failure(self, row: int, code: str, field_name: str | None, message: str) -> RowFailure:
        column = self._col.get(field_name, -1) if field_name is not None else -1
        header = self._headers[column] if column >= 0 else None
        where = f"row {row}" + (f", column {header!r}" if header is not None else "")
        return RowFailure(row=row, code=code, column=header, message=f"{where}: {message}")

    def normalize(self, row: int, cells: Sequence[str]) -> ImportedRecord | RowFailure:
        """The record of row number ``row`` (1-based, as in the file), or why it fails."""
        width = self._width
        n = len(cells)
        if n > width:
            if not is_blank(cells[width:]):
                return self._failure(
                    row, "row.misaligned", None,
                    f"the row has {n} cells but the header has {width} columns; "
                    "its columns are misaligned",
                )  # fmt: skip
            padded = [*cells[:width], ""]
        else:
            padded = [*cells, *self._pads[n]]
        (
            phone_text, email_text, name, first_name, last_name, description, gender_text,
            crm_id, tag_text, status_text, date_text, agent,
        ) = self._get(padded)  # fmt: skip

        phone: str | None = None
        phone_text = phone_text.strip()
        if phone_text:
            phone = self._phone_e164(phone_text)
            if phone is None:
                if shortened_by_excel(phone_text):
                    return self._failure(row, "phone.shortened", "phone", _SHORTENED % phone_text)
                message = f"{mask_phone(phone_text)} is not a valid phone number"
                return self._failure(row, "phone.invalid", "phone", message)
        email = email_text.strip() or None
        if email is not None and not is_valid_email(email):
            address = _address_in(email)
            if address is None:
                message = f"{mask_email(email)} is not a valid e-mail address"
                return self._failure(row, "email.invalid", "email", message)
            email = address
        gender: Literal["F", "M"] | None = None
        gender_text = gender_text.strip()
        if gender_text:
            gender_key = header_key(gender_text)
            gender = GENDER_WORDS.get(gender_key)
            if gender is None and gender_key not in UNSTATED_GENDER_WORDS:
                message = f"{gender_text[:40]!r} is not a gender (use F or M)"
                return self._failure(row, "gender.unknown", "gender", message)

        status: str | None = None
        callback_at: datetime | None = None
        agent = agent.strip() or None
        status_text = status_text.strip()
        if status_text:
            failure = None
            try:
                parsed = parse_status(status_text)
            except RowError as exc:
                return self._failure(row, exc.code, "status", exc.message)
            status = parsed.status
            if parsed.mine:
                callback_at, failure = self._callback(row, date_text.strip(), agent)
                if failure is not None:
                    return failure

        tags = self._tags_of(tag_text.strip())
        crm_id = crm_id.strip() or None
        if self._bulk_send:
            if phone is None and email is None:
                target = "phone" if self._col["phone"] >= 0 else "email"
                message = "the row has no phone number or e-mail address"
                return self._failure(row, "row.missing_target", target, message)
            if not tags:
                message = "the row has no tag (give a tag column or a tag for the whole file)"
                return self._failure(row, "row.missing_tag", "tag", message)
        elif self._crm_status:
            if crm_id is None:
                return self._failure(row, "row.missing_crm_id", "crm_id", "no CRM id")
            if status is None:
                return self._failure(row, "row.missing_status", "status", "no status")
        elif phone is None:
            return self._failure(row, "row.missing_phone", "phone", "no phone number")

        name = name.strip() or (
            " ".join(p for p in (first_name.strip(), last_name.strip()) if p) or None
        )
        extras = {key: value for i, key in self._extras if (value := padded[i].strip())}
        return trusted_record(ImportedRecord, (
            row, phone, email, name, description.strip() or None, gender, crm_id, tags,
            extras, status, callback_at, agent,
            None if email is None else email.casefold(),
        ))  # fmt: skip

    def _callback(
        self, row: int, date_text: str, agent: str | None
    ) -> tuple[datetime | None, RowFailure | None]:
        """The pinned callback time of a "my record" row, or the failure."""
        if not date_text or agent is None:
            missing = "contact_date" if not date_text else "agent"
            if self._col[missing] < 0:
                missing = "status"
            message = "a 'my record' status needs a contact date and an agent"
            return None, self._failure(row, "status.callback_incomplete", missing, message)
        callback_at = parse_datetime(date_text, self._zone)
        if callback_at is None:
            message = (
                f"{date_text[:40]!r} is not a date (use yyyy-mm-dd or dd/mm/yyyy, "
                "optionally with HH:MM)"
            )
            return None, self._failure(row, "date.invalid", "contact_date", message)
        return callback_at, None
