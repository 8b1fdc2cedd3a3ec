"""Every error massreach raises on purpose.

Each error carries a stable ``code`` (``"import.file_unreadable"``) and structured
``details`` so a host product can show it in its own language, plus an English
message a call-center admin understands. Where one applies, ``file``, ``row`` and
``column`` say where the problem is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "ConfigError",
    "ConflictError",
    "InvalidFile",
    "InvalidInput",
    "InvalidTransition",
    "MassreachError",
    "NotFound",
    "PermissionDenied",
    "PluginError",
    "RowError",
    "StorageError",
    "TemplateError",
]


class MassreachError(Exception):
    """Base of every massreach error.

    ``code`` is stable across releases; ``details`` holds the values the message
    was built from (names, numbers), never free text meant only for English readers.
    """

    default_code: ClassVar[str] = "massreach.error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        file: str | None = None,
        row: int | None = None,
        column: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.file = file
        self.row = row
        self.column = column
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message

    def to_dict(self) -> dict[str, Any]:
        """The error as a JSON-ready mapping (code, message and location)."""
        return {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "details": self.details,
        }


class InvalidInput(MassreachError):
    """A value given by a user or host product is not acceptable."""

    default_code = "input.invalid"


class InvalidFile(MassreachError):
    """A file cannot be read as a table at all (empty, binary, undecodable)."""

    default_code = "file.unreadable"


class RowError(MassreachError):
    """One row of an import is not acceptable; the import goes on without it."""

    default_code = "row.invalid"


class TemplateError(MassreachError):
    """A template cannot be parsed or rendered with the data given."""

    default_code = "template.invalid"


class NotFound(MassreachError):
    """A named thing (list, plan, campaign, template, agent) does not exist."""

    default_code = "not_found"


class ConflictError(MassreachError):
    """The change would break a rule on stored data (a duplicate name, a phone edit)."""

    default_code = "conflict"


class InvalidTransition(MassreachError):
    """A campaign or plan cannot go from its current state to the one asked for."""

    default_code = "state.invalid_transition"


class PermissionDenied(MassreachError):
    """The role given may not perform the action."""

    default_code = "permission.denied"


class StorageError(MassreachError):
    """The storage backend cannot be opened or used."""

    default_code = "storage.error"


class ConfigError(MassreachError):
    """The configuration file or a setting in it is wrong."""

    default_code = "config.invalid"


class PluginError(MassreachError):
    """A plugin is missing, broken or registered something twice."""

    default_code = "plugin.error"
