"""For the crash test's own database: load the demo federation, its service versions and the
demo bundles, make the family, and have Amara's bundles accepted (nothing started: no worker
runs yet). Run as `python -m tests.bundles.crash_accept COUNT` with the test's settings."""

from __future__ import annotations

import sys

import django


def main(count: int) -> None:
    django.setup()
    from django.db import transaction
    from django.utils import translation

    from joinedup.bundles import loader, submission
    from joinedup.delivery import versions
    from joinedup.demo import loading
    from joinedup.federation.loader import load_federation

    from .conftest import (
        BUNDLES,
        CANADA,
        NEWBORN_LEGS,
        build_family,
        newborn_answers,
        newborn_screening,
    )

    translation.activate("en")
    with transaction.atomic():
        load_federation([CANADA])
        versions.load_paths([loading.SERVICE_VERSIONS])
        versions.load_paths([loading.BUNDLES / "services"])
        loader.load_bundles([BUNDLES])
        family = build_family()
    for number in range(count):
        submission.submit_bundle(
            family.context(family.amara),
            "newborn",
            newborn_answers(),
            NEWBORN_LEGS,
            [],
            f"crash-{number}",
            screening=newborn_screening(),
        )


if __name__ == "__main__":
    main(int(sys.argv[1]))
