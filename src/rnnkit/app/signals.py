"""Stopping a run cleanly: SIGINT and SIGTERM ask it to stop after the current step."""
from __future__ import annotations

import signal


class StopRequest:
    """Turns SIGINT / SIGTERM into a request to stop after the current step; ``signal`` is the
    number of the last one received (0: none). ``restore`` puts the old handlers back."""

    def __init__(self):
        self.signal = 0
        self._old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}

    def _handle(self, signum, frame):
        self.signal = signum

    def restore(self):
        for s, handler in self._old.items():
            signal.signal(s, handler)
