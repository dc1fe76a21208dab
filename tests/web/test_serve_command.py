"""`joinedup serve` and the reference view the catalogue benchmark compares against."""

import pytest

from joinedup.web.server import ServerOptions, gunicorn_command


def test_serve_runs_gunicorn_threaded_on_the_wsgi_application_without_access_log():
    command = gunicorn_command(ServerOptions(bind="127.0.0.1:9000"))
    assert command[1:4] == ["-m", "gunicorn", "joinedup.wsgi:application"]
    options = dict(zip(command[4::2], command[5::2], strict=False))
    assert options["--bind"] == "127.0.0.1:9000"
    assert options["--workers"] == "2" and options["--threads"] == "4"
    assert options["--worker-class"] == "gthread"
    # A worker holds at most four connections per thread, leaving the rest to the other
    # worker (kept-alive connections otherwise piled up on one; docs/performance.md).
    assert options["--worker-connections"] == "16"
    fewer = gunicorn_command(ServerOptions(threads=2))
    assert fewer[fewer.index("--worker-connections") + 1] == "8"
    assert "--access-logfile" not in command
    assert "--access-logfile" in gunicorn_command(ServerOptions(access_log=True))


def test_serve_refuses_a_worker_count_below_one():
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("serve", "--workers", "0")


@pytest.mark.django_db
def test_ping_answers_a_constant_without_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/ping")
    assert response.status_code == 200
    assert response.content == b"pong"
