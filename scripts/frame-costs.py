#!/usr/bin/env python3
"""What a run's frames cost, by how they were drawn, from its `--telemetry` file.

Each telemetry record carries `frame_ms` (wall time since the record before: rendering,
readback and what goes between frames) and `drawn` (frames drawn in full, held and
glided so far, from `camera::held`, and `host_smaller`: held frames whose host layer was
drawn smaller, `render.host_pixels`). A frame's kind is the first count in `KINDS` that
went up with it: a held frame with the host drawn smaller is `host_smaller`.
Prints, per kind, the frames, the median, 10th and 90th percentiles and the total, then
the same per span of media time (default 2 s), so shots and their costs show side by
side. Figures, not pass/fail; `render` gives clean ones (every frame drawn, no waiting
for the wall clock).

Usage: scripts/frame-costs.py TELEMETRY.jsonl [SPAN_SECONDS]
  e.g. twincast render assets/shows/demo.toml --seconds 40 -o out/x.mkv --telemetry out/t.jsonl
       scripts/frame-costs.py out/t.jsonl"""
import json
import sys

KINDS = ("full", "glide", "host_smaller", "held")


def frames(path):
    """(media time, kind, ms) per record that has a cost, in order."""
    records = []
    with open(path) as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a killed run
    out = []
    for before, record in zip(records, records[1:]):
        ms = record.get("frame_ms")
        if ms is None:
            continue
        now, then = record.get("drawn") or {}, before.get("drawn") or {}
        kind = next((k for k in KINDS if now.get(k, 0) > then.get(k, 0)), "other")
        out.append((record.get("time", 0.0), kind, float(ms)))
    return out


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def line(label, costs):
    costs = sorted(costs)
    return (
        f"{label:<14} {len(costs):>6} {percentile(costs, 0.5):>9.1f} "
        f"{percentile(costs, 0.1):>7.1f} {percentile(costs, 0.9):>7.1f} {sum(costs) / 1000:>9.1f}"
    )


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    span = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    rows = frames(sys.argv[1])
    if not rows:
        sys.exit(f"{sys.argv[1]}: no records with frame_ms")
    header = f"{'':<14} {'frames':>6} {'median ms':>9} {'p10':>7} {'p90':>7} {'total s':>9}"
    print(header)
    for kind in KINDS + ("other",):
        costs = [ms for _, k, ms in rows if k == kind]
        if costs:
            print(line(kind, costs))
    print(f"\nper {span:g} s of media (kinds: frames drawn that way; the costs are of all)")
    print(header)
    end = max(t for t, _, _ in rows)
    start = 0.0
    while start <= end:
        part = [(k, ms) for t, k, ms in rows if start <= t < start + span]
        if part:
            counts = " ".join(
                f"{k} {n}" for k in KINDS + ("other",) if (n := sum(1 for x, _ in part if x == k))
            )
            print(line(f"{start:g}–{start + span:g} s", [ms for _, ms in part]) + f"   {counts}")
        start += span


if __name__ == "__main__":
    main()
