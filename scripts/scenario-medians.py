#!/usr/bin/env python3
"""Runs shipped scenarios several times, one after another, and prints each one's median
report line (the figures #15 asks for, and docs/scenarios.md quotes).

    scripts/scenario-medians.py [--runs 3] [--peerlearn target/debug/peerlearn]
                                [--model models/default.gguf] [SCENARIO.toml ...]

Runs are sequential on purpose: two sessions at once share the cores and slow each other.
The load average before and after each run is printed, because absolute times on a shared
machine move with load. Every run's JSON is kept under --out for a reader to check.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

FIELDS = [
    ("reply_ms_p50", "reply p50"),
    ("reply_ms_p95", "reply p95"),
    ("answer_ms_p50", "answer p50"),
    ("answer_ms_p95", "answer p95"),
    ("agent_messages", "agent msgs"),
    ("fallback_messages", "fallbacks"),
    ("addressed_unanswered", "unanswered"),
    ("wrong_language_messages", "wrong lang"),
    ("wrong_child_answers", "wrong child"),
    ("errors", "errors"),
    ("phases_completed", "phases"),
]


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--peerlearn", default=os.environ.get("PEERLEARN_BIN", "target/debug/peerlearn"))
    ap.add_argument("--model", default="models/default.gguf")
    ap.add_argument("--out", default="/tmp/peerlearn-scenarios")
    ap.add_argument("scenarios", nargs="*")
    args = ap.parse_args()
    scenarios = args.scenarios or sorted(str(p) for p in Path("prompts/scenarios").glob("*.toml"))
    if args.runs < 1:
        sys.exit("--runs must be at least 1")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for scenario in scenarios:
        name = Path(scenario).stem
        reports, loads = [], []
        for run in range(1, args.runs + 1):
            before = os.getloadavg()[0]
            done = subprocess.run(
                [args.peerlearn, "simulate", "--scenario", scenario, "--model", args.model, "--json"],
                capture_output=True, text=True,
            )
            after = os.getloadavg()[0]
            if done.returncode != 0:
                sys.stderr.write(done.stderr[-2000:])
                sys.exit(f"{name} run {run} failed with exit code {done.returncode}")
            (out / f"{name}-{run}.json").write_text(done.stdout)
            report = json.loads(done.stdout)
            reports.append(report)
            loads.append((before, after))
            line = ", ".join(f"{label} {report.get(key)}" for key, label in FIELDS)
            print(f"{name} run {run} (load {before:.2f} -> {after:.2f}): {line}", flush=True)
        med = {key: median([r.get(key) for r in reports]) for key, _ in FIELDS}
        rows.append((name, med, reports[0].get("phases_in_activity"), loads))
    print()
    print("| scenario | load (min-max) | " + " | ".join(label for _, label in FIELDS) + " |")
    print("|---" * (len(FIELDS) + 2) + "|")
    for name, med, phases_total, loads in rows:
        lo = min(min(l) for l in loads)
        hi = max(max(l) for l in loads)
        cells = []
        for key, _ in FIELDS:
            v = med[key]
            text = "-" if v is None else (f"{v:.0f}" if isinstance(v, float) else str(v))
            if key == "phases_completed":
                text += f" of {phases_total}"
            cells.append(text)
        print(f"| {name} | {lo:.2f}-{hi:.2f} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
