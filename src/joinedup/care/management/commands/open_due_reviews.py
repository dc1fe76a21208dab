"""`joinedup open-due-reviews`: open the review task of every plan whose review date has come
(the hourly job does it too; running it again opens nothing twice)."""

from django.core.management.base import BaseCommand

from joinedup.care import plans


class Command(BaseCommand):
    help = "Open the review task of every plan whose review date has come (idempotent)."

    def handle(self, *args, **options) -> None:
        opened = plans.open_due_reviews()
        for request in opened:
            self.stdout.write(f"{request.case.reference}: {request.due_on.isoformat()}")
        self.stdout.write(f"opened: {len(opened)}")
