"""Run one piece of work in a fresh process and report its wall time, CPU time and peak memory.

Every suite measures through `measure` so the numbers mean the same everywhere: wall and CPU
seconds from the first line of the work (the child's imports are left out) and the child's own
peak resident memory, then the median over repeats.
"""

from __future__ import annotations

import importlib
import multiprocessing
import resource
import statistics
import time
from pathlib import Path
from typing import Any


def peak_resident_mb() -> float:
    """This process's peak resident memory in MB.

    Linux's VmHWM belongs to the process image, so a spawned child reports its own peak;
    ru_maxrss would carry over the parent's peak through exec.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def children_cpu_seconds() -> float:
    """CPU seconds of this process's finished children (worker pools count as ours)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _child(target: str, kwargs: dict[str, Any], queue: Any) -> None:
    module_name, function_name = target.split(":")
    function = getattr(importlib.import_module(module_name), function_name)
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_SELF)
    children_before = children_cpu_seconds()
    try:
        extra = function(**kwargs) or {}
    except Exception as error:  # reported to the parent, which names the suite that failed
        queue.put({"error": f"{type(error).__name__}: {error}"})
        raise
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    queue.put(
        {
            "wall_s": time.perf_counter() - started,
            "cpu_s": cpu + children_cpu_seconds() - children_before,
            "peak_rss_mb": peak_resident_mb(),
            **extra,
        }
    )


def measure_once(target: str, **kwargs: Any) -> dict[str, Any]:
    """Call `module:function(**kwargs)` in a spawned process; its costs plus what it returns.

    The function runs from the bench folder's modules (`bench.parsing:run_pages`), so whatever
    it imports is its own cost only where it imports it inside the function.
    """
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_child, args=(target, kwargs, queue))
    child.start()
    report = queue.get()
    child.join()
    if "error" in report or child.exitcode != 0:
        raise RuntimeError(f"{target} failed in its process: {report.get('error', child.exitcode)}")
    return report


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The median of each number over repeated runs, the rest from the last run."""
    merged = dict(runs[-1])
    for key, value in runs[-1].items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            merged[key] = statistics.median(run[key] for run in runs)
    merged["repeats"] = len(runs)
    return merged


def measure(target: str, repeats: int = 1, **kwargs: Any) -> dict[str, Any]:
    """`measure_once` `repeats` times and the medians."""
    return median_of([measure_once(target, **kwargs) for _ in range(repeats)])
