from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from incidents.demo import demo_incidents_load
from monitoring.demo import demo_monitoring_load
from organisation.demo import DEMO_PASSWORD, demo_organisation_load
from plans.services import ensure_default_plan


class Command(BaseCommand):
    help = (
        "Load the demo organisation, the default plan, one login per role, two demo "
        "incidents and a morning of monitored posts (DEBUG only)."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("The demo has well-known passwords: it runs only with DEBUG on.")
        ensure_default_plan()
        people = demo_organisation_load()
        created = demo_incidents_load(people=people)
        posts = demo_monitoring_load(people=people)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: logins {', '.join(people)} (password {DEMO_PASSWORD!r}); "
                f"{created} demo incidents and {posts} monitored posts created."
            )
        )
