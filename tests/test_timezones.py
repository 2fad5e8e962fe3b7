"""Wall clock <-> UTC rules and how times read for people in the region."""

from datetime import UTC, datetime

import pytest

from webinars.core import timezones
from webinars.core.errors import ValidationError


def utc(*args):
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "wall", "expected"),
    [
        ("America/New_York", "2027-07-14T22:00", utc(2027, 7, 15, 2, 0)),  # EDT, UTC-4
        ("America/New_York", "2027-11-08T21:00", utc(2027, 11, 9, 2, 0)),  # EST, UTC-5
        ("Asia/Bangkok", "2027-07-15T09:00", utc(2027, 7, 15, 2, 0)),
        ("Asia/Yangon", "2027-07-15T08:30", utc(2027, 7, 15, 2, 0)),  # UTC+06:30
        ("Asia/Singapore", "2027-11-01T09:00", utc(2027, 11, 1, 1, 0)),
        ("Europe/London", "2027-03-28T00:30", utc(2027, 3, 28, 0, 30)),  # still GMT
        ("Europe/London", "2027-03-28T02:30", utc(2027, 3, 28, 1, 30)),  # BST
    ],
)
def test_wall_clock_becomes_the_right_instant(zone, wall, expected):
    assert timezones.resolve(wall, zone, "start").utc == expected


def test_time_skipped_by_spring_forward_is_refused():
    with pytest.raises(ValidationError) as err:
        timezones.resolve("2027-03-14T02:30", "America/New_York", "sessions[0].start")
    assert err.value.field == "sessions[0].start"
    assert "does not exist" in err.value.message


def test_time_repeated_at_fall_back_takes_first_occurrence_and_warns():
    instant = timezones.resolve("2027-11-07T01:30", "America/New_York", "sessions[0].start")
    assert instant.utc == utc(2027, 11, 7, 5, 30)  # 01:30 EDT
    assert "happens twice" in instant.warning
    assert "-05:00" in instant.warning  # tells how to ask for the second one


def test_explicit_offset_picks_the_second_occurrence():
    instant = timezones.resolve("2027-11-07T01:30-05:00", "America/New_York", "start")
    assert instant.utc == utc(2027, 11, 7, 6, 30)
    assert instant.local == datetime(2027, 11, 7, 1, 30)
    assert instant.warning is None


def test_offset_the_zone_does_not_have_is_refused():
    with pytest.raises(ValidationError, match="not a time"):
        timezones.resolve("2027-07-14T22:00+07:00", "America/New_York", "start")


@pytest.mark.parametrize("bad", ["Mars/Olympus", "", "../../etc/passwd", "asia/bangkok", 7, None,
                                 "localtime", "Factory"])
def test_unknown_zone_is_a_validation_error(bad):
    with pytest.raises(ValidationError):
        timezones.zone_name(bad)


@pytest.mark.parametrize("bad", ["tomorrow", "2027-13-01T10:00", "2027-07-14", "2027-02-30T10:00",
                                 "2027-07-14T25:00", 1234, None])
def test_unreadable_times_are_validation_errors(bad):
    with pytest.raises(ValidationError):
        timezones.resolve(bad, "Asia/Bangkok", "start")


def test_mekong_delta_webinar_reads_right_in_washington_and_bangkok():
    start, end = utc(2027, 7, 15, 2, 0), utc(2027, 7, 15, 3, 30)
    assert timezones.format_range(start, end, "America/New_York", with_year=True) == \
        "Wed, 14 Jul 2027, 22:00–23:30 (New York, EDT)"
    # The next morning in Bangkok: the date differs, and the page must say so.
    assert timezones.format_range(start, end, "Asia/Bangkok") == \
        "Thu, 15 Jul, 09:00–10:30 (Bangkok, +07)"


def test_yangon_shows_its_half_hour_offset():
    start, end = utc(2027, 7, 15, 2, 0), utc(2027, 7, 15, 3, 30)
    assert timezones.format_range(start, end, "Asia/Yangon") == \
        "Thu, 15 Jul, 08:30–10:00 (Yangon, +06:30)"


def test_session_across_midnight_names_both_days():
    start, end = utc(2027, 7, 15, 3, 0), utc(2027, 7, 15, 5, 0)
    assert timezones.format_range(start, end, "America/New_York") == \
        "Wed, 14 Jul, 23:00–Thu, 15 Jul, 01:00 (New York, EDT)"


def test_session_spanning_the_dst_change_labels_each_end():
    start, end = utc(2027, 11, 7, 5, 0), utc(2027, 11, 7, 7, 0)  # 01:00 EDT -> 02:00 EST
    assert timezones.format_range(start, end, "America/New_York") == \
        "Sun, 7 Nov, 01:00–02:00 EST (New York, EDT)"


def test_cities_of_the_region():
    assert timezones.city("Asia/Phnom_Penh") == "Phnom Penh"
    assert timezones.city("Asia/Ho_Chi_Minh") == "Ho Chi Minh City"  # CLDR's name
    assert timezones.abbreviation(utc(2027, 1, 1), "Asia/Vientiane") == "+07"
