"""Who wrote or edited each version (four eyes on content). Existing versions get their
author, everyone the timeline shows saving that version, and the contributors of the
version before (a new version starts from the latest one's content)."""

from django.conf import settings
from django.db import migrations, models

KINDS = (("ResponsePlan", "response_plan"), ("Statement", "statement"), ("Review", "review"))


def backfill(apps, schema_editor):
    TimelineEntry = apps.get_model("incidents", "TimelineEntry")
    for model_name, name in KINDS:
        model = apps.get_model("response", model_name)
        editors: dict[int, set[int]] = {}
        for actor_id, data in TimelineEntry.objects.filter(
            action__in=[f"{name}_drafted", f"{name}_edited"], actor__isnull=False,
        ).values_list("actor_id", "data"):
            if isinstance(data, dict) and data.get("document") == name and data.get("id"):
                editors.setdefault(data["id"], set()).add(actor_id)
        carried: dict[int, set[int]] = {}  # by incident, as versions go up
        for doc in model.objects.order_by("incident_id", "version").only(
                "pk", "incident_id", "author_id"):
            people = {doc.author_id, *editors.get(doc.pk, ()),
                      *carried.get(doc.incident_id, ())}
            carried[doc.incident_id] = people
            doc.contributors.set(people)


class Migration(migrations.Migration):

    dependencies = [
        ('response', '0002_alter_responseplan_category'),
        ('incidents', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='responseplan',
            name='contributors',
            field=models.ManyToManyField(blank=True, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='written or edited by'),
        ),
        migrations.AddField(
            model_name='review',
            name='contributors',
            field=models.ManyToManyField(blank=True, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='written or edited by'),
        ),
        migrations.AddField(
            model_name='statement',
            name='contributors',
            field=models.ManyToManyField(blank=True, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='written or edited by'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
