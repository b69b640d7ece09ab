"""The review loop (DESIGN.md §3): commune staff approve, send back (trả lại) or reject (từ chối)
the records that come from the field — visits, new households, household edits and new
residents — and the field fixes a returned record and resubmits it as a new revision.

Invariants:

- Only a pending record is decided, and only on the revision the reviewer saw
  (`expected_revision`): approving twice, deciding a stale revision or a record already
  rejected is refused (ReviewRefused) and nothing changes.
- Every decision adds one ReviewDecision (never changed) and one audit event "review", and
  refreshes the household's cached summary so its counts move at once.
- Only a returned record is resubmitted, by the person who made it or a leader of its village,
  on the revision that was returned (`base_revision`): the record's content is replaced, its
  revision goes up by one and it is pending again. Every revision's content is kept as a
  RecordRevision — the first one lazily, when the second arrives — so the history shows what
  changed, field by field.
- fieldkit commits nothing: the caller commits, or rolls back after a refusal.

What a decision means for related records (decided here, on purpose):

- Approving a visit approves nothing else. A line of it that names a resident (or a household)
  still pending counts as pending in the indicators until that resident is approved too
  (fieldkit.reporting.indicators counts a line approved only when visit, household and resident all
  are);
  the inbox says so beside the visit ("Nhân khẩu chưa duyệt: …") so the reviewer can approve
  both.
- Approving a new household or a new resident approves only that record; their visits wait
  for their own decisions.
- Rejecting a visit, a household or a resident takes it out of every count and list (the
  household summary is refreshed); visits that name a rejected resident keep their other lines.
- A household edit is applied to the household when it is sent (the field must see its own
  change at once). Approving or returning it leaves it applied. Rejecting it puts back the old
  value of each field it changed — unless a later change already replaced that value, which
  then stays.

A package along the review loop's parts: records (kinds, content, changes), inbox,
decisions, history, returned (and resubmission), duplicates. Callers use `fieldkit.review`
as one module; these are its public names."""

from fieldkit.review.decisions import (  # noqa: F401
    Choice,
    approve_many,
    decide,
)
from fieldkit.review.duplicates import (  # noqa: F401
    DuplicatePair,
    possible_duplicate_visits,
)
from fieldkit.review.history import (  # noqa: F401
    DecisionEntry,
    RecordSummary,
    ReviewedRecord,
    RevisionEntry,
    history,
    household_records,
    reviewed_records,
)
from fieldkit.review.inbox import (  # noqa: F401
    Inbox,
    InboxEntry,
    inbox,
)
from fieldkit.review.records import (  # noqa: F401
    COMMON_REASONS,
    DECISION_LABELS,
    DECISIONS,
    FIELD_LABELS,
    INBOX_LIMIT,
    KIND_LABELS,
    MODELS,
    REASON_MAX,
    Change,
    FieldText,
    ReviewRefused,
    changes_between,
    content_of,
    household_of,
    maker_id,
    readable,
)
from fieldkit.review.returned import (  # noqa: F401
    ReturnedEntry,
    find_returned,
    resubmit,
    returned,
    returned_count,
)
