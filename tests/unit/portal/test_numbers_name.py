"""`numbers` is both the standard library's module of numeric ABCs and the app's folder
(portal/__init__.py): in every way the portal starts, one module answers to the name, it
is the standard one (so `decimal` and friends work), and the app's modules import from it."""

import os
import subprocess
import sys
from pathlib import Path

import httpx
from django.conf import settings

from portal.benchmark.server import gunicorn, production_env

BIN = Path(sys.executable).parent
CHECK = (
    "import decimal, sys, numbers; "
    "from numbers.models import PhoneNumber; "
    "assert numbers.Number.__module__ == 'numbers' and numbers.Integral; "
    "assert isinstance(decimal.Decimal(1), numbers.Number); "
    "assert sys.modules['numbers'] is numbers and PhoneNumber._meta.app_label == 'numbers'; "
    "print('numbers ok')"
)


def run(*command: str, **env) -> str:
    result = subprocess.run(
        command,
        cwd=settings.BASE_DIR,
        env={**os.environ, "DEBUG": "true", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_in_this_process():
    """Run by each pytest below, in the start-up order that pytest gives."""
    import decimal

    import numbers
    from numbers.models import PhoneNumber

    assert isinstance(decimal.Decimal(1), numbers.Number)
    assert sys.modules["numbers"] is numbers and PhoneNumber._meta.app_label == "numbers"


def test_under_manage_py():
    """manage.py: the project directory comes first on sys.path."""
    assert "numbers ok" in run(sys.executable, "manage.py", "shell", "-c", CHECK)


# test_in_this_process alone, in a pytest of its own.
IN_THIS_PROCESS = ("-q", "-p", "no:randomly", "-p", "no:xdist", __file__, "-k", "in_this_process")


def test_under_python_dash_m_pytest():
    """`python -m pytest`: the current directory first, then pytest and Django start."""
    out = run(sys.executable, "-m", "pytest", *IN_THIS_PROCESS)
    assert "1 passed" in out


def test_under_the_pytest_script():
    """The `pytest` script: the standard module may be imported before the project
    directory reaches sys.path."""
    out = run(str(BIN / "pytest"), *IN_THIS_PROCESS)
    assert "1 passed" in out


def test_under_gunicorn():
    """gunicorn imports portal.wsgi: the apps, `numbers` among them, load before it answers."""
    with gunicorn(production_env()) as (origin, _):
        response = httpx.get(f"{origin}/login/", timeout=30)
    assert response.status_code == 200 and "Sign in" in response.text
