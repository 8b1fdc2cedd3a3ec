"""massreach: outbound campaigns for contact-center products."""

from massreach.errors import MassreachError
from massreach.markers import hookimpl

__all__ = ["MassreachError", "hookimpl"]
