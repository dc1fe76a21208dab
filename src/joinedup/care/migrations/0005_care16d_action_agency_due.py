"""The index the caseworker's dashboard reads its agency's due actions by (agency, due date)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("care", "0004_places24_referral_place"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="action",
            index=models.Index(fields=["agency", "due_date"], name="care_action_agency_due"),
        ),
    ]
