#!/usr/bin/env python3
"""Plot concurrent real-time duplex sessions vs audio-delta p99 latency, bidi vs the Python original.

Reads the JSON written by `bidi-bench compare` (both clients against the Python fake server) and,
if present, by `bidi-bench run --server sim` (bidi against the Rust simulator), and writes
docs/perf/sessions-p99.png. Needs matplotlib (e.g. `python3 -m venv /tmp/plot && /tmp/plot/bin/pip
install matplotlib`).

    python docs/perf/plot_sessions.py [--compare target/bench/compare.json]
                                      [--sim target/bench/results-bidi-sim.json]
                                      [--sim-wire target/bench/results-wire-sim.json]
                                      [--out docs/perf/sessions-p99.png]
"""

import argparse
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def series(median: dict) -> tuple[list[int], list[float], list[bool]]:
    rows = sorted((int(k.split("_")[1]), v) for k, v in median.items() if k.startswith("sessions_"))
    ns = [n for n, v in rows if v.get("out_latency_p99_ms") is not None]
    p99 = [v["out_latency_p99_ms"] for n, v in rows if v.get("out_latency_p99_ms") is not None]
    ok = [str(v.get("keeps_up", "")).split("/")[0] == str(v.get("keeps_up", "")).split("/")[-1]
          for n, v in rows if v.get("out_latency_p99_ms") is not None]
    return ns, p99, ok


def main() -> None:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p = argparse.ArgumentParser()
    p.add_argument("--compare", default=os.path.join(root, "target/bench/compare.json"))
    p.add_argument("--sim", default=os.path.join(root, "target/bench/results-bidi-sim.json"))
    p.add_argument("--sim-wire", default=os.path.join(root, "target/bench/results-wire-sim.json"))
    p.add_argument("--out", default=os.path.join(root, "docs/perf/sessions-p99.png"))
    a = p.parse_args()
    fig, ax = plt.subplots(figsize=(8, 5))
    curves = []
    with open(a.compare) as f:
        cmp = json.load(f)
    curves.append(("Python strands 1.40 (fake server)", cmp["python"]["median"], "tab:red", "o"))
    curves.append(("bidi (fake server)", cmp["bidi"]["median"], "tab:blue", "s"))
    if cmp.get("wire"):
        curves.append(("bare wire client, no agent (fake server)", cmp["wire"]["median"], "tab:gray", "x"))
    if os.path.exists(a.sim):
        with open(a.sim) as f:
            curves.append(("bidi (Rust simulator)", json.load(f)["median"], "tab:green", "^"))
    if os.path.exists(a.sim_wire):
        with open(a.sim_wire) as f:
            curves.append(("bare wire client (Rust simulator)", json.load(f)["median"], "tab:olive", "v"))
    for label, median, color, marker in curves:
        ns, p99, ok = series(median)
        if not ns:
            continue
        ax.plot(ns, p99, color=color, marker=marker, label=label)
        bad = [(n, y) for n, y, k in zip(ns, p99, ok) if not k]
        if bad:
            ax.scatter([n for n, _ in bad], [y for _, y in bad], s=120, facecolors="none", edgecolors=color)
    ax.axhline(100, color="grey", linestyle="--", linewidth=1)
    ax.text(1.05, 110, "keep-up limit (100 ms)", color="grey", fontsize=8)
    ax.axhline(20, color="grey", linestyle=":", linewidth=1)
    ax.text(1.05, 22, "target p99 (20 ms)", color="grey", fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("concurrent real-time duplex sessions in one process (24 kHz, 20 ms chunks)")
    ax.set_ylabel("audio-delta latency p99 (ms)")
    ax.set_title("Sessions vs p99 audio latency (2-core shared VM; circled: did not keep up)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
