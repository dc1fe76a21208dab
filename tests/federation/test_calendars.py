"""Business days in each jurisdiction's own calendar, and in the union of several."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from joinedup.federation.calendars import (
    Calendar,
    add_business_days,
    business_days_between,
    calendar_for,
)
from joinedup.federation.models import Jurisdiction

D = datetime.date
TORONTO = ZoneInfo("America/Toronto")


@pytest.fixture
def places(small_federation):
    return {j.code: j for j in Jurisdiction.objects.all()}


@pytest.mark.django_db
class TestOneJurisdiction:
    def test_weekends_do_not_count(self, places):
        tor = places["CA-ON-TOR"]
        friday, saturday, sunday, monday = (D(2026, 3, d) for d in (13, 14, 15, 16))
        assert business_days_between(friday, saturday, tor) == 0
        assert business_days_between(friday, sunday, tor) == 0
        assert business_days_between(friday, monday, tor) == 1
        assert add_business_days(friday, 1, tor) == monday

    def test_received_day_is_day_zero(self, places):
        monday = D(2026, 3, 16)
        assert business_days_between(monday, monday, places["CA-ON"]) == 0
        assert add_business_days(monday, 0, places["CA-ON"]) == monday

    def test_ontario_family_day_is_not_a_quebec_holiday(self, places):
        # Family Day 2026 is Monday 16 February in Ontario; Quebec works that day.
        friday, tuesday = D(2026, 2, 13), D(2026, 2, 17)
        assert business_days_between(friday, tuesday, places["CA-ON"]) == 1
        assert business_days_between(friday, tuesday, places["CA-QC"]) == 2

    def test_fete_nationale_is_a_quebec_only_holiday(self, places):
        # 24 June 2026 is a Wednesday.
        tuesday, thursday = D(2026, 6, 23), D(2026, 6, 25)
        assert business_days_between(tuesday, thursday, places["CA-QC-MTL"]) == 1
        assert business_days_between(tuesday, thursday, places["CA-ON-TOR"]) == 2

    def test_a_city_uses_its_province_calendar(self, places):
        assert calendar_for(places["CA-ON-TOR"]).sources == (("CA", "ON"),)
        assert calendar_for(places["CA-QC-MTL"]).sources == (("CA", "QC"),)

    def test_year_end_with_observed_holidays(self, places):
        # 2026: Christmas is a Friday, Boxing Day a Saturday (observed Monday 28 December
        # in Ontario, not a holiday in Quebec); New Year's Day 2027 is a Friday.
        start, end = D(2026, 12, 24), D(2027, 1, 4)
        assert business_days_between(start, end, places["CA-ON"]) == 4
        assert business_days_between(start, end, places["CA-QC"]) == 5
        assert add_business_days(start, 1, places["CA-ON"]) == D(2026, 12, 29)
        assert add_business_days(D(2026, 12, 31), 1, places["CA-ON"]) == D(2027, 1, 4)

    def test_counting_backwards_is_negative(self, places):
        on = places["CA-ON"]
        assert business_days_between(D(2026, 3, 20), D(2026, 3, 16), on) == -4

    def test_adding_negative_days_is_refused(self, places):
        with pytest.raises(ValueError):
            add_business_days(D(2026, 3, 16), -1, places["CA-ON"])

    def test_holidays_between_names_them(self, places):
        found = calendar_for(places["CA-ON"]).holidays_between(D(2026, 2, 1), D(2026, 2, 28))
        assert found == [(D(2026, 2, 16), "Family Day")]


@pytest.mark.django_db
class TestTimesOfDay:
    def test_an_evening_submission_counts_on_the_local_date(self, places):
        # 22:00 on Friday 6 March in Toronto is already Saturday in UTC.
        evening = datetime.datetime(2026, 3, 6, 22, 0, tzinfo=TORONTO)
        assert evening.astimezone(datetime.UTC).date() == D(2026, 3, 7)
        monday_noon = datetime.datetime(2026, 3, 9, 12, 0, tzinfo=TORONTO)
        assert business_days_between(evening, monday_noon, places["CA-ON-TOR"]) == 1

    def test_daylight_saving_change_does_not_shift_dates(self, places):
        # Clocks go forward on Sunday 8 March 2026 and back on Sunday 1 November 2026.
        before = datetime.datetime(2026, 3, 7, 4, 30, tzinfo=datetime.UTC)  # Fri 23:30 EST
        after = datetime.datetime(2026, 3, 10, 3, 30, tzinfo=datetime.UTC)  # Mon 23:30 EDT
        calendar = calendar_for(places["CA-ON"])
        assert calendar.local_date(before) == D(2026, 3, 6)
        assert calendar.local_date(after) == D(2026, 3, 9)
        assert business_days_between(before, after, places["CA-ON"]) == 1
        autumn = datetime.datetime(2026, 11, 2, 4, 30, tzinfo=datetime.UTC)  # Sun 23:30 EST
        assert calendar.local_date(autumn) == D(2026, 11, 1)

    def test_naive_datetimes_are_refused(self, places):
        with pytest.raises(ValueError):
            business_days_between(
                datetime.datetime(2026, 3, 6, 22, 0), D(2026, 3, 9), places["CA-ON"]
            )


@pytest.mark.django_db
def test_a_service_across_jurisdictions_counts_the_union_of_closures(places):
    on, qc = places["CA-ON"], places["CA-QC"]
    # Family Day (Ontario) and the Fête nationale (Quebec) both stop a joint clock.
    assert business_days_between(D(2026, 2, 13), D(2026, 2, 17), [on, qc]) == 1
    assert business_days_between(D(2026, 6, 23), D(2026, 6, 25), [on, qc]) == 1
    # Boxing Day observed in Ontario stops it too.
    assert business_days_between(D(2026, 12, 24), D(2027, 1, 4), [qc, on]) == 4
    # Dates from datetimes are read in the first jurisdiction's time zone.
    assert calendar_for([qc, on]).time_zone == qc.time_zone


def test_a_place_without_any_calendar_closes_on_weekends_only():
    calendar = Calendar(sources=())
    assert calendar.count(D(2026, 12, 24), D(2026, 12, 28)) == 2  # Fri 25, Mon 28


# Property checks against a day-by-day count, over many years and several calendars.
CALENDARS = [
    Calendar(sources=(("CA", "ON"),), time_zone="America/Toronto"),
    Calendar(sources=(("CA", "QC"), ("CA", "ON")), time_zone="America/Toronto"),
    Calendar(sources=(("AU", "NSW"),), time_zone="Australia/Sydney"),
    Calendar(sources=(("IL", None),), time_zone="Asia/Jerusalem"),  # a Friday–Saturday weekend
]
dates = st.dates(min_value=D(2015, 1, 1), max_value=D(2035, 12, 31))


def slow_count(calendar: Calendar, start: D, end: D) -> int:
    day, count = start, 0
    while day < end:
        day += datetime.timedelta(days=1)
        count += calendar.is_business_day(day)
    return count


@settings(max_examples=150, deadline=None)
@given(calendar=st.sampled_from(CALENDARS), start=dates, span=st.integers(0, 800))
def test_count_matches_a_day_by_day_count(calendar, start, span):
    end = start + datetime.timedelta(days=span)
    assert calendar.count(start, end) == slow_count(calendar, start, end)
    assert calendar.count(end, start) == -calendar.count(start, end)


@settings(max_examples=150, deadline=None)
@given(calendar=st.sampled_from(CALENDARS), start=dates, days=st.integers(0, 300))
def test_adding_then_counting_gives_back_the_days(calendar, start, days):
    due = calendar.add(start, days)
    assert calendar.count(start, due) == days
    assert days == 0 or calendar.is_business_day(due)


@settings(max_examples=100, deadline=None)
@given(calendar=st.sampled_from(CALENDARS), a=dates, b=dates, c=dates)
def test_counts_add_up_over_consecutive_periods(calendar, a, b, c):
    assert calendar.count(a, c) == calendar.count(a, b) + calendar.count(b, c)
