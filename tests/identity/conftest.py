from pathlib import Path

import pytest

from joinedup.federation.loader import load_federation

SMALL = Path(__file__).parents[1] / "federation" / "files" / "small"

#: A valid social insurance number (the example the Government of Canada publishes).
VALID_SIN = "046 454 286"
#: Another valid one (check digit computed with the Luhn algorithm).
OTHER_SIN = "130 692 544"


@pytest.fixture
def small_federation(db):
    """The small Canadian test federation: CA, ON, QC, three cities, five agencies."""
    return load_federation([SMALL])
