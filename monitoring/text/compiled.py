"""Something compiled from a table once per process and rebuilt only when the table changes.

The watch rules (``matching.rule_set``) and the sensitive-term lists
(``sensitive.sensitive_set``) are compiled into Aho-Corasick automata, which is far too
slow to redo for every batch. Each use compares a cheap fingerprint of the table (one
aggregate query) with the one the compiled value was built from, and rebuilds on a
difference; so a change written by any process reaches every process at its next use. The
service that writes calls :meth:`CompiledTable.forget` after its commit, so its own process
never waits for the fingerprint to move.
"""

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Compiled = TypeVar("Compiled")


class CompiledTable(Generic[Compiled]):
    """``build()`` cached against ``fingerprint()``; thread-safe."""

    def __init__(
        self, *, fingerprint: Callable[[], Hashable], build: Callable[[], Compiled], empty: Compiled
    ) -> None:
        self._fingerprint = fingerprint
        self._build = build
        self._value = empty
        self._built_from: Hashable | None = None
        self._lock = threading.Lock()

    def get(self) -> Compiled:
        """The compiled value; rebuilt when the table's fingerprint moved since."""
        # Read before the rows: a write in between leaves a fingerprint older than the
        # value, which only costs one more rebuild.
        fingerprint = self._fingerprint()
        with self._lock:
            if self._built_from != fingerprint:
                self._value = self._build()
                self._built_from = fingerprint
            return self._value

    def forget(self) -> None:
        """Build afresh at the next :meth:`get`."""
        with self._lock:
            self._built_from = None
