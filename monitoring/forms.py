"""Forms of the monitoring pages. They check the shape of what was typed; the services
(``monitoring.topics.proposals``) decide what is allowed and add their own field errors, which
the views put back on these forms."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from incidents.choices import EventType, Platform
from organisation.models import Unit
from plans.categories import Category

from .models import Sentiment, WatchRule
from .topics.proposals import REASON_MAX_LENGTH

ANY = [("", _("Any"))]


class StreamFilterForm(forms.Form):
    """The post stream's filters (GET). Every field is optional; a value that is not one
    of the choices is an error on the form, never a 500."""

    rule = forms.ModelChoiceField(
        label=_("Watch rule"),
        required=False,
        queryset=WatchRule.objects.select_related("unit").order_by(
            "unit__sort_order", "unit_id", "name", "id"
        ),
        empty_label=_("Any"),
    )
    unit = forms.ModelChoiceField(
        label=_("Unit"),
        required=False,
        queryset=Unit.objects.order_by("sort_order", "name"),
        empty_label=_("Any"),
    )
    platform = forms.ChoiceField(
        label=_("Platform"), required=False, choices=ANY + Platform.choices
    )
    sentiment = forms.ChoiceField(
        label=_("Sentiment"), required=False, choices=ANY + Sentiment.choices
    )
    sensitive_category = forms.ChoiceField(
        label=_("Sensitive terms of"), required=False, choices=ANY + Category.choices
    )

    def filters(self) -> dict[str, Any]:
        """What ``selectors.post_list`` filters by; only once the form is valid."""
        return {name: value for name, value in self.cleaned_data.items() if value}


class ProposalAcceptForm(forms.Form):
    event_type = forms.ChoiceField(
        label=_("Event type"), choices=EventType.choices, initial=EventType.OTHER, required=False
    )

    def clean_event_type(self) -> str:
        return self.cleaned_data.get("event_type") or EventType.OTHER


class ProposalDismissForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Why this is not an incident; kept on the proposal."),
    )
