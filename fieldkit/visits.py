"""Logging visits (lượt hỗ trợ). A visit is an immutable field record made on the phone and
identified by the phone's UUID; the server accepts each UUID once (DESIGN.md §4)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from fieldkit import forms, prefetch
from fieldkit.errors import Invalid
from fieldkit.households import refresh_summary, refuse_if_erased
from fieldkit.i18n import _
from fieldkit.models import (
    Assistance,
    Device,
    Household,
    Member,
    Outcome,
    Reason,
    Result,
    ReviewState,
    Visit,
    VisitDuplicate,
)
from fieldkit.policy import require_can_record, require_household
from fieldkit.replays import check_replay

# Phones' clocks drift; a visit a few minutes "in the future" is a clock, not a lie.
CLOCK_SKEW = timedelta(minutes=10)
# A visit typed long after the fact is a mistake more often than not.
OLDEST_VISIT = timedelta(days=365)
MAX_LINES = 60
# Two visits of one household by one volunteer with the same outcome and lines, this close in
# time, are most likely one visit saved twice (two tabs, or typed again after a reload).
DUPLICATE_WINDOW = timedelta(minutes=30)
_DOSSIER = re.compile(r"^[A-Za-z0-9.\-/]{4,40}$")


@dataclass(frozen=True)
class AssistanceIn:
    resident_id: int
    service_code: str
    result: Result
    reason: Reason | None
    device: Device | None
    dossier_no: str | None


@dataclass(frozen=True)
class VisitIn:
    uuid: str
    household_id: int
    visited_at: datetime  # aware UTC
    outcome: Outcome
    notes: str
    follow_up_on: date | None
    smartphones: int | None
    internet_at_home: bool | None
    lines: tuple[AssistanceIn, ...]
    # The form's name prefix of each line ("lines-3-"), so that a message about a line is shown
    # beside the line the person filled even when an empty or removed line came before it.
    # Where the input came from, not what it says: left out of the fingerprint.
    line_prefixes: tuple[str, ...] = field(default=(), compare=False)

    def line_prefix(self, index: int) -> str:
        """The form's field-name prefix of `self.lines[index]`."""
        if index < len(self.line_prefixes):
            return self.line_prefixes[index]
        return f"lines-{index}-"

    @classmethod
    def parse(cls, data: Mapping[str, Any], *, household_id: int) -> VisitIn:
        """From the visit form (`lines-N-field` names) or a JSON payload (`lines: [...]`).
        Raises Invalid with every problem, by field name."""
        c = forms.Collector()
        values: dict[str, Any] = dict(  # each field's own type
            uuid=c.field("uuid", lambda: forms.uuid(data.get("uuid"))),
            visited_at=c.field(
                "visited_at",
                lambda: forms.local_datetime(data.get("visited_at"), label=_("thời gian thăm")),
            ),
            outcome=c.field(
                "outcome",
                lambda: forms.choice(data.get("outcome"), Outcome, label=_("kết quả chuyến thăm")),
            ),
            notes=c.field(
                "notes",
                lambda: forms.refuse_secrets(
                    forms.text(
                        data.get("notes"), required=False, label=_("ghi chú"), max_length=2000
                    )
                ),
            ),
            follow_up_on=c.field(
                "follow_up_on",
                lambda: forms.calendar_date(data.get("follow_up_on"), label=_("ngày hẹn quay lại")),
            ),
            smartphones=c.field(
                "smartphones",
                lambda: forms.integer(
                    data.get("smartphones"),
                    label=_("số điện thoại thông minh"),
                    minimum=0,
                    maximum=30,
                ),
            ),
            internet_at_home=c.field(
                "internet_at_home",
                lambda: forms.yes_no(data.get("internet_at_home"), label=_("Internet tại nhà")),
            ),
        )
        lines: list[AssistanceIn | None] = []
        prefixes: list[str] = []
        if "lines" in data and not isinstance(data.get("lines"), list):
            c.add("lines", _("Danh sách dòng hỗ trợ không hợp lệ."))
        for prefix, raw in _raw_lines(data):
            if all(forms._blank(raw.get(k)) for k in ("resident_id", "service_code")):
                continue  # an untouched empty line of the form
            if len(lines) >= MAX_LINES:
                c.add(
                    "lines",
                    _("Một lượt thăm có tối đa %(MAX_LINES)s dòng hỗ trợ.", MAX_LINES=MAX_LINES),
                )
                break
            prefixes.append(prefix)
            lines.append(_parse_line(c, prefix, raw))
        c.raise_if_any()
        # A line is None only when refused, and a refusal has just raised.
        parsed = tuple(line for line in lines if line is not None)
        return cls(household_id=household_id, lines=parsed, line_prefixes=tuple(prefixes), **values)

    def fingerprint(self) -> str:
        """A digest of the content, to tell a replay (same) from a conflict (different)."""
        # Built by hand rather than with dataclasses.asdict (slow, and would need the form's
        # line prefixes removed): the same canonical JSON, a third of the time.
        lines = sorted(
            json.dumps(
                [
                    line.resident_id,
                    line.service_code,
                    line.result,
                    line.reason,
                    line.device,
                    line.dossier_no,
                ],
                default=str,
            )
            for line in self.lines
        )
        content = [
            self.uuid,
            self.household_id,
            self.visited_at.isoformat(),
            self.outcome,
            self.notes,
            self.follow_up_on,
            self.smartphones,
            self.internet_at_home,
            lines,
        ]
        canonical = json.dumps(content, default=str, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def _raw_lines(data: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """(field-name prefix, raw line) pairs, in order. A form names lines by the index it gave
    them ("lines-3-…", with gaps where a line was removed); a JSON list by position."""
    raw = data.get("lines")
    if isinstance(raw, list):
        return [
            (f"lines-{i}-", line if isinstance(line, Mapping) else {}) for i, line in enumerate(raw)
        ]
    by_index: dict[int, dict[str, Any]] = {}
    for key in data:
        match = re.fullmatch(r"lines-(\d{1,3})-(\w+)", key)
        if match:
            by_index.setdefault(int(match[1]), {})[match[2]] = data.get(key)
    return [(f"lines-{i}-", by_index[i]) for i in sorted(by_index)]


def _parse_line(c: forms.Collector, prefix: str, raw: Mapping[str, Any]) -> AssistanceIn | None:
    """The line, or None when a required field is refused (its message is in `c`)."""
    resident_id = c.field(
        prefix + "resident_id",
        lambda: forms.integer(
            raw.get("resident_id"),
            label=_("người được hỗ trợ"),
            minimum=1,
            maximum=forms.MAX_ID,
            required=True,
        ),
    )
    service_code = c.field(
        prefix + "service_code",
        lambda: forms.text(
            raw.get("service_code"), required=True, label=_("dịch vụ"), max_length=40
        ),
    )
    result = c.field(
        prefix + "result", lambda: forms.choice(raw.get("result"), Result, label=_("kết quả"))
    )
    reason = c.field(
        prefix + "reason",
        lambda: forms.choice(raw.get("reason"), Reason, label=_("lý do"), required=False),
    )
    device = c.field(
        prefix + "device",
        lambda: forms.choice(raw.get("device"), Device, label=_("máy dùng"), required=False),
    )
    dossier_no = c.field(
        prefix + "dossier_no",
        lambda: forms.refuse_secrets(
            forms.text(raw.get("dossier_no"), required=False, label=_("mã hồ sơ"), max_length=40)
        ),
    )
    if dossier_no and not _DOSSIER.match(dossier_no):
        c.add(prefix + "dossier_no", _("Mã hồ sơ chỉ gồm chữ, số và các dấu . - /"))
    if result in (Result.failed, Result.referred) and reason is None:
        c.add(prefix + "reason", _("Cho biết lý do khi chưa làm được hoặc phải chuyển tiếp."))
    if resident_id is None or service_code is None or result is None:
        return None
    return AssistanceIn(
        resident_id=resident_id,
        service_code=service_code,
        result=result,
        reason=reason,
        device=device,
        dossier_no=dossier_no or None,
    )


def log_visit(
    session: Session, visit_in: VisitIn, *, volunteer: Member, now: datetime
) -> tuple[Visit, bool]:
    """Record one visit. Returns (visit, created). Safe to replay: a known UUID with the same
    content returns the stored visit with created False and changes nothing; with different
    content it raises SyncConflict — either only once the volunteer is found to be allowed to
    see the visit's household, so a UUID from outside one's scope answers Forbidden. Raises
    Invalid, NotFound or Forbidden and adds nothing when any part is wrong. A new visit that
    looks like another one (`find_twin`) is stored all the same and flagged with a
    VisitDuplicate row for review; `possible_duplicate_of` finds it. Caller commits."""
    require_can_record(volunteer)
    fingerprint = visit_in.fingerprint()
    stored = prefetch.stored_visit(session, visit_in.uuid)
    if stored is not None:
        check_replay(
            session,
            volunteer,
            household_id=stored.household_id,
            same=stored.fingerprint == fingerprint,
            conflict=_("Lượt thăm này đã được gửi trước đó với nội dung khác."),
        )
        return stored, False
    household = require_household(session, volunteer, visit_in.household_id)
    _check(session, visit_in, household, now)
    assert household.id is not None and volunteer.id is not None  # stored rows
    twin = find_twin(session, visit_in, volunteer_id=volunteer.id)

    visit = Visit(
        uuid=visit_in.uuid,
        household_id=household.id,
        volunteer_id=volunteer.id,
        visited_at=visit_in.visited_at,
        received_at=now,
        outcome=visit_in.outcome,
        notes=visit_in.notes,
        follow_up_on=visit_in.follow_up_on,
        smartphones=visit_in.smartphones,
        internet_at_home=visit_in.internet_at_home,
        review_state=ReviewState.pending,
        fingerprint=fingerprint,
    )
    session.add(visit)
    session.flush()  # the visit's id, for its lines
    if visit_in.lines:
        # One statement for all lines, without the ORM's bookkeeping per object: nothing in
        # this session reads them back as objects.
        session.execute(
            sa.insert(Assistance),
            [{"visit_id": visit.id, **asdict(line)} for line in visit_in.lines],
        )
    prefetch.remember_visit(session, visit)
    session.info.setdefault(_TWINS_FOUND, {})[visit.id] = twin
    if twin is not None:
        assert visit.id is not None and twin.id is not None  # stored visits (flushed above)
        session.add(VisitDuplicate(visit_id=visit.id, original_id=twin.id, flagged_at=now))
    # Facts seen at the door update the household: the latest observation is the best one.
    if visit_in.smartphones is not None:
        household.smartphones = visit_in.smartphones
    if visit_in.internet_at_home is not None:
        household.internet_at_home = visit_in.internet_at_home
    refresh_summary(session, household)
    return visit, True


def _line_key(line: AssistanceIn | Assistance) -> tuple[int, str, str, str, str, str]:
    """A line's content as plain values (enums as their text, none as ""), so lines compare
    and sort alike whether parsed from the phone or read from the database."""
    return (
        line.resident_id,
        line.service_code,
        str(line.result),
        str(line.reason or ""),
        str(line.device or ""),
        line.dossier_no or "",
    )


def find_twin(session: Session, visit_in: VisitIn, *, volunteer_id: int) -> Visit | None:
    """The visit that `visit_in` most likely repeats, if any: another visit (not rejected, not
    under the same UUID) of the same household by the same volunteer, with the same outcome
    and the same assistance lines (resident, service, result, reason, device, dossier number;
    order aside), visited within DUPLICATE_WINDOW of it. Notes, facts and follow-up date are
    left out: a visit typed again rarely repeats them word for word. The nearest in time wins."""
    candidates = session.exec(
        select(Visit).where(
            Visit.household_id == visit_in.household_id,
            Visit.volunteer_id == volunteer_id,
            Visit.outcome == visit_in.outcome,
            Visit.uuid != visit_in.uuid,
            Visit.review_state != ReviewState.rejected,
            Visit.visited_at >= visit_in.visited_at - DUPLICATE_WINDOW,
            Visit.visited_at <= visit_in.visited_at + DUPLICATE_WINDOW,
        )
    ).all()
    if not candidates:
        return None
    wanted = sorted(_line_key(line) for line in visit_in.lines)
    lines: dict[int | None, list[tuple]] = {visit.id: [] for visit in candidates}
    for line in session.exec(
        select(Assistance).where(col(Assistance.visit_id).in_(list(lines)))
    ).all():
        lines[line.visit_id].append(_line_key(line))
    same = [visit for visit in candidates if sorted(lines[visit.id]) == wanted]
    return min(same, key=lambda v: (abs(v.visited_at - visit_in.visited_at), v.id), default=None)


# Visit id → the twin log_visit() found for it (or None), for possible_duplicate_of() in the
# same session: the sync API asks right after each visit it stores, and a flag is only ever
# written there, so the note is the answer and the database need not be asked per visit.
_TWINS_FOUND = "fieldkit.visits.twins_found"


def possible_duplicate_of(session: Session, visit: Visit) -> Visit | None:
    """The earlier visit this one was flagged as possibly repeating when it arrived."""
    found: dict[int | None, Visit | None] = session.info.get(_TWINS_FOUND, {})
    if visit.id in found:
        return found[visit.id]
    flag = session.get(VisitDuplicate, visit.id)
    return session.get(Visit, flag.original_id) if flag is not None else None


def duplicate_notice(original: Visit) -> str:
    """What the phone says when its visit was stored but looks like `original`."""
    return _(
        "Có vẻ trùng với lượt thăm lúc %(to_local)s.",
        to_local=f"{forms.to_local(original.visited_at):%H:%M}",
    )


def revise_visit(session: Session, visit: Visit, visit_in: VisitIn, *, now: datetime) -> None:
    """Replace a visit's content (time, outcome, lines, facts, notes) with a revision sent
    back from the field (fieldkit.review.resubmit), with the same checks as log_visit. The
    visit keeps its UUID, volunteer and fingerprint (the first send's, so a replay of that
    send still answers duplicate). Raises Invalid and changes nothing when any part is wrong.
    Caller commits."""
    household = session.get(Household, visit.household_id)
    assert household is not None and visit.id is not None  # a stored visit and its household
    _check(session, visit_in, household, now)
    for old in session.exec(select(Assistance).where(Assistance.visit_id == visit.id)).all():
        session.delete(old)
    session.flush()
    visit.visited_at, visit.outcome = visit_in.visited_at, visit_in.outcome
    visit.notes, visit.follow_up_on = visit_in.notes, visit_in.follow_up_on
    visit.smartphones, visit.internet_at_home = visit_in.smartphones, visit_in.internet_at_home
    session.add(visit)
    for line in visit_in.lines:
        session.add(Assistance(visit_id=visit.id, **asdict(line)))
    if visit_in.smartphones is not None:
        household.smartphones = visit_in.smartphones
    if visit_in.internet_at_home is not None:
        household.internet_at_home = visit_in.internet_at_home
    session.flush()


def _check(session: Session, visit_in: VisitIn, household: Household, now: datetime) -> None:
    errors: dict[str, str] = {}
    refuse_if_erased(household)
    if household.review_state is ReviewState.rejected:
        raise Invalid({"form": _("Hộ này đã bị xã từ chối nên không ghi lượt thăm được.")})
    if visit_in.visited_at > now + CLOCK_SKEW:
        errors["visited_at"] = _("Thời gian thăm không thể ở tương lai.")
    elif visit_in.visited_at < now - OLDEST_VISIT:
        errors["visited_at"] = _("Thời gian thăm đã quá một năm. Kiểm tra lại ngày.")
    visit_day = forms.local_today(visit_in.visited_at)
    if visit_in.follow_up_on is not None and visit_in.follow_up_on < visit_day:
        errors["follow_up_on"] = _("Ngày hẹn quay lại phải từ ngày thăm trở đi.")
    if visit_in.outcome is not Outcome.met and visit_in.lines:
        errors["lines"] = _("Chỉ ghi dòng hỗ trợ khi đã gặp được người dân.")

    assert household.id is not None  # a stored household
    residents = prefetch.counted_residents(
        session, household.id, {line.resident_id for line in visit_in.lines}
    )
    services = prefetch.active_services(session, {line.service_code for line in visit_in.lines})
    seen: set[tuple[int, str]] = set()
    for index, line in enumerate(visit_in.lines):
        prefix = visit_in.line_prefix(index)
        if line.resident_id not in residents:
            errors[prefix + "resident_id"] = _("Người này không thuộc hộ đang thăm.")
        if line.service_code not in services:
            errors[prefix + "service_code"] = _("Dịch vụ không có trong danh mục.")
        if (line.resident_id, line.service_code) in seen:
            errors[prefix + "service_code"] = _("Dòng này trùng người và dịch vụ với dòng trên.")
        seen.add((line.resident_id, line.service_code))
    if errors:
        raise Invalid(errors)


def visits_of(session: Session, household: Household) -> list[tuple[Visit, list[Assistance]]]:
    """The household's visits, newest first, each with its assistance lines."""
    assert household.id is not None  # a stored household
    return visits_of_many(session, [household.id]).get(household.id, [])


def visits_of_many(
    session: Session, household_ids: Sequence[int]
) -> dict[int, list[tuple[Visit, list[Assistance]]]]:
    """visits_of() for many households in two queries: household id → its visits, newest
    first, each with its lines. A household never visited is left out."""
    if not household_ids:
        return {}
    visits = session.exec(
        select(Visit)
        .where(col(Visit.household_id).in_(list(household_ids)))
        .order_by(col(Visit.visited_at).desc(), col(Visit.id).desc())
    ).all()
    lines: dict[int | None, list[Assistance]] = {visit.id: [] for visit in visits}
    if lines:
        for line in session.exec(
            select(Assistance)
            .where(col(Assistance.visit_id).in_(list(lines)))
            .order_by(col(Assistance.id))
        ).all():
            lines[line.visit_id].append(line)
    found: dict[int, list[tuple[Visit, list[Assistance]]]] = {}
    for visit in visits:
        found.setdefault(visit.household_id, []).append((visit, lines[visit.id]))
    return found
