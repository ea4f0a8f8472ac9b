#!/usr/bin/env python3
"""Comment-to-first-audio latency of the AI host: how long after a viewer's comment
arrives the host starts saying something about it (the answer's first sentence, or the
holding line), p50 and p95, read from the audit log's wall-clock `at` of each line.

Two runs of the same show in one script, side by side:
  reference  comments the FAQ answers (a template; no model involved)
  model      comments only the language model answers, from the tests' scripted
             OpenAI-compatible server, which waits DELAY_MS before its first word (a model's
             time to first token) and then streams a word every 20 ms
Both include what the show itself adds: waiting for the line being said to end (a line
is never cut), speech synthesis, the two-frame hand-over to the encoder, and any frames
drawn ahead of the clock (`video.render_ahead_ms`) when the answer was ready. Each run
also prints the share of its frames drawn in step with the clock (the lead not used).

Usage: scripts/reply-latency.py [COMMENTS] [DELAY_MS]   (defaults 20 and 400)
VIDEO="key = value; …" adds settings to the show's [video] table (e.g. the lead's:
VIDEO="render_ahead_adapts = false"); each run prints its median lead (`lead_ms`).
Run through `bash -c 'source scripts/env.sh; scripts/reply-latency.py'` or with
TWINCAST_BIN set; figures, not pass/fail."""
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("TWINCAST_BIN") or os.path.expanduser("~/.cache/twincast-target/release/twincast")
COMMENTS = int(sys.argv[1]) if len(sys.argv) > 1 else 20
DELAY_MS = int(sys.argv[2]) if len(sys.argv) > 2 else 400
# Lines added to the show's [video] table, e.g. VIDEO="render_ahead_adapts = false".
VIDEO = "".join(f"{line.strip()}\n" for line in os.environ.get("VIDEO", "").split(";") if line.strip())
SPACING = 6.0  # seconds between comments (answers fill about half of each minute)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, seconds=60):
    end = time.time() + seconds
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def post(port, path, body):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer bench", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return r.status


def run(work, name, model_url, question):
    show = open(os.path.join(ROOT, "tests/fixtures/ai_host.toml")).read()
    show = show.replace("[video]\n", "[video]\n" + VIDEO)
    show = show.replace("LLM_URL", model_url).replace("[comments]\n", "[comments]\nrepeat_seconds = 0\n").replace(
        '"ai_host_scene.ron"', json.dumps(os.path.join(ROOT, "tests/fixtures/ai_host_scene.ron")))
    audit = os.path.join(work, f"{name}.jsonl")
    telemetry = os.path.join(work, f"{name}-frames.jsonl")
    show += f'\n[compliance]\naudit_log = {json.dumps(audit)}\n'
    path = os.path.join(work, f"{name}.toml")
    open(path, "w").write(show)
    api = free_port()
    seconds = COMMENTS * SPACING + 15
    env = dict(os.environ, TWINCAST_API_TOKEN="bench")
    proc = subprocess.Popen(
        [BIN, "stream", path, "--api", f"127.0.0.1:{api}", "--seconds", str(seconds),
         "-o", os.path.join(work, f"{name}.mkv"), "--telemetry", telemetry],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, f"{name}.log"), "w"), env=env)
    wait_port(api)
    time.sleep(3)
    asked = {}
    for i in range(COMMENTS):
        user = f"viewer{i}"
        asked[user] = time.time()
        post(api, "/comments", {"user": user, "text": question(i)})
        time.sleep(SPACING)
    proc.wait()
    lines = [json.loads(l) for l in open(audit) if l.strip()]
    latencies = []
    for user, at in asked.items():
        said = [l["at"] for l in lines
                if l.get("origin") in ("model", "holding", "comment") and "text" in l
                and l["at"] >= at and user in l["text"]]
        if said:
            latencies.append(min(said) - at)
    frames = [json.loads(l) for l in open(telemetry) if l.strip()]
    early = [f["early_ms"] for f in frames if f.get("early_ms") is not None]
    in_step = sum(1 for e in early if e <= 1.0) / max(len(early), 1)
    leads = [f["lead_ms"] for f in frames if f.get("lead_ms") is not None]
    return latencies, in_step, statistics.median(leads) if leads else None


def report(name, run):
    latencies, in_step, lead = run
    if not latencies:
        print(f"{name:<10} no answers")
        return
    ms = sorted(x * 1000 for x in latencies)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    print(f"{name:<10} {len(ms):>3} answers  p50 {statistics.median(ms):6.0f} ms  "
          f"p95 {p95:6.0f} ms  max {ms[-1]:6.0f} ms  frames in step {in_step:4.0%}"
          + ("" if lead is None else f"  median lead {lead:.0f} ms"))


def main():
    work = tempfile.mkdtemp(prefix="twincast-latency-")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, os.path.join(ROOT, "tests/fixtures/llm_server.py"), str(port)])
    try:
        wait_port(port)
        url = f"http://127.0.0.1:{port}/delay/{DELAY_MS}/v1/chat/completions"
        reference = run(work, "reference", url, lambda i: f"how much is it? ({i})")
        model = run(work, "model", url, lambda i: f"Do you ship to Canada, question {i}?")
    finally:
        server.kill()
    print(f"comment-to-first-audio, {COMMENTS} comments {SPACING:.0f} s apart, "
          f"model's first word after {DELAY_MS} ms, reply budget 3 s:")
    report("reference", reference)
    report("model", model)
    print(f"(runs kept in {work})")


main()
