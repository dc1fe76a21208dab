"""`joinedup worker`: run the background-task worker that fits the configured task backend.

The embedded default keeps its tasks in the database (django-tasks-db's `db_worker`); at
scale, `JOINEDUP_TASK_BACKEND=redis` keeps them in Redis, where RQ workers take them. An RQ
worker must be told to run each job as a Django task (`--job-class django_tasks_rq.Job`) and
to run the scheduler that releases tasks enqueued for later: this command says both, so
operators start the same command whatever the backend.
"""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

#: The job class that runs an RQ job as a Django task (a plain RQ job fails every task).
RQ_JOB_CLASS = "django_tasks_rq.Job"


class Command(BaseCommand):
    help = (
        "Run a background-task worker for the configured backend (JOINEDUP_TASK_BACKEND): "
        "the database worker, or an RQ worker with Redis."
    )
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--burst",
            action="store_true",
            help="run the tasks waiting now, then exit (default: keep running)",
        )
        parser.add_argument(
            "--queue",
            action="append",
            dest="queues",
            help="a queue to take tasks from; repeat for several (default: default)",
        )

    def handle(self, *args, burst: bool, queues: list[str] | None, **options) -> None:
        queues = queues or ["default"]
        backend = settings.TASK_BACKEND
        if backend == "database":
            call_command(
                "db_worker",
                queue_name=",".join(queues),
                batch=burst,
                reload=False,
                startup_delay=not burst,
                verbosity=options["verbosity"],
            )
        elif backend == "redis":
            call_command(
                "rqworker",
                *queues,
                job_class=RQ_JOB_CLASS,
                burst=burst,
                with_scheduler=True,
                verbosity=options["verbosity"],
            )
        else:
            raise CommandError(
                f"The task backend {backend!r} runs tasks where they are enqueued; "
                "it has no worker to start."
            )
