// twincast console: plain module, no framework. Every action is a call to the control
// API with the token as a bearer header; text from the show (viewers' comments, lines,
// alerts) is only ever set as textContent, never parsed as HTML.

const TOKEN_KEY = "twincast-token";
const LANGUAGE_KEY = "twincast-language";
const HOUR = 3600;

const TEXT = {
  en: {
    token: "API token", signin: "Sign in", signout: "Sign out",
    wrong_token: "Wrong token", no_token: "The show has no API token set (see [api] token_env)",
    unreachable: "The show does not answer",
    takeover_banner: "ON AIR: a person has taken over the host",
    segment: "Segment", product: "Product", price: "Price", stock: "Stock", flash_sale: "Flash sale",
    steer: "Steer", next_segment: "Next segment", takeover_on: "Take over", takeover_off: "Hand back",
    reload: "Reload show file", pitch: "Pitch this product", start_sale: "Start flash sale",
    say: "Say now", say_placeholder: "A line for the host to say next",
    gesture: "Play gesture", camera: "Cut to camera", close_up: "product close-up",
    health: "Health", render_fps: "Rendered fps",
    repeated: "Repeated frames", pace: "Drawn at", full_size: "full size", pace_held: "host",
    pace_glide: "moves", ahead: "Drawn ahead / allowed", bitrate: "Bitrate", memory: "Memory", uptime: "Uptime",
    program: "Program", main_program: "main", output: "Output", state: "State",
    dropped: "Dropped", reconnects: "Reconnects",
    last_hour: "Last hour", events: "Comments per minute", feed: "On air and in the room",
    ack: "Seen", live: "live", reconnecting: "reconnecting", done: "Done",
    current_product: "(current product)", sold_out: "sold out", none: "—", seconds_left: "s left",
    kind_said: "said", kind_alert: "alert", kind_comment: "comment", kind_action: "action",
  },
  zh: {
    token: "API 令牌", signin: "登录", signout: "退出",
    wrong_token: "令牌错误", no_token: "节目未设置 API 令牌（见 [api] token_env）",
    unreachable: "节目没有响应",
    takeover_banner: "直播中：真人已接管主播",
    segment: "环节", product: "商品", price: "价格", stock: "库存", flash_sale: "限时秒杀",
    steer: "控制", next_segment: "下一环节", takeover_on: "真人接管", takeover_off: "交还主播",
    reload: "重新加载节目文件", pitch: "讲解此商品", start_sale: "开始秒杀",
    say: "立即播报", say_placeholder: "让主播接下来说的话",
    gesture: "播放动作", camera: "切换机位", close_up: "商品特写", health: "运行状态", render_fps: "渲染帧率",
    repeated: "重复帧", pace: "绘制比例", full_size: "原尺寸", pace_held: "主播", pace_glide: "运镜",
    ahead: "提前绘制 / 上限", bitrate: "码率", memory: "内存", uptime: "运行时长",
    program: "节目", main_program: "主节目", output: "输出", state: "状态",
    dropped: "丢包", reconnects: "重连",
    last_hour: "最近一小时", events: "每分钟评论", feed: "播出与直播间",
    ack: "已读", live: "在线", reconnecting: "重连中", done: "已完成",
    current_product: "（当前商品）", sold_out: "已售罄", none: "—", seconds_left: "秒",
    kind_said: "播出", kind_alert: "告警", kind_comment: "评论", kind_action: "操作",
  },
};

const $ = (id) => document.getElementById(id);
let language = localStorage.getItem(LANGUAGE_KEY) ||
  ((navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en");
const t = (key) => (TEXT[language] && TEXT[language][key]) || TEXT.en[key] || key;

let token = sessionStorage.getItem(TOKEN_KEY) || "";
let lastFeedId = 0;
let lastStatus = null;
let catalogSeen = null;
let running = false;
const series = { fps: [], bitrate: [], events: [] };

// The sides the host's layer and glides are drawn at to keep real time (`render.keep_pace`):
// an operator sees the picture soften before viewers see it repeat.
function pace(p) {
  if (!p || (p.held >= 1 && p.glide >= 1)) return t("full_size");
  return `${t("pace_held")} ${p.held.toFixed(2)} · ${t("pace_glide")} ${p.glide.toFixed(2)}`;
}

function translatePage() {
  document.documentElement.lang = language;
  $("language").value = language;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const el of document.querySelectorAll("[data-t-placeholder]")) {
    el.placeholder = t(el.dataset.tPlaceholder);
  }
  if (lastStatus) showStatus(lastStatus);
}

async function call(method, path, body) {
  const init = { method, headers: { Authorization: `Bearer ${token}` } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    return { ok: false, status: 0, body: { error: t("unreachable") } };
  }
  let parsed = null;
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) parsed = await response.json().catch(() => null);
  return { ok: response.ok, status: response.status, body: parsed };
}

