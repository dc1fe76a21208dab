"""The embedded set-up's keys are made once, however many processes ask for them at once."""

import itertools
import stat
import threading
import time

import pytest

from joinedup.keyfiles import read_or_create


def test_processes_starting_together_all_get_the_one_key_that_was_kept(tmp_path):
    path = tmp_path / "data" / "signing-key"
    numbers = itertools.count()
    start = threading.Barrier(8)
    got: list[str] = []

    def make() -> str:
        time.sleep(0.02)  # long enough for every thread to be making one at the same time
        return f"key-{next(numbers)}"

    def first_use() -> None:
        start.wait()
        got.append(read_or_create(path, make))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(got) == 8
    assert set(got) == {path.read_text().strip()}, "every process signs with the kept key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["signing-key"], "no draft left behind"


def test_a_kept_key_is_read_and_never_replaced(tmp_path):
    path = tmp_path / "secret_key"
    assert read_or_create(path, lambda: "first") == "first"
    assert read_or_create(path, lambda: "second") == "first"


def test_an_empty_key_file_is_refused_with_what_to_do(tmp_path):
    path = tmp_path / "secret_key"
    path.write_text("")
    with pytest.raises(ValueError, match="remove it"):
        read_or_create(path, lambda: "new")


FIRST_USE = """
import django
django.setup()
from django.conf import settings
from joinedup.delivery.documents import signing_key
print(settings.SECRET_KEY, signing_key()[1])
"""


@pytest.mark.slow
def test_server_processes_starting_on_a_fresh_data_directory_share_their_keys(tmp_path):
    """What the web server's workers do at a cold start: each makes the keys it lacks."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("JOINEDUP_")}
    env |= {"DJANGO_SETTINGS_MODULE": "joinedup.settings", "JOINEDUP_DATA_DIR": str(tmp_path)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_USE], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    answers = {process.communicate(timeout=120)[0].strip() for process in processes}
    assert all(process.returncode == 0 for process in processes)
    assert len(answers) == 1, f"the processes disagree on their keys: {answers}"
