"""Table models. Table models skip validation: inputs are checked by the `*In` models and
domain functions before a row is built.

Times are aware UTC (`utcnow()`); dates (follow-up) are calendar dates in Vietnam.
"""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel, col


def utcnow() -> datetime:
    """Aware UTC now. Every time in the database is aware UTC (SQLModel's UTCDateTime)."""
    return datetime.now(UTC)


def _enum(enum_type: type[enum.Enum]) -> sa.Enum:
    """Enums are stored as short strings, not native PostgreSQL types, so adding a value (a new
    reason for failure, say) needs no type migration."""
    return sa.Enum(
        enum_type, native_enum=False, create_constraint=False, length=24, validate_strings=True
    )


class Role(enum.StrEnum):
    volunteer = "volunteer"
    leader = "leader"
    staff = "staff"
    admin = "admin"
    # Above the communes (issue 14): province staff (Cán bộ tỉnh) read every commune of their
    # province; a province admin also invites them.
    province = "province"
    province_admin = "province_admin"


class ReviewState(enum.StrEnum):
    """Every field record starts pending (chờ duyệt); commune staff decide (DESIGN.md §3)."""

    pending = "pending"
    approved = "approved"
    returned = "returned"
    rejected = "rejected"


class Outcome(enum.StrEnum):
    met = "met"
    not_home = "not_home"
    declined = "declined"
    moved = "moved"


class Result(enum.StrEnum):
    done = "done"
    partial = "partial"
    failed = "failed"
    referred = "referred"


class Reason(enum.StrEnum):
    no_smartphone = "no_smartphone"
    no_signal = "no_signal"
    forgot_password = "forgot_password"
    needs_police = "needs_police"
    no_chip_id = "no_chip_id"
    no_sim = "no_sim"
    system_error = "system_error"
    not_interested = "not_interested"
    other = "other"


class Device(enum.StrEnum):
    own = "own"
    family = "family"
    volunteer = "volunteer"


class Sex(enum.StrEnum):
    male = "male"
    female = "female"


class Commune(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=5, unique=True, description="Official 5-digit code (QĐ 19/2025)")
    name: str
    province_code: str = Field(max_length=2)
    province_name: str
    created_at: datetime = Field(default_factory=utcnow)
    # How long personal data of households no longer served is kept, in months (None: until
    # erased on request). Set by commune staff.
    retention_months: int | None = None


