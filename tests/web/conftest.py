"""Fixtures for the web tests: identity's staff and accounts, signed in through the pages."""

from tests.identity.conftest import make_account, make_staff  # noqa: F401 (fixtures)
