"""The benchmark's figures: each with its target and verdict, printed as a table and as JSON."""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One measured figure; `target` is None for figures shown for context only."""

    name: str
    value: float
    unit: str
    target: float | None = None
    at_most: bool = True  # the value must be ≤ target (else ≥)

    @property
    def ok(self) -> bool | None:
        """Whether the target holds; None without a target."""
        if self.target is None:
            return None
        if math.isnan(self.value):
            return False
        return self.value <= self.target if self.at_most else self.value >= self.target

    def row(self) -> tuple[str, str, str, str]:
        """Name, value, target, verdict, as printed."""
        target = (
            "" if self.target is None else f"{'≤' if self.at_most else '≥'} {_num(self.target)}"
        )
        verdict = {None: "", True: "pass", False: "MISS"}[self.ok]
        return self.name, f"{_num(self.value)} {self.unit}".strip(), target, verdict


def _num(value: float) -> str:
    """Counts as integers; durations with the decimals that matter at their size."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "—"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """A Markdown table, columns padded to line up in a terminal too."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join(
        [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)]
    )


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average": list(os.getloadavg()),
    }


def write_json(path: Path, *, figures: Sequence[Figure], details: dict[str, Any]) -> None:
    """Every figure with its target and verdict, plus the raw details, as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "figures": [asdict(f) | {"ok": f.ok} for f in figures],
        "passed": all(f.ok is not False for f in figures),
        **details,
    }
    path.write_text(json.dumps(_plain(document), indent=2, ensure_ascii=False) + "\n")


def _plain(value: object) -> object:
    """JSON-ready: NaN as null, paths as text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value
