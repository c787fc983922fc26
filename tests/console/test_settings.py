"""The settings' defaults are production's; development mode is asked for."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = "from django.conf import settings; print(settings.DEBUG, settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE)"


def _settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    return subprocess.run(
        [sys.executable, "-c", READ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "console.settings", **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_without_configuration_the_settings_refuse_to_start_without_a_key():
    result = _settings()
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr


def test_with_a_key_the_defaults_are_production_safe():
    result = _settings(SECRET_KEY="k" * 50)
    assert result.stdout.split() == ["False", "True", "True"]


def test_development_mode_is_explicit():
    result = _settings(DEBUG="true")
    assert result.stdout.split() == ["True", "False", "False"]
