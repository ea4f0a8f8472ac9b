#!/usr/bin/env python3
"""What a run's frames cost, by how they were drawn, from its `--telemetry` file.

Each telemetry record carries `frame_ms` (wall time since the record before: rendering,
readback and what goes between frames), in `stream` also `cost_ms` (the same less any
wait for the wall clock: the frame's own cost, used where present) and `drawn` (frames
drawn in full, held and glided so far, from `camera::held`; `reused`: held frames that
started a shot on a kept backdrop; `patched`: held frames that drew twin screens again
over the backdrop; `host_smaller`: held frames whose host layer was drawn smaller). A frame's
kind is the first count in `KINDS` that went up with it: a held frame with the host
drawn smaller is `host_smaller`.
Prints, per kind, the frames, the median, 10th and 90th percentiles and the total, and
the frames repeated after them (in `stream`, where the pacer skips the frames a slow one
overran; none in `render`), then the same per span of media time (default 2 s), so shots
and their costs show side by side. Figures, not pass/fail; `render` gives clean costs
(every frame drawn, no waiting for the wall clock), `stream` the repeats.

Usage: scripts/frame-costs.py TELEMETRY.jsonl [SPAN_SECONDS]
  e.g. twincast render assets/shows/demo.toml --seconds 40 -o out/x.mkv --telemetry out/t.jsonl
       scripts/frame-costs.py out/t.jsonl"""
import json
import sys

KINDS = ("full", "glide", "patched", "reused", "host_smaller", "held")


def frames(path):
    """(media time, kind, ms, frames repeated after it) per record that has a cost, in
    order."""
    records = []
    with open(path) as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a killed run
    out = []
    for i, (before, record) in enumerate(zip(records, records[1:]), start=1):
        ms = record.get("cost_ms", record.get("frame_ms"))
        if ms is None:
            continue
        now, then = record.get("drawn") or {}, before.get("drawn") or {}
        kind = next((k for k in KINDS if now.get(k, 0) > then.get(k, 0)), "other")
        following = records[i + 1] if i + 1 < len(records) else record
        after = following.get("frame", 0) - record.get("frame", 0) - 1
        out.append((record.get("time", 0.0), kind, float(ms), max(after, 0)))
    return out


def percentile(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def line(label, costs, repeated):
    costs = sorted(costs)
    return (
        f"{label:<14} {len(costs):>6} {percentile(costs, 0.5):>9.1f} "
        f"{percentile(costs, 0.1):>7.1f} {percentile(costs, 0.9):>7.1f} {sum(costs) / 1000:>9.1f}"
        f" {repeated:>8}"
    )


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    span = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    rows = frames(sys.argv[1])
    if not rows:
        sys.exit(f"{sys.argv[1]}: no records with frame_ms")
    header = (
        f"{'':<14} {'frames':>6} {'median ms':>9} {'p10':>7} {'p90':>7} {'total s':>9}"
        f" {'repeated':>8}"
    )
    print(header)
    for kind in KINDS + ("other",):
        mine = [(ms, after) for _, k, ms, after in rows if k == kind]
        if mine:
            print(line(kind, [ms for ms, _ in mine], sum(a for _, a in mine)))
    print(f"\nper {span:g} s of media (kinds: frames drawn that way; the costs are of all)")
    print(header)
    end = max(t for t, _, _, _ in rows)
    start = 0.0
    while start <= end:
        part = [(k, ms, a) for t, k, ms, a in rows if start <= t < start + span]
        if part:
            counts = " ".join(
                f"{k} {n}"
                for k in KINDS + ("other",)
                if (n := sum(1 for x, _, _ in part if x == k))
            )
            label = f"{start:g}–{start + span:g} s"
            costs = [ms for _, ms, _ in part]
            print(line(label, costs, sum(a for _, _, a in part)) + f"   {counts}")
        start += span


if __name__ == "__main__":
    main()
