"""Gunicorn settings for Fieldkit in production (`make serve`, README "Production").

    .venv/bin/gunicorn -c gunicorn.conf.py

Every value can be changed by environment variable, so one file serves a laptop, a 2-core
commune server and a province's app servers:

- FIELDKIT_HOST, FIELDKIT_PORT: where to listen (127.0.0.1:8000; the TLS proxy is in front).
- FIELDKIT_WORKERS: processes (default 2 × CPU cores + 1: the work is Python, one core each,
  and a process waiting on the database leaves its core to another).
- FIELDKIT_THREADS: threads per process (default 4 × FIELDKIT_MAX_INFLIGHT). At most
  FIELDKIT_MAX_INFLIGHT (4) of them work at once, each with its own database connection; the
  others wait up to FIELDKIT_QUEUE_TIMEOUT (3 s) for a turn, then answer 503 + Retry-After
  (pwa/overload.py). So one process holds at most MAX_INFLIGHT + FIELDKIT_DB_MAX_OVERFLOW (2)
  connections: PostgreSQL's max_connections must exceed
  app servers × workers × (MAX_INFLIGHT + DB_MAX_OVERFLOW) + push workers + admin.
"""

import multiprocessing
import os

from fieldkit.config import Settings

_settings = Settings.from_env()

wsgi_app = "pwa:create_app()"
bind = [f"{os.environ.get('FIELDKIT_HOST', '127.0.0.1')}:{os.environ.get('FIELDKIT_PORT', '8000')}"]
workers = int(os.environ.get("FIELDKIT_WORKERS") or multiprocessing.cpu_count() * 2 + 1)
# gunicorn's gthread worker, noting how long each request queued for a thread (pwa/worker.py):
# a request that queued longer than FIELDKIT_QUEUE_TIMEOUT is answered 503 at once.
worker_class = "pwa.worker.ThreadWorker"
threads = int(os.environ.get("FIELDKIT_THREADS") or _settings.max_inflight * 4)
# A slow phone on 3G must not hold a thread for ever, nor a request be cut short while a
# large offline pack is prepared.
timeout = 60
graceful_timeout = 30
# Longer than the Retry-After of a shed request (5 s, pwa/overload.py): a phone sending again
# then must not meet a kept-alive connection the server is just closing.
keepalive = 15
# Workers are recycled now and then (with jitter, never all at once): a slow leak cannot grow.
max_requests = 20000
max_requests_jitter = 2000
# X-Forwarded-* are read by the app, from FIELDKIT_TRUSTED_PROXIES only (pwa/proxy.py):
# gunicorn itself trusts none of them.
secure_scheme_headers: dict[str, str] = {}
forwarder_headers = ""
# Every log line is JSON on stderr — gunicorn's own and the app's, which writes one line per
# request with its request id (pwa/logs.py) instead of gunicorn's access log.
accesslog = None
loglevel = os.environ.get("FIELDKIT_LOG_LEVEL", "info")
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "pwa.logs.JsonFormatter"}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "root": {"level": loglevel.upper(), "handlers": ["stderr"]},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
        "alembic": {"level": "WARNING", "handlers": [], "propagate": True},
    },
}
proc_name = "fieldkit"
# Several instances may run on one machine (two app servers behind a balancer); none needs
# gunicorn's control socket, which would be shared under $HOME.
control_socket_disable = True


def on_starting(server):
    """Once, in the master: precompress static files before the workers start (each worker
    would otherwise race to do it; they still check, cheaply)."""
    from pathlib import Path

    from pwa.static_files import precompress

    precompress(Path(__file__).parent / "pwa" / "static")