// ---- sign-in -------------------------------------------------------------------------

async function signIn(candidate) {
  token = candidate;
  const answer = await call("GET", "/auth");
  if (answer.ok) {
    sessionStorage.setItem(TOKEN_KEY, token);
    $("signin").hidden = true;
    $("console").hidden = false;
    start();
    return;
  }
  token = "";
  sessionStorage.removeItem(TOKEN_KEY);
  $("signin").hidden = false;
  $("console").hidden = true;
  const reason = answer.status === 401 ? t("wrong_token")
    : answer.status === 403 ? t("no_token")
    : (answer.body && answer.body.error) || t("unreachable");
  $("signin-error").textContent = candidate ? reason : "";
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  location.reload();
}

// ---- what the show is doing ----------------------------------------------------------

function duration(seconds) {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return `${h}h ${String(m).padStart(2, "0")}m ${String(s % 60).padStart(2, "0")}s`;
}

function showStatus(s) {
  lastStatus = s;
  const program = (p) => `${p.name ? p.name + " " : ""}${p.width}×${p.height} ${p.language || ""}`;
  const all = [s.program, ...(s.programs || [])].filter((p) => p && p.width);
  $("show-name").textContent = [s.show || "twincast", ...all.map(program)].join(" · ");
  $("clock").textContent = s.local_time ? `${s.local_time.slice(11, 19)} ${s.timezone || ""}` : "";
  $("speaking").textContent = s.speaking || "";
  $("segment").textContent = [s.segment, s.segment_title].filter(Boolean).join(" · ") || t("none");
  $("product").textContent = s.product_name || s.product || t("none");
  $("price").textContent = s.price || t("none");
  $("stock").textContent = s.stock == null ? t("none") : String(s.stock);
  const countdown = $("countdown");
  if (s.flash_sale_left != null) {
    const left = Math.ceil(s.flash_sale_left);
    countdown.textContent = `${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}`;
    countdown.classList.add("running");
  } else {
    countdown.textContent = t("none");
    countdown.classList.remove("running");
  }
  $("takeover-banner").hidden = !s.takeover;
  const takeover = $("takeover");
  takeover.textContent = s.takeover ? t("takeover_off") : t("takeover_on");
  takeover.classList.toggle("on", !!s.takeover);
  $("render-fps").textContent = (s.render_fps || 0).toFixed(1);
  $("repeated").textContent = `${s.repeated_frames} / ${s.frames}`;
  $("pace").textContent = pace(s.pace);
  // What frames drawn early have banked against slow ones (negative when the renderer is
  // late), and how far ahead they may be drawn now (up to `video.render_ahead_ms`).
  const ahead = (s.ahead_seconds || 0).toFixed(2);
  $("ahead").textContent = `${ahead} / ${(s.lead_seconds || 0).toFixed(2)} s`;
  $("bitrate").textContent = `${Math.round(s.bitrate_kbps || 0)} kb/s`;
  $("memory").textContent = s.rss_bytes ? `${Math.round(s.rss_bytes / 1048576)} MiB` : t("none");
  $("uptime").textContent = duration(s.uptime_seconds || 0);
  showOutputs(s.outputs || [], (s.program && s.program.name) || t("main_program"));
  markSoldOut(s);
}

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
}

// Every program's outputs; `own` names this run's own picture, whose outputs carry no
// program name.
function showOutputs(outputs, own) {
  const body = document.querySelector("#outputs tbody");
  body.replaceChildren();
  for (const o of outputs) {
    const row = document.createElement("tr");
    cell(row, o.program || own);
    cell(row, o.url);
    cell(row, o.state, o.state);
    cell(row, String(Math.round(o.kbps || 0)));
    cell(row, String(o.dropped_packets));
    cell(row, String(o.reconnects));
    body.appendChild(row);
  }
}

