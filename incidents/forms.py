"""Forms of the incident pages. They check the shape of what was typed (numbers are
numbers, a time is a time); the services decide what is allowed and add their own
field errors, which the views put back on these forms."""

from decimal import Decimal
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from organisation.models import Unit
from plans.categories import Category
from plans.levels import Level

from .choices import OPEN_STATES, EventType, Platform, State
from .models import DESCRIPTION_MAX_LENGTH, REASON_MAX_LENGTH, TITLE_MAX_LENGTH

DATETIME_LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
BLANK_CHOICE = [("", "---------")]


class DateTimeLocalInput(forms.DateTimeInput):
    """The browser's date-and-time picker; values are in the site's time zone."""

    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format=DATETIME_LOCAL_FORMAT)


def local_now_to_the_minute():
    return timezone.localtime().replace(second=0, microsecond=0)


class MetricsFieldsForm(forms.Form):
    """The figures seen (reads, reposts, …). The negative share is typed as a percentage
    and handed to the services as a fraction from 0 to 1."""

    reads = forms.IntegerField(label=_("Reads"), min_value=0, required=False, initial=0)
    reposts = forms.IntegerField(label=_("Reposts"), min_value=0, required=False, initial=0)
    comments = forms.IntegerField(label=_("Comments"), min_value=0, required=False, initial=0)
    negative_share = forms.DecimalField(
        label=_("Negative comments (%)"),
        min_value=0,
        max_value=100,
        max_digits=4,
        decimal_places=1,
        required=False,
        initial=0,
        help_text=_("Share of negative comments, from 0 to 100."),
    )
    mainstream_media = forms.BooleanField(
        label=_("Mainstream media (TV, newspapers) carry it"), required=False
    )
    casualties = forms.BooleanField(label=_("Casualties"), required=False)

    def metrics(self) -> dict[str, Any]:
        data = self.cleaned_data
        share = data.get("negative_share")
        return {
            "reads": data.get("reads") or 0,
            "reposts": data.get("reposts") or 0,
            "comments": data.get("comments") or 0,
            "negative_share": (share / Decimal(100)) if share is not None else Decimal(0),
            "mainstream_media": bool(data.get("mainstream_media")),
            "casualties": bool(data.get("casualties")),
        }


