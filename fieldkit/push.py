"""Web Push: the queue, the subscriptions, the VAPID keys and the worker that sends.

Nothing here is called from a request to send: a route or a command only *queues* a
`PushMessage` with `enqueue` (inside its own transaction), and `fieldkit push-worker` drains
the queue with `drain`. So no request ever waits on a push service, and a message queued in a
transaction that rolls back is never sent.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02, VapidException
from pywebpush import WebPushException, webpush
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from fieldkit.errors import Invalid
from fieldkit.forms import local_today
from fieldkit.i18n import _
from fieldkit.models import (
    AuditEvent,
    Household,
    Member,
    PushMessage,
    PushSubscription,
    ReviewState,
    SignInLink,
)


def enqueue(
    session: Session,
    *,
    member_id: int,
    title: str,
    body: str,
    url: str,
    tag: str = "",
    dedupe_key: str | None = None,
    now: datetime,
) -> PushMessage | None:
    """Queue one notification for one member. No network. Caller commits.

    A `dedupe_key` already in the queue (sent or not) → None and nothing is added, so a daily
    command run twice queues once. A member without a subscription is not an error: the worker
    simply has nowhere to send the message. `url` is a path of this site ("/households/12");
    anything else becomes "/"."""
    if dedupe_key is not None:
        known = session.exec(
            select(PushMessage.id).where(PushMessage.dedupe_key == dedupe_key)
        ).first()
        if known is not None:
            return None
    if not url.startswith("/") or url.startswith("//"):
        url = "/"  # only a page of this site is opened from a notification
    message = PushMessage(
        member_id=member_id,
        title=title[:120],
        body=body[:400],
        url=url[:300],
        tag=tag[:60],
        dedupe_key=dedupe_key,
        created_at=now,
        not_before=now,
    )
    if dedupe_key is None or session.get_bind().dialect.name != "postgresql":
        # SQLite has one writer at a time: a racing duplicate fails on the unique key.
        session.add(message)
        session.flush()
        return message
    # Two PostgreSQL writers racing on the same key: the loser's savepoint rolls back, the
    # caller's transaction goes on.
    try:
        with session.begin_nested():
            session.add(message)
    except IntegrityError:
        return None
    return message


# --- what queues a message (called inside the caller's transaction) ---------------------------


def households_assigned(
    session: Session, *, volunteer: Member, actor: Member, count: int, now: datetime
) -> PushMessage | None:
    """ "Bạn được giao N hộ mới": one message per assignment action, not per household. Nobody
    is told about what they did themselves. Caller commits."""
    if count <= 0 or volunteer.id == actor.id:
        return None
    assert volunteer.id is not None  # a stored member
    return enqueue(
        session,
        member_id=volunteer.id,
        title=_("Bạn được giao %(count)s hộ mới", count=count),
        body=_("%(name)s vừa phân công thêm hộ cho bạn. Chạm để xem danh sách.", name=actor.name),
        url="/households",
        tag="assigned",
        now=now,
    )


def invite_accepted(
    session: Session, *, token: str, member: Member, now: datetime
) -> PushMessage | None:
    """Tell whoever made the invite link that `member` has joined — when this link (already
    redeemed in this transaction) was made by someone and this is the member's first sign-in.
    Console links (`fieldkit invite`) have no maker and tell nobody. Caller commits."""
    link = session.exec(
        select(SignInLink).where(
            SignInLink.token_hash == hashlib.sha256(token.encode()).hexdigest()
        )
    ).first()
    if link is None or link.created_by_id is None or link.created_by_id == member.id:
        return None
    sign_ins = session.exec(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.actor_id == member.id, AuditEvent.action == "sign_in")
    ).one()
    if sign_ins > 1:  # this sign-in is already written down; any other means not the first
        return None
    return enqueue(
        session,
        member_id=link.created_by_id,
        title=_("%(name)s đã tham gia", name=member.name),
        body=_("%(name)s vừa đăng nhập Fieldkit lần đầu bằng liên kết mời.", name=member.name),
        url="/members",
        tag="invite",
        dedupe_key=f"invite:{link.id}",
        now=now,
    )


def queue_follow_ups(session: Session, *, now: datetime) -> int:
    """For each active volunteer whose assigned households have a follow-up due today (the
    date in Vietnam), one reminder "Hôm nay có N hộ hẹn quay lại". Keyed per member per day:
    running it twice queues once. Returns how many were queued. Caller commits."""
    today = local_today(now)
    rows = session.exec(
        select(Household.assigned_volunteer_id, func.count())
        .join(Member, col(Member.id) == Household.assigned_volunteer_id)
        .where(
            Household.follow_up_on == today,
            col(Member.active).is_(True),
            Household.review_state != ReviewState.rejected,
            col(Household.erased_at).is_(None),
        )
        .group_by(col(Household.assigned_volunteer_id))
        .order_by(col(Household.assigned_volunteer_id))
    ).all()
    queued = 0
    for member_id, count in rows:
        assert member_id is not None  # joined to its member
        message = enqueue(
            session,
            member_id=member_id,
            title=_("Hôm nay có %(count)s hộ hẹn quay lại", count=count),
            body=_("Chạm để xem các hộ đã hẹn quay lại hôm nay."),
            url="/households?filter=follow_up",
            tag="follow-ups",
            dedupe_key=f"follow-ups:{member_id}:{today.isoformat()}",
            now=now,
        )
        queued += message is not None
    return queued


# --- VAPID keys ------------------------------------------------------------------------------

VAPID_FILE = "vapid_private.pem"


@dataclass(frozen=True)
class Vapid:
    """The server's VAPID identity. `public_key` is what the page gives
    `pushManager.subscribe` as applicationServerKey: the 65-byte uncompressed P-256 point,
    base64url without padding."""

    signer: Vapid02
    public_key: str
    subject: str


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_vapid(instance_path: Path, *, subject: str) -> Vapid:
    """The keys kept in the instance folder (mode 0600), made on first use. Made with
    O_EXCL, so the app and the worker starting together agree on one pair."""
    path = instance_path / VAPID_FILE
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        fresh = Vapid02()
        fresh.generate_keys()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(fresh.private_pem())
    signer = Vapid02.from_pem(path.read_bytes())
    try:  # a contact push services refuse would fail every message: say so at start
        signer.sign({"sub": subject, "aud": "https://push.example.com"})
    except VapidException:
        raise ValueError(
            _(
                (
                    "FIELDKIT_PUSH_CONTACT phải là mailto:địa-chỉ-thư hoặc https://…, không phải "
                    "%(subject)s."
                ),
                subject=repr(subject),
            )
        ) from None
    point = signer.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return Vapid(signer=signer, public_key=_b64url(point), subject=subject)


# --- subscriptions ---------------------------------------------------------------------------

_LOCAL_HOSTS = {"localhost", "127.0.0.1"}


def _plausible_endpoint(endpoint: object) -> bool:
    """Push services hand out plain ASCII URLs (RFC 8030) of modest length: anything else
    (a lone surrogate, a control character, non-ASCII) cannot be one, nor be stored as one."""
    return (
        isinstance(endpoint, str)
        and 0 < len(endpoint) <= 1000
        and endpoint.isascii()
        and endpoint.isprintable()
    )


def _check_endpoint(endpoint: str, *, allow_local: bool) -> str:
    refused = Invalid({"endpoint": _("Địa chỉ nhận thông báo của trình duyệt không hợp lệ.")})
    if not _plausible_endpoint(endpoint):
        raise refused
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname
    except ValueError:
        raise refused from None
    if not host:
        raise refused
    if parts.scheme == "https":
        return endpoint
    if parts.scheme == "http" and allow_local and host in _LOCAL_HOSTS:
        return endpoint
    raise refused


def _check_keys(p256dh: object, auth: object) -> tuple[str, str]:
    # Typed as what a JSON body may hold: anything but two short strings is refused.
    refused = Invalid(
        {"keys": _("Khóa mã hóa của trình duyệt không hợp lệ; hãy tắt rồi bật lại thông báo.")}
    )
    if (
        not isinstance(p256dh, str)
        or not isinstance(auth, str)
        or len(p256dh) > 200
        or len(auth) > 100
    ):
        raise refused
    try:
        point = _unb64url(p256dh)
        secret = _unb64url(auth)
    except (ValueError, binascii.Error):
        raise refused from None
    if len(point) != 65 or point[0] != 4 or len(secret) != 16:
        raise refused
    try:  # on the curve, or no message could ever be encrypted to it
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise refused from None
    return _b64url(point), _b64url(secret)


def subscribe(
    session: Session,
    member: Member,
    *,
    endpoint: str,
    p256dh: str,
    auth: str,
    user_agent: str = "",
    allow_local: bool = False,
    now: datetime,
) -> PushSubscription:
    """Keep this browser's subscription for `member`. Checked whole first: an https endpoint
    (http://localhost only with `allow_local`, for a server that is itself on localhost), a
    public key that is a P-256 point, a 16-byte auth secret; refused → Invalid, nothing kept.

    A subscription belongs to one member. The same member sending it again updates its row
    (keys renewed). Another member may take it over only by sending the same keys, which only
    the browser holding the subscription knows — a shared phone, where the last person to
    turn notifications on gets them; an endpoint sent with other keys is refused and the
    first member's row is left as it was (an endpoint alone is no proof: it travels to push
    services and may leak). Caller commits."""
    endpoint = _check_endpoint(endpoint, allow_local=allow_local)
    p256dh, auth = _check_keys(p256dh, auth)
    stored = session.exec(
        select(PushSubscription).where(PushSubscription.endpoint == endpoint)
    ).first()
    if (
        stored is not None
        and stored.member_id != member.id
        and (stored.p256dh, stored.auth) != (p256dh, auth)
    ):
        raise Invalid(
            {
                "endpoint": _(
                    "Địa chỉ nhận thông báo này đã thuộc về một tài khoản khác. "
                    "Hãy tắt rồi bật lại thông báo trên điện thoại này."
                )
            }
        )
    assert member.id is not None  # a stored member
    if stored is None:
        stored = PushSubscription(
            endpoint=endpoint, member_id=member.id, p256dh=p256dh, auth=auth, created_at=now
        )
    stored.member_id, stored.p256dh, stored.auth = member.id, p256dh, auth
    stored.user_agent = (user_agent or "")[:300]
    session.add(stored)
    session.flush()
    return stored


def unsubscribe(session: Session, member: Member, *, endpoint: str) -> bool:
    """Forget this browser's subscription, if it is the member's. Idempotent. Caller commits."""
    if not _plausible_endpoint(endpoint):
        return False  # no such row can exist
    stored = session.exec(
        select(PushSubscription).where(
            PushSubscription.endpoint == endpoint, PushSubscription.member_id == member.id
        )
    ).first()
    if stored is None:
        return False
    session.delete(stored)
    session.flush()
    return True


def subscriptions_of(session: Session, member_id: int) -> list[PushSubscription]:
    return list(
        session.exec(
            select(PushSubscription)
            .where(PushSubscription.member_id == member_id)
            .order_by(col(PushSubscription.id))
        ).all()
    )


# --- the worker ------------------------------------------------------------------------------

MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(minutes=1)  # then 2, 4, 8, 16 minutes
TTL_SECONDS = 12 * 3600  # a push service keeps an undelivered message half a day
SEND_TIMEOUT = 10


@dataclass
class DrainReport:
    sent: int = 0
    retried: int = 0
    given_up: int = 0
    no_subscription: int = 0
    removed_subscriptions: int = 0

    def __str__(self) -> str:
        return _(
            (
                "Đã gửi %(sent)s, thử lại sau %(retried)s, bỏ %(given_up)s, không có nơi nhận "
                "%(no_subscription)s; xóa %(removed_subscriptions)s đăng ký hết hạn."
            ),
            sent=self.sent,
            retried=self.retried,
            given_up=self.given_up,
            no_subscription=self.no_subscription,
            removed_subscriptions=self.removed_subscriptions,
        )


def payload(message: PushMessage) -> str:
    """What the service worker receives (pwa/offline/sw.js, the `push` handler)."""
    return json.dumps(
        {"title": message.title, "body": message.body, "url": message.url, "tag": message.tag},
        ensure_ascii=False,
    )


def _due(now: datetime) -> SelectOfScalar[PushMessage]:
    return (
        select(PushMessage)
        .where(
            col(PushMessage.sent_at).is_(None),
            PushMessage.not_before <= now,
            PushMessage.attempts < MAX_ATTEMPTS,
        )
        .order_by(col(PushMessage.not_before), col(PushMessage.id))
    )


def _claim_one(session: Session, now: datetime) -> PushMessage | None:
    statement = _due(now).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        # A second worker skips the row this one holds instead of sending it twice.
        statement = statement.with_for_update(skip_locked=True)
    return session.exec(statement).first()


class _Outcome(enum.Enum):
    delivered = "delivered"
    gone = "gone"  # 404/410: the browser dropped the subscription
    retry = "retry"  # network error, 429, 5xx: the push service may take it later
    refused = "refused"  # another 4xx: sending the same again would fail the same way


def _send_one(
    subscription: PushSubscription, body: str, vapid: Vapid, http: requests.Session, urgency: str
) -> tuple[_Outcome, str]:
    info = {
        "endpoint": subscription.endpoint,
        "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
    }
    try:
        webpush(
            info,
            data=body,
            vapid_private_key=vapid.signer,
            vapid_claims={"sub": vapid.subject},
            ttl=TTL_SECONDS,
            timeout=SEND_TIMEOUT,
            headers={"Urgency": urgency},
            requests_session=http,
        )
    except WebPushException as failed:
        status = failed.response.status_code if failed.response is not None else None
        text = f"HTTP {status}" if status else str(failed)[:200]
        if status in (404, 410):
            return _Outcome.gone, text
        if status is None or status == 429 or status >= 500:
            return _Outcome.retry, text
        return _Outcome.refused, text
    except requests.RequestException as failed:
        return _Outcome.retry, f"{type(failed).__name__}: {str(failed)[:160]}"
    except Exception as failed:  # noqa: BLE001 — one bad row must not stop the worker
        return _Outcome.refused, f"{type(failed).__name__}: {str(failed)[:160]}"
    return _Outcome.delivered, ""


def send_message(
    session: Session,
    message: PushMessage,
    *,
    vapid: Vapid,
    http: requests.Session,
    now: datetime,
    report: DrainReport,
    urgency: str = "normal",
) -> None:
    """Send one message to every subscription of its member and write down what happened.

    Delivered to at least one of the member's browsers → sent. None took it and one failed
    for a passing reason (network, 429, 5xx) → tried again after 1, 2, 4, 8, 16 minutes, up
    to MAX_ATTEMPTS, then given up with the reason in last_error. Subscriptions answered
    404/410 are removed. No subscription at all, or a member who has left → marked done
    without sending."""
    member = session.get(Member, message.member_id)
    # message.member_id is a foreign key: a member who has left is inactive, never deleted.
    assert member is not None
    subscriptions = subscriptions_of(session, message.member_id) if member.active else []
    message.attempts += 1
    if not subscriptions:
        message.sent_at = now
        message.last_error = _("Không có đăng ký nhận thông báo.")
        report.no_subscription += 1
        session.add(message)
        return
    body = payload(message)
    delivered, transient = False, False
    errors: list[str] = []
    for subscription in subscriptions:
        outcome, error = _send_one(subscription, body, vapid, http, urgency)
        if outcome is _Outcome.delivered:
            delivered = True
            subscription.last_sent_at = now
            session.add(subscription)
        elif outcome is _Outcome.gone:
            session.delete(subscription)
            report.removed_subscriptions += 1
            errors.append(_("đăng ký hết hạn (%(error)s)", error=error))
        else:
            transient = transient or outcome is _Outcome.retry
            errors.append(error)
    message.last_error = "; ".join(errors)[:500] or None
    if delivered or not transient:
        message.sent_at = now
        report.sent += delivered
    elif message.attempts >= MAX_ATTEMPTS:
        message.last_error = _(
            "Bỏ sau %(attempts)s lần thử: %(last_error)s",
            attempts=message.attempts,
            last_error=message.last_error,
        )[:500]
        report.given_up += 1
    else:
        message.not_before = now + FIRST_RETRY * 2 ** (message.attempts - 1)
        report.retried += 1
    session.add(message)


def drain(
    session: Session,
    *,
    vapid: Vapid,
    now: datetime,
    limit: int = 500,
    http: requests.Session | None = None,
) -> DrainReport:
    """Send what is due, one message per transaction, and commit each (this is the worker:
    it owns its transactions). On PostgreSQL rows are claimed FOR UPDATE SKIP LOCKED, so
    several workers may run side by side; on SQLite run one worker — it has no row locks
    and a second worker could send a message twice."""
    report = DrainReport()
    http = http or requests.Session()
    for _unused in range(limit):
        message = _claim_one(session, now)
        if message is None:
            break
        try:
            send_message(session, message, vapid=vapid, http=http, now=now, report=report)
            session.commit()
        except Exception:
            session.rollback()
            raise
    return report
