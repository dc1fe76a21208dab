"""The measures, as plain formulas over counts: what every page, the API and the open data say.

Each function takes the counts a rollup holds and returns a share (0–1), a score or a number
of days, or None when the figure cannot be computed (nothing to divide by). Keeping them here,
free of the database, means a test can check each one against a case computed by hand.

Definitions (docs/performance-measures.md explains them for readers):
- completion rate: transactions that ended completed — including a "not eligible" decision,
  the service did what it should — out of all that ended (completed, not eligible or
  abandoned). Transactions still in progress are not counted yet, so it never exceeds 100 %.
- digital take-up: completions in a digital channel out of completions in every channel.
- within standard: completions that met their service standard out of completions that had one.
- turnaround percentiles: read from the histogram of days elapsed (nearest rank).
- satisfaction: mean answer on the 1–5 scale, rescaled to 0–100: (mean − 1) / 4 × 100.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from fractions import Fraction

#: The longest turnaround a histogram tells apart; longer ones share the last bucket.
HISTOGRAM_DAYS = 100
OVERFLOW = HISTOGRAM_DAYS + 1  # index of the "more than HISTOGRAM_DAYS days" bucket


def share(part: int, whole: int) -> float | None:
    """part ÷ whole, or None when whole is 0."""
    if whole <= 0:
        return None
    return part / whole


def completion_rate(completed: int, not_eligible: int, abandoned: int) -> float | None:
    """(completed + not eligible) ÷ (completed + not eligible + abandoned)."""
    done = completed + not_eligible
    return share(done, done + abandoned)


def digital_take_up(digital_completions: int, completions: int) -> float | None:
    """Digital completions ÷ completions over all channels."""
    return share(digital_completions, completions)


def within_standard(met: int, with_standard: int) -> float | None:
    """Completions that met the standard ÷ completions that had one."""
    return share(met, with_standard)


def satisfaction_score(total: int, count: int) -> float | None:
    """Mean of 1–5 answers rescaled to 0–100: (mean − 1) / 4 × 100."""
    if count <= 0:
        return None
    return (total / count - 1) / 4 * 100


# --- Turnaround histograms ---------------------------------------------------------------


def bucket(days: int) -> int:
    """The histogram bucket of a turnaround of `days` days."""
    return min(max(days, 0), OVERFLOW)


def histogram_of(days: Iterable[int]) -> list[int]:
    counts = [0] * (OVERFLOW + 1)
    for value in days:
        counts[bucket(value)] += 1
    return trim(counts)


def trim(counts: Sequence[int]) -> list[int]:
    """Drop trailing empty buckets (merging pads them back)."""
    end = len(counts)
    while end and counts[end - 1] == 0:
        end -= 1
    return list(counts[:end])


def merge(*histograms: Sequence[int]) -> list[int]:
    """Add histograms bucket by bucket: merging is exact, in any order."""
    size = max((len(h) for h in histograms), default=0)
    total = [0] * size
    for histogram in histograms:
        for index, count in enumerate(histogram):
            total[index] += count
    return trim(total)


def percentile(histogram: Sequence[int], percent: int) -> int | None:
    """The nearest-rank percentile: the smallest d such that at least `percent` % of the
    turnarounds are ≤ d. Exact, because turnarounds are whole days. A result equal to
    OVERFLOW means "more than HISTOGRAM_DAYS days"."""
    if not 0 < percent <= 100:
        raise ValueError("percent must be in 1…100")
    n = sum(histogram)
    if n == 0:
        return None
    rank = (n * percent + 99) // 100  # ceil(n × percent / 100), in integers
    seen = 0
    for days, count in enumerate(histogram):
        seen += count
        if seen >= rank:
            return days
    raise AssertionError("unreachable: the ranks add up to n")


# Stored form: buckets packed as little-endian unsigned 32-bit integers. Read as one big
# integer, a packed histogram has each bucket in its own 32-bit lane, so adding the integers
# adds the histograms bucket by bucket (no lane overflows below 2³² cases).
LANE = 4


def pack(counts: Sequence[int]) -> bytes:
    return b"".join(count.to_bytes(LANE, "little") for count in trim(counts))


def unpack(packed: bytes | memoryview | None) -> list[int]:
    data = bytes(packed or b"")
    return [int.from_bytes(data[i : i + LANE], "little") for i in range(0, len(data), LANE)]


def packed_sum(packed: Iterable[bytes | memoryview]) -> list[int]:
    """Merge packed histograms by adding them as integers: one addition per histogram."""
    total = sum(int.from_bytes(item, "little") for item in packed if item)
    if not total:
        return []
    return trim(unpack(total.to_bytes((total.bit_length() + 31) // 32 * LANE, "little")))


def mean_days(elapsed_sum: int, count: int) -> float | None:
    return share(elapsed_sum, count)


# --- Cost per transaction ---------------------------------------------------------------


def cost_per_transaction(total_cost: Fraction | int, completions: int) -> Fraction | None:
    """Total cost over every channel ÷ completed transactions (GOV.UK)."""
    if completions <= 0:
        return None
    return Fraction(total_cost) / completions


def take_up_target_cost(
    current_cpt: Fraction | float,
    digital_cpt: Fraction | float,
    current_take_up: Fraction | float,
    goal_take_up: Fraction | float,
) -> Fraction | float:
    """The cost per transaction to expect at a digital take-up goal:
    Target = A + (B − A) / (1 − X) · (Y − X), with A the overall cost per transaction now, B the
    digital one, X the take-up now and Y the goal."""
    a, b, x, y = current_cpt, digital_cpt, current_take_up, goal_take_up
    if x >= 1:
        raise ValueError("the take-up is already 100 %: there is no non-digital cost to move")
    return a + (b - a) / (1 - x) * (y - x)
