"""The faults of scripts/chaos.sh. Each returns a row: (fault, injected, running, air_lost_s,
playable, rss_growth_mib). Usage: chaos.py TWINCAST_BIN [FAULT ...]"""
import json, os, shutil, signal, socket, subprocess, sys, tempfile, threading, time, urllib.request

BIN = sys.argv[1]
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = tempfile.mkdtemp(prefix="twincast-chaos-")
TOKEN = "chaos"
FIXTURES = os.path.join(REPO, "tests", "fixtures")


def port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def show(name, extra="", voice=""):
    """The shop fixture (a catalog, a rundown, an FAQ) at 320x180, written into WORK, with
    `voice` (TOML lines) at the top of its [voice] table and `extra` at its end."""
    text = open(os.path.join(FIXTURES, "shop.toml")).read()
    text = text.replace("[voice]\n", "[voice]\n" + voice, 1)
    text = text.replace('scene = "colour_panels.ron"', 'scene = "%s"' % os.path.join(FIXTURES, "colour_panels.ron"))
    text = text.replace("width = 480\nheight = 270", "width = 320\nheight = 180")
    path = os.path.join(WORK, name + ".toml")
    open(path, "w").write(text + "\n[compliance]\naudit_log = \"%s.said.jsonl\"\n" % name + extra)
    return path


def rss(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def duration(path):
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
                         capture_output=True, text=True)
    try:
        return float(out.stdout.strip())
    except ValueError:
        return 0.0


def plays(path):
    return subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"], capture_output=True).returncode == 0


