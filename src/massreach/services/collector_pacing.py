"""Fewer garbage collections while an import runs.

An import allocates a few container objects per row (the reader's row lists, the
records, the columns of a batch), and nearly all of them are gone again a batch
later. With Python's default threshold (a young collection every 700 net
allocations, and older generations after every 10 of those) the collector runs
about 7,000 times per million rows and walks every live object of the process
several dozen times: measured on a 1,000,000-row CSV import, 4 of its 25 seconds.
While an import runs the youngest generation is collected only after
:data:`IMPORT_GC_THRESHOLD` net allocations instead; the older generations keep
their ratios. Cycles are still collected, only less often; the process-wide
threshold is put back when the last running import of the process ends.
"""

from __future__ import annotations

import gc
from contextlib import AbstractContextManager

from massreach.process_settings import ProcessSetting

__all__ = ["IMPORT_GC_THRESHOLD", "sparse_collections"]

#: Net allocations of container objects between two young collections during an import.
IMPORT_GC_THRESHOLD = 50_000

Threshold = tuple[int, int, int]


def _raised(threshold: Threshold) -> Threshold:
    young, middle, old = threshold
    if not young:  # 0: automatic collection is off, leave it so
        return threshold
    return max(young, IMPORT_GC_THRESHOLD), middle, old


_THRESHOLD: ProcessSetting[Threshold] = ProcessSetting(
    gc.get_threshold, lambda threshold: gc.set_threshold(*threshold), _raised
)


def sparse_collections() -> AbstractContextManager[None]:
    """Raise the collector's youngest threshold to :data:`IMPORT_GC_THRESHOLD` (never
    lower it) for the duration; nested and concurrent uses share one saved value."""
    return _THRESHOLD.changed()
