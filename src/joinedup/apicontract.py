"""What every app's part of the JSON API shares: the body of a refusal and the page of a list.

It sits beside the apps, below all of them, so that each app's `api.py` (federation's too)
answers its refusals and pages its lists in one shape: a partner reading the OpenAPI document
meets one error schema and one way to page, whichever operation it calls.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination

#: The largest offset a list accepts: beyond any list's length, and far below the 64-bit
#: limit of the database's OFFSET (a larger number would overflow in the driver).
MAX_OFFSET = 2**31 - 1


class Refusal(Schema):
    """The body of every refusal: `detail` (a message, or the list of a validation's messages),
    with a machine `code` and the `errors` of invalid input when there are some."""

    detail: str | list[Any]
    code: str | None = None
    errors: list[Any] | None = None


class Pages(LimitOffsetPagination):
    """`limit` and `offset` as every list takes them, both bounded, so that no number given
    reaches the database unchecked (out of bounds: 422, like any invalid input)."""

    class Input(Schema):
        limit: int = Field(settings.API_PAGE_SIZE, ge=1, le=settings.API_MAX_PAGE_SIZE)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=settings.API_MAX_PAGE_SIZE, **kwargs)
