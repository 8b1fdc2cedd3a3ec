"""The storage conformance suite: one test class every backend runs.

Subclass :class:`StorageConformance` in your backend's tests and override the
``storage`` fixture so that it yields a fresh, EMPTY backend and closes it
afterwards. Name the subclass ``Test…`` so pytest collects it::

    import pytest
    from massreach.testing import StorageConformance

    class TestMyStorage(StorageConformance):
        @pytest.fixture
        def storage(self, tmp_path):
            backend = MyStorage(f"mine:///{tmp_path}/db")
            yield backend
            backend.close()

Every test is one rule of the :class:`~massreach.storage.Storage` protocol and its
docstring says which. Times come from the ``clock_start`` fixture (override it to
start elsewhere); no test sleeps. A few tests call the backend from several
threads at once, as a multi-threaded dispatcher would: one backend object must be
safe to share between threads. The rules are grouped in mixins, one per part of
the protocol, so a backend under construction may also run just some of them.
"""

from __future__ import annotations

from massreach.testing.campaign_rules import CampaignRules
from massreach.testing.contact_rules import ContactRules
from massreach.testing.distribution_rules import DistributionRules
from massreach.testing.limit_rules import LimitRules
from massreach.testing.outbox_rules import OutboxRules
from massreach.testing.plan_rules import PlanRules

__all__ = [
    "CampaignRules",
    "ContactRules",
    "DistributionRules",
    "LimitRules",
    "OutboxRules",
    "PlanRules",
    "StorageConformance",
]


class StorageConformance(
    ContactRules, DistributionRules, PlanRules, CampaignRules, OutboxRules, LimitRules
):
    """Every rule of the storage protocol; override the ``storage`` fixture."""
