"""The pluggy markers for massreach hooks: ``hookspec`` and ``hookimpl``.

Plugin authors import ``hookimpl`` from :mod:`massreach` (it is re-exported there).
"""

from __future__ import annotations

import pluggy

PROJECT_NAME = "massreach"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]
