"""Masking phone numbers and e-mail addresses for screens, logs and error details.

Rule for phone numbers (``mask_phone``): only the digits count; separators are
dropped and a leading ``+`` is kept. With ``n`` digits, ``max(4, n - 7)`` middle
digits are replaced by ``*`` and the rest is shown, at most 3 at the front and at
most 4 at the back:

========================  ===================
written                   masked
========================  ===================
``158 1234 0810`` (11)    ``158****0810``
``+84912345678`` (11)     ``+849****5678``
``+8615812340810`` (13)   ``+861******0810``
``0912345678`` (10)       ``091****678``
``12345678`` (8)          ``12****78``
``1234`` or shorter       ``****`` (all hidden)
========================  ===================

At least 4 digits are always hidden, so the masked text never holds the complete
digit string of the number it came from.
"""

from __future__ import annotations

__all__ = ["mask_email", "mask_phone"]

_MIN_HIDDEN = 4
_MAX_HEAD = 3
_MAX_TAIL = 4
_SHOWN_LONG = _MAX_HEAD + _MAX_TAIL


def mask_phone(value: str | None) -> str:
    """``"158****0810"``-style masking of a phone number as written (see module doc)."""
    if not value:
        return ""
    text = value.strip()
    digits = "".join(ch for ch in text if "0" <= ch <= "9")
    prefix = "+" if text.startswith("+") else ""
    n = len(digits)
    if n <= _MIN_HIDDEN:
        return prefix + "*" * max(n, 1)
    hidden = max(_MIN_HIDDEN, n - _SHOWN_LONG)
    shown = n - hidden
    head = min(_MAX_HEAD, shown // 2)
    tail = shown - head
    return f"{prefix}{digits[:head]}{'*' * hidden}{digits[n - tail :]}"


def mask_email(value: str | None) -> str:
    """``"jane@example.com"`` → ``"j***@example.com"``; without ``@`` → ``"***"``.

    The domain stays readable (it says which provider failed); of the local part
    only the first character is shown, and none when it is a single character.
    """
    if not value:
        return ""
    text = value.strip()
    local, at, domain = text.rpartition("@")
    if not at:
        return "***"
    first = local[0] if len(local) > 1 else ""
    return f"{first}***@{domain}"
