"""The default plan's bands (domain.md, 001 篇五) as the suggested level."""

from decimal import Decimal

import pytest

from incidents.services import Metrics
from plans.grading import suggest_level
from plans.selectors import plan_version_in_force

pytestmark = pytest.mark.django_db


def suggest(previous=None, **metrics):
    return suggest_level(
        version=plan_version_in_force(),
        metrics=Metrics(**metrics),
        previous=Metrics(**previous) if previous else None,
    ).level


def test_casualties_suggest_level_one_whatever_the_other_figures():
    assert suggest(casualties=True) == 1
    assert suggest(casualties=True, mainstream_media=True, reads=10) == 1


def test_mainstream_media_suggests_at_least_level_two():
    assert suggest(mainstream_media=True) == 2
    assert suggest(mainstream_media=True, reads=30) == 2


def test_reads_in_the_hundred_to_five_hundred_band_with_high_negative_share_suggest_three():
    assert suggest(reads=100, negative_share=Decimal("0.3")) == 3
    assert suggest(reads=480, negative_share=Decimal("0.45")) == 3
    assert suggest(comments=150, negative_share=Decimal("0.5")) == 3


def test_reads_in_band_with_rising_negative_share_suggest_three():
    previous = {"reads": 80, "negative_share": Decimal("0.1")}
    assert suggest(previous=previous, reads=200, negative_share=Decimal("0.2")) == 3


def test_reads_in_band_with_flat_low_negative_share_stay_level_four():
    previous = {"reads": 80, "negative_share": Decimal("0.2")}
    assert suggest(previous=previous, reads=200, negative_share=Decimal("0.2")) == 4
    assert suggest(reads=200, negative_share=Decimal("0.1")) == 4


def test_about_fifty_reads_without_media_suggest_level_four():
    assert suggest(reads=50) == 4
    assert suggest(reads=99, negative_share=Decimal("0.9")) == 4


def test_level_four_is_the_floor_when_nothing_is_known():
    assert suggest() == 4


def test_a_plan_with_other_thresholds_grades_by_its_own_numbers(office):
    from plans.services import plan_version_new_draft, plan_version_publish

    draft = plan_version_new_draft(source=plan_version_in_force())
    draft.levels.filter(level=3).update(min_reads=1000, min_comments=1000)
    plan_version_publish(version=draft, actor=office)
    assert suggest(reads=480, negative_share=Decimal("0.45")) == 4
    assert suggest(reads=1200, negative_share=Decimal("0.45")) == 3
