from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConfigConfig(AppConfig):
    """The top of the stack as an app, for what needs every other app: the demo command."""

    name = "config"
    verbose_name = _("Configuration")
