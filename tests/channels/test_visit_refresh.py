"""The counter's visit page refreshes itself while the legs of a life event submitted there
are on their way (the task workers start them), so the certificate's fee appears for the
agent to take without a reload; the refresh reads none of the person's details again."""

from __future__ import annotations

import pytest

from joinedup.channels import counter
from joinedup.sharing import dispatch
from joinedup.sharing.models import AccessEvent
from tests.bundles.conftest import NEWBORN_LEGS, newborn_answers, newborn_screening

from .test_appointment_pages import signed_in

pytestmark = pytest.mark.django_db


def test_the_visit_page_refreshes_itself_until_the_fee_is_there(world):
    clerk = world.staff(world.esdc_clerk)
    amara = world.amara.person
    visit = counter.start_visit(clerk, amara, topic="New baby")
    counter.verify_in_person(clerk, visit, ["passport", "driver_licence"])
    client = signed_in(world.esdc_clerk, second_factor=True)
    url = f"/en/counter/visits/{visit.pk}/"
    quiet = client.get(url).content.decode()
    assert 'id="visit-applications"' in quiet
    assert "hx-trigger" not in quiet.split('id="visit-applications"')[1].split(">")[0]

    counter.submit_bundle_for(
        clerk, visit, "newborn", newborn_answers(), NEWBORN_LEGS, screening=newborn_screening()
    )
    page = client.get(url).content.decode()
    region = page.split('id="visit-applications"')[1].split(">")[0]
    assert 'hx-trigger="every 3s"' in region and f'hx-get="{url}"' in region
    assert "Take the fee" not in page
    reads = AccessEvent.objects.filter(subject_id=amara.pk).count()
    asked = client.get(url, headers={"HX-Request": "true"})
    assert asked.status_code == 200
    part = asked.content.decode()
    assert part.lstrip().startswith('<div id="visit-applications"')
    assert "<html" not in part and "hx-trigger" in part
    # Asking again reads none of the person's details: nothing more in their ledger.
    assert AccessEvent.objects.filter(subject_id=amara.pk).count() == reads

    dispatch.dispatch_pending()  # the task workers start each leg
    part = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Take the fee" in part  # the certificate's fee, to take at the terminal
    assert "hx-trigger" not in part  # every leg is there: the page stops asking
