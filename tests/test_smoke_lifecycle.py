def test_incident_walks_the_whole_plan(log_incident, advance):
    incident = advance(log_incident(), "closed")
    assert incident.state == "closed"
    assert incident.timeline.filter(kind="transition").count() == 6
