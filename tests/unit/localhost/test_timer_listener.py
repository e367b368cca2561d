"""The local host's timer triggers: NCRONTAB schedules as Azure reads them."""

from __future__ import annotations

from datetime import datetime

import pytest

from shared.localhost.timer_listener import matches, parse_schedule


@pytest.mark.parametrize("expr, at, fires", [
    ("0 */10 * * * *", datetime(2026, 1, 1, 3, 20, 0), True),
    ("0 */10 * * * *", datetime(2026, 1, 1, 3, 21, 0), False),
    ("0 */10 * * * *", datetime(2026, 1, 1, 3, 20, 1), False),
    ("30 5 2 * * 0", datetime(2026, 11, 22, 2, 5, 30), True),  # a Sunday
    ("30 5 2 * * 1-5", datetime(2026, 11, 22, 2, 5, 30), False),
    ("0 0 9-17/4 * * *", datetime(2026, 1, 1, 13, 0, 0), True),
])
def test_ncrontab_schedules(expr, at, fires):
    assert matches(parse_schedule(expr), at) is fires


def test_a_bad_schedule_says_what_is_wrong():
    with pytest.raises(ValueError, match="six fields"):
        parse_schedule("*/5 * * * *")
    with pytest.raises(ValueError, match="outside"):
        parse_schedule("0 61 * * * *")
