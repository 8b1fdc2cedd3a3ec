"""Column headers of customer files, matched to massreach fields across languages.

A header is compared by its *key* (:func:`header_key`): case-folded, without
accents (``đ`` → ``d``, ``ł`` → ``l``), keeping only letters and digits, so
"Số điện thoại", "so_dien_thoai", "SỐ ĐIỆN THOẠI" and "sodienthoai" are one key, as
are "Phone Number" and "phone-number".

Variables: ``param0`` … ``param9`` keep the number *as written* (0-based, like
asterCC): "param 1", "Param_1", "variable 1", "var1", "biến 1", "tham số 1",
"变量1", "zmienna 1", "parametr 1" all mean ``param1``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from massreach.core.textfold import fold

__all__ = [
    "CANONICAL_FIELDS",
    "CUSTOM_PREFIX",
    "FIELD_ALIASES",
    "IGNORE",
    "PARAM_FIELDS",
    "builtin_field_for_key",
    "header_key",
    "is_target",
    "loose_header_key",
]

#: Variables of templates, 0-based as in asterCC.
PARAM_FIELDS: tuple[str, ...] = tuple(f"param{i}" for i in range(10))

#: The fields a column can be mapped to (besides ``custom:<name>``).
CANONICAL_FIELDS: tuple[str, ...] = (
    "phone",
    "email",
    "name",
    "first_name",
    "last_name",
    "description",
    "gender",
    "crm_id",
    "tag",
    "status",
    "contact_date",
    "agent",
    *PARAM_FIELDS,
)

#: A column kept as a named custom field: ``"custom:" + header as written (stripped)``.
CUSTOM_PREFIX = "custom:"
#: The word that ignores a column in overrides (a target of ``None``).
IGNORE = "ignore"

# The words laid out by language, several to a line:
# fmt: off
#: Built-in header names per field, as people write them (Chinese, Vietnamese,
#: Polish and English); the field names themselves match too.
FIELD_ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "phone": (
            "phone", "phones", "mobile", "cell", "cellphone", "msisdn", "phone number",
            "phone no", "tel", "telephone", "mobile number", "mobile phone", "contact number",
            "手机号码", "手机号", "手机", "电话", "电话号码", "联系电话", "号码", "手機號碼",
            "手機", "電話", "電話號碼", "聯繫電話", "聯絡電話",
            "số điện thoại", "SĐT", "SDT", "điện thoại", "di động", "số di động", "số ĐT",
            "telefon", "nr telefonu", "numer telefonu", "komórka", "telefon komórkowy",
            "nr tel", "numer tel", "telefon kom", "tel kom", "nr kom", "mobile no",
            "cell phone", "phone num",
        ),
        "email": (
            "email", "e-mail", "email address", "e-mail address", "mail", "邮箱", "电子邮件",
            "电子邮箱", "邮件", "郵箱", "電子郵件", "thư điện tử", "địa chỉ email",
            "adres e-mail", "adres email", "poczta", "poczta e-mail",
        ),
        "name": (
            "name", "full name", "customer name", "client name", "contact name",
            "姓名", "名字", "客户名称", "客户姓名", "客户名", "名称", "客戶名稱", "客戶姓名",
            "联系人", "联系人姓名", "聯絡人", "客户",
            "họ tên", "họ và tên", "tên", "tên khách hàng", "khách hàng", "tên kh",
            "họ tên kh", "họ tên khách hàng",
            "imię i nazwisko", "imię nazwisko", "nazwisko i imię", "nazwisko imię",
            "nazwa klienta", "klient",
        ),
        "first_name": ("first name", "given name", "forename", "imię", "名", "tên riêng"),
        "last_name": ("last name", "surname", "family name", "nazwisko", "姓", "họ"),
        "description": (
            "description", "note", "notes", "comment", "comments", "remark", "remarks",
            "备注", "描述", "说明", "備註", "描述信息", "ghi chú", "mô tả",
            "opis", "uwagi", "notatka", "komentarz",
        ),
        "gender": ("gender", "sex", "性别", "性別", "giới tính", "płeć"),
        "crm_id": (
            "crm id", "crm", "customer id", "client id", "customer number", "external id",
            "客户编号", "客户id", "客戶編號", "mã khách hàng", "mã kh", "id khách hàng",
            "identyfikator crm", "id klienta", "identyfikator klienta", "numer klienta",
        ),
        "tag": (
            "tag", "tags", "category", "label", "labels", "group", "标签", "分类", "类别",
            "標籤", "分類", "nhãn", "phân loại", "thẻ", "nhóm",
            "etykieta", "etykiety", "kategoria", "grupa",
        ),
        "status": (
            "status", "processing status", "状态", "处理状态", "狀態", "trạng thái",
            "tình trạng", "nazwa statusu", "status rekordu",
        ),
        "contact_date": (
            "contact date", "callback date", "contact time", "callback time", "next contact",
            "联系时间", "联系日期", "回访时间", "回访日期", "聯繫時間",
            "ngày liên hệ", "thời gian liên hệ", "ngày gọi lại",
            "data kontaktu", "data ponownego kontaktu", "termin kontaktu",
        ),
        "agent": (
            "agent", "agent id", "agent number", "agent no", "坐席", "工号", "坐席工号",
            "坐席号", "nhân viên", "mã nhân viên", "tổng đài viên",
            "konsultant", "doradca", "agent przypisany", "przypisany agent",
        ),
    }
)
# fmt: on

_PARAM = re.compile(r"(?:param|parameter|parametr|variable|var|bien|thamso|变量|zmienna)([0-9])")


def header_key(text: str) -> str:
    """The comparison key of a header: folded, letters and digits only."""
    return "".join(ch for ch in fold(text) if ch.isalnum())


# What templates add to a header: "(required)", "（必填）", "[optional]", "【必填】".
_ANNOTATION = re.compile(r"\([^()]*\)|（[^（）]*）|\[[^\[\]]*\]|【[^【】]*】")


def loose_header_key(text: str) -> str:
    """The key of a header without its annotations (bracketed notes) and without a
    number at its end: "Phone (required)", "手机号码（必填）" and "Email 2" give the
    keys of "Phone", "手机号码" and "Email"."""
    key = header_key(_ANNOTATION.sub(" ", text))
    return key.rstrip("0123456789") or key


def _builtin_lookup() -> dict[str, str]:
    lookup: dict[str, str] = {}
    for field in CANONICAL_FIELDS:
        lookup[header_key(field)] = field
    for field, aliases in FIELD_ALIASES.items():
        for alias in aliases:
            key = header_key(alias)
            if lookup.setdefault(key, field) != field:  # pragma: no cover - checked by tests
                raise AssertionError(f"header alias {alias!r} is ambiguous")
    return lookup


_BUILTIN: Mapping[str, str] = MappingProxyType(_builtin_lookup())


def builtin_field_for_key(key: str) -> str | None:
    """The canonical field a header key means by the built-in aliases, or None."""
    field = _BUILTIN.get(key)
    if field is not None:
        return field
    found = _PARAM.fullmatch(key)
    return f"param{found.group(1)}" if found is not None else None


def is_target(value: str | None) -> bool:
    """Whether ``value`` is a mapping target: None, a canonical field or ``custom:<name>``."""
    if value is None:
        return True
    if value.startswith(CUSTOM_PREFIX):
        return bool(value[len(CUSTOM_PREFIX) :].strip())
    return value in _CANONICAL_SET


_CANONICAL_SET = frozenset(CANONICAL_FIELDS)
