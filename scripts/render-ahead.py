#!/usr/bin/env python3
"""How many frames a `stream` would have repeated had it been let render further ahead of
the wall clock (`video.render_ahead_ms`), replaying its own frame costs.

Reads a `stream --telemetry` file (records with `cost_ms`: each frame's cost less any
wait for the clock) and replays the pacer (`runtime::pacer`): a frame waits until its
time less the lead, and one begun after the next frame's time has come skips to the frame
due (the encoder repeats the last picture for the skipped ones). A frame never drawn in
the run costs what the last drawn one did. The column of the run's own lead should come
near the repeats the run counted; the rest are what-ifs: the same costs under other
leads, and every frame a little cheaper (what a faster frame would buy). Figures
from a model, not a measurement: a real run's costs move with what the machine does.

Usage: scripts/render-ahead.py TELEMETRY.jsonl [LEAD_MS ...]"""
import json
import sys

SCALES = (1.0, 0.95, 0.9)


def costs(path):
    """Per media frame from the first with a cost: the cost of that frame, or of the last
    one drawn before it; and the frames the run repeated."""
    drawn = {}
    with open(path) as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a killed run
            if record.get("cost_ms") is not None:
                drawn[record["frame"]] = float(record["cost_ms"])
    if not drawn:
        sys.exit(f"{path}: no records with cost_ms (a `stream` run's telemetry has them)")
    first, last = min(drawn), max(drawn)
    out, cost = [], drawn[first]
    for frame in range(first, last + 1):
        cost = drawn.get(frame, cost)
        out.append(cost)
    return out, len(out) - len(drawn)


def repeated(costs, lead_ms, fps=30):
    """Frames skipped by a pacer that may start a frame `lead_ms` before its time."""
    period = 1000 / fps
    wall, frame, drawn = 0.0, 0, 0
    while frame < len(costs):
        wall = max(wall, frame * period - lead_ms)
        frame = max(frame, min(int(wall // period), len(costs) - 1))
        wall += costs[frame]
        drawn += 1
        frame += 1
    return len(costs) - drawn


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    leads = [float(a) for a in sys.argv[2:]] or [0, 100, 250, 500, 1000, 2000]
    base, counted = costs(sys.argv[1])
    print(f"{len(base)} frames, {counted} repeated in the run")
    print(f"{'frame costs':<14}" + "".join(f"{f'{lead:g} ms':>10}" for lead in leads))
    for scale in SCALES:
        scaled = [c * scale for c in base]
        label = "as measured" if scale == 1.0 else f"× {scale:g}"
        print(f"{label:<14}" + "".join(f"{repeated(scaled, lead):>10}" for lead in leads))


if __name__ == "__main__":
    main()