function showFeed(items) {
  const list = $("feed-list");
  for (const item of items) {
    lastFeedId = Math.max(lastFeedId, item.id);
    const li = document.createElement("li");
    li.className = item.kind;
    li.dataset.id = item.id;
    const time = document.createElement("time");
    time.textContent = new Date(item.at * 1000).toLocaleTimeString();
    const kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = t(`kind_${item.kind}`);
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = item.kind === "comment" ? `${item.label}: ${item.text}`
      : item.kind === "alert" ? `${item.label} ${item.text}` : item.text;
    li.append(time, kind, text);
    list.prepend(li);
  }
  while (list.children.length > 200) list.lastElementChild.remove();
}

function showAlerts(alerts) {
  const list = $("alerts");
  // An alert raised again keeps its id and counts: redraw when either changes.
  const shown = [...list.children].map((li) => li.dataset.key).join(",");
  if (shown === alerts.map((a) => `${a.id}/${a.count}`).join(",")) return;
  list.replaceChildren();
  for (const alert of alerts) {
    const li = document.createElement("li");
    li.dataset.id = alert.id;
    li.dataset.key = `${alert.id}/${alert.count}`;
    const text = document.createElement("span");
    const repeats = alert.count > 1 ? ` (×${alert.count})` : "";
    const where = alert.output ? ` ${alert.output}` : "";
    text.textContent =
      `${new Date(alert.at * 1000).toLocaleTimeString()} ${alert.event}${where}: ${alert.detail}${repeats}`;
    const ack = document.createElement("button");
    ack.type = "button";
    ack.className = "ack";
    ack.textContent = t("ack");
    ack.addEventListener("click", () => act("POST", `/alerts/${alert.id}/ack`));
    li.append(text, ack);
    list.appendChild(li);
  }
}

// ---- charts --------------------------------------------------------------------------

function addPoint(name, at, value) {
  const points = series[name];
  points.push([at, value]);
  while (points.length && points[0][0] < at - HOUR) points.shift();
}

function drawChart(id, points, colour) {
  const canvas = $(id);
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  if (points.length < 2) return;
  const end = points[points.length - 1][0];
  const top = Math.max(1, ...points.map((p) => p[1])) * 1.1;
  g.strokeStyle = colour;
  g.lineWidth = 2;
  g.beginPath();
  points.forEach(([at, v], i) => {
    const x = canvas.width * (1 - (end - at) / HOUR);
    const y = canvas.height * (1 - v / top);
    if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
  });
  g.stroke();
  g.fillStyle = "#9aa0a6";
  g.font = "12px sans-serif";
  g.fillText(points[points.length - 1][1].toFixed(1), 4, 14);
}

function drawCharts() {
  drawChart("chart-fps", series.fps, "#3fb950");
  drawChart("chart-bitrate", series.bitrate, "#58a6ff");
  drawChart("chart-events", series.events, "#d29922");
}

async function loadHistory() {
  const answer = await call("GET", "/history");
  if (!answer.ok || !answer.body) return;
  for (const s of answer.body.samples) {
    addPoint("fps", s.at, s.render_fps);
    addPoint("bitrate", s.at, s.bitrate_kbps);
    addPoint("events", s.at, s.events_per_minute);
  }
  drawCharts();
}

// ---- live updates (server-sent events read through fetch, so the token goes as a header)

function handleUpdate(update) {
  const now = Date.now() / 1000;
  // The show file was reloaded (by its watch or another console): the menus follow.
  if (catalogSeen !== null && update.catalog !== catalogSeen) loadCatalog();
  catalogSeen = update.catalog;
  showStatus(update.status);
  showFeed(update.feed || []);
  showAlerts(update.alerts || []);
  addPoint("fps", now, update.status.render_fps || 0);
  addPoint("bitrate", now, update.status.bitrate_kbps || 0);
  addPoint("events", now, update.status.events_per_minute || 0);
  drawCharts();
}

function connection(state) {
  const pill = $("connection");
  pill.textContent = t(state);
  pill.className = `pill ${state === "live" ? "live" : "lost"}`;
}

async function followUpdates() {
  while (running) {
    let failed = false;
    try {
      const response = await fetch(`/updates?since=${lastFeedId}`, {
        headers: { Authorization: `Bearer ${token}` },
      });
      if (response.status === 401) { signOut(); return; }
      if (!response.ok || !response.body) throw new Error(String(response.status));
      connection("live");
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data:"))
            .map((l) => l.slice(5).replace(/^ /, "")).join("\n");
          if (data) handleUpdate(JSON.parse(data));
        }
      }
    } catch (e) {
      failed = true;
      connection("reconnecting");
    }
    await new Promise((r) => setTimeout(r, failed ? 2000 : 100));
  }
}

