#!/usr/bin/env python3
"""How many frames a `stream` would have repeated had it been let render further ahead of
the wall clock (`video.render_ahead_ms`), replaying its own frame costs.

Reads a `stream --telemetry` file (records with `cost_ms`: each frame's cost less any
wait for the clock) and replays the pacer (`runtime::pacer`): a frame waits until its
time less the lead, and one begun after the next frame's time has come skips to the frame
due (the encoder repeats the last picture for the skipped ones). A frame never drawn in
the run costs what the last drawn one did. The column of the run's own lead should come
near the repeats the run counted; the rest are what-ifs: the same costs under other
leads, and every frame a little cheaper (what a faster frame would buy) or half as dear
(a machine with headroom). The columns "adapt N" replay the lead the stream keeps by
default (`runtime::lead`, `video.render_ahead_adapts`): the peak running overrun lately
(halving every 30 s), a quarter more and a frame, at most N, and all N for the first
30 s; beside them, that lead's
median over the replay (what the room's answers and the API's changes may wait for).
Figures from a model, not a measurement: a real run's costs move with what the machine
does.

Usage: scripts/render-ahead.py TELEMETRY.jsonl [LEAD_MS ...]"""
import json
import statistics
import sys

SCALES = (1.0, 0.95, 0.9, 0.5)
HALF_LIFE_S = 30.0
MARGIN = 1.25


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


class Fixed:
    def __init__(self, lead_ms):
        self.lead_ms = lead_ms

    def now(self):
        return self.lead_ms

    def learn(self, cost, seconds, period):
        pass


class Adaptive:
    """`runtime::lead::Lead`: the peak running overrun lately, a quarter more and a frame."""

    def __init__(self, cap_ms, period):
        self.cap, self.period, self.overrun, self.peak, self.seen = cap_ms, period, 0.0, 0.0, 0.0

    def now(self):
        if self.seen < HALF_LIFE_S:
            return self.cap
        return min(MARGIN * self.peak + self.period, self.cap)

    def learn(self, cost, seconds, period):
        self.seen += seconds
        self.overrun = min(max(self.overrun + cost - period, 0.0), self.cap)
        self.peak = max(self.peak * 0.5 ** (seconds / HALF_LIFE_S), self.overrun)


def replay(costs, lead, fps=30):
    """Frames skipped by a pacer that may start a frame `lead.now()` before its time, and
    the leads it drew with."""
    period = 1000 / fps
    wall, frame, leads = 0.0, 0, []
    while frame < len(costs):
        leads.append(lead.now())
        wall = max(wall, frame * period - leads[-1])
        begun = max(frame, min(int(wall // period), len(costs) - 1))
        wall += costs[begun]
        lead.learn(costs[begun], (begun + 1 - frame) / fps, period)
        frame = begun + 1
    return len(costs) - len(leads), leads


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    leads = [float(a) for a in sys.argv[2:]] or [0, 100, 250, 500, 1000, 2000]
    caps = [lead for lead in leads if lead > 0]
    base, counted = costs(sys.argv[1])
    print(f"{len(base)} frames, {counted} repeated in the run")
    heads = [f"{lead:g} ms" for lead in leads] + [f"adapt {cap:g}" for cap in caps]
    print(f"{'frame costs':<14}" + "".join(f"{h:>11}" for h in heads) + "  median adapted lead")
    for scale in SCALES:
        scaled = [c * scale for c in base]
        label = "as measured" if scale == 1.0 else f"× {scale:g}"
        fixed = [replay(scaled, Fixed(lead))[0] for lead in leads]
        adapted = [replay(scaled, Adaptive(cap, 1000 / 30)) for cap in caps]
        medians = " ".join(f"{statistics.median(a[1]):.0f}" for a in adapted)
        cells = fixed + [a[0] for a in adapted]
        print(f"{label:<14}" + "".join(f"{c:>11}" for c in cells) + f"  {medians} ms")


if __name__ == "__main__":
    main()
