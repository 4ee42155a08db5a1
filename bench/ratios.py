"""The rows a bench prints: each contender's best time, CPU time and peak memory beside the
baseline's, as ratios (the same shape for every bench that times contenders one by one)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence


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


Timing = tuple[float, float, float, str]   # seconds, CPU seconds, peak bytes, note


def best_runs(names: Sequence[str], run_one: Callable[[str], Timing], repeat: int) -> dict[
        str, Timing]:
    """Each contender's best of ``repeat`` runs, interleaved so that background load hits all
    alike; a pm4py contender runs once (it is the slow peer)."""
    results: dict[str, Timing] = {}
    for round_ in range(repeat):
        for name in names:
            if round_ and name.startswith("pm4py"):
                continue
            timing = run_one(name)
            best = results.get(name)
            if best is None or timing[0] < best[0]:
                results[name] = timing
    return results