let previewUrl = null;
async function followPreview() {
  const img = $("preview");
  while (running) {
    const started = Date.now();
    try {
      const response = await fetch("/preview.jpg", { headers: { Authorization: `Bearer ${token}` } });
      if (response.ok) {
        const blob = await response.blob();
        const url = URL.createObjectURL(blob);
        img.src = url;
        img.dataset.frame = response.headers.get("x-frame") || "";
        if (previewUrl) URL.revokeObjectURL(previewUrl);
        previewUrl = url;
      }
    } catch (e) { /* shown by the updates' connection state */ }
    await new Promise((r) => setTimeout(r, Math.max(200, 1000 - (Date.now() - started))));
  }
}

// ---- steering ------------------------------------------------------------------------

async function act(method, path, body) {
  const result = $("action-result");
  result.className = "";
  result.textContent = "…";
  const answer = await call(method, path, body);
  if (answer.ok) {
    result.className = "done";
    result.textContent = `${t("done")}: ${JSON.stringify(answer.body)}`;
  } else {
    result.className = "refused";
    result.textContent = `${answer.status}: ${(answer.body && answer.body.error) || t("unreachable")}`;
  }
  return answer;
}

function fillSelect(select, entries, blank) {
  select.replaceChildren();
  if (blank) select.appendChild(new Option(t("current_product"), ""));
  for (const [value, label] of entries) {
    const option = new Option(label, value);
    option.dataset.label = label;
    select.appendChild(option);
  }
}

// A product with none left is marked in the product menus and cannot be picked there (the
// API would refuse it); the marks follow the stock of each status, so a restock in the
// show file lifts them.
function markSoldOut(s) {
  const stock = (s && s.room && s.room.stock) || {};
  for (const id of ["product-choice", "sale-product"]) {
    for (const option of $(id).options) {
      if (!option.value) continue;
      const out = stock[option.value] === 0;
      option.disabled = out;
      option.textContent = out ? `${option.dataset.label} — ${t("sold_out")}` : option.dataset.label;
    }
  }
}

async function loadCatalog() {
  const answer = await call("GET", "/catalog");
  if (!answer.ok || !answer.body) return;
  const products = answer.body.products.map((p) => [p.id, p.name ? `${p.name} (${p.id})` : p.id]);
  fillSelect($("product-choice"), products, false);
  fillSelect($("sale-product"), products, true);
  markSoldOut(lastStatus);
  fillSelect($("gesture-choice"), answer.body.clips.map((c) => [c, c]), false);
  const cameras = answer.body.cameras.map((c) => [c, c == "product" ? t("close_up") : c]);
  fillSelect($("camera-choice"), cameras, false);
  $("flash-sale").disabled = !answer.body.flash_sale;
}

function wireControls() {
  $("next-segment").addEventListener("click", () => act("POST", "/segment/next"));
  $("pitch").addEventListener("click", () =>
    act("POST", `/product/${encodeURIComponent($("product-choice").value)}`));
  $("flash-sale").addEventListener("click", () => {
    const body = { seconds: Number($("sale-seconds").value) };
    if ($("sale-product").value) body.product = $("sale-product").value;
    act("POST", "/flash-sale", body);
  });
  $("say").addEventListener("click", async () => {
    const answer = await act("POST", "/say", { text: $("say-text").value });
    if (answer.ok) $("say-text").value = "";
  });
  $("gesture").addEventListener("click", () =>
    act("POST", "/gesture", { clip: $("gesture-choice").value }));
  $("camera").addEventListener("click", () =>
    act("POST", `/camera/${encodeURIComponent($("camera-choice").value)}`));
  $("takeover").addEventListener("click", () =>
    act("POST", "/takeover", { on: !(lastStatus && lastStatus.takeover) }));
  $("reload").addEventListener("click", async () => {
    const answer = await act("POST", "/reload");
    if (answer.ok) loadCatalog();
  });
}

function start() {
  if (running) return;
  running = true;
  loadCatalog();
  loadHistory();
  followUpdates();
  followPreview();
}

function init() {
  translatePage();
  $("language").addEventListener("change", (e) => {
    language = e.target.value;
    localStorage.setItem(LANGUAGE_KEY, language);
    translatePage();
  });
  $("signin").addEventListener("submit", (e) => {
    e.preventDefault();
    signIn($("token").value.trim());
  });
  $("signout").addEventListener("click", signOut);
  wireControls();
  if (token) signIn(token); else $("signin").hidden = false;
}

init();
