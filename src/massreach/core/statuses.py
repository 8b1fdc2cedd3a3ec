"""Processing-status words in imported files → real statuses.

An imported status is a status, not text: "未处理", "chưa xử lý", "nieprzetworzony"
and "unprocessed" are all ``unprocessed``. The words are compared by
:func:`~massreach.core.headers.header_key` (case, accents, spaces and punctuation
do not matter).

"My record" words ("my record", "mój rekord", "moje", "我的记录", "khách hàng của
tôi" …) mean a record pinned to an agent for a callback: status ``follow_up`` with
``mine=True``. The import needs a contact date and an agent with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from attrs import field, frozen, validators

from massreach.core.distribution import ProcessingStatus
from massreach.core.headers import header_key
from massreach.errors import RowError

__all__ = ["STATUS_VALUES", "STATUS_WORDS", "ImportedStatus", "parse_status"]

#: The processing statuses, as stored.
STATUS_VALUES: tuple[str, ...] = tuple(s.value for s in ProcessingStatus)

_MINE = "mine"

# The words laid out by language, several to a line:
# fmt: off
#: Words per status (and ``"mine"`` for the pinned "my record" status).
STATUS_WORDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "unprocessed": (
            "unprocessed", "not processed", "new", "pending", "open",
            "未处理", "未處理", "新", "新数据", "待处理",
            "chưa xử lý", "mới", "chưa gọi",
            "nieprzetworzony", "nieprzetworzone", "nowy", "nowe", "nieobsłużony",
        ),
        "follow_up": (
            "follow up", "followup", "follow-up", "callback", "call back", "in progress",
            "继续跟踪", "跟进", "跟踪", "待跟进", "繼續跟蹤", "跟進",
            "theo dõi", "đang theo dõi", "gọi lại", "chăm sóc tiếp",
            "do kontaktu", "ponowny kontakt", "oddzwonić", "w toku",
        ),
        "failed": (
            "failed", "failure", "fail", "unsuccessful",
            "失败", "失败提交", "失敗",
            "thất bại", "không thành công",
            "nieudany", "nieudane", "niepowodzenie", "porażka",
        ),
        "succeeded": (
            "succeeded", "success", "successful", "done", "completed",
            "成功", "成功提交",
            "thành công", "hoàn thành",
            "sukces", "udany", "udane", "zakończony sukcesem",
        ),
        _MINE: (
            "my record", "my records", "mine", "my customer", "my contact",
            "我的记录", "我的客户", "我的記錄",
            "khách hàng của tôi", "của tôi", "bản ghi của tôi",
            "mój rekord", "moje rekordy", "moje", "mój",
        ),
    }
)
# fmt: on


def _lookup() -> dict[str, str]:
    table: dict[str, str] = {}
    for status, words in STATUS_WORDS.items():
        for word in (status, *words):
            if table.setdefault(header_key(word), status) != status:  # pragma: no cover
                raise AssertionError(f"status word {word!r} is ambiguous")
    return table


_WORDS: Mapping[str, str] = MappingProxyType(_lookup())


@frozen
class ImportedStatus:
    """A status read from a file: the processing status, and whether it is "my record"."""

    status: str = field(validator=validators.in_(STATUS_VALUES))
    mine: bool = field(default=False, validator=validators.instance_of(bool))


def parse_status(text: str) -> ImportedStatus:
    """The status a word means; raises :class:`RowError` ``status.unknown``."""
    found = _WORDS.get(header_key(text))
    if found is None:
        raise RowError(
            f"{text.strip()!r} is not a known status "
            "(unprocessed, follow up, failed, succeeded or my record).",
            code="status.unknown",
            details={"value": text.strip()[:100]},
        )
    if found == _MINE:
        return ImportedStatus(ProcessingStatus.follow_up.value, mine=True)
    return ImportedStatus(found)
