"""X-Forwarded-Proto is believed only from the proxies JOINEDUP_PROXY_COUNT says stand in
front: a plain-HTTP request claiming `https` is not secure otherwise (issue 13).

The production settings (JOINEDUP_SECURE=true) are read in a separate process, as a server
would read them, so the test sees what production does, not the tests' own settings.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from joinedup.web.proxies import forwarded_scheme

KEY = base64.urlsafe_b64encode(b"k" * 32).decode()

#: Runs in the child process: one plain-HTTP request claiming HTTPS, through the whole stack.
PROBE = """
import json
import django
django.setup()
from django.test import Client
answer = Client(raise_request_exception=False).get(
    "/healthz", headers={"X-Forwarded-Proto": %r}
)
print(json.dumps({"status": answer.status_code, "location": answer.get("Location", "")}))
"""


def _request_in_production(tmp_path: Path, proxies: int, header: str) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "DJANGO_SETTINGS_MODULE": "joinedup.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "JOINEDUP_DATA_DIR": str(tmp_path),
        "JOINEDUP_SECURE": "true",
        "JOINEDUP_PROXY_COUNT": str(proxies),
        "JOINEDUP_SECRET_KEY": "not-a-real-secret-" + "x" * 40,
        "JOINEDUP_IDENTIFIER_KEYS": KEY,
        "JOINEDUP_IDENTIFIER_INDEX_KEY": KEY,
        "JOINEDUP_LEDGER_SIGNING_KEY": KEY,
        "JOINEDUP_DOCUMENT_SIGNING_KEY": KEY,
        "JOINEDUP_ALLOWED_HOSTS": "testserver",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE % header],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("header", ["https", "https, https", "HTTPS"])
def test_with_no_proxy_a_claimed_https_is_not_believed(tmp_path, header):
    answer = _request_in_production(tmp_path, proxies=0, header=header)
    assert answer["status"] == 301 and answer["location"].startswith("https://")


def test_with_one_proxy_its_own_value_is_believed(tmp_path):
    answer = _request_in_production(tmp_path, proxies=1, header="https")
    assert answer["status"] == 200
    # the client wrote "https" itself; our proxy added the truth, "http", after it
    spoofed = _request_in_production(tmp_path, proxies=1, header="https, http")
    assert spoofed["status"] == 301


@pytest.mark.parametrize(
    "header,proxies,scheme",
    [
        ("https", 0, None),
        ("https", 1, "https"),
        ("https, http", 1, "http"),
        ("http, https", 1, "https"),
        ("https, http, https", 2, "http"),
        ("https", 2, "https"),  # proxies that replace the header: its one value is theirs
        ("gopher", 1, None),
        ("", 1, None),
    ],
)
def test_the_value_counted_is_the_outermost_proxy_s(header, proxies, scheme):
    assert forwarded_scheme(header, proxies) == scheme
