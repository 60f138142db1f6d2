"""A long-lived process made ready for the monitoring intake before its first batch.

Celery's worker processes (``config.celery``) and the web server's workers
(``config.wsgi``) call :func:`process_warm` once they have started. It loads the cutter
(jieba's dictionary in jieba-rs, ``monitoring.text.segmentation``) and the sentiment lexicon
then, so that the first batch of posts does not wait for them, and hands everything
loaded so far to ``gc.freeze()``: those objects live as long as the process, and the full
garbage collections that a batch's allocations set off no longer walk through them
(``bench/README.md`` has what the collector cost the intake before).
"""

import gc
import logging
import time

from .segmentation import cutter
from .sentiment import scorer

logger = logging.getLogger(__name__)

# Allocations (less deallocations) between two young collections; CPython's default is 700.
YOUNG_THRESHOLD = 50_000


def process_warm() -> None:
    """Load the cutter and the configured sentiment scorer, then freeze what is alive."""
    started = time.perf_counter()
    cutter()
    scorer()
    gc.collect()
    gc.freeze()
    # A batch of posts allocates tens of thousands of objects that live until it ends;
    # at the default threshold (700) the young collections scan them again and again.
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    logger.info(
        "process_warm: the cutter and the sentiment scorer loaded, %d objects frozen (%.1f s)",
        gc.get_freeze_count(),
        time.perf_counter() - started,
    )
