import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
# What the subprocess must not inherit from this test run (the browser tests set the last one).
ENV_UNDER_TEST = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "AUDIT_HMAC_KEY",
    "DATABASE_OWNER_URL",
}


def _manage(*args, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in ENV_UNDER_TEST}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_configuration_passes_check_deploy_without_warnings():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY="x7!" + "k" * 60 + "Qz#9-production-like-secret",
        ALLOWED_HOSTS="gallium.hospital.example",
        AUDIT_HMAC_KEY="a" * 64,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_off_without_an_audit_hmac_key_refuses_to_start():
    result = _manage(
        "check", DEBUG="0", SECRET_KEY="x7!" + "k" * 60, ALLOWED_HOSTS="gallium.hospital.example"
    )
    assert result.returncode != 0
    assert "AUDIT_HMAC_KEY must be set" in result.stderr


def test_debug_off_without_a_secret_key_refuses_to_start():
    result = _manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_embedded_default_is_utc_in_database_and_site_zone_for_display():
    assert settings.USE_TZ is True
    assert settings.TIME_ZONE == settings.SITE_TIME_ZONE


def test_sqlite_default_uses_immediate_transactions_and_a_busy_timeout():
    if settings.DATABASE_IS_POSTGRESQL:
        return
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE" and options["timeout"] >= 5
    assert "journal_mode=WAL" in options["init_command"]
