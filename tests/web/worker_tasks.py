"""A task for the worker tests: it leaves a file, so a test in another process sees it ran."""

from pathlib import Path

from django_tasks import task


@task()
def leave_a_mark(path: str, text: str) -> str:
    Path(path).write_text(text)
    return text
