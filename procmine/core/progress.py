"""Progress of long work: a callback that hears (phase, fraction done).

Ingest, the slow-step analysis and its evidence report through it; the command line draws a bar
and the dashboard a spinner or bar from the same calls. Fractions go from 0 to 1 within a phase.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "monotonic"]

#: Reports (phase, fraction done) while the work goes on.
Progress = Callable[[str, float], None]


def monotonic(progress: Progress) -> Progress:
    """``progress`` never moving back within a phase (work that restarts a pass, such as a CSV
    whose typed pass stopped and is read again, waits until the second pass passes the first).

    Example:
        >>> seen = []
        >>> report = monotonic(lambda phase, fraction: seen.append(fraction))
        >>> for f in (0.2, 0.5, 0.1, 0.7):
        ...     report("read", f)
        >>> seen
        [0.2, 0.5, 0.5, 0.7]
    """
    reached: dict[str, float] = {}

    def report(phase: str, fraction: float) -> None:
        reached[phase] = max(reached.get(phase, 0.0), fraction)
        progress(phase, reached[phase])

    return report
