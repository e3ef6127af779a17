"""docs/soak-memory.png from a bench/results/soak-<date>.json (npm run soak writes both)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def soak_png(report_path: Path, out: Path) -> None:
    report = json.loads(report_path.read_text())
    samples = report["samples"]
    minutes = [s["seconds"] / 60 for s in samples]
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(minutes, [s["serviceMb"] for s in samples], label="GPU service (node + onnxruntime, CPU)")
    ax.plot(minutes, [s["workerdMb"] for s in samples], label="edge (workerd, wrangler dev)")
    if all("workerHeapMb" in s for s in samples):
        ax.plot(minutes, [s["workerHeapMb"] for s in samples], label="edge Worker's JS heap (in use, garbage included)")
    retained = report.get("workerHeapRetained", [])
    if retained:
        ax.scatter([r["seconds"] / 60 for r in retained], [r["usedMb"] for r in retained], color="black", s=14, zorder=3,
                   label="edge Worker's JS heap after GC")
    load_end = report["minutes"] - report["restMinutes"]
    ax.axvspan(0, report["warmupEndSeconds"] / 60, color="grey", alpha=0.12, label="warm-up")
    ax.axvspan(load_end, report["minutes"], color="tab:green", alpha=0.08, label="at rest")
    ax.set_xlabel("minutes")
    ax.set_ylabel("resident memory (MB)")
    ax.set_ylim(bottom=0)
    c = report["counts"]
    ax.set_title(
        f"soak: {report['concurrency']} clients, {c['miss']} misses, {c['hit']} hits, {c['reads']} reads, "
        f"{sum(c['errors'].values())} errors",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    soak_png(Path(sys.argv[1]), Path(sys.argv[2]))