class Stream:
    """`twincast stream` with the API, a local recording and optional other outputs."""

    def __init__(self, name, seconds, outputs=(), extra="", args=(), voice=""):
        self.name, self.seconds = name, seconds
        self.api = "127.0.0.1:%d" % port()
        self.recording = os.path.join(WORK, name + ".mkv")
        cmd = [BIN, "stream", show(name, extra, voice), "--seconds", str(seconds), "--api", self.api,
               "-o", self.recording] + [a for o in outputs for a in ("-o", o)] + list(args)
        env = dict(os.environ, TWINCAST_API_TOKEN=TOKEN)
        self.log = open(os.path.join(WORK, name + ".log"), "w")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.log, env=env)
        self.started = time.time()
        self.rss0 = None
        self.peak = 0.0
        threading.Thread(target=self.sample, daemon=True).start()

    def sample(self):
        """The highest RSS while the stream runs (sampled every half second)."""
        while self.proc.poll() is None:
            self.peak = max(self.peak, rss(self.proc.pid))
            time.sleep(0.5)

    def status(self):
        try:
            with urllib.request.urlopen("http://%s/status" % self.api, timeout=5) as r:
                return json.load(r)
        except Exception:
            return {}

    def wait_on_air(self):
        while time.time() - self.started < 120:
            if self.status().get("frames", 0) > 30:
                time.sleep(1)
                self.rss0 = rss(self.proc.pid)
                return
            time.sleep(0.2)

    def finish(self, fault, injected):
        try:
            code = self.proc.wait(timeout=self.seconds + 120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = -1
        lost = max(0.0, self.seconds - duration(self.recording))
        return (fault, injected, "yes" if code == 0 else "no (exit %s)" % code, "%.1f" % lost,
                "yes" if plays(self.recording) else "no", "%+.0f" % (self.peak - (self.rss0 or self.peak)))


def post(api, path, body):
    req = urllib.request.Request("http://%s%s" % (api, path), data=body.encode(), method="POST",
                                 headers={"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception:
        return 0


class Nginx:
    def __init__(self):
        self.port = port()
        self.dir = tempfile.mkdtemp(dir=WORK)
        os.makedirs(self.dir + "/logs")
        module = next(p for p in ["/usr/lib/nginx/modules/ngx_rtmp_module.so",
                                  "/usr/share/nginx/modules/ngx_rtmp_module.so"] if os.path.exists(p))
        open(self.dir + "/nginx.conf", "w").write(
            "load_module %s;\ndaemon off; master_process off; worker_processes 1;\n"
            "error_log %s/logs/error.log warn; pid %s/nginx.pid;\nevents { worker_connections 64; }\n"
            "rtmp { server { listen 127.0.0.1:%d; chunk_size 4096; application live { live on; record off; } } }\n"
            % (module, self.dir, self.dir, self.port))
        self.start()

    def start(self):
        self.proc = subprocess.Popen(["nginx", "-p", self.dir, "-c", self.dir + "/nginx.conf"],
                                     stderr=subprocess.DEVNULL)
        time.sleep(0.3)

    def url(self):
        return "rtmp://127.0.0.1:%d/live/SECRETKEY" % self.port

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def rtmp_killed():
    server = Nginx()
    s = Stream("rtmp_killed", 80, [server.url()])
    s.wait_on_air()
    for _ in range(20):
        time.sleep(1.5)
        server.stop()
        time.sleep(1.0)
        server.start()
    row = s.finish("RTMP server killed", 20)
    server.stop()
    return row


def rtmp_stalled():
    server = Nginx()
    s = Stream("rtmp_stalled", 50, [server.url()])
    s.wait_on_air()
    for _ in range(5):
        time.sleep(2)
        server.proc.send_signal(signal.SIGSTOP)
        time.sleep(5)
        server.proc.send_signal(signal.SIGCONT)
    row = s.finish("RTMP server stalled 5 s", 5)
    server.stop()
    return row


def slowloris():
    s = Stream("slowloris", 40)
    s.wait_on_air()
    host, p = s.api.split(":")
    socks = []
    for _ in range(500):
        try:
            c = socket.create_connection((host, int(p)), timeout=2)
            c.send(b"POST /say HTTP/1.1\r\nHost: x\r\n")
            socks.append(c)
        except OSError:
            pass
    for _ in range(15):  # a header byte a second on every connection
        for c in socks:
            try:
                c.send(b"X")
            except OSError:
                pass
        time.sleep(1)
    for c in socks:
        c.close()
    return s.finish("API slow-loris connections", 500)


def flood():
    s = Stream("flood", 40)
    s.wait_on_air()
    for i in range(10000):
        post(s.api, "/comments", json.dumps({"user": "viewer%d" % i, "text": "how much? %d" % i}))
    return s.finish("comment flood", 10000)


def udp_garbage():
    vmc, voice = port(), port()
    s = Stream("udp", 40, extra='\n[takeover]\naudio_listen = "127.0.0.1:%d"\n' % voice,
               args=["--vmc-listen", "127.0.0.1:%d" % vmc])
    s.wait_on_air()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(100000):
        junk = os.urandom(1 + i % 1400)
        u.sendto(junk, ("127.0.0.1", vmc if i % 2 else voice))
    return s.finish("garbage UDP to VMC and takeover", 100000)


def bad_engine(mode):
    def fault():
        engine = 'engine = "command:python3 %s %s {output}"\ntimeout_seconds = 5\n' % (
            os.path.join(FIXTURES, "bad_tts.py"), mode)
        s = Stream("tts_" + mode, 30, voice=engine)
        s.wait_on_air()
        return s.finish("speech engine: " + {"nan": "NaN audio", "hang": "hangs", "crash": "crashes",
                                              "long": "1 h of audio"}[mode], "every line")
    return fault


def speech_workers(parent):
    """Pids of `parent`'s speech-worker children (eSpeak in its own process)."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            stat = open("/proc/%s/stat" % entry).read()
            cmd = open("/proc/%s/cmdline" % entry, "rb").read().split(b"\0")
        except (OSError, ValueError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent and b"speech-worker" in cmd:
            found.append(int(entry))
    return found


def espeak_crash():
    """A native crash inside libespeak-ng (SIGABRT to its worker process) every 4 s."""
    s = Stream("espeak_crash", 50)
    s.wait_on_air()
    crashed = 0
    for _ in range(10):
        for pid in speech_workers(s.proc.pid):
            os.kill(pid, signal.SIGABRT)
            crashed += 1
        time.sleep(4)
    row = list(s.finish("eSpeak crashes in synthesis (`SIGABRT` to its worker)", crashed))
    log = open(os.path.join(WORK, "espeak_crash.log")).read()
    started = sum(1 for l in log.splitlines() if "worker process" in l and l.rstrip().endswith("started"))
    row[2] += "; %d workers started, %d lines spoken" % (started, log.count("speaking at"))
    return tuple(row)


def disk_full():
    mnt = os.path.join(WORK, "small")
    os.makedirs(mnt)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mnt], capture_output=True).returncode:
        return ("disk full on the recording folder", 0, "skipped: cannot mount a tmpfs here", "", "", "")
    try:
        rec = os.path.join(mnt, "night.mkv")
        s = Stream("disk_full", 60, [rec])
        s.wait_on_air()
        time.sleep(3)
        filler = os.path.join(mnt, "filler")
        subprocess.run(["dd", "if=/dev/zero", "of=" + filler, "bs=64k"], capture_output=True)
        time.sleep(30)  # a full disk for half a minute: how many new files does it cost?
        os.remove(filler)  # space returns
        row = list(s.finish("disk full, then space again", 1))
        files = sorted(f for f in os.listdir(mnt) if f.endswith(".mkv"))
        row[4] = "%s; %d files: %s" % (row[4], len(files), "all play" if all(plays(os.path.join(mnt, f)) for f in files) else "some do not play")
        return tuple(row)
    finally:
        subprocess.run(["umount", "-l", mnt], capture_output=True)


def kill_restart():
    rec_dir = os.path.join(WORK, "restarts")
    os.makedirs(rec_dir)
    path = show("restart")
    for _ in range(5):
        p = subprocess.Popen([BIN, "stream", path, "--seconds", "60", "-o", os.path.join(rec_dir, "night.mp4")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(12)
        p.send_signal(signal.SIGKILL)
        p.wait()
    files = sorted(os.listdir(rec_dir))
    ok = all(plays(os.path.join(rec_dir, f)) and duration(os.path.join(rec_dir, f)) > 1 for f in files)
    return ("SIGKILL + restart, same config", 5, "yes (restarted)", "", "%d of %d files play%s" % (
        sum(plays(os.path.join(rec_dir, f)) for f in files), len(files), "" if ok else " (some short)"), "")


def slow_rewrite():
    s = Stream("rewrite", 40)
    s.wait_on_air()
    path = os.path.join(WORK, "rewrite.toml")
    text = open(path).read().replace("Welcome to {shop}.", "Welcome back to {shop}.")
    with open(path, "w") as f:
        for i, ch in enumerate(text):
            f.write(ch)
            f.flush()
            time.sleep(0.004)
    return s.finish("show file rewritten byte by byte", 1)


FAULTS = {
    "rtmp_killed": rtmp_killed, "rtmp_stalled": rtmp_stalled, "slowloris": slowloris, "flood": flood,
    "udp": udp_garbage, "tts_nan": bad_engine("nan"), "tts_hang": bad_engine("hang"),
    "tts_crash": bad_engine("crash"), "tts_long": bad_engine("long"), "espeak_crash": espeak_crash,
    "disk_full": disk_full,
    "kill_restart": kill_restart, "slow_rewrite": slow_rewrite,
}

names = sys.argv[2:] or list(FAULTS)
print("| fault | injected | show still running | air lost (s) | recordings playable | RSS growth (MiB) |")
print("|---|---|---|---|---|---|")
for name in names:
    row = FAULTS[name]()
    print("| " + " | ".join(str(c) for c in row) + " |", flush=True)
print("\n(work folder: %s)" % WORK, file=sys.stderr)