class Village(SQLModel, table=True):
    """A thôn, bản, ấp or tổ dân phố: entered by the commune, not in the official list."""

    __table_args__ = (UniqueConstraint("commune_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int = Field(foreign_key="commune.id", index=True)
    name: str
    kind: str = Field(default="thôn")


class Member(SQLModel, table=True):
    """A person who uses Fieldkit: volunteer, leader (tổ trưởng), commune staff or admin —
    who belong to a commune — or province staff, who belong to a province (`province_code`,
    no commune). Exactly one of the two (issue 14)."""

    __table_args__ = (
        CheckConstraint(
            "(commune_id IS NULL) <> (province_code IS NULL)", name="ck_member_commune_or_province"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int | None = Field(default=None, foreign_key="commune.id", index=True)
    # Official 2-digit code of the province a province member works for (issue 14).
    province_code: str | None = Field(default=None, max_length=2, index=True)
    village_id: int | None = Field(default=None, foreign_key="village.id", index=True)
    name: str
    phone: str | None = Field(default=None, index=True)
    role: Role = Field(default=Role.volunteer, sa_type=_enum(Role))
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class SignInLink(SQLModel, table=True):
    """A one-time sign-in link. Only the token's SHA-256 is kept."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    member_id: int = Field(foreign_key="member.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    # Who made it: a leader for volunteers of their village, commune staff for leaders and
    # staff; None for links printed at the console (`fieldkit invite`).
    created_by_id: int | None = Field(default=None, foreign_key="member.id")


class Passkey(SQLModel, table=True):
    """A WebAuthn credential (discoverable, user-verified). A person may have several."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    credential_id: str = Field(unique=True, max_length=1400, description="base64url")
    public_key: bytes
    sign_count: int = 0
    transports: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    name: str = Field(default="", description="What the person calls the device")
    created_at: datetime = Field(default_factory=utcnow)
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class OneTimeCode(SQLModel, table=True):
    """A short code a leader reads out to a volunteer whose phone cannot hold a passkey.
    Short-lived, single use; only its hash is kept; wrong guesses are counted."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    code_hash: str = Field(max_length=64)
    created_by_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_at: datetime | None = None
    failed_attempts: int = 0


class AuditEvent(SQLModel, table=True):
    """Who did what, when: sign-ins, invites, passkey changes, role changes, reviews,
    exports and erasures (DESIGN.md §5). Append-only."""

    __table_args__ = (Index("ix_auditevent_commune_at", "commune_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int | None = Field(default=None, foreign_key="commune.id")
    at: datetime = Field(default_factory=utcnow)
    actor_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    action: str = Field(max_length=40, index=True)
    target_kind: str | None = Field(default=None, max_length=20)
    target_id: int | None = None
    details: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Household(SQLModel, table=True):
    __table_args__ = (
        Index("ix_household_village_label", "village_id", "label"),
        # Covers the list's tab counts (Tất cả / Chưa thăm / Hẹn quay lại / Đã xong), so they
        # are counted from the index without reading the households' rows.
        Index(
            "ix_household_village_progress",
            "village_id",
            "review_state",
            "visit_count",
            "follow_up_on",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(unique=True, max_length=36)
    village_id: int = Field(foreign_key="village.id", index=True)
    label: str = Field(description="House number or the name people know the house by")
    head_name: str
    address_hint: str = ""
    smartphones: int | None = None
    internet_at_home: bool | None = None
    assigned_volunteer_id: int | None = Field(default=None, foreign_key="member.id", index=True)
    # Consent (Law 91/2025/QH15): recorded before personal details are kept.
    consent_version: str | None = None
    consent_purposes: str | None = None
    consent_method: str | None = None
    consent_at: datetime | None = None
    # Set when the household's personal data was erased on request; its counts stay.
    erased_at: datetime | None = None
    # A household proposed from the field is a field record under review like a visit.
    review_state: ReviewState = Field(default=ReviewState.approved, sa_type=_enum(ReviewState))
    revision: int = 1
    proposed_by_id: int | None = Field(default=None, foreign_key="member.id")
    # Digest of the proposal as sent from the field (HouseholdIn.fingerprint), to tell a replay
    # from a conflict. None for households the commune entered: no field UUID to replay.
    fingerprint: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    # Kept by fieldkit.households.refresh_summary() only; the list page filters and sorts on
    # these for villages of thousands of households without aggregating visits per request.
    search_text: str = ""
    last_visited_at: datetime | None = None
    follow_up_on: date | None = None
    visit_count: int = 0
    # Imports and merges (issue 15). `code`: the commune's own household code (mã hộ) from an
    # imported list, unique within the commune (fieldkit.imports matches re-imports by it).
    # `import_batch_id`: the import that created or last changed the household. A household
    # merged into another keeps its row, with `merged_into_id` saying where it went.
    code: str | None = Field(default=None, max_length=40)
    import_batch_id: int | None = Field(default=None, foreign_key="importbatch.id")
    merged_into_id: int | None = Field(default=None, foreign_key="household.id")


class HouseholdEdit(SQLModel, table=True):
    """A change to a household's basics made in the field: applied at once, kept for review."""

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(unique=True, max_length=36)
    household_id: int = Field(foreign_key="household.id", index=True)
    member_id: int = Field(foreign_key="member.id")
    changes: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    review_state: ReviewState = Field(default=ReviewState.pending, sa_type=_enum(ReviewState))
    revision: int = 1
    # Digest of the edit as sent (household and every basic field), to tell replay from conflict.
    fingerprint: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class Resident(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(unique=True, max_length=36)
    household_id: int = Field(foreign_key="household.id", index=True)
    name: str
    birth_year: int | None = None
    sex: Sex | None = Field(default=None, sa_type=_enum(Sex))
    relation: str = Field(default="", description="Quan hệ với chủ hộ")
    phone: str | None = None
    review_state: ReviewState = Field(default=ReviewState.approved, sa_type=_enum(ReviewState))
    revision: int = 1
    added_by_id: int | None = Field(default=None, foreign_key="member.id")
    # Digest of the resident as sent from the field (ResidentIn.fingerprint); None for
    # residents the commune entered.
    fingerprint: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    # Imports and merges (issue 15): the import that created or last changed the resident; the
    # resident it was combined with when two households of the same people were merged.
    import_batch_id: int | None = Field(default=None, foreign_key="importbatch.id")
    merged_into_id: int | None = Field(default=None, foreign_key="resident.id")


class Service(SQLModel, table=True):
    """One entry of the service catalogue (DESIGN.md §2). Data, editable by commune staff."""

    code: str = Field(primary_key=True, max_length=40)
    name: str
    short_name: str
    sort_order: int = 0
    official_url: str | None = None
    active: bool = True


class Visit(SQLModel, table=True):
    """One trip to one household (lượt hỗ trợ). Identified by the UUID made on the phone."""

    __table_args__ = (Index("ix_visit_household_visited", "household_id", "visited_at"),)

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(unique=True, max_length=36)
    household_id: int = Field(foreign_key="household.id")
    volunteer_id: int = Field(foreign_key="member.id", index=True)
    visited_at: datetime
    received_at: datetime = Field(default_factory=utcnow)
    outcome: Outcome = Field(sa_type=_enum(Outcome))
    notes: str = ""
    follow_up_on: date | None = None
    smartphones: int | None = None
    internet_at_home: bool | None = None
    review_state: ReviewState = Field(
        default=ReviewState.pending, index=True, sa_type=_enum(ReviewState)
    )
    revision: int = 1
    fingerprint: str = Field(max_length=64)


class Assistance(SQLModel, table=True):
    """One assistance line of a visit: resident × service × result."""

    __table_args__ = (Index("ix_assistance_resident_service", "resident_id", "service_code"),)

    id: int | None = Field(default=None, primary_key=True)
    visit_id: int = Field(foreign_key="visit.id", index=True)
    resident_id: int = Field(foreign_key="resident.id")
    service_code: str = Field(foreign_key="service.code")
    result: Result = Field(sa_type=_enum(Result))
    reason: Reason | None = Field(default=None, sa_type=_enum(Reason))
    device: Device | None = Field(default=None, sa_type=_enum(Device))
    dossier_no: str | None = None


# --- Targets (issue 5) ------------------------------------------------------------------------


class Target(SQLModel, table=True):
    """A target (chỉ tiêu): how many of one indicator a village — or the whole commune when
    `village_id` is None — should reach within a period (both ends inclusive, Vietnam dates).
    At most one target per commune, village, indicator and period; enforced by
    `fieldkit.reporting.targets` (a unique constraint would let NULL villages repeat)."""

    __table_args__ = (Index("ix_target_commune_period", "commune_id", "period_end"),)

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int = Field(foreign_key="commune.id")
    village_id: int | None = Field(default=None, foreign_key="village.id")
    indicator: str = Field(max_length=40, description="A key of fieldkit.reporting.indicators")
    period_start: date
    period_end: date
    value: int
    set_by_id: int | None = Field(default=None, foreign_key="member.id")
    updated_at: datetime = Field(default_factory=utcnow)


# --- Review loop (issue 6) --------------------------------------------------------------------


class RecordKind(enum.StrEnum):
    """The field records that go through review (DESIGN.md §3)."""

    visit = "visit"
    household = "household"
    household_edit = "household_edit"
    resident = "resident"


class ReviewDecision(SQLModel, table=True):
    """One decision of commune staff on one revision of a field record: approved, returned
    (trả lại, with a reason) or rejected (từ chối, with a reason). Never changed or deleted."""

    __table_args__ = (Index("ix_reviewdecision_record", "record_kind", "record_id"),)

    id: int | None = Field(default=None, primary_key=True)
    record_kind: RecordKind = Field(sa_type=_enum(RecordKind))
    record_id: int
    revision: int
    decision: ReviewState = Field(sa_type=_enum(ReviewState))
    reason: str = ""
    reviewer_id: int = Field(foreign_key="member.id")
    at: datetime = Field(default_factory=utcnow)


class RecordRevision(SQLModel, table=True):
    """One revision of a field record as it stood when submitted, so the history can show what
    changed. `uuid` is the outbox item that carried a resubmission (a replay is recognised by
    it); for a record's first revision it is the record's own UUID."""

    __table_args__ = (Index("ix_recordrevision_record", "record_kind", "record_id", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    uuid: str = Field(unique=True, max_length=36)
    record_kind: RecordKind = Field(sa_type=_enum(RecordKind))
    record_id: int
    revision: int
    content: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    submitted_by_id: int | None = Field(default=None, foreign_key="member.id")
    submitted_at: datetime = Field(default_factory=utcnow)
    fingerprint: str | None = Field(default=None, max_length=64)


# --- Push notifications (issue 6) -------------------------------------------------------------


class PushSubscription(SQLModel, table=True):
    """A browser's Web Push subscription for one member (one per phone or browser)."""

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    endpoint: str = Field(unique=True, max_length=1000)
    p256dh: str = Field(max_length=200)
    auth: str = Field(max_length=100)
    user_agent: str = ""
    created_at: datetime = Field(default_factory=utcnow)
    last_sent_at: datetime | None = None


class PushMessage(SQLModel, table=True):
    """The push queue: one notification for one member, sent by `fieldkit push-worker` so no
    request waits on a push service. `dedupe_key` (optional, unique) keeps a daily command
    from queueing the same reminder twice."""

    __table_args__ = (Index("ix_pushmessage_due", "sent_at", "not_before"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    title: str = Field(max_length=120)
    body: str = Field(max_length=400)
    url: str = Field(max_length=300, description="The page to open when tapped (a path)")
    tag: str = Field(default="", max_length=60)
    dedupe_key: str | None = Field(default=None, unique=True, max_length=120)
    created_at: datetime = Field(default_factory=utcnow)
    not_before: datetime = Field(default_factory=utcnow)
    attempts: int = 0
    sent_at: datetime | None = None
    last_error: str | None = None


# --- Door stickers and guide cards (issue 6) --------------------------------------------------


class Sticker(SQLModel, table=True):
    """A QR door sticker: an unguessable token that leads to one household and says nothing
    about it. Replacing a sticker revokes the old token."""

    id: int | None = Field(default=None, primary_key=True)
    token: str = Field(unique=True, max_length=32)
    household_id: int = Field(foreign_key="household.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class Guide(SQLModel, table=True):
    """A commune's own wording of a service's guide card. Without one, the card shows the
    catalogue's default text (fieldkit.guides)."""

    __table_args__ = (UniqueConstraint("commune_id", "service_code"),)

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int = Field(foreign_key="commune.id")
    service_code: str = Field(foreign_key="service.code", max_length=40)
    title: str = Field(max_length=120)
    steps: str = Field(description="One step per line, plain Vietnamese")
    official_url: str | None = Field(default=None, max_length=300)
    updated_by_id: int | None = Field(default=None, foreign_key="member.id")
    updated_at: datetime = Field(default_factory=utcnow)


# --- Pre-aggregated progress (issue 5) --------------------------------------------------------


class HouseholdProgress(SQLModel, table=True):
    """One household's share of one indicator (a key of fieldkit.reporting.indicators,
    "failed:<reason>" for failure reasons, "followup:level2_waiting" — residents waiting for
    the police, in `approved` — for fieldkit.followups, or "review:pending" /
    "review:returned" — the household's records waiting for review or sent back, in
    `approved` — for the province overview): how many of it count approved and how many
    pending, by the definitions of `fieldkit.reporting.indicators`. Rows only where something
    counts; rejected households have none. Kept by
    `fieldkit.reporting.indicators.refresh_progress()` — called from
    `households.refresh_summary()` and on any change of a review state — and filled in bulk by
    the demo builder. A household's change is added to VillageProgress at the same time, so
    the commune's indicators need no pass over visits, lines or households."""

    __table_args__ = (Index("ix_householdprogress_village", "village_id", "indicator"),)

    household_id: int = Field(foreign_key="household.id", primary_key=True)
    indicator: str = Field(max_length=40, primary_key=True)
    village_id: int = Field(foreign_key="village.id")
    approved: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    pending: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class VillageProgress(SQLModel, table=True):
    """The sum of HouseholdProgress over a village's households, per indicator: what the
    commune overview reads (a few rows per village instead of a pass over every household).
    `fieldkit.reporting.indicators.refresh_progress()` adds each household's change to it in
    the same transaction, so it always equals that sum (tested against a count from scratch)."""

    village_id: int = Field(foreign_key="village.id", primary_key=True)
    indicator: str = Field(max_length=40, primary_key=True)
    approved: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    pending: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


# Period-limited indicators (a week's numbers) select visits by time.
Index("ix_visit_visited_at", col(Visit.visited_at))
# The follow-up lists and counts (fieldkit.followups) read households by follow-up date; this
# covers every column they filter on, so a commune's counts never read the households' rows.
Index(
    "ix_household_follow_up",
    col(Household.village_id),
    col(Household.follow_up_on),
    col(Household.review_state),
    col(Household.erased_at),
    col(Household.assigned_volunteer_id),
)


# --- Sessions, passkey challenges, counts of refusals (issue 10) -------------------------------


class WebSession(SQLModel, table=True):
    """A signed-in browser (DESIGN.md §5: sessions live on the server). The cookie carries only
    a random id; this row keeps its SHA-256, whose it is and since when. Deleting the row ends
    the session everywhere at once, on every app server. `data` is the little the web app keeps
    per browser (CSRF token, flash messages, the push endpoint it registered, the id of a
    passkey challenge in progress) — never who is signed in: that is `member_id`."""

    __table_args__ = (Index("ix_websession_last_seen", "last_seen_at"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, max_length=64)
    member_id: int = Field(foreign_key="member.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)
    # Renewed at most every few minutes (fieldkit.sessions.TOUCH_EVERY): the session lasts
    # 30 days from here.
    last_seen_at: datetime = Field(default_factory=utcnow)
    # When the person last proved who they are (passkey, link or code): adding a passkey
    # needs this to be recent.
    proved_at: datetime = Field(default_factory=utcnow)
    method: str = Field(default="", max_length=20)
    passkey_id: int | None = Field(default=None, foreign_key="passkey.id", index=True)
    device: str = Field(default="", max_length=80)
    data: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class PasskeyChallenge(SQLModel, table=True):
    """A WebAuthn challenge waiting for its answer: made by the options step, bound to one
    browser (its id is kept in that browser's session), deleted by the first answer — right
    or wrong — and worthless after `expires_at`. `client` is the address that asked, so one
    address cannot keep an unbounded number waiting."""

    __table_args__ = (Index("ix_passkeychallenge_client", "client", "expires_at"),)

    id: int | None = Field(default=None, primary_key=True)
    purpose: str = Field(max_length=10)
    challenge: str = Field(max_length=100, description="base64url")
    member_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime = Field(index=True)
    client: str = Field(default="", max_length=64)


class Tally(SQLModel, table=True):
    """How many times something happened under `key` in the window starting at `window_start`
    (a minute for throttles, an hour for refused sign-ins): one row however many times, so a
    flood of unauthenticated requests adds at most one row per key and window."""

    __table_args__ = (Index("ix_tally_window", "window_start"),)

    key: str = Field(primary_key=True, max_length=120)
    window_start: datetime = Field(primary_key=True)
    count: int = 0


# --- Imports and merges (issue 15) ------------------------------------------------------------


class ImportKind(enum.StrEnum):
    households = "households"  # households and residents
    team = "team"  # the team roster: members


class ImportStatus(enum.StrEnum):
    """previewed → queued → running → done (→ undone); failed from queued or running, with
    nothing written. A preview may be imported again after a failure."""

    previewed = "previewed"
    queued = "queued"
    running = "running"
    done = "done"
    failed = "failed"
    undone = "undone"


class ImportBatch(SQLModel, table=True):
    """One file brought in: who, when, which file, what it would do (`preview`) and what it did
    (`counts`). While it waits to be imported, `rows` holds the file's cells as read — the
    columns Fieldkit never keeps (citizen-ID numbers, passwords) already left out — and is
    emptied once the batch is imported or given up. It is also the job the import page polls."""

    __table_args__ = (Index("ix_importbatch_commune_created", "commune_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    commune_id: int = Field(foreign_key="commune.id")
    # A leader's import is for their village; commune staff's may cover every village (None).
    village_id: int | None = Field(default=None, foreign_key="village.id")
    kind: ImportKind = Field(sa_type=_enum(ImportKind))
    status: ImportStatus = Field(default=ImportStatus.previewed, sa_type=_enum(ImportStatus))
    file_name: str = Field(default="", max_length=200)
    created_by_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = Field(default_factory=utcnow)
    # The person's choices: column mapping, the village of a file without a village column,
    # the new villages to create.
    options: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    rows: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    preview: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    counts: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    total_rows: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str = ""
    undone_at: datetime | None = None
    undone_by_id: int | None = Field(default=None, foreign_key="member.id")


class ImportChange(SQLModel, table=True):
    """One record an import created or changed, with the values it replaced and the values it
    wrote, so the batch can be undone without touching what changed since."""

    __table_args__ = (Index("ix_importchange_batch", "batch_id", "record_kind"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="importbatch.id")
    record_kind: str = Field(max_length=20, description="household, resident, member, village")
    record_id: int
    created: bool = Field(description="True: the import made it; False: it changed it")
    before: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    after: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class HouseholdMerge(SQLModel, table=True):
    """A household merged into another by commune staff: what it was (so the survivor's page
    can show both histories) and what moved."""

    id: int | None = Field(default=None, primary_key=True)
    survivor_id: int = Field(foreign_key="household.id", index=True)
    merged_id: int = Field(foreign_key="household.id", unique=True)
    merged_by_id: int | None = Field(default=None, foreign_key="member.id")
    at: datetime = Field(default_factory=utcnow)
    snapshot: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    moved: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class DuplicateDismissal(SQLModel, table=True):
    """Two households commune staff looked at and found to be different ("Không trùng"): not
    flagged as possible duplicates again. `first_id` < `second_id`."""

    first_id: int = Field(foreign_key="household.id", primary_key=True)
    second_id: int = Field(foreign_key="household.id", primary_key=True)
    dismissed_by_id: int | None = Field(default=None, foreign_key="member.id")
    at: datetime = Field(default_factory=utcnow)


# A re-import finds households by their code; codes are unique within a commune (checked by
# fieldkit.imports under the commune's lock), so within a village too.
Index("ux_household_village_code", col(Household.village_id), col(Household.code), unique=True)
# --- Province (issue 14) ---------------------------------------------------------------------


class ProvinceTarget(SQLModel, table=True):
    """A target (chỉ tiêu) the province sets: how many of one indicator a commune — or the
    whole province when `commune_id` is None — should reach within a period (both ends
    inclusive, Vietnam dates). A commune that sets no commune-wide target of its own for an
    indicator sees the province's as its own (fieldkit.reporting.targets.targets_for); its own wins.
    At most one per province, commune, indicator and period (fieldkit.reporting.targets)."""

    __table_args__ = (Index("ix_provincetarget_province_period", "province_code", "period_end"),)

    id: int | None = Field(default=None, primary_key=True)
    province_code: str = Field(max_length=2)
    commune_id: int | None = Field(default=None, foreign_key="commune.id", index=True)
    indicator: str = Field(max_length=40, description="A key of fieldkit.reporting.indicators")
    period_start: date
    period_end: date
    value: int
    set_by_id: int | None = Field(default=None, foreign_key="member.id")
    updated_at: datetime = Field(default_factory=utcnow)


# A commune's "last activity" on the province overview: per village, the latest visit is the
# last entry of this index, so ~100 communes' dates cost one index probe per village rather
# than a pass over a million households.
Index("ix_household_village_last_visit", col(Household.village_id), col(Household.last_visited_at))


# --- Possible duplicate visits (issue 11) -----------------------------------------------------


class VisitDuplicate(SQLModel, table=True):
    """A visit that arrived looking like another one: same household, volunteer, outcome and
    assistance lines as `original_id`, visited within 30 minutes of it (two tabs, or a visit
    typed again after a reload). The visit is stored all the same — it may be real — and
    commune staff see the pair in the review inbox (fieldkit.review.possible_duplicate_visits).
    Written once, in the transaction that stores the visit (fieldkit.visits.log_visit)."""

    visit_id: int = Field(foreign_key="visit.id", primary_key=True)
    original_id: int = Field(foreign_key="visit.id", index=True)
    flagged_at: datetime
