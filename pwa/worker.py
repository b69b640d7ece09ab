"""gunicorn's thread worker (gthread), noting how long each request waited in the worker's
queue for a free thread, so that pwa/overload.py can shed a request that already waited too
long instead of serving it late (gunicorn.conf.py: worker_class).

gunicorn queues a connection for its thread pool when it is accepted (or when a kept-alive
connection sends its next request) and a thread picks it up later; under overload that queue
grows and every request waits in it, unseen by the app. The time from queueing to a thread
starting on it is counted against FIELDKIT_QUEUE_TIMEOUT, like the wait for a turn.
"""

from __future__ import annotations

import time

from gunicorn.workers.gthread import ThreadWorker as GthreadWorker

from pwa import overload


class ThreadWorker(GthreadWorker):
    def enqueue_req(self, conn):
        conn.fieldkit_queued_at = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn):
        queued_at = getattr(conn, "fieldkit_queued_at", None)
        overload.note_queue_wait(time.monotonic() - queued_at if queued_at else 0.0)
        try:
            return super().handle(conn)
        finally:
            overload.note_queue_wait(0.0)
