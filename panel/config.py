"""Configuration from the environment, with safe defaults for the embedded set-up."""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def _persisted_secret(instance_path: Path, name: str) -> str:
    """Return a random secret stored in `instance/`, generating it on first use.

    A hard-coded default would let anyone forge sessions; a fresh one per start would log
    everybody out on every restart.
    """
    path = instance_path / name
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return value


def from_environment(instance_path: Path) -> dict[str, object]:
    """Settings read from `TEGAMI_*`/standard variables; `create_app(config)` overrides these."""
    env = os.environ
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'tegami.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgres://")
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url.removeprefix("postgresql://")
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or _persisted_secret(instance_path, "secret_key"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BUNDLE_DIR": env.get("TEGAMI_BUNDLE_DIR", str(instance_path / "bundle")),
        # This node's maild state directory (`maild --data`): the panel reads its mail archive there.
        "MAILD_DATA_DIR": env.get("TEGAMI_MAILD_DATA", str(instance_path / "maild")),
        "APOP_KEY_FILE": env.get("TEGAMI_APOP_KEY_FILE", str(instance_path / "apop.key")),
        "STORAGE_KEY_FILE": env.get("TEGAMI_STORAGE_KEY_FILE", str(instance_path / "storage.key")),
        "TLS_TRUST_FILE": env.get("TEGAMI_TLS_TRUST_FILE", "/etc/ssl/certs/ca-certificates.crt"),
        "ACME_DIRECTORY_URL": env.get("TEGAMI_ACME_DIRECTORY_URL", "https://acme-v02.api.letsencrypt.org/directory"),
        "ACME_EMAIL": env.get("TEGAMI_ACME_EMAIL", ""),
        # CA bundle for the ACME server's own HTTPS (None: the system store).
        "ACME_CA_BUNDLE": env.get("TEGAMI_ACME_CA_BUNDLE"),
        "ACME_TIMEOUT": 90,
        # Nameservers ("ip" or "ip:port", comma-separated) for DNS checks; empty: the system's.
        "DNS_NAMESERVERS": [s.strip() for s in env.get("TEGAMI_DNS_NAMESERVERS", "").split(",") if s.strip()],
        "DNS_TIMEOUT": float(env.get("TEGAMI_DNS_TIMEOUT", "5")),
        "ACME_RENEW_DAYS": 30,
        "BABEL_DEFAULT_LOCALE": "ja",
        "BABEL_DEFAULT_TIMEZONE": env.get("TEGAMI_TIMEZONE", "Asia/Tokyo"),
        "LANGUAGES": ["ja", "en"],
        "PAGE_SIZE": 50,
        # argon2id defaults from passlib; tests lower the cost through this setting.
        "PASSWORD_HASH_ROUNDS": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "BOOTSTRAP_SERVE_LOCAL": True,
        "BOOTSTRAP_BOOTSWATCH_THEME": None,
    }
