"""The fund's themes of digital social innovation."""

from django.db import migrations

THEMES = [
    ("inclusion-numerique", "Digital inclusion", "Inclusion numérique", True),
    ("communs-numeriques", "Open data and digital commons", "Données ouvertes et communs numériques", True),
    ("sante", "Health and care", "Santé et soin", True),
    ("education", "Education and training", "Éducation et formation", True),
    ("environnement", "Environment and climate", "Environnement et climat", True),
    ("democratie", "Democracy and civic tech", "Démocratie et civic tech", True),
    ("economie-solidaire", "Social and solidarity economy", "Économie sociale et solidaire", True),
    ("emploi", "Employment and integration", "Emploi et insertion", True),
    ("accessibilite", "Accessibility and disability", "Accessibilité et handicap", True),
    ("logement", "Housing and territories", "Logement et territoires", False),
    ("alimentation", "Food and agriculture", "Alimentation et agriculture", False),
    ("culture", "Culture and media", "Culture et médias", False),
]


def forward(apps, schema_editor):
    Theme = apps.get_model("campaigns", "Theme")
    for position, (slug, en, fr, priority) in enumerate(THEMES):
        Theme.objects.update_or_create(
            slug=slug,
            defaults={"name_en": en, "name_fr": fr, "is_priority": priority, "position": position},
        )


def backward(apps, schema_editor):
    apps.get_model("campaigns", "Theme").objects.filter(slug__in=[t[0] for t in THEMES]).delete()


class Migration(migrations.Migration):
    dependencies = [("campaigns", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
