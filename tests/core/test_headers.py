"""Headers matched to fields across languages and spellings; mappings and overrides."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from massreach.core.headers import (
    CANONICAL_FIELDS,
    FIELD_ALIASES,
    builtin_field_for_key,
    header_key,
    is_target,
)
from massreach.core.mapping import (
    ColumnMapping,
    parse_target,
    positional_mapping,
    propose_mapping,
)
from massreach.errors import InvalidInput


def field_of(header: str) -> str | None:
    return propose_mapping([header]).targets[0]


@pytest.mark.parametrize(
    ("header", "field"),
    [
        # Chinese
        ("手机号码", "phone"), ("手机号", "phone"), ("手机", "phone"), ("电话", "phone"),
        ("电话号码", "phone"), ("联系电话", "phone"), ("号码", "phone"),
        ("姓名", "name"), ("名字", "name"), ("客户名称", "name"),
        ("邮箱", "email"), ("电子邮件", "email"), ("性别", "gender"),
        ("标签", "tag"), ("分类", "tag"), ("备注", "description"), ("描述", "description"),
        ("状态", "status"), ("坐席", "agent"), ("工号", "agent"),
        ("联系时间", "contact_date"), ("联系日期", "contact_date"), ("联系人", "name"),
        # Vietnamese
        ("Số điện thoại", "phone"), ("so_dien_thoai", "phone"), ("SỐ ĐIỆN THOẠI", "phone"),
        ("SĐT", "phone"), ("SDT", "phone"), ("Điện thoại", "phone"), ("Di động", "phone"),
        ("Họ tên", "name"), ("Họ và tên", "name"), ("Tên", "name"), ("Email", "email"),
        ("Giới tính", "gender"), ("Nhãn", "tag"), ("Ghi chú", "description"),
        ("Trạng thái", "status"), ("Nhân viên", "agent"), ("Ngày liên hệ", "contact_date"),
        ("Tên KH", "name"), ("Họ tên KH", "name"),
        # Polish
        ("Telefon", "phone"), ("Nr telefonu", "phone"), ("Numer telefonu", "phone"),
        ("Komórka", "phone"), ("Imię", "first_name"), ("Nazwisko", "last_name"),
        ("Imię i nazwisko", "name"), ("Płeć", "gender"), ("E-mail", "email"),
        ("Imię, nazwisko", "name"), ("Nazwisko i imię", "name"), ("Imię/Nazwisko", "name"),
        ("Adres e-mail", "email"), ("Opis", "description"), ("Status", "status"),
        ("Agent", "agent"), ("Konsultant", "agent"), ("Data kontaktu", "contact_date"),
        ("Tag", "tag"), ("Etykieta", "tag"), ("Kategoria", "tag"),
        ("Identyfikator CRM", "crm_id"),
        # English and spellings
        ("phone", "phone"), ("Mobile", "phone"), ("cell", "phone"), ("MSISDN", "phone"),
        ("Phone Number", "phone"), ("phone-number", "phone"), ("phone_number", "phone"),
        ("Tel.", "phone"), ("e-mail", "email"), ("Email Address", "email"),
        ("Name", "name"), ("Full name", "name"), ("First Name", "first_name"),
        ("last_name", "last_name"), ("Gender", "gender"), ("Sex", "gender"),
        ("CRM ID", "crm_id"), ("crm_id", "crm_id"), ("Customer ID", "crm_id"),
        ("Category", "tag"), ("Label", "tag"), ("Agent ID", "agent"),
        ("Contact date", "contact_date"), ("Callback date", "contact_date"),
        ("Description", "description"), ("Note", "description"),
        ("  Phone  ", "phone"),
    ],
)  # fmt: skip
def test_aliases(header: str, field: str) -> None:
    assert field_of(header) == field


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("param0", "param0"), ("param 1", "param1"), ("Param_2", "param2"),
        ("PARAM-9", "param9"), ("variable 3", "param3"), ("var4", "param4"),
        ("biến 1", "param1"), ("Biến 5", "param5"), ("tham số 6", "param6"),
        ("变量1", "param1"), ("变量 7", "param7"), ("zmienna 8", "param8"),
        ("parametr 0", "param0"),
    ],
)  # fmt: skip
def test_variables_keep_the_number_as_written(header: str, field: str) -> None:
    assert field_of(header) == field


def test_other_headers_become_custom_fields_named_as_written() -> None:
    mapping = propose_mapping(["Số dư ", "Order number", "余额"])
    assert mapping.targets == ("custom:Số dư", "custom:Order number", "custom:余额")


def test_each_field_is_proposed_once_first_column_wins() -> None:
    mapping = propose_mapping(["SĐT", "Phone", "Telefon", "Phone"])
    assert mapping.targets == ("phone", "custom:Phone", "custom:Telefon", "custom:Phone (2)")


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Phone (required)", "phone"), ("Số điện thoại\n(bắt buộc)", "phone"),
        ("手机号码（必填）", "phone"), ("Email [optional]", "email"), ("姓名【必填】", "name"),
        ("Phone 1", "phone"), ("Email2", "email"), ("Số điện thoại 1", "phone"),
        ("Nhãn (tag)", "tag"), ("Telefon kom.", "phone"), ("Mobile No.", "phone"),
        ("param1", "param1"), ("2024", "custom:2024"), ("(note)", "description"),
    ],
)  # fmt: skip
def test_template_annotations_and_numbers_do_not_hide_a_field(header: str, field: str) -> None:
    assert propose_mapping([header]).targets == (field,)


def test_an_exact_header_wins_over_an_annotated_one_before_it() -> None:
    mapping = propose_mapping(["Phone (old)", "Email 2", "Phone", "E-mail", "Phone 2"])
    assert mapping.targets == (
        "custom:Phone (old)",
        "custom:Email 2",
        "phone",
        "email",
        "custom:Phone 2",
    )
    assert propose_mapping(["Phone 1", "Phone 2"]).targets == ("phone", "custom:Phone 2")


def test_empty_headers_are_ignored() -> None:
    assert propose_mapping(["phone", "", "  "]).targets == ("phone", None, None)


def test_plugin_aliases_take_precedence() -> None:
    mapping = propose_mapping(
        ["Số thuê bao", "Note", "Hạng"],
        {"phone": ["số thuê bao"], "custom:tier": ["hạng"], "param0": ["Note"]},
    )
    assert mapping.targets == ("phone", "param0", "custom:tier")


def test_plugin_aliases_for_unknown_fields_are_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        propose_mapping(["x"], {"phone_number": ["x"]})
    assert caught.value.code == "mapping.unknown_field"


def test_no_alias_means_two_fields() -> None:
    seen: dict[str, str] = {}
    for field, aliases in FIELD_ALIASES.items():
        for alias in (*aliases, field):
            assert seen.setdefault(header_key(alias), field) == field, alias
    for field in CANONICAL_FIELDS:
        assert builtin_field_for_key(header_key(field)) == field


# ------------------------------------------------------------- overrides


def test_overrides_by_header_name_or_column_number() -> None:
    mapping = propose_mapping(["SĐT", "Họ tên", "Số dư", "Ghi chú"])
    changed = mapping.with_overrides({"so du": "param0", "4": "ignore", "Họ tên": "custom:Khách"})
    assert changed.targets == ("phone", "custom:Khách", "param0", None)


def test_an_override_takes_a_field_from_the_proposed_column() -> None:
    mapping = propose_mapping(["Phone", "Mobile"])
    assert mapping.with_overrides({"Mobile": "phone"}).targets == ("custom:Phone", "phone")


def test_override_values_accept_aliases_and_case() -> None:
    mapping = propose_mapping(["A", "B", "C"])
    changed = mapping.with_overrides({"A": "telefon", "B": " Email ", "C": "IGNORE"})
    assert changed.targets == ("phone", "email", None)


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"Nope": "phone"}, "mapping.unknown_header"),
        ({"9": "phone"}, "mapping.unknown_header"),
        ({"0": "phone"}, "mapping.unknown_header"),
        ({"A": "telephone_number_field"}, "mapping.unknown_field"),
        ({"A": "custom:"}, "mapping.unknown_field"),
        ({"A": "phone", "B": "phone"}, "mapping.duplicate_field"),
    ],
)
def test_bad_overrides(overrides: dict[str, str], code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        propose_mapping(["A", "B"]).with_overrides(overrides)
    assert caught.value.code == code


def test_mapping_validation() -> None:
    with pytest.raises(InvalidInput) as caught:
        ColumnMapping(headers=("a", "b"), targets=("phone",))
    assert caught.value.code == "mapping.length_mismatch"
    with pytest.raises(InvalidInput) as caught:
        ColumnMapping(headers=("a", "b"), targets=("phone", "phone"))
    assert caught.value.code == "mapping.duplicate_field"
    with pytest.raises(InvalidInput) as caught:
        ColumnMapping(headers=("a",), targets=("telephone",))
    assert caught.value.code == "mapping.unknown_field"
    assert ColumnMapping(headers=("a",), targets=("ignore",)).targets == (None,)


def test_field_columns() -> None:
    mapping = propose_mapping(["x", "SĐT", "", "Tag"])
    assert mapping.field_columns() == {"custom:x": 0, "phone": 1, "tag": 3}


def test_signature_is_stable_and_ignores_spelling() -> None:
    a = propose_mapping(["Số điện thoại", "Họ tên"]).signature
    assert a == propose_mapping(["so dien thoai", "HO TEN"]).signature
    assert a != propose_mapping(["Họ tên", "Số điện thoại"]).signature
    assert a != propose_mapping(["Số điện thoại", "Họ tên", ""]).signature
    # Remembered mappings are stored by signature: it must not change between releases.
    assert a == "3e084787e8d2a447ec7bab561614bb1c"


def test_positional_mapping() -> None:
    mapping = positional_mapping(4, ["phone", "name", "custom:Balance"])
    assert mapping.headers == ("column 1", "column 2", "column 3", "column 4")
    assert mapping.targets == ("phone", "name", "custom:Balance", None)
    with pytest.raises(InvalidInput) as caught:
        positional_mapping(1, ["phone", "name"])
    assert caught.value.code == "mapping.too_many_fields"


def test_parse_target() -> None:
    assert parse_target("ignore") is None
    assert parse_target("") is None
    assert parse_target("Custom: Số dư ") == "custom:Số dư"
    assert parse_target("param3") == "param3"
    assert is_target("custom:x") and not is_target("custom: ") and is_target(None)


# ------------------------------------------------------------ properties

HEADER_TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from([a for aliases in FIELD_ALIASES.values() for a in aliases]),
)


@given(st.lists(HEADER_TEXT, max_size=12))
def test_proposals_are_valid_mappings_with_unique_fields(headers: list[str]) -> None:
    mapping = propose_mapping(headers)
    assert mapping.headers == tuple(headers)
    targets = [t for t in mapping.targets if t is not None]
    assert len(targets) == len(set(targets))
    assert all(is_target(t) for t in mapping.targets)
    assert propose_mapping(headers) == mapping
    assert propose_mapping(headers).signature == mapping.signature


@given(st.sampled_from([a for aliases in FIELD_ALIASES.values() for a in aliases]), st.data())
def test_spelling_variants_match_the_same_field(alias: str, data: st.DataObject) -> None:
    variant = data.draw(
        st.sampled_from([alias.upper(), alias.lower(), alias.replace(" ", "_"),
                         alias.replace(" ", "-"), f"  {alias}  ", alias.replace(" ", "")])
    )  # fmt: skip
    assert field_of(variant) == field_of(alias)
