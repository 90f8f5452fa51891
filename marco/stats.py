"""Small statistics shared by the judge and the human review: how sure a win rate over a few probes is."""

import math


def wilson(successes: float, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (95% at z=1.96) for a rate of `successes` in `n`; ties count as half a success.
    Chosen over the normal interval because it stays inside [0, 1] and is honest at n of 5 to 50."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def win_rate(wins: int, ties: int, n: int) -> float:
    """(wins + ties / 2) / n, the MT-Bench pairwise convention; 0.5 (no preference) when nothing was decided."""
    return round((wins + ties / 2) / n, 4) if n else 0.5
