"""Issue 14: approvals reach the approver on the phone. A real headless Chromium at
390×844: the leader signs in, finds the response plan the office submitted at the top of
the board in the work list (待我处理), and approves it in two taps, the second in the
page's own dialog that says what will happen; cancelling the dialog changes nothing."""

import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from organisation.demo import DEMO_PASSWORD
from response.documents import document_save_draft, document_submit
from response.models import Decision, DocumentState, ResponsePlan
from tests.browser import PHONE, phone_page

SCREENSHOT = Path(tempfile.gettempdir()) / "board_work_phone.png"  # looked at by a person
DIALOG_SCREENSHOT = Path(tempfile.gettempdir()) / "board_work_phone_confirm.png"
TITLE = "市第一医院重复收费视频传播"
CONFIRMATION = f"批准〔{TITLE}〕（Ⅰ级）的处置方案？立即生效。"


@pytest.fixture
def submitted_plan(transactional_db, monkeypatch, log_incident, advance, people):
    """A Ⅰ incident, reported, with the response plan the office head submitted: it waits
    on the leader and the deputy leader."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls are still
    # plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    incident = advance(log_incident(title=TITLE, metrics={"casualties": True}), "reported", level=1)
    plan = document_save_draft(
        model=ResponsePlan,
        incident=incident,
        actor=people["office"],
        fields={"facts": "经核实，患者确被重复收费。", "category": "inquiry"},
    )
    return document_submit(doc=plan, actor=people["office"])


def log_in_as_leader(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.fill("#id_username", "leader")
    page.fill("#id_password", DEMO_PASSWORD)
    page.press("#id_password", "Enter")
    expect(page.locator("h1")).to_have_text("值班看板")


def approval_item(page: Page, plan: ResponsePlan):
    return page.locator(
        f"#work-panel .work-item[data-kind=approval][data-incident='{plan.incident_id}']"
    )


@pytest.mark.browser
def test_leader_approves_the_plan_from_the_top_of_the_board_in_two_taps(
    live_server, submitted_plan, people
):
    plan = submitted_plan
    with phone_page() as page:
        log_in_as_leader(page, live_server.url)
        item = approval_item(page, plan)
        expect(item).to_contain_text(TITLE)
        approve = item.get_by_role("button", name="批准")
        expect(approve).to_be_visible()
        # Within the first screen, without scrolling, and big enough for a thumb.
        assert page.evaluate("window.scrollY") == 0
        box = approve.bounding_box()
        assert box is not None
        assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        assert box["height"] >= 44 and box["width"] >= 44
        page.screenshot(path=SCREENSHOT)

        # Tap 1: the page's own dialog says what will happen; nothing is decided yet.
        approve.click()
        dialog = page.locator("dialog#confirm-dialog")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text(CONFIRMATION)
        page.screenshot(path=DIALOG_SCREENSHOT)
        plan.refresh_from_db()
        assert plan.state == DocumentState.SUBMITTED

        # Tap 2: back on the board, told it is done, and the item gone.
        confirm = dialog.get_by_role("button", name="批准")
        confirm_box = confirm.bounding_box()
        assert confirm_box is not None and confirm_box["height"] >= 44
        confirm.click()
        expect(page.locator(".message-success")).to_be_visible()
        expect(page).to_have_url(f"{live_server.url}/")
        expect(page.locator("h1")).to_have_text("值班看板")
        expect(approval_item(page, plan)).to_have_count(0)
        expect(dialog).to_be_hidden()

    plan.refresh_from_db()
    assert plan.state == DocumentState.APPROVED
    decision = plan.decisions.get()
    assert (decision.approver, decision.verdict) == (people["leader"], Decision.Verdict.APPROVE)


@pytest.mark.browser
def test_cancelling_the_confirmation_changes_nothing(live_server, submitted_plan):
    plan = submitted_plan
    with phone_page() as page:
        log_in_as_leader(page, live_server.url)
        item = approval_item(page, plan)
        item.get_by_role("button", name="批准").click()
        dialog = page.locator("dialog#confirm-dialog")
        expect(dialog).to_contain_text(CONFIRMATION)
        dialog.get_by_role("button", name="取消").click()
        expect(dialog).to_be_hidden()
        # Still on the board, the item still there, nothing decided.
        expect(page).to_have_url(f"{live_server.url}/")
        expect(item.get_by_role("button", name="批准")).to_be_visible()
        expect(page.locator(".message-success")).to_have_count(0)

    plan.refresh_from_db()
    assert plan.state == DocumentState.SUBMITTED
    assert not plan.decisions.exists()
