"""Free text has a documented maximum length, enforced where it is typed in: the API
answers 400 naming the limit, the pages put the error on the form, the services refuse
it whoever calls them. At the limit, everything is accepted."""

import pytest
from django.urls import reverse

from core.errors import InvalidInput
from incidents.models import DESCRIPTION_MAX_LENGTH, REASON_MAX_LENGTH, Incident
from incidents.services import incident_create, incident_transition
from response.documents import document_save_draft
from response.models import TEXT_MAX_LENGTH, FollowUp, ResponsePlan, Statement
from response.tracking import follow_up_file
from tests.test_pages import log_form_data

pytestmark = pytest.mark.django_db
API = "/api/v1"


def text(n: int) -> str:
    return ("网友反映收费问题。" * (n // 9 + 1))[:n]


def incident_body(unit, **fields) -> dict:
    return {
        "title": "网友反映医院收费问题",
        "platform": "weibo",
        "event_type": "user_complaint",
        "unit": unit.pk,
        **fields,
    }


def test_the_limits_are_documented_in_the_readme():
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    for limit in (DESCRIPTION_MAX_LENGTH, REASON_MAX_LENGTH, TEXT_MAX_LENGTH):
        assert f"{limit:,}" in readme


def test_a_description_at_the_limit_is_logged_and_one_over_is_refused_400_naming_it(
    api_for, duty, health_unit
):
    client = api_for(duty)
    at_limit = client.post(
        f"{API}/incidents/",
        incident_body(health_unit, description=text(DESCRIPTION_MAX_LENGTH)),
        format="json",
    )
    assert at_limit.status_code == 201
    over = client.post(
        f"{API}/incidents/",
        incident_body(health_unit, description=text(DESCRIPTION_MAX_LENGTH + 1)),
        format="json",
    )
    assert over.status_code == 400
    assert set(over.json()) == {"description"}
    assert str(DESCRIPTION_MAX_LENGTH) in over.json()["description"][0]
    assert Incident.objects.count() == 1
    edited = client.patch(
        f"{API}/incidents/{at_limit.json()['id']}/",
        {"description": text(DESCRIPTION_MAX_LENGTH + 1)},
        format="json",
    )
    assert edited.status_code == 400 and "description" in edited.json()


def test_the_schema_publishes_the_limits(api_for, duty):
    schema = api_for(duty).get("/api/schema/", {"format": "json"}).json()["components"]
    schemas = schema["schemas"]
    assert (
        schemas["IncidentCreateRequest"]["properties"]["description"]["maxLength"]
        == DESCRIPTION_MAX_LENGTH
    )
    assert schemas["ChangeLevelRequest"]["properties"]["reason"]["maxLength"] == REASON_MAX_LENGTH
    assert schemas["StatementDraftRequest"]["properties"]["text"]["maxLength"] == TEXT_MAX_LENGTH
    assert (
        schemas["FollowUpCreateRequest"]["properties"]["what_changed"]["maxLength"]
        == TEXT_MAX_LENGTH
    )


def test_the_log_form_refuses_a_description_over_the_limit_on_the_field(client, duty):
    client.force_login(duty)
    response = client.post(
        reverse("incidents:create"),
        log_form_data(duty.unit, description=text(DESCRIPTION_MAX_LENGTH + 1)),
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"description"}
    assert f"{DESCRIPTION_MAX_LENGTH}" in errors["description"][0]
    assert f'maxlength="{DESCRIPTION_MAX_LENGTH}"' in response.content.decode()
    assert not Incident.objects.exists()


def test_the_services_refuse_text_over_the_limit_whoever_calls_them(
    duty, office, analyst, health_unit, log_incident, advance
):
    with pytest.raises(InvalidInput) as refused:
        incident_create(
            actor=duty,
            title="标题",
            platform="weibo",
            event_type="user_complaint",
            unit=health_unit,
            description=text(DESCRIPTION_MAX_LENGTH + 1),
        )
    assert set(refused.value.field_errors) == {"description"}
    assert str(DESCRIPTION_MAX_LENGTH) in refused.value.field_errors["description"][0]

    incident = log_incident()
    with pytest.raises(InvalidInput) as refused:
        incident_transition(
            incident=incident, action="dismiss", actor=analyst, reason=text(REASON_MAX_LENGTH + 1)
        )
    assert set(refused.value.field_errors) == {"reason"}

    assessed = advance(log_incident(), "assessed")
    with pytest.raises(InvalidInput) as refused:
        document_save_draft(
            model=ResponsePlan,
            incident=assessed,
            actor=office,
            fields={"facts": text(TEXT_MAX_LENGTH + 1)},
        )
    assert set(refused.value.field_errors) == {"facts"}
    assert not ResponsePlan.objects.exists()

    tracked = advance(log_incident(), "tracking")
    with pytest.raises(InvalidInput) as refused:
        follow_up_file(
            incident=tracked,
            actor=office,
            what_changed="新情况",
            actions_taken=text(TEXT_MAX_LENGTH + 1),
        )
    assert set(refused.value.field_errors) == {"actions_taken"}
    assert not FollowUp.objects.exists()


@pytest.mark.parametrize(
    ("path", "field", "limit"),
    [
        ("dismiss/", "reason", REASON_MAX_LENGTH),
        ("change-level/", "reason", REASON_MAX_LENGTH),
    ],
)
def test_reasons_over_the_limit_are_refused_400(
    path, field, limit, api_for, office, log_incident, advance
):
    incident = log_incident() if path == "dismiss/" else advance(log_incident(), "assessed")
    body = {field: text(limit + 1)}
    if path == "change-level/":
        body["level"] = 1
    answer = api_for(office).post(f"{API}/incidents/{incident.pk}/{path}", body, format="json")
    assert answer.status_code == 400
    assert str(limit) in answer.json()[field][0]


def test_response_text_over_the_limit_is_refused_400_and_at_the_limit_accepted(
    api_for, office, log_incident, advance
):
    incident = advance(log_incident(), "assessed")
    client = api_for(office)
    body = {"incident": incident.pk, "channels": ["weibo"]}
    over = client.post(
        f"{API}/statements/", {**body, "text": text(TEXT_MAX_LENGTH + 1)}, format="json"
    )
    assert over.status_code == 400
    assert str(TEXT_MAX_LENGTH) in over.json()["text"][0]
    assert not Statement.objects.exists()
    at_limit = client.post(
        f"{API}/statements/", {**body, "text": text(TEXT_MAX_LENGTH)}, format="json"
    )
    assert at_limit.status_code == 201


def test_the_follow_up_form_refuses_text_over_the_limit_on_the_field(
    client, office, log_incident, advance
):
    tracked = advance(log_incident(), "tracking")
    client.force_login(office)
    response = client.post(
        reverse("response:follow_up", args=[tracked.pk]),
        {"what_changed": text(TEXT_MAX_LENGTH + 1)},
    )
    assert response.status_code == 400
    assert str(TEXT_MAX_LENGTH) in response.context["follow_up_form"].errors["what_changed"][0]
    assert not FollowUp.objects.exists()
