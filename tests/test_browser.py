"""One real headless Chromium run through the pages, on a phone-sized screen: the duty
officer logs an incident, the analyst grades it, and the board shows it orange with a
ticking countdown."""

import re
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from incidents.models import Incident
from organisation.demo import DEMO_PASSWORD, demo_organisation_load
from tests.browser import PHONE, phone_page

ORANGE = "rgb(239, 108, 0)"  # #ef6c00
TITLE = "某学校食堂食品安全问题视频传播"
SCREENSHOT = Path(tempfile.gettempdir()) / "board.png"  # looked at by a person, not compared


def log_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click(".login-panel button[type=submit]")
    expect(page.locator("h1")).to_have_text("值班看板")


@pytest.mark.browser
def test_duty_officer_logs_analyst_grades_and_board_shows_orange_with_ticking_countdown(
    live_server, transactional_db, monkeypatch
):
    # Playwright's sync API runs an event loop in this thread; the ORM calls below are
    # still plain synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    demo_organisation_load(roster_days=2)
    base = live_server.url

    with phone_page() as page:
        # The duty officer logs the lead; mainstream media suggest Ⅱ.
        log_in(page, base, "duty")
        page.get_by_role("link", name="登记舆情").first.click()
        page.fill("#id_title", TITLE)
        page.fill("#id_description", "短视频显示学校食堂后厨卫生状况差，地方电视台已跟进报道。")
        page.fill("#id_links", "https://www.douyin.com/video/example")
        page.select_option("#id_platform", "douyin")
        page.select_option("#id_event_type", "public_health")
        page.fill("#id_reads", "4200")
        page.fill("#id_reposts", "310")
        page.fill("#id_comments", "520")
        page.fill("#id_negative_share", "62")
        page.check("#id_mainstream_media")
        page.get_by_role("button", name="登记", exact=True).click()

        expect(page).to_have_url(re.compile(r"/incidents/\d+/$"))
        incident_url = page.url
        expect(page.locator("h1")).to_have_text(TITLE)
        expect(page.locator(".message-success")).to_be_visible()
        expect(page.locator("#grading-h + dl")).to_contain_text("Ⅱ级（重大）")
        expect(page.locator("#grading-h + dl")).to_contain_text("主流媒体已介入")
        expect(page.locator("form[data-action=assess]")).to_have_count(0)

        page.get_by_role("button", name="退出登录").click()
        expect(page).to_have_url(re.compile(r"/accounts/login/"))

        # The analyst grades it Ⅱ, malicious hype.
        log_in(page, base, "analyst")
        page.goto(incident_url)
        assess = page.locator("form[data-action=assess]")
        expect(assess.locator("#id_assess_level")).to_have_value("2")
        assess.locator("#id_assess_category").select_option("hype")
        assess.get_by_role("button", name="研判").click()
        expect(page.locator(".message-success")).to_be_visible()
        expect(page.locator(".incident-meta .state")).to_have_text("已研判")
        incident = Incident.objects.get(title=TITLE)
        assert (incident.state, incident.level, incident.category) == ("assessed", 2, "hype")

        # The board, on the phone: orange, with a countdown that ticks.
        page.get_by_role("link", name="值班看板").first.click()
        card = page.locator(f".incident-card[data-incident='{incident.pk}']")
        expect(card).to_have_class(re.compile(r"\blevel-orange\b"))
        badge = card.locator(".level-badge")
        assert badge.evaluate("el => getComputedStyle(el).backgroundColor") == ORANGE
        assert card.evaluate("el => getComputedStyle(el).borderLeftColor") == ORANGE
        countdown = card.locator(".countdown[data-due]")
        expect(countdown).to_have_text(re.compile(r"^还剩 (\d+:)?\d\d:\d\d$"))
        first = countdown.inner_text()
        page.wait_for_function(
            "([el, before]) => el.textContent !== before",
            arg=[countdown.element_handle(), first],
            timeout=2500,
        )
        # Nothing sticks out sideways on a 390 px screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=SCREENSHOT, full_page=True)
