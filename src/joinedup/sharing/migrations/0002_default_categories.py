from django.db import migrations

# A copy of the defaults at the time of this migration (migrations never import app code).
CATEGORIES = {
    "identity": ("Identity", "Identité", 1, None, "anonymise"),
    "contact": ("Contact details", "Coordonnées", 2, None, "delete"),
    "address": ("Address", "Adresse", 2, 2555, "delete"),
    "birth": ("Birth", "Naissance", 2, None, "anonymise"),
    "identifiers": ("Government identifiers", "Identifiants gouvernementaux", 3, None, "delete"),
    "family": ("Family", "Famille", 3, None, "delete"),
    "income": ("Income", "Revenu", 3, 2555, "delete"),
    "employment": ("Employment", "Emploi", 2, 2555, "delete"),
    "education": ("Education", "Études", 2, None, "delete"),
    "housing": ("Housing", "Logement", 2, 2555, "delete"),
    "health": ("Health", "Santé", 4, 3650, "delete"),
    "justice": ("Justice", "Justice", 4, 3650, "delete"),
    "events": ("Event messages", "Messages d'événements", 2, 90, "anonymise"),
}


def add_categories(apps, schema_editor):
    DataCategory = apps.get_model("sharing", "DataCategory")
    for key, (en, fr, sensitivity, days, action) in CATEGORIES.items():
        DataCategory.objects.get_or_create(
            key=key,
            defaults={
                "names": {"en": en, "fr": fr},
                "sensitivity": sensitivity,
                "retention_days": days,
                "retention_action": action,
            },
        )


class Migration(migrations.Migration):
    dependencies = [("sharing", "0001_sharing")]

    operations = [migrations.RunPython(add_categories, migrations.RunPython.noop)]
