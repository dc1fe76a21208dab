"""What `joinedup demo` prints is exactly what each sign-in page asks, and what an agent
needs to find each demo person.

A visitor follows the printout to the letter: the password for every account, an
authenticator code where the sign-in page asks for one (staff and the administrator), and for
people the fictitious numbers a counter or phone agent finds them by.
"""

import re

import pytest
from django.core.management import call_command
from django.urls import reverse

from joinedup.demo import launch
from joinedup.identity import accounts
from joinedup.identity.client_registry import find_by_identifier
from joinedup.identity.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def data_dir(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    return tmp_path


def _signs_in(client, username: str, password: str) -> str:
    """Where the sign-in page sends the account after its email and password."""
    response = client.post(
        reverse("identity:sign-in"), {"username": username, "password": password}
    )
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def test_the_administrator_line_says_how_to_get_the_second_factor(client, data_dir, capsys):
    (admin,) = launch.demo_admin()
    printout = launch.describe([("Home", "http://127.0.0.1:8000/")], [admin], 8000)
    # The sign-in page asks the administrator for a code after the password ...
    assert "two-factor" in _signs_in(client, admin.username, admin.password)
    assert f"{admin.username} / {admin.password}" in printout
    assert "joinedup totp-code admin" in printout
    # ... and the printed command gives a code that the page accepts.
    call_command("totp_code", admin.username)
    code = capsys.readouterr().out.strip()
    assert re.fullmatch(r"\d{6}", code)
    assert accounts.check_totp(User.objects.get(username=admin.username), code) is not None


def test_people_are_told_only_what_their_sign_in_asks_and_how_agents_find_them(
    client, small_federation, data_dir
):
    sign_ins = launch.demo_identities()
    printout = launch.describe([("Home", "http://127.0.0.1:8000/")], sign_ins, 8000)
    people = [s for s in sign_ins if s.path == "/en/account/"]
    assert people
    for person in people:
        # The page asks a person for no second factor: the printout asks for none.
        assert "two-factor" not in _signs_in(client, person.username, person.password)
        client.logout()
        assert not person.second_factor
        after = printout.split(f"{person.username} / {person.password}")[1]
        block = re.split(r"\n  (?=\S)", after)[0]  # this line and its indented ones
        assert "totp-code" not in block
        sin = re.search(r"(\d{3} \d{3} \d{3}) \(fictitious\)", block)
        assert sin, block
        found = find_by_identifier("ca-sin", sin.group(1).replace(" ", ""))
        assert found is not None
        assert found.account.username == person.username
        assert found.birth_date.isoformat() in block


def test_staff_lines_ask_for_the_code_their_sign_in_asks(client, small_federation, data_dir):
    staff = [s for s in launch.demo_identities() if s.path == "/en/staff/"]
    assert staff
    printout = launch.describe([("Home", "http://127.0.0.1:8000/")], staff, 8000)
    for member in staff:
        assert "two-factor" in _signs_in(client, member.username, member.password)
        client.logout()
        assert f"joinedup totp-code {member.username}" in printout
