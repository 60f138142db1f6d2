"""One real headless Chromium run through the response page on a phone-sized screen: the
leader approves the statement the office head submitted, with a comment."""

import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from organisation.demo import DEMO_PASSWORD, demo_organisation_load
from response.documents import document_save_draft, document_submit
from response.models import Decision, DocumentState, Statement
from tests.browser import PHONE, phone_page

SCREENSHOT = Path(tempfile.gettempdir()) / "response_phone.png"  # looked at by a person
DECISION_SCREENSHOT = Path(tempfile.gettempdir()) / "response_phone_decision.png"
TEXT = "我委已关注到网民反映的某医院重复收费问题，已成立工作组核查，结果将及时公布。"


@pytest.mark.browser
def test_leader_approves_a_statement_on_the_phone_sized_response_page(
    live_server, transactional_db, monkeypatch, log_incident, advance
):
    # Playwright's sync API runs an event loop in this thread; the ORM calls below are
    # still plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    people = demo_organisation_load(roster_days=2)
    incident = advance(log_incident(), "reported", level=2, category="hype")
    statement = document_save_draft(
        model=Statement,
        incident=incident,
        actor=people["office"],
        fields={"text": TEXT, "channels": ["weibo", "website"]},
    )
    statement = document_submit(doc=statement, actor=people["office"])
    base = live_server.url

    with phone_page() as page:
        # The leader signs in; Enter in the password field sends the login form (the
        # language switcher has submit buttons of its own).
        page.goto(f"{base}/incidents/{incident.pk}/response/")
        expect(page).to_have_url(re.compile(r"/accounts/login/"))
        page.fill("#id_username", "leader")
        page.fill("#id_password", DEMO_PASSWORD)
        page.press("#id_password", "Enter")
        expect(page).to_have_url(re.compile(rf"/incidents/{incident.pk}/response/$"))
        expect(page.locator("h1")).to_contain_text("应急处置")

        panel = page.locator("section#statement")
        expect(panel.locator(".doc-state").first).to_have_text("待审批")
        expect(panel).to_contain_text(TEXT)
        decide = panel.locator("form[data-decide=statement]")
        decide.locator("textarea[name=comment]").fill("同意发布，注意措辞。")
        decide.screenshot(path=DECISION_SCREENSHOT)
        decide.get_by_role("button", name="批准", exact=True).click()

        expect(page.locator(".message-success")).to_be_visible()
        panel = page.locator("section#statement")
        expect(panel.locator("article[data-state=approved] .doc-state")).to_have_text("已批准")
        expect(panel.locator(".decision")).to_contain_text("陈组长")
        expect(panel.locator(".decision")).to_contain_text("同意发布，注意措辞。")
        expect(panel.locator("form[data-decide=statement]")).to_have_count(0)

        # Nothing sticks out sideways on a 390 px screen; the buttons span the width.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.locator("section#plan").scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOT, full_page=True)

    statement.refresh_from_db()
    assert statement.state == DocumentState.APPROVED
    decision = statement.decisions.get()
    assert (decision.approver, decision.verdict, decision.comment) == (
        people["leader"],
        Decision.Verdict.APPROVE,
        "同意发布，注意措辞。",
    )
