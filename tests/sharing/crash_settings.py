"""Settings for the outbox crash test's worker processes: the project's, plus a subscriber."""

from joinedup.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "tests.sharing.crashapp"]  # noqa: F405
