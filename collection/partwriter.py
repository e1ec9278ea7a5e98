"""The collector's background writer of finished parts (collection/collector.py)."""
from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

from collection.rawzone import PartBuffer

log = logging.getLogger(__name__)


class PartWriter:
    """Writes finished parts to HDFS in a background thread, in order, while paging goes on.

    A WebHDFS write and rename take a few hundred milliseconds; done inline they would halve
    the collector's rate. At most two parts wait in the queue. Each part is followed by the
    checkpoint computed when it was submitted, so the order that makes a crash recoverable is kept.
    """

    def __init__(self, write: Callable[[PartBuffer, int | None], None], label: str):
        self._write, self._label = write, label
        self._queue: queue.Queue = queue.Queue(maxsize=2)
        self._error: BaseException | None = None
        self._reported = False
        self._thread = threading.Thread(target=self._loop, name=f"part-writer-{label}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if self._error is None:  # after a failure, later parts must not be written (order)
                try:
                    self._write(*item)
                except BaseException as error:  # noqa: BLE001 - handed to the paging thread
                    self._error = error

    def submit(self, buffer: PartBuffer, checkpoint: int | None) -> None:
        self.raise_if_failed()
        self._queue.put((buffer, checkpoint))

    def close(self, raise_error: bool = True) -> bool:
        """Wait until every submitted part is written; False (or the error) if writing failed."""
        self._queue.put(None)
        self._thread.join()
        if raise_error:
            self.raise_if_failed()
        elif self._error is not None and not self._reported:
            log.error("%s: writing a part failed too: %s", self._label, self._error)
        return self._error is None

    def raise_if_failed(self) -> None:
        if self._error is not None:
            self._reported = True
            raise self._error
