//! The operator's console in a real browser (headless Chromium over WebDriver) against a
//! real running show: sign-in, the live preview, steering, alerts, and both layouts.

use crate::common::*;
use std::path::Path;
use std::time::Duration;

/// What a screenshot must hold to count as a page, not a blank: many colours, and most
/// of it something other than the page's background.
fn assert_drawn(png: &[u8], name: &str) {
    let picture = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("{name}: not a PNG: {e}"))
        .to_rgb8();
    let background = [0x14u8, 0x16, 0x1a];
    let total = (picture.width() * picture.height()) as usize;
    let drawn = picture.pixels().filter(|p| p.0 != background).count();
    let mut colours: Vec<[u8; 3]> = picture.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        drawn * 100 / total >= 15 && colours.len() >= 100,
        "{name}: {drawn} of {total} pixels drawn, {} colours",
        colours.len()
    );
}

/// Saves a screenshot in the scratch folder, and where `TWINCAST_CONSOLE_SHOTS` says
/// (`scripts/readme-media.sh console` makes the README's pictures this way).
fn keep(png: &[u8], dir: &Scratch, name: &str) {
    std::fs::write(dir.path(name), png).unwrap();
    if let Some(out) = std::env::var_os("TWINCAST_CONSOLE_SHOTS") {
        std::fs::write(Path::new(&out).join(name), png).unwrap();
    }
}

/// The text the page shows under its buttons once it is of `class` (`done`, `refused`)
/// and holds `holding`.
fn action_result(browser: &Browser, class: &str, holding: &str) -> String {
    let found = browser.wait_for(
        &format!("a `{class}` action result with `{holding}`"),
        30,
        &format!(
            "const r = document.getElementById('action-result'); \
             return r.className === '{class}' && r.textContent.includes('{holding}') \
               ? r.textContent : null;"
        ),
    );
    found.as_str().unwrap_or_default().to_string()
}

fn audit_segments(path: &Path) -> Vec<String> {
    json_lines_so_far(path)
        .iter()
        .filter_map(|v| v["segment"].as_str().map(String::from))
        .collect()
}

