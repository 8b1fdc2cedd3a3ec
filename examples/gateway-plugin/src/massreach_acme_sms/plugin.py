"""The massreach plugin: the module named by this package's ``massreach`` entry point.

massreach's plugin manager registers this module; its one hook adds the
``[[acme_sms]]`` channel kind. It has no ``trylast``: a third-party registration is
meant to win over a built-in of the same kind (there is none for ``acme_sms``).
"""

from __future__ import annotations

from collections.abc import Callable

from massreach import hookimpl
from massreach.channels import ChannelFactory

from massreach_acme_sms.channel import AcmeSmsChannelFactory


@hookimpl
def massreach_register_channels(register: Callable[[ChannelFactory], None]) -> None:
    """Register the ACME SMS channel factory (``[[acme_sms]]`` tables)."""
    register(AcmeSmsChannelFactory())
