"""Work that outlives the request that asked for it: importing a 10,000-row list (issue 15).

Why a job the page polls, not the import inside the request, nor a streamed response:

- A request that does the import (10–30 s here, longer on a busy server) meets a reverse
  proxy's read timeout and a phone on 3G that drops the connection. Either way the person is
  told it failed while the server goes on and commits — the peers' users' worst complaint:
  "it said it failed, but the data was saved", then a second import.
- A streamed response (progress written as the work goes) is tied to that same connection,
  and proxies buffer it by default (nginx does), so no progress arrives at all.
- Here the upload answers at once; the import runs in a thread beside the requests, in one
  transaction whose commit also writes the batch's outcome (fieldkit.imports.run), and the
  batch page asks for the batch's state every two seconds — tiny GETs, each of which may fail
  on a bad network without consequence. Reloading the page, or opening it on another device,
  shows the same truth. No extra process to run, on SQLite or PostgreSQL.

The cost: a job dies with its process (a restart mid-import). Its transaction then never
committed — nothing of it was written — and once fieldkit.imports.ABANDONED has passed the
batch page offers to import it again.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask
from flask_babel import lazy_gettext as _l

from fieldkit import imports
from fieldkit.db import new_session
from fieldkit.errors import DomainError, Invalid
from fieldkit.models import Member, utcnow

log = logging.getLogger(__name__)
FAILED = _l("Có lỗi trên máy chủ khi đưa vào; chưa có gì được ghi. Hãy bấm “Đưa vào” lại.")


def start_import(app: Flask, batch_id: int, member_id: int) -> threading.Thread:
    """Run the (claimed) batch's import in a thread of its own, with its own session."""
    engine = app.extensions["fieldkit_engine"]
    thread = threading.Thread(
        target=_run, args=(engine, batch_id, member_id), name=f"import-{batch_id}", daemon=True
    )
    app.extensions.setdefault("fieldkit_jobs", {})[batch_id] = thread
    thread.start()
    return thread


def _run(engine, batch_id: int, member_id: int) -> None:
    with new_session(engine) as session:
        try:
            member = session.get(Member, member_id)
            # Who may import is asked again: the person may have lost the right since.
            importer = imports.Importer.of(member)
            imports.run(session, batch_id, importer, now=utcnow())
            session.commit()
            return
        except Invalid as invalid:
            message = " ".join(invalid.errors.values())
        except DomainError as refused:
            message = str(refused)
        except Exception:
            log.exception("import %s failed", batch_id)
            message = FAILED
        session.rollback()
        imports.fail(session, batch_id, message, now=utcnow())
        session.commit()


def wait(app: Flask, batch_id: int, timeout: float = 120) -> None:
    """For tests and the console: until the batch's job (if one runs here) has finished."""
    thread = app.extensions.get("fieldkit_jobs", {}).get(batch_id)
    if thread is not None:
        thread.join(timeout)
