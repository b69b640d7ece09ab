"""Settings, from FIELDKIT_* environment variables. The one place both the web app and the
CLI read them, so `fieldkit invite` and the server agree on the database and the links."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    instance_path: Path
    database_url: str
    base_url: str
    secret_key: str | None
    demo_commune_code: str
    build: str

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
        )

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
