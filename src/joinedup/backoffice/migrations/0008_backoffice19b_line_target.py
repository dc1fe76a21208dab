from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def snapshot_targets(apps, schema_editor):
    """Lines issued before: the level's target as it stands (the best that is known)."""
    StatementLine = apps.get_model("backoffice", "StatementLine")
    ServiceLevel = apps.get_model("backoffice", "ServiceLevel")
    StatementLine.objects.filter(resolution_target__isnull=True).update(
        resolution_target=Subquery(
            ServiceLevel.objects.filter(pk=OuterRef("level_id")).values("target")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0007_backoffice7_employee_search"),
    ]

    operations = [
        migrations.AddField(
            model_name="statementline",
            name="resolution_target",
            field=models.DecimalField(
                blank=True,
                decimal_places=3,
                help_text="The level's target when the line was issued (a later change of the "
                "level does not rewrite the line).",
                max_digits=4,
                null=True,
                verbose_name="share to resolve within the level",
            ),
        ),
        migrations.RunPython(snapshot_targets, migrations.RunPython.noop),
    ]