#[test]
fn the_console_watches_and_steers_a_running_show() {
    let dir = Scratch::new("console");
    // Reads need the token too here, a dead RTMP output raises an alert in 2 s, and a
    // takeover voice input makes the takeover button work.
    let show = panel_show_in(
        &dir,
        "shop.toml",
        &format!(
            "[compliance]\naudit_log = \"said.jsonl\"\n\n[api]\nconsole_requires_token = true\n\n\
             [alerts]\nfailing_after_seconds = 2\n\n[takeover]\naudio_listen = \"127.0.0.1:{}\"\n",
            free_port()
        ),
    );
    // The opening and the pitch hold until the console moves them on: on a slow machine
    // the page may first show the show many seconds in, and a four-second opening would
    // be over (and the next one a whole rundown away).
    let held = std::fs::read_to_string(&show)
        .unwrap()
        .replace(
            "kind = \"opening\"\n",
            "kind = \"opening\"\nseconds = 600\n",
        )
        .replace("kind = \"pitch\"\n", "kind = \"pitch\"\nseconds = 600\n")
        // The fan is sold out: its menu entries say so and cannot be picked.
        .replace(
            "points = [\"three speeds\"]\n",
            "points = [\"three speeds\"]\nstock = 0\n",
        );
    assert_eq!(held.matches("seconds = 600").count(), 2, "{held}");
    assert!(held.contains("stock = 0"), "{held}");
    std::fs::write(&show, held).unwrap();
    let dead = format!("rtmp://127.0.0.1:{}/live/gone", free_port());
    let live = StreamBuilder::new(&show)
        // The day slot (English), whatever the hour the test runs at.
        .args([
            "--seconds",
            "120",
            "--clock",
            "12:00",
            "--output",
            "null",
            "--output",
            &dead,
        ])
        .with_api()
        .start();
    let addr = live.api.clone();
    let base = format!("http://{addr}");

    // The page is open; what it shows is not, without the token.
    assert_eq!(http(&addr, "GET", "/", None, "").0, 200);
    // (/health may say 503 while the show starts; it never asks for the token.)
    assert_ne!(http(&addr, "GET", "/health", None, "").0, 401);
    assert_eq!(http(&addr, "GET", "/status", None, "").0, 401);
    assert_eq!(http(&addr, "GET", "/preview.jpg", None, "").0, 401);

    let browser = Browser::start(&dir.path("profile"), 1440, 900);
    browser.goto(&base);
    browser.wait_for(
        "the sign-in form",
        20,
        "return !document.getElementById('signin').hidden;",
    );
    browser.type_into("#token", "not-the-token");
    browser.click("#signin-button");
    let refused = browser.wait_for(
        "the wrong token refused",
        30,
        "return document.getElementById('signin-error').textContent || null;",
    );
    assert_eq!(refused, "Wrong token");
    browser.type_into("#token", TOKEN);
    browser.click("#signin-button");
    browser.wait_for(
        "the console",
        30,
        "return !document.getElementById('console').hidden;",
    );

    // The preview is the program picture, and it moves on.
    let first = browser.wait_for(
        "a preview picture",
        60,
        "const i = document.getElementById('preview'); \
         return i.naturalWidth > 0 && i.dataset.frame ? Number(i.dataset.frame) : null;",
    );
    let later = browser.wait_for(
        "a newer preview picture",
        20,
        &format!(
            "const f = Number(document.getElementById('preview').dataset.frame); \
             return f > {first} ? f : null;"
        ),
    );
    assert!(later.as_u64() > first.as_u64());

    // Both outputs are listed with the program each carries (here the run's own), the
    // RTMP one's key not shown.
    let rows = browser.wait_for(
        "both outputs listed",
        20,
        "const r = [...document.querySelectorAll('#outputs tbody tr')]; \
         return r.length == 2 ? r.map(t => t.cells[0].textContent + ' ' + t.cells[1].textContent) : null;",
    );
    let rows: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(rows.iter().all(|r| r.starts_with("main ")), "{rows:?}");
    assert!(rows.iter().any(|r| r.ends_with("/live/…")), "{rows:?}");

    // The sold-out fan is marked in both product menus and cannot be picked; the kettle
    // can.
    let marked = browser.wait_for(
        "the fan marked sold out",
        30,
        "const o = [...document.querySelectorAll('#product-choice option, #sale-product option')]; \
         const fan = o.filter((x) => x.value === 'fan'); \
         const kettle = o.filter((x) => x.value === 'kettle'); \
         return fan.length === 2 && fan.every((x) => x.disabled && x.textContent.endsWith('sold out')) \
           && kettle.every((x) => !x.disabled && x.textContent === 'kettle (kettle)') \
           ? fan[0].textContent : null;",
    );
    assert_eq!(marked, "fan (fan) — sold out");

    // Next segment: the page and the audit log both show the new one.
    let opening = browser.wait_for(
        "the opening segment",
        30,
        "const t = document.getElementById('segment').textContent; \
         return t.startsWith('opening') ? t : null;",
    );
    assert!(
        opening
            .as_str()
            .unwrap()
            .contains("Welcome to Test Factory"),
        "{opening}"
    );
    browser.click("#next-segment");
    let result = action_result(&browser, "done", "");
    assert!(result.contains("segment"), "{result}");
    browser.wait_for(
        "the pitch segment on the page",
        20,
        "return document.getElementById('segment').textContent.startsWith('pitch');",
    );
    let audit = dir.path("said.jsonl");
    wait_until(
        "a pitch line in the audit log",
        Duration::from_secs(20),
        || {
            let segments = audit_segments(&audit);
            if segments.iter().any(|s| s == "pitch") {
                Ok(())
            } else {
                Err(segments)
            }
        },
    );

    // A flash sale of the kettle for 40 s: the countdown runs on the page.
    browser.script(
        "document.getElementById('sale-product').value = 'kettle'; \
         document.getElementById('sale-seconds').value = '40'; return true;",
    );
    browser.click("#flash-sale");
    let countdown = browser.wait_for(
        "the countdown",
        20,
        "const c = document.getElementById('countdown'); \
         return c.classList.contains('running') ? c.textContent : null;",
    );
    let seconds = |t: &str| {
        let (m, s) = t.split_once(':').unwrap_or(("x", "x"));
        m.parse::<u32>().unwrap_or(99) * 60 + s.parse::<u32>().unwrap_or(99)
    };
    let started = seconds(countdown.as_str().unwrap());
    // (The countdown starts with the sale's first line, a fraction of a second ahead of
    // the picture, and the page rounds up: 0:41 at first is right.)
    assert!((30..=41).contains(&started), "{countdown}");
    browser.wait_for(
        "the countdown going down",
        30,
        &format!(
            "const t = document.getElementById('countdown').textContent.split(':'); \
             return Number(t[0]) * 60 + Number(t[1]) < {started};"
        ),
    );
    assert_eq!(browser.text("#product"), "kettle");
    assert_eq!(browser.text("#price"), "¥99");
    // The sides the picture is drawn at to keep pace, from /status: full size, or both
    // levels.
    let drawn_at = browser.text("#pace");
    assert!(
        drawn_at == "full size"
            || (drawn_at.starts_with("host ") && drawn_at.contains(" · moves ")),
        "drawn at: {drawn_at:?}"
    );
    // How far ahead of their time frames are drawn, and may be (up to
    // `video.render_ahead_ms`), in seconds: never further than allowed.
    let ahead = browser.text("#ahead");
    let seconds: Vec<f64> = (ahead.strip_suffix(" s").unwrap_or_default().split(" / "))
        .filter_map(|s| s.parse().ok())
        .collect();
    assert!(
        matches!(seconds[..], [drawn, allowed] if drawn <= allowed && allowed <= 0.5),
        "drawn ahead / allowed: {ahead:?}"
    );

    // A refusal shows the API's reason.
    browser.type_into("#say-text", " ");
    browser.click("#say");
    let refusal = action_result(&browser, "refused", "");
    assert!(refusal.contains("empty"), "{refusal}");

    // The dead output's alert appears (found among any others the show raises).
    const FAILING: &str = "[...document.querySelectorAll('#alerts li')]\
                           .filter((li) => li.textContent.includes('output_failing'))";
    browser.wait_for("the alert", 30, &format!("return {FAILING}.length > 0;"));
    // The product close-up is offered after the scene's cameras; the kettle on air names
    // no prop, so a cut to it is refused with the reason, and a cut to a scene camera
    // is in the feed.
    let cameras = browser.script(
        "return [...document.querySelectorAll('#camera-choice option')].map(o => o.value);",
    );
    assert_eq!(
        cameras.as_array().and_then(|c| c.last()),
        Some(&"product".into()),
        "{cameras}"
    );
    browser.script("document.getElementById('camera-choice').value = 'product'; return true;");
    browser.click("#camera");
    let refusal = action_result(&browser, "refused", "");
    assert!(refusal.contains("names no `prop`"), "{refusal}");
    browser.script("document.getElementById('camera-choice').value = 'front'; return true;");
    browser.click("#camera");
    browser.wait_for(
        "the cut in the feed",
        20,
        "return document.getElementById('feed-list').textContent.includes('camera: front');",
    );
    let feed = browser.text("#feed-list");
    assert!(feed.contains("next segment"), "{feed}");
    assert!(feed.contains("flash sale: kettle"), "{feed}");

    // Takeover: the on-air banner while a person has the host; handed back, it goes.
    browser.click("#takeover");
    browser.wait_for(
        "the takeover banner",
        30,
        "return !document.getElementById('takeover-banner').hidden;",
    );
    assert_eq!(browser.text("#takeover"), "Hand back");
    browser.click("#takeover");
    browser.wait_for(
        "the takeover over",
        30,
        "return document.getElementById('takeover-banner').hidden;",
    );

    // The show file saved with a new product: its watch takes it, the feed says so, and
    // the menus offer the product without a reload of the page.
    let with_lamp = std::fs::read_to_string(&show).unwrap().replacen(
        "[[segments]]",
        "[[products]]\nid = \"lamp\"\nname = { en = \"desk lamp\" }\nprice = 59\n\n[[segments]]",
        1,
    );
    std::fs::write(&show, with_lamp).unwrap();
    browser.wait_for(
        "the new product in the menu",
        30,
        "return [...document.querySelectorAll('#product-choice option')]\
           .some((o) => o.value === 'lamp' && o.textContent.includes('desk lamp'));",
    );
    let feed = browser.text("#feed-list");
    assert!(
        feed.contains("shop.toml") && feed.contains("reloaded"),
        "{feed}"
    );
    // The lamp has no selling points: the pitch's `{points}` line is not said for it,
    // and the feed says so.
    assert!(feed.contains("product `lamp` has none"), "{feed}");

    // Reload: the show file is read again and accepted.
    browser.click("#reload");
    let reloaded = action_result(&browser, "done", "reloaded");
    assert!(reloaded.contains("next segment"), "{reloaded}");

    let desktop = browser.screenshot();
    assert_drawn(&desktop, "desktop");
    keep(&desktop, &dir, "console-desktop.png");

    // The dead output raises `output_failing` every 2 s: one line, counting.
    let id = browser.wait_for(
        "the alert raised again",
        30,
        &format!(
            "const a = {FAILING}; \
             return a.length === 1 && a[0].textContent.includes('(×') ? a[0].dataset.id : null;"
        ),
    );
    // Acknowledged, it goes (the next raise, 2 s on, is a new one).
    let id = id.as_str().unwrap();
    browser.click(&format!("#alerts li[data-id=\"{id}\"] button"));
    browser.wait_for(
        "the alert acknowledged",
        30,
        &format!("return document.querySelector('#alerts li[data-id=\"{id}\"]') === null;"),
    );

    // A phone: one column, nothing wider than the screen.
    browser.resize(390, 844);
    let layout = browser.wait_for(
        "the phone layout",
        30,
        "const p = document.getElementById('program').getBoundingClientRect(); \
         const c = document.getElementById('controls').getBoundingClientRect(); \
         const wide = document.documentElement.scrollWidth; \
         return window.innerWidth < 500 && Math.abs(p.left - c.left) < 2 && c.top > p.top \
           ? [wide, window.innerWidth] : null;",
    );
    assert!(layout[0].as_u64() <= layout[1].as_u64(), "{layout}");
    let phone = browser.screenshot();
    assert_drawn(&phone, "phone");
    keep(&phone, &dir, "console-phone.png");

    // Chinese, by the switch (the browser's language is English here).
    browser.script(
        "const l = document.getElementById('language'); l.value = 'zh'; \
         l.dispatchEvent(new Event('change')); return true;",
    );
    assert_eq!(browser.text("#next-segment"), "下一环节");
    assert_eq!(browser.text("#health h2"), "运行状态");

    // The preview itself: a small JPEG of the program, not a blank.
    let picture = fetch_preview(&addr);
    assert!(
        picture.width() <= 480 && picture.width() >= 200,
        "{}",
        picture.width()
    );
    let mut values: Vec<u8> = picture.pixels().map(|p| p.0[0] / 16).collect();
    values.sort_unstable();
    values.dedup();
    assert!(values.len() >= 3, "a flat preview picture");

    // Closed, the browser is gone: none outlives its test.
    drop(browser);
    let profile = dir.path("profile").display().to_string();
    wait_until("the browser gone", Duration::from_secs(20), || {
        let left = processes_mentioning(&profile);
        if left.is_empty() { Ok(()) } else { Err(left) }
    });
    let mut child = live.child;
    let _ = child.kill();
    let _ = child.wait();
}

/// The ids of running processes whose command line holds `text`.
fn processes_mentioning(text: &str) -> Vec<u32> {
    let mentions = |dir: &Path| {
        std::fs::read(dir.join("cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains(text))
    };
    (running_processes().filter(|(_, dir)| mentions(dir)))
        .map(|(pid, _)| pid)
        .collect()
}

fn fetch_preview(addr: &str) -> image::RgbImage {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET /preview.jpg HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    let split = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header");
    let head = String::from_utf8_lossy(&bytes[..split]);
    assert!(head.contains("image/jpeg"), "{head}");
    image::load_from_memory_with_format(&bytes[split + 4..], image::ImageFormat::Jpeg)
        .expect("a JPEG")
        .to_rgb8()
}
