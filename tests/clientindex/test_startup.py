"""Splink stays out of the web process: loading the site imports none of it."""

import subprocess
import sys


def test_the_web_process_starts_without_splink():
    code = (
        "import django, os, sys; os.environ['DJANGO_SETTINGS_MODULE'] = 'joinedup.settings'; "
        "django.setup(); import joinedup.urls, joinedup.api.api; "
        "print('splink' in sys.modules, 'duckdb' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out[0] == "False"
