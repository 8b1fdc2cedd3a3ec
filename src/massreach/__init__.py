"""massreach: outbound campaigns for contact-center products.

Open an engine with :class:`Reach` and use its services: ``reach.imports``,
``reach.campaigns``, ``reach.distribution`` and ``reach.dispatch``. Plugins implement
the hooks in :mod:`massreach.hookspecs` with :data:`hookimpl`.
"""

from massreach.core.distribution import ProcessingStatus, Scope
from massreach.core.lifecycle import CampaignKind, CampaignState
from massreach.core.roles import Role
from massreach.engine import Reach
from massreach.errors import (
    ConfigError,
    ConflictError,
    InvalidFile,
    InvalidInput,
    InvalidTransition,
    MassreachError,
    NotFound,
    PermissionDenied,
    PluginError,
    RowError,
    StorageError,
    TemplateError,
)
from massreach.markers import hookimpl
from massreach.model import (
    Agent,
    Campaign,
    CampaignSource,
    Contact,
    ContactQuery,
    DeliveryReport,
    DuplicatePolicy,
    ImportOptions,
    ImportPlan,
    MessageState,
    PlanCounts,
    PlanState,
    RowResult,
    TaskStats,
    Template,
)

__all__ = [
    "Agent",
    "Campaign",
    "CampaignKind",
    "CampaignSource",
    "CampaignState",
    "ConfigError",
    "ConflictError",
    "Contact",
    "ContactQuery",
    "DeliveryReport",
    "DuplicatePolicy",
    "ImportOptions",
    "ImportPlan",
    "InvalidFile",
    "InvalidInput",
    "InvalidTransition",
    "MassreachError",
    "MessageState",
    "NotFound",
    "PermissionDenied",
    "PlanCounts",
    "PlanState",
    "PluginError",
    "ProcessingStatus",
    "Reach",
    "Role",
    "RowError",
    "RowResult",
    "Scope",
    "StorageError",
    "TaskStats",
    "Template",
    "TemplateError",
    "hookimpl",
]
