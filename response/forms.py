"""Forms of the response page. They check the shape of what was typed; the services in
``documents``, ``assignments`` and ``tracking`` decide what is allowed and add their own
field errors, which the views put back on these forms."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from incidents.forms import (
    BLANK_CHOICE,
    DATETIME_LOCAL_FORMAT,
    DateTimeLocalInput,
    MetricsFieldsForm,
    local_now_to_the_minute,
)
from organisation.models import Unit, User
from plans.categories import Category

from .models import (
    LINK_MAX_LENGTH,
    TASK_TITLE_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    Channel,
    Decision,
    ResponsePlan,
    Review,
    Statement,
)

DATETIME_INPUTS = [DATETIME_LOCAL_FORMAT, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


def _text(label: Any, *, required: bool = False, rows: int = 3, **kwargs: Any) -> forms.Field:
    """A text typed in, at most ``TEXT_MAX_LENGTH`` characters."""
    return forms.CharField(
        label=label,
        required=required,
        max_length=TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": rows}),
        **kwargs,
    )


class DocumentForm(forms.Form):
    """A draft of an approvable document; ``fields_for_service`` is what the service takes."""

    def fields_for_service(self) -> dict[str, Any]:
        return dict(self.cleaned_data)

    @classmethod
    def from_document(cls, doc: Any, **kwargs: Any) -> "DocumentForm":
        """A form starting from ``doc``'s text (the latest version), or empty."""
        initial = {
            name: getattr(doc, name)
            for name in cls.base_fields
            if doc is not None and hasattr(doc, name) and name != "units"
        }
        return cls(initial=initial, **kwargs)


class ResponsePlanForm(DocumentForm):
    facts = _text(_("Facts verified"), required=True, rows=4)
    category = forms.ChoiceField(
        label=_("Handling category"), choices=BLANK_CHOICE + Category.choices, required=False
    )
    measures_online = _text(_("Measures online"))
    measures_offline = _text(_("Measures offline"))
    units = forms.ModelMultipleChoiceField(
        label=_("Units involved"),
        queryset=Unit.objects.order_by("sort_order", "name"),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "choices"}),
    )
    statement_line = _text(
        _("Statement line (口径)"), help_text=_("What may be said in public, in a few lines.")
    )

    @classmethod
    def from_document(cls, doc: Any, **kwargs: Any) -> "DocumentForm":
        form = super().from_document(doc, **kwargs)
        if doc is not None:
            form.initial["units"] = [unit.pk for unit in doc.units.all()]
        return form

    def fields_for_service(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["units"] = list(data["units"])
        return data


class StatementForm(DocumentForm):
    text = _text(_("Text of the statement"), required=True, rows=5)
    channels = forms.MultipleChoiceField(
        label=_("Channels"),
        choices=Channel.choices,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "choices"}),
    )


class ReviewForm(DocumentForm):
    summary = _text(
        _("Summary"), rows=8, help_text=_("Pre-filled from the record; complete and correct it.")
    )
    lessons = _text(_("Lessons"), rows=4)
    plan_changes = _text(_("Proposed changes to the plan"), rows=4)
    drill_evaluation = _text(
        _("Drill evaluation"), rows=4, help_text=_("A drill ends with its evaluation.")
    )

    def __init__(self, *args: Any, is_drill: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not is_drill:
            del self.fields["drill_evaluation"]


DOCUMENT_FORMS: dict[type, type[DocumentForm]] = {
    ResponsePlan: ResponsePlanForm,
    Statement: StatementForm,
    Review: ReviewForm,
}


class DecisionForm(forms.Form):
    """The approver's decision: the button pressed carries the verdict."""

    verdict = forms.ChoiceField(choices=Decision.Verdict.choices, widget=forms.HiddenInput)
    comment = _text(
        _("Comment"), rows=2, help_text=_("Required when rejecting or asking for changes.")
    )


class PublishForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=BLANK_CHOICE + Channel.choices)
    published_at = forms.DateTimeField(
        label=_("Published at"),
        widget=DateTimeLocalInput(),
        input_formats=DATETIME_INPUTS,
        initial=local_now_to_the_minute,
    )
    url = forms.CharField(
        label=_("Link"),
        required=False,
        max_length=LINK_MAX_LENGTH,
        widget=forms.URLInput(),
        help_text=_("Where it can be read, if online."),
    )


class TaskAssignForm(forms.Form):
    title = forms.CharField(label=_("Task"), max_length=TASK_TITLE_MAX_LENGTH)
    description = _text(_("Description"))
    unit = forms.ModelChoiceField(
        label=_("Unit"), queryset=Unit.objects.order_by("sort_order", "name")
    )
    assignee = forms.ModelChoiceField(
        label=_("Assignee"),
        required=False,
        queryset=User.objects.filter(is_active=True)
        .select_related("unit")
        .order_by("unit__sort_order", "display_name"),
        help_text=_("Optional: otherwise the unit's liaisons receive it."),
    )
    due_at = forms.DateTimeField(
        label=_("Due at"),
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=DATETIME_INPUTS,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].label_from_instance = lambda user: (
            f"{user} · {user.unit}" if user.unit_id else str(user)
        )


class TaskRecordForm(forms.Form):
    text = _text(_("What was done"), required=True, rows=2)
    link = forms.CharField(
        label=_("Link"), required=False, max_length=LINK_MAX_LENGTH, widget=forms.URLInput()
    )
    attachment = forms.FileField(label=_("Attached file"), required=False)
    done = forms.BooleanField(label=_("The task is done (this is the outcome)"), required=False)
    completed_at = forms.DateTimeField(
        label=_("Done at"),
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=DATETIME_INPUTS,
        help_text=_("With the outcome: when the task was done, if not now."),
    )


class FollowUpForm(MetricsFieldsForm):
    """A follow-up report; the figures are optional and recorded only when given."""

    what_changed = _text(_("What changed"), required=True, rows=3)
    actions_taken = _text(_("Actions taken"), rows=3)
    at = forms.DateTimeField(
        label=_("Reported at"),
        required=False,
        widget=DateTimeLocalInput(),
        input_formats=DATETIME_INPUTS,
        help_text=_("When the report was made, if not now."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("reads", "reposts", "comments", "negative_share"):
            self.fields[name].initial = None

    def metrics_given(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        given = any(
            data.get(name) is not None
            for name in ("reads", "reposts", "comments", "negative_share")
        )
        if not given and not data.get("mainstream_media") and not data.get("casualties"):
            return None
        return self.metrics()


class TrackerForm(forms.Form):
    """Name the person who follows the incident (动态跟踪)."""

    tracker = forms.ModelChoiceField(
        label=_("Tracker"), queryset=User.objects.filter(is_active=True).order_by("username")
    )
