"""Frame values as plain Python values, for JSON and records.

Example:
    >>> import numpy as np
    >>> [plain_value(v) for v in (np.int64(3), np.float64("nan"), np.bool_(True), "B01")]
    [3, None, True, 'B01']
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["plain_value"]


def plain_value(value: Any) -> Any:
    """A frame value as a plain Python value (NaN and NA become None, numpy scalars Python's)."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
