"""Amount thresholds of counter business (CNY), defined once.

- ``SELF_SERVICE_LIMIT``: cash business under it can go to a self-service machine.
- ``LARGE_AMOUNT``: from it a transaction is "large" (registration, a recount, often an
  authorisation), so the league gives it an allowance and the demo generator adds its steps.
- ``BOOKING_AMOUNT``: from it a withdrawal must be booked in advance.

:data:`AMOUNT_BANDS` are the bands the step analyses break times down by, cut at these three.
"""

from __future__ import annotations

from typing import Final

__all__ = ["AMOUNT_BANDS", "BOOKING_AMOUNT", "LARGE_AMOUNT", "SELF_SERVICE_LIMIT"]

SELF_SERVICE_LIMIT: Final[float] = 20_000.0
LARGE_AMOUNT: Final[float] = 50_000.0
BOOKING_AMOUNT: Final[float] = 200_000.0

#: Amount bands: under the self-service limit for small cash, up to the large-cash threshold
#: that brings registration and a recount, up to the booking threshold, and above.
AMOUNT_BANDS: Final[tuple[str, ...]] = (
    "under 20,000", "20,000-49,999", "50,000-199,999", "200,000 and over", "no amount",
)