class DescriptiveFieldsMixin(forms.Form):
    """What was seen, where and when: the fields an incident is logged and edited with."""

    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX_LENGTH)
    description = forms.CharField(
        label=_("What was seen"),
        required=False,
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    links = forms.CharField(
        label=_("Links"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One web address per line."),
    )
    platform = forms.ChoiceField(label=_("Platform"), choices=BLANK_CHOICE + Platform.choices)
    discovered_at = forms.DateTimeField(
        label=_("Discovered at"),
        widget=DateTimeLocalInput(),
        input_formats=[DATETIME_LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        help_text=_("When the post was first seen; may be earlier than now."),
    )
    unit = forms.ModelChoiceField(label=_("Involved unit"), queryset=Unit.objects.all())
    event_type = forms.ChoiceField(label=_("Event type"), choices=BLANK_CHOICE + EventType.choices)

    def clean_links(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["links"].splitlines() if line.strip()]

    def descriptive(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name]
            for name in (
                "title",
                "description",
                "links",
                "platform",
                "discovered_at",
                "unit",
                "event_type",
            )
        }


class IncidentCreateForm(DescriptiveFieldsMixin, MetricsFieldsForm):
    """The log form (登记舆情): the lead and the figures seen."""

    is_drill = forms.BooleanField(
        label=_("This is a drill (演练)"),
        required=False,
        help_text=_(
            "Runs the whole plan with every clock and message marked as a drill, "
            "and stays out of the statistics."
        ),
    )

    def __init__(self, *args: Any, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["discovered_at"].initial = local_now_to_the_minute
        if user is not None and getattr(user, "unit_id", None):
            self.fields["unit"].initial = user.unit_id

    def service_kwargs(self) -> dict[str, Any]:
        return {
            **self.descriptive(),
            "metrics": self.metrics(),
            "is_drill": self.cleaned_data.get("is_drill", False),
        }


class VersionedForm(forms.Form):
    """Every change to an incident carries the version the person saw (optimistic lock)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class IncidentEditForm(DescriptiveFieldsMixin, VersionedForm):
    reason = forms.CharField(
        label=_("Reason for the correction"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Required when the discovery time of an assessed incident changes "
            "(the office head only): its deadlines move with it."
        ),
    )

    @classmethod
    def for_incident(cls, incident: Any, **kwargs: Any) -> "IncidentEditForm":
        initial = {
            "title": incident.title,
            "description": incident.description,
            "links": "\n".join(incident.links or []),
            "platform": incident.platform,
            "discovered_at": timezone.localtime(incident.discovered_at),
            "unit": incident.unit_id,
            "event_type": incident.event_type,
            "version": incident.version,
        }
        return cls(initial=initial, **kwargs)

    def changes(self, incident: Any) -> dict[str, Any]:
        """The descriptive fields as typed. The picker shows minutes only, so a
        discovery time sent back in its stored minute is the stored time, not a change."""
        changes = self.descriptive()
        shown = timezone.localtime(incident.discovered_at).replace(second=0, microsecond=0)
        if changes["discovered_at"] == shown:
            changes["discovered_at"] = incident.discovered_at
        return changes


class TransitionForm(VersionedForm):
    """report, respond, track, review, close: a confirmation with an optional note."""

    reason = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class DismissForm(VersionedForm):
    reason = forms.CharField(
        label=_("Why this lead is dismissed"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class RejectUpgradeForm(VersionedForm):
    reason = forms.CharField(
        label=_("Why the level stays"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ArriveForm(VersionedForm):
    """The person confirms they are at their post (or online) after a Ⅰ/Ⅱ alarm."""

    arrived_at = forms.DateTimeField(
        label=_("Arrived at"),
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=[DATETIME_LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        help_text=_("Leave empty for now."),
    )


class AssessForm(VersionedForm):
    level = forms.TypedChoiceField(label=_("Level"), choices=Level.choices, coerce=int)
    category = forms.ChoiceField(
        label=_("Handling category"), choices=BLANK_CHOICE + Category.choices, required=False
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the level differs from the suggested one."),
    )


class ChangeLevelForm(VersionedForm):
    level = forms.TypedChoiceField(label=_("New level"), choices=Level.choices, coerce=int)
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class LevelChangeDecideForm(forms.Form):
    """A leader's or deputy's decision on a proposed level change."""

    reason = forms.CharField(
        label=_("Reason (required to reject)"),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class MetricsForm(MetricsFieldsForm):
    """New figures for an open incident (a snapshot)."""

    taken_at = forms.DateTimeField(
        label=_("Seen at"),
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=[DATETIME_LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        help_text=_("Leave empty for now."),
    )


ACTION_FORMS: dict[str, type[VersionedForm]] = {
    "assess": AssessForm,
    "report": TransitionForm,
    "respond": TransitionForm,
    "track": TransitionForm,
    "review": TransitionForm,
    "close": TransitionForm,
    "dismiss": DismissForm,
    "change_level": ChangeLevelForm,
    "reject_upgrade": RejectUpgradeForm,
    "arrive": ArriveForm,
}


# The board's filter value for incidents not graded yet.
UNGRADED = "none"


class BoardFilterForm(forms.Form):
    """The duty board's filters (GET), each optional. A value that is not one of the
    choices is an error on the form and that filter is left out; the others apply."""

    level = forms.ChoiceField(
        label=_("Level"),
        required=False,
        choices=[("", _("Any")), *Level.choices, (UNGRADED, _("not graded"))],
    )
    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[("", _("Any")), *[(s.value, s.label) for s in State if s in OPEN_STATES]],
    )
    unit = forms.ChoiceField(label=_("Unit"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [
            ("", _("Any")),
            *Unit.objects.order_by("sort_order", "name").values_list("pk", "name"),
        ]

    def filters(self) -> dict[str, Any]:
        """The filters to apply, as ``selectors.incident_board`` takes them (``level``
        None: not graded)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        filters: dict[str, Any] = {}
        if data.get("level"):
            filters["level"] = None if data["level"] == UNGRADED else int(data["level"])
        if data.get("state"):
            filters["state"] = data["state"]
        if data.get("unit"):
            filters["unit"] = int(data["unit"])
        return filters
