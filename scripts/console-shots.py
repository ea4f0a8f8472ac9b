#!/usr/bin/env python3
"""Screenshots of the operator console for the README, from a running show.

Drives Debian's Chromium through chromedriver (WebDriver over plain HTTP, no client
library): signs in, starts a flash sale, waits for the preview, and saves a desktop
(1440x900) and a phone (390x844) screenshot.

    console-shots.py API_ADDR TOKEN OUT_DIR
"""
import base64, json, os, socket, subprocess, sys, tempfile, time, urllib.request

api, token, out = sys.argv[1], sys.argv[2], sys.argv[3]

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

port = free_port()
driver = subprocess.Popen(["/usr/bin/chromedriver", f"--port={port}"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)["value"]

def wait(what, script, seconds=60):
    end = time.time() + seconds
    while time.time() < end:
        v = call("POST", f"/session/{sid}/execute/sync", {"script": script, "args": []})
        if v:
            return v
        time.sleep(0.3)
    sys.exit(f"console-shots: {what}: not within {seconds} s")

try:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    profile = tempfile.mkdtemp(prefix="twincast-chromium-")
    args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--lang=en-US",
            "--window-size=1440,900", f"--user-data-dir={profile}"]
    session = call("POST", "/session", {"capabilities": {"alwaysMatch": {
        "browserName": "chrome",
        "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args}}}})
    sid = session["sessionId"]
    call("POST", f"/session/{sid}/url", {"url": f"http://{api}/"})
    wait("the sign-in form", "return !document.getElementById('signin').hidden;")
    call("POST", f"/session/{sid}/execute/sync", {"script":
        "document.getElementById('token').value = arguments[0];"
        "document.getElementById('signin-button').click(); return true;", "args": [token]})
    wait("the console", "return !document.getElementById('console').hidden;")
    wait("the preview", "return document.getElementById('preview').naturalWidth > 0;", 120)
    call("POST", f"/session/{sid}/execute/sync", {"script":
        "document.getElementById('sale-seconds').value = '120';"
        "document.getElementById('flash-sale').click(); return true;", "args": []})
    wait("the countdown", "return document.getElementById('countdown').classList.contains('running');", 60)
    time.sleep(6)  # a preview of the sale, and a line or two in the feed
    for name, (w, h) in {"console-desktop": (1440, 900), "console-phone": (390, 844)}.items():
        call("POST", f"/session/{sid}/window/rect", {"width": w, "height": h})
        time.sleep(2)
        png = base64.b64decode(call("GET", f"/session/{sid}/screenshot"))
        with open(os.path.join(out, name + ".png"), "wb") as f:
            f.write(png)
    call("DELETE", f"/session/{sid}")
finally:
    driver.kill()
