"""Settings, from FIELDKIT_* environment variables. The one place both the web app and the
CLI read them, so `fieldkit invite` and the server agree on the database and the links."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


def _number(env, name: str, default, kind, minimum):
    """A number from the environment, or the default when unset; a clear error when it is
    not a number or is below `minimum` (a typo must not start a server with no pool)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}")
    return value


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    base_url: str
    secret_key: str | None
    demo_commune_code: str
    build: str
    # The WebAuthn relying party: passkeys are bound to this domain. Derived from base_url
    # unless set (a commune served at app.xa.gov.vn may want passkeys for xa.gov.vn).
    rp_id: str | None = None
    # Web Push: the contact a push service may use about this server (VAPID "sub" claim).
    push_contact: str | None = None
    # --- production serving (issue 13) ---
    # Requests one app process works on at once; more wait up to queue_timeout seconds for
    # a turn, then answer 503 with Retry-After (pwa/overload.py). The database pool holds
    # one connection per such request, plus db_max_overflow for the few requests that open
    # a second session (throttling, readiness).
    max_inflight: int = 4
    queue_timeout: float = 3.0
    db_pool_size: int | None = None  # None: max_inflight
    db_max_overflow: int = 2
    db_pool_timeout: float = 5.0
    # Addresses (and networks) of the reverse proxies whose X-Forwarded-* headers are
    # believed; from anyone else those headers are ignored (pwa/proxy.py).
    trusted_proxies: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        instance = Path(env.get("FIELDKIT_INSTANCE", "instance")).resolve()
        return cls(
            instance_path=instance,
            database_url=env.get("FIELDKIT_DATABASE_URL", f"sqlite:///{instance / 'fieldkit.db'}"),
            base_url=env.get("FIELDKIT_BASE_URL", "http://localhost:8000").rstrip("/"),
            secret_key=env.get("FIELDKIT_SECRET_KEY") or None,
            # Xã Vĩnh Lộc, Thanh Hóa: since 1 July 2025 it holds the former xã Vĩnh Hưng
            # (huyện Vĩnh Lộc) of the seed article the demo is modelled on.
            demo_commune_code=env.get("FIELDKIT_DEMO_COMMUNE", "15349"),
            # A deploy's name (a commit, a date): part of the offline app's version, so phones
            # are offered the update even when only server code changed.
            build=env.get("FIELDKIT_BUILD", ""),
            rp_id=env.get("FIELDKIT_RP_ID") or None,
            push_contact=env.get("FIELDKIT_PUSH_CONTACT") or None,
            max_inflight=_number(env, "FIELDKIT_MAX_INFLIGHT", 4, int, 1),
            queue_timeout=_number(env, "FIELDKIT_QUEUE_TIMEOUT", 3.0, float, 0.0),
            db_pool_size=_number(env, "FIELDKIT_DB_POOL_SIZE", None, int, 1),
            db_max_overflow=_number(env, "FIELDKIT_DB_MAX_OVERFLOW", 2, int, 0),
            db_pool_timeout=_number(env, "FIELDKIT_DB_POOL_TIMEOUT", 5.0, float, 0.1),
            trusted_proxies=tuple(
                part.strip()
                for part in env.get("FIELDKIT_TRUSTED_PROXIES", "").split(",")
                if part.strip()
            ),
        )

    @property
    def pool(self) -> dict[str, float]:
        """The database pool's settings (fieldkit.db.make_engine), sized to the requests the
        process works on at once."""
        return {
            "pool_size": self.db_pool_size or self.max_inflight,
            "max_overflow": self.db_max_overflow,
            "pool_timeout": self.db_pool_timeout,
        }

    @property
    def passkey_rp_id(self) -> str:
        """The passkeys' domain: FIELDKIT_RP_ID, else the host name of FIELDKIT_BASE_URL."""
        return self.rp_id or (urlsplit(self.base_url).hostname or "localhost")

    @property
    def passkey_origin(self) -> str:
        """The only origin a passkey ceremony is accepted from: scheme, host and port of
        FIELDKIT_BASE_URL."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def vapid_subject(self) -> str:
        """FIELDKIT_PUSH_CONTACT (a mailto: or https: URL), else the site itself when it is
        served over https, else a placeholder fit for a development machine."""
        if self.push_contact:
            return self.push_contact
        if self.base_url.startswith("https://"):
            return self.base_url
        return "mailto:fieldkit@localhost"

    @property
    def push_allows_local(self) -> bool:
        """A push endpoint on http://localhost is accepted only when this server is itself on
        localhost (the tests' own push service)."""
        return urlsplit(self.base_url).hostname in ("localhost", "127.0.0.1")

    def secret(self) -> str:
        """The signing key: from the environment, else one made once and kept in the instance
        folder, so sessions survive a restart without anyone configuring anything."""
        if self.secret_key:
            return self.secret_key
        path = self.instance_path / "secret_key"
        if not path.exists():
            import secrets

            self.instance_path.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
