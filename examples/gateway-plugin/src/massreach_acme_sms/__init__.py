"""massreach-acme-sms: send massreach's SMS through the ACME SMS gateway.

Install the package next to massreach and add an ``[[acme_sms]]`` table to the massreach
configuration file; massreach finds the plugin through its ``massreach`` entry point.
"""

from massreach_acme_sms.api import ERROR_CODES, AcmeError
from massreach_acme_sms.channel import KIND, AcmeSmsChannel, AcmeSmsChannelFactory, AcmeSmsSettings

__all__ = [
    "ERROR_CODES",
    "KIND",
    "AcmeError",
    "AcmeSmsChannel",
    "AcmeSmsChannelFactory",
    "AcmeSmsSettings",
]
