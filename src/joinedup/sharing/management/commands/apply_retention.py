"""`joinedup apply-retention`: delete or anonymise what has outlived its retention period."""

from django.core.management.base import BaseCommand

from joinedup.sharing import retention


class Command(BaseCommand):
    help = "Apply the retention periods of the data categories now, and record what was done."

    def handle(self, *args, **options) -> None:
        for record in retention.apply_retention():
            self.stdout.write(
                f"{record.rule} ({record.category}): {record.action} {record.count} "
                f"older than {record.cutoff:%Y-%m-%d}"
            )
