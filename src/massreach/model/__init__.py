"""The domain model: frozen attrs value objects shared by the core, services and storage."""

from massreach.model.agents import Agent, AgentFigures, TaskStats
from massreach.model.campaigns import (
    AudienceFigures,
    Campaign,
    CampaignSource,
    TagFigure,
    Template,
)
from massreach.model.contacts import (
    Contact,
    ContactDraft,
    ContactKeys,
    ContactList,
    ContactQuery,
    ContactUpdate,
)
from massreach.model.outbox import (
    DeliveryReport,
    MessageOutcome,
    MessageState,
    OutboxMessage,
)
from massreach.model.plans import (
    DuplicatePolicy,
    ImportBatch,
    ImportOptions,
    ImportPlan,
    PlanCounts,
    PlanState,
    RowResult,
)

__all__ = [
    "Agent",
    "AgentFigures",
    "AudienceFigures",
    "Campaign",
    "CampaignSource",
    "Contact",
    "ContactDraft",
    "ContactKeys",
    "ContactList",
    "ContactQuery",
    "ContactUpdate",
    "DeliveryReport",
    "DuplicatePolicy",
    "ImportBatch",
    "ImportOptions",
    "ImportPlan",
    "MessageOutcome",
    "MessageState",
    "OutboxMessage",
    "PlanCounts",
    "PlanState",
    "RowResult",
    "TagFigure",
    "TaskStats",
    "Template",
]
