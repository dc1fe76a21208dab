"""A paged list says where the reader is: "Page 2 of 3", in English and French."""

from __future__ import annotations

from joinedup.federation.models import Jurisdiction, Service


def test_a_paged_list_counts_its_pages(client, small_federation):
    canada = Jurisdiction.objects.get(code="CA")
    for number in range(45):
        Service.objects.create(
            key=f"ca.extra-{number:02d}",
            scope=canada,
            names={"en": f"Extra service {number:02d}", "fr": f"Service de plus {number:02d}"},
            frame=Service.Frame.TRANSACTIONAL,
            client_type=Service.ClientType.PERSON,
            channels=["online"],
        )
    second = client.get("/en/services/?q=extra&page=2").content.decode()
    assert ">Page 2 of 3<" in second
    assert ">Page 2 sur 3<" in client.get("/fr/services/?q=extra&page=2").content.decode()
    one_page = client.get("/en/services/?q=extra-01").content.decode()
    assert 'data-testid="page-count"' not in one_page  # one page: no counter
