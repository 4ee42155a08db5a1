"""The rows a bench prints: each contender's best time, CPU time and peak memory beside the
baseline's, as ratios (the same shape for every bench that times contenders one by one)."""

from __future__ import annotations

from collections.abc import Mapping


def ratio_rows(bench: str, label: str,
               results: Mapping[str, tuple[float, float, float, str]],
               base: str = "duckdb_groupby") -> list[dict[str, object]]:
    """One row per contender of ``results`` (name -> (seconds, cpu seconds, peak MB, note)),
    its time and CPU time as ratios of ``base``'s."""
    base_seconds, base_cpu = results[base][:2]
    return [
        {
            "bench": bench,
            "input": label,
            "contender": name,
            "seconds": round(seconds, 2),
            "cpu_seconds": round(cpu, 2),
            "peak_mb": round(peak),
            "ratio": round(seconds / base_seconds, 2),
            "cpu_ratio": round(cpu / base_cpu, 2),
            "note": note,
        }
        for name, (seconds, cpu, peak, note) in results.items()
    ]
