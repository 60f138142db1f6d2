"""Accountability beyond lateness (issue 14, item 10): the office head or the leadership
records findings of 漏报, 谎报, 瞒报 and 迟报, and commendations (表彰), on an incident;
they appear on its timeline, in the review, its exports and the statistics by unit."""

import pytest

from incidents.accountability import finding_record
from incidents.models import Finding
from incidents.selectors import incident_statistics
from response.exports import review_docx
from response.reviews import review_record, review_summary
from tests.test_exports import docx_text


@pytest.fixture
def incident(log_incident, advance):
    return advance(log_incident(), "reported", level=2)


def body(incident, unit_, **overrides):
    return {
        "incident": incident.pk,
        "kind": "concealed",
        "unit": unit_.pk,
        "text": "卫健委未报告已知的第二起投诉。",
        "evidence": "投诉记录截图",
        **overrides,
    }


def test_the_office_head_records_a_concealed_report_through_the_api(
    api_for, office, incident, health_unit, liaison
):
    answer = api_for(office).post(
        "/api/v1/accountability/", body(incident, health_unit, person=liaison.pk), format="json"
    )

    assert answer.status_code == 201, answer.json()
    finding = Finding.objects.get()
    assert (finding.kind, finding.unit, finding.person, finding.recorded_by) == (
        "concealed",
        health_unit,
        liaison,
        office,
    )
    entry = incident.timeline.get(action="finding_recorded")
    assert entry.actor == office and entry.data["finding"] == finding.pk
    listed = api_for(office).get("/api/v1/accountability/", {"incident": incident.pk}).json()
    assert [f["id"] for f in listed["results"]] == [finding.pk]
    assert listed["results"][0]["unit_name"] == health_unit.name


def test_a_leader_may_commend_and_an_analyst_may_record_nothing(
    api_for, leader, analyst, incident, health_unit
):
    commended = api_for(leader).post(
        "/api/v1/accountability/",
        body(incident, health_unit, kind="commendation", text="及时报送"),
        format="json",
    )
    refused = api_for(analyst).post(
        "/api/v1/accountability/", body(incident, health_unit), format="json"
    )

    assert commended.status_code == 201
    assert refused.status_code == 403
    assert list(Finding.objects.values_list("kind", flat=True)) == ["commendation"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [({"text": "  "}, "text"), ({"kind": "rumour"}, "kind"), ({"unit": 999_999}, "unit")],
)
def test_bad_input_is_a_400_naming_the_field_and_stores_nothing(
    api_for, office, incident, health_unit, overrides, field
):
    answer = api_for(office).post(
        "/api/v1/accountability/", body(incident, health_unit, **overrides), format="json"
    )

    assert answer.status_code == 400
    assert field in str(answer.json())
    assert not Finding.objects.exists()
    assert not incident.timeline.filter(action="finding_recorded").exists()


def test_findings_appear_in_the_review_its_export_and_the_statistics(office, incident, health_unit):
    finding_record(
        incident=incident,
        actor=office,
        kind="omitted",
        unit=health_unit,
        text="未报送网友二次爆料。",
    )

    record = review_record(incident=incident)
    assert [(f["kind"], f["unit"]) for f in record["findings"]] == [("omitted", str(health_unit))]
    assert "未报送网友二次爆料。" in review_summary(record)
    text = docx_text(review_docx(incident))
    assert "漏报" in text and "未报送网友二次爆料。" in text
    stats = incident_statistics()
    assert stats["findings_by_unit"] == [
        {"unit__name": health_unit.name, "kind": "omitted", "n": 1}
    ]
