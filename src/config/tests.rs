use super::*;
use crate::config::plan::SetNames;

/// A folder with a scene file in it, removed on drop.
struct ShowDir(PathBuf);

impl ShowDir {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("twincast-config-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("room.ron"), "()").unwrap();
        Self(dir)
    }
    fn parse(&self, text: &str) -> Result<ShowConfig, ConfigError> {
        ShowConfig::parse(&self.0.join("show.toml"), text)
    }
    /// Why a show with `lines` in its `[section]` (on lines 3 on) is refused.
    fn refusal(&self, section: &str, lines: &str) -> ConfigError {
        let text = format!("scene = \"room.ron\"\n[{section}]\n{lines}\n");
        self.parse(&text).unwrap_err()
    }
}

impl Drop for ShowDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn minimal_show_takes_defaults_and_resolves_paths() {
    let dir = ShowDir::new("minimal");
    let show = dir.parse("scene = \"room.ron\"\n").unwrap();
    assert_eq!(show.video, VideoConfig::default());
    assert_eq!(show.scene, dir.0.join("room.ron"));
    assert_eq!(show.name, "show");
    assert_eq!(show.default_output(), "out/show.flv");
    // The files a run keeps, beside the show file unless it says otherwise.
    let out = dir.0.join("out");
    assert_eq!(show.compliance.audit_log, Some(out.join("show.said.jsonl")));
    assert_eq!(show.events.tally_dir, Some(out.join("show-room")));
    assert_eq!(show.events.stock_file, Some(out.join("show.stock.json")));
    let own = dir
        .parse("scene = \"room.ron\"\n[events]\nstock_file = \"/var/stock.json\"\ntally = false\n")
        .unwrap();
    assert_eq!(
        own.events.stock_file,
        Some(PathBuf::from("/var/stock.json"))
    );
    assert_eq!(own.events.tally_dir, None);
}

#[test]
fn unknown_key_is_refused_with_line_and_key() {
    let dir = ShowDir::new("unknown");
    let text = dir.refusal("video", "width = 640\nfsp = 30").to_string();
    assert!(text.contains("show.toml:4:"), "{text}");
    assert!(text.contains("unknown field `fsp`"), "{text}");
}

#[test]
fn negative_fps_is_refused() {
    let dir = ShowDir::new("negative");
    let text = dir.refusal("video", "fps = -5").to_string();
    assert!(text.contains("show.toml:3:"), "{text}");
    assert!(text.contains("-5"), "{text}");
}

#[test]
fn zero_fps_is_refused_by_validation() {
    let dir = ShowDir::new("zero");
    let err = dir.refusal("video", "fps = 0");
    assert!(
        matches!(err, ConfigError::Invalid { ref field, .. } if field == "video.fps"),
        "{err}"
    );
}

#[test]
fn odd_size_and_bad_preset_are_refused() {
    let dir = ShowDir::new("odd");
    let err = dir.refusal("video", "width = 641");
    assert!(err.to_string().contains("video.width"), "{err}");
    let err = dir.refusal("video", "preset = \"warp\"");
    assert!(err.to_string().contains("video.preset"), "{err}");
}

#[test]
fn encoder_threads_are_bounded() {
    let dir = ShowDir::new("threads");
    let err = dir.refusal("video", "threads = 65");
    assert!(err.to_string().contains("video.threads"), "{err}");
    let show = dir
        .parse("scene = \"room.ron\"\n[video]\nthreads = 1\n")
        .unwrap();
    assert_eq!(show.video.threads, 1);
}

#[test]
fn render_ahead_is_bounded() {
    let dir = ShowDir::new("ahead");
    let err = dir.refusal("video", "render_ahead_ms = 2001");
    assert!(err.to_string().contains("video.render_ahead_ms"), "{err}");
    let show = dir.parse("scene = \"room.ron\"\n").unwrap();
    assert_eq!(show.video.render_ahead_ms, 500);
}

#[test]
fn choppy_alert_limits_out_of_range_are_refused() {
    let dir = ShowDir::new("choppy");
    for (text, field) in [
        ("choppy_seconds = -1", "alerts.choppy_seconds"),
        (
            "choppy_repeated_percent = 0",
            "alerts.choppy_repeated_percent",
        ),
        (
            "choppy_repeated_percent = 150",
            "alerts.choppy_repeated_percent",
        ),
    ] {
        let err = dir.refusal("alerts", text);
        assert!(err.to_string().contains(field), "{text}: {err}");
    }
    let show = dir
        .parse("scene = \"room.ron\"\n[alerts]\nchoppy_seconds = 0\n")
        .unwrap();
    assert_eq!(show.alerts.choppy_seconds, 0.0);
}

#[test]
fn missing_scene_file_is_named() {
    let dir = ShowDir::new("missing");
    let err = dir.parse("scene = \"nowhere.ron\"\n").unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("scene") && text.contains("nowhere.ron"),
        "{text}"
    );
}

#[test]
fn outputs_are_listed_in_order() {
    let dir = ShowDir::new("outputs");
    let show = dir
        .parse(
            "scene = \"room.ron\"\n[[outputs]]\nurl = \"rtmp://a/live/1\"\n[[outputs]]\nurl = \"rec.mkv\"\n",
        )
        .unwrap();
    assert_eq!(show.outputs, vec!["rtmp://a/live/1", "rec.mkv"]);
}

#[test]
fn missing_effect_file_is_named() {
    let dir = ShowDir::new("effects");
    let err = dir
        .parse("scene = \"room.ron\"\n[audio]\neffects = { chime = \"nope.wav\" }\n")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("audio.effects.chime") && err.contains("nope.wav"),
        "{err}"
    );
}

#[test]
fn size_parses() {
    assert_eq!(parse_size("640x360"), Ok((640, 360)));
    assert!(parse_size("640").is_err());
    assert!(parse_size("ax3").is_err());
}

#[test]
fn located_counts_lines_and_columns() {
    let text = "ab\ncde\nf";
    assert_eq!(
        Located::from_offset(text, 0),
        Located { line: 1, column: 1 }
    );
    assert_eq!(
        Located::from_offset(text, 4),
        Located { line: 2, column: 2 }
    );
    assert_eq!(
        Located::from_offset(text, 7),
        Located { line: 3, column: 1 }
    );
}

#[test]
fn render_size_follows_scale_and_stays_even() {
    let dir = ShowDir::new("scale");
    let show = dir
        .parse("scene = \"room.ron\"\n[video]\nwidth = 1280\nheight = 720\n[render]\nscale = 0.5\n")
        .unwrap();
    assert_eq!(show.render_size(), (640, 360));
    let show = dir
        .parse("scene = \"room.ron\"\n[video]\nwidth = 854\nheight = 480\n[render]\nscale = 0.3\n")
        .unwrap();
    let (w, h) = show.render_size();
    assert!(w % 2 == 0 && h % 2 == 0 && w == 256 && h == 144, "{w}x{h}");
    assert!(
        dir.parse("scene = \"room.ron\"\n[render]\nscale = 2.0\n")
            .is_err()
    );
    // A glide's scale: 0 is `auto`, else the same range.
    let glide = |v: &str| {
        dir.parse(&format!(
            "scene = \"room.ron\"\n[render]\nglide_scale = {v}\n"
        ))
    };
    assert_eq!(glide("0").unwrap().render.glide_scale, 0.0);
    assert_eq!(glide("0.5").unwrap().render.glide_scale, 0.5);
    let err = glide("0.1").unwrap_err().to_string();
    assert!(err.contains("render.glide_scale"), "{err}");
    // A glide's samples: `auto` unless named; a count is not a name.
    let samples = |v: &str| {
        dir.parse(&format!(
            "scene = \"room.ron\"\n[render]\nglide_msaa = {v}\n"
        ))
    };
    assert_eq!(glide("0").unwrap().render.glide_msaa, GlideMsaa::Auto);
    assert_eq!(
        samples("\"off\"").unwrap().render.glide_msaa,
        GlideMsaa::Off
    );
    assert_eq!(samples("\"on\"").unwrap().render.glide_msaa, GlideMsaa::On);
    let err = samples("4").unwrap_err().to_string();
    assert!(err.contains("show.toml:3:"), "{err}");
    // The host's pixels: 0 is `auto`, else a fraction of the picture from 0.05.
    let host = |v: &str| {
        dir.parse(&format!(
            "scene = \"room.ron\"\n[render]\nhost_pixels = {v}\n"
        ))
    };
    assert_eq!(host("0").unwrap().render.host_pixels, 0.0);
    assert_eq!(host("0.2").unwrap().render.host_pixels, 0.2);
    for bad in ["0.01", "1.5", "-1"] {
        let err = host(bad).unwrap_err().to_string();
        assert!(err.contains("render.host_pixels"), "{bad}: {err}");
    }
}

#[test]
fn a_slot_in_another_language_needs_its_translations_and_is_located() {
    let dir = ShowDir::new("languages");
    let show = |segment: &str| {
        format!(
            "scene = \"room.ron\"\nlanguage = \"en\"\nshop = {{ en = \"Acme\", zh = \"艾克米\" }}\n\
             [[products]]\nid = \"fan\"\nname = {{ en = \"fan\", zh = \"风扇\" }}\nprice = 9\n\
             points = {{ en = [\"quiet\"], zh = [\"安静\"] }}\n\
             [[segments]]\nkind = \"pitch\"\ntitle = \"{{name}} · {{price}}\"\n{segment}\n\
             [[schedule]]\nfrom = \"23:00\"\nto = \"06:00\"\n\n\
             [[schedule]]\nfrom = \"00:00\"\nto = \"06:00\"\nlanguage = \"zh\"\n"
        )
    };
    let err = dir
        .parse(&show("lines = [\"The {name}: {points}.\"]"))
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("show.toml:17:1: schedule[1].language"),
        "{text}"
    );
    assert!(
        text.contains("no `zh` version of the lines of segment 1 (`pitch`)"),
        "{text}"
    );
    // With its translation, and a title of placeholders only, the slot is complete.
    let ok =
        show("lines = [\"The {name}: {points}.\"]\ntranslations.zh = [\"{name}：{points}。\"]");
    let config = dir.parse(&ok).unwrap();
    assert_eq!(config.plan.products[0].points.get("zh").unwrap()[0], "安静");
    // Points given once are English: the Chinese slot cannot use them.
    let err = dir
        .parse(&ok.replace(
            "points = { en = [\"quiet\"], zh = [\"安静\"] }",
            "points = [\"quiet\"]",
        ))
        .unwrap_err();
    assert!(
        err.to_string().contains("the points of product `fan`"),
        "{err}"
    );
}

#[test]
fn a_time_zone_is_an_iana_name() {
    let dir = ShowDir::new("timezone");
    let show = dir
        .parse("scene = \"room.ron\"\ntimezone = \"Asia/Shanghai\"\n")
        .unwrap();
    assert_eq!(show.zone().iana_name(), Some("Asia/Shanghai"));
    let err = dir
        .parse("scene = \"room.ron\"\ntimezone = \"Beijing time\"\n")
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("timezone: `Beijing time` is not a time zone"),
        "{err}"
    );
}

#[test]
fn a_program_has_its_own_size_cameras_and_language() {
    let dir = ShowDir::new("program");
    let text = r#"scene = "room.ron"
camera = "wide"
language = "en"
[[segments]]
kind = "opening"
lines = ["Hello."]
translations.zh = ["你好。"]
shots = [{ camera = "wide", seconds = 4 }, { camera = "cake", seconds = 4 }]
[[schedule]]
from = "00:00"
to = "12:00"
language = "en"
voice = "en-gb"
[[programs]]
name = "vertical"
width = 720
height = 1280
cameras = { wide = "host tall" }
language = "zh"
"#;
    let show = dir.parse(text).unwrap();
    let vertical = show.for_program("vertical").unwrap();
    assert_eq!((vertical.video.width, vertical.video.height), (720, 1280));
    assert_eq!(vertical.camera.as_deref(), Some("host tall"));
    let cameras: Vec<&str> = (vertical.plan.segments[0].shots.iter())
        .map(|s| s.camera.as_str())
        .collect();
    assert_eq!(cameras, ["host tall", "cake"]);
    assert_eq!(
        (vertical.language.as_str(), vertical.text_language.as_str()),
        ("zh", "en")
    );
    assert_eq!(vertical.voice.voice, "cmn");
    assert!(vertical.plan.schedule.iter().all(|s| s.language.is_none()));

    let err = show.for_program("square").unwrap_err().to_string();
    assert!(
        err.contains("no program named `square`") && err.contains("vertical"),
        "{err}"
    );
    let twice = format!("{text}[[programs]]\nname = \"vertical\"\nwidth = 64\nheight = 64\n");
    let err = dir.parse(&twice).unwrap_err().to_string();
    assert!(
        err.contains("programs[1].name") && err.contains("twice"),
        "{err}"
    );
    let odd = text.replace("height = 1280", "height = 1279");
    assert!(
        dir.parse(&odd)
            .unwrap_err()
            .to_string()
            .contains("programs[0].height")
    );
}

#[test]
fn outputs_name_their_programs_and_the_plan_groups_them() {
    let dir = ShowDir::new("program-plan");
    let text = r#"scene = "room.ron"
language = "en"
[[programs]]
name = "vertical"
width = 720
height = 1280
language = "zh"
[[programs]]
name = "square"
width = 640
height = 640
[[outputs]]
url = "rtmp://live/en"
[[outputs]]
url = "rtmp://douyin/zh"
program = "vertical"
[[outputs]]
url = "zh.mp4"
program = "vertical"
"#;
    let show = dir.parse(text).unwrap();
    assert_eq!(show.outputs, ["rtmp://live/en"]);
    let plan = show
        .program_plan(None, show.outputs.clone(), &show.program_outputs)
        .unwrap();
    assert_eq!(plan.main.program, None);
    assert_eq!(plan.outputs, ["rtmp://live/en"]);
    assert_eq!(plan.others.len(), 1);
    let (vertical, urls) = &plan.others[0];
    assert_eq!(
        (vertical.language.as_str(), vertical.video.height),
        ("zh", 1280)
    );
    assert_eq!(urls, &["rtmp://douyin/zh", "zh.mp4"]);

    // No output of its own: the first program named is the main one.
    let plan = show
        .program_plan(None, Vec::new(), &show.program_outputs)
        .unwrap();
    assert_eq!(plan.main.program.as_deref(), Some("vertical"));
    assert!(plan.others.is_empty());
    // `--program square` with the others beside it.
    let plan =
        (show.program_plan(Some("square"), vec!["sq.flv".into()], &show.program_outputs)).unwrap();
    assert_eq!(plan.main.video.width, 640);
    assert_eq!(plan.others[0].0.program.as_deref(), Some("vertical"));
    // Nothing anywhere: the show to its default file.
    let plan = show.program_plan(None, Vec::new(), &[]).unwrap();
    assert_eq!(plan.outputs, [show.default_output()]);

    let unknown = format!("{text}[[outputs]]\nurl = \"x.flv\"\nprogram = \"round\"\n");
    let err = dir.parse(&unknown).unwrap_err().to_string();
    assert!(
        err.contains("program `round`") && err.contains("vertical"),
        "{err}"
    );
}

#[test]
fn a_program_in_another_currency_takes_each_products_price_in_it() {
    let dir = ShowDir::new("program-currency");
    let text = r#"scene = "room.ron"
language = "en"
[overlay]
currency = "US$"
[[products]]
id = "kettle"
name = { en = "kettle", zh = "电水壶" }
price = 19.99
flash_price = 14.99
prices."¥" = { price = 129, flash_price = 99 }
[[programs]]
name = "douyin"
width = 720
height = 1280
language = "zh"
currency = "¥"
"#;
    let show = dir.parse(text).unwrap();
    let douyin = show.for_program("douyin").unwrap();
    let kettle = &douyin.plan.products[0];
    assert_eq!((kettle.price, kettle.flash_price), (129.0, Some(99.0)));
    assert_eq!(douyin.plan.overlay.price(kettle.price), "¥129");
    assert_eq!(show.plan.products[0].price, 19.99, "the show keeps its own");
    // A program naming the show's own currency needs no prices of its own, even from a
    // program priced in another.
    let both =
        format!("{text}[[programs]]\nname = \"us\"\nwidth = 64\nheight = 64\ncurrency = \"US$\"\n");
    let show = dir.parse(&both).unwrap();
    let douyin = show.for_program("douyin").unwrap();
    assert_eq!(douyin.plan.products[0].prices["US$"].price, 19.99);
    assert_eq!(
        show.for_program("us").unwrap().plan.products[0].price,
        19.99
    );

    let unpriced = text.replace("prices.\"¥\" = { price = 129, flash_price = 99 }\n", "");
    let err = dir.parse(&unpriced).unwrap_err().to_string();
    assert!(
        err.contains("programs[0].currency") && err.contains("`kettle` has no price in ¥"),
        "{err}"
    );
}

#[test]
fn an_edit_names_what_waits_for_a_restart() {
    let running = "scene = \"a.ron\"\n[video]\nwidth = 1280\n\n[[outputs]]\nurl = \"x.flv\"\n\n\
                   [[products]]\nid = \"fan\"\n";
    // The catalog and rundown are taken at once; layout and spacing are no change.
    let catalog = running.replace("id = \"fan\"", "id = \"lamp\"") + "\n[[faq]]\nkeywords = []\n";
    assert!(needs_restart(running, &catalog).is_empty());
    assert!(
        needs_restart(
            running,
            &running.replace("width = 1280", "width    =    1280")
        )
        .is_empty()
    );
    let edited = running
        .replace("a.ron", "b.ron")
        .replace("1280", "1920")
        .replace("x.flv", "y.flv")
        + "[overlay]\nenabled = false\n";
    assert_eq!(
        needs_restart(running, &edited),
        ["[[outputs]]", "[overlay]", "`scene`", "[video]"]
    );
    // A file that does not parse is refused elsewhere, with its line.
    assert!(needs_restart(running, "[video").is_empty());
}

#[test]
fn a_product_shot_needs_a_prop_for_each_product_it_may_show() {
    let dir = ShowDir::new("product-shot");
    let text = |cake_prop: &str, segment_product: &str| {
        format!(
            "scene = \"room.ron\"\n\
             [[products]]\nid = \"cake\"\nname = {{ en = \"cake\" }}\nprice = 1\n{cake_prop}\n\
             [[products]]\nid = \"fan\"\nname = {{ en = \"fan\" }}\nprice = 2\nprop = \"fan\"\n\
             [[segments]]\nkind = \"pitch\"\n{segment_product}\n\
             shots = [{{ camera = \"front\", seconds = 2 }}, {{ camera = \"product\", seconds = 3 }}]\n"
        )
    };
    let set = |cameras: &[&str]| SetNames {
        cameras: cameras.iter().map(|c| c.to_string()).collect(),
        pieces: vec!["cake".into(), "fan".into()],
    };
    let cameras = set(&["front"]);
    let check = |cake_prop: &str, segment_product: &str, set: &SetNames| {
        let show = dir.parse(&text(cake_prop, segment_product)).unwrap();
        show.plan.validate(Some(set))
    };
    // About the fan, which has a prop: framed. The rotation may put the cake on: refused.
    assert!(check("", "product = \"fan\"", &cameras).is_ok());
    let problem = check("", "", &cameras).unwrap_err();
    assert_eq!(problem.field, "segments[0].shots[1].camera");
    assert!(
        problem.reason.contains("`cake` names none"),
        "{}",
        problem.reason
    );
    assert!(check("prop = \"cake\"", "", &cameras).is_ok());
    // A scene camera named `product` is a camera like any other.
    assert!(check("", "", &set(&["front", "product"])).is_ok());
    // A prop the set has no piece of is refused by its field, with the pieces there are.
    let problem = check("prop = \"cakes\"", "", &cameras).unwrap_err();
    assert_eq!(problem.field, "products[0].prop");
    assert_eq!(
        problem.reason,
        "the scene has no set piece `cakes` (it has: cake, fan)"
    );
}

#[test]
fn lines_a_product_cannot_fill_are_named_at_load() {
    let dir = ShowDir::new("unsaid");
    let show = dir
        .parse(
            "scene = \"room.ron\"\n\
             [[products]]\nid = \"cake\"\nname = { en = \"cake\" }\nprice = 1\nstock = 5\n\
             points = { en = [\"fresh\"], zh = [] }\n\
             [[products]]\nid = \"fan\"\nname = { en = \"fan\" }\nprice = 2\n\
             [[segments]]\nkind = \"pitch\"\nlines = [\"The {name}.\", \"Only {stock} left.\"]\n\
             [[segments]]\nkind = \"pitch\"\nproduct = \"cake\"\nlines = [\"{points}, {stock} left.\"]\n\
             translations.zh = [\"{name}\", \"{point}!\"]\n",
        )
        .unwrap();
    // Named by field, as load's errors are; the cake's points are English only, so
    // its Chinese line about them is not said, and only that one.
    assert_eq!(
        show.plan.unsaid_lines(&show.text_language),
        vec![
            "segments[0].lines[1]: `{stock}`: product `fan` has none, so this line is not said for it"
                .to_string(),
            "segments[1].translations.zh[1]: `{point}`: product `cake` has none, so this line is \
             not said for it"
                .to_string(),
        ]
    );
}

#[test]
fn a_placeholder_without_a_value_is_left_out_and_named() {
    use crate::config::plan::{Unfilled, fill, fill_checked};
    let values = |name: &str| (name == "name").then(|| "fan".to_string());
    assert_eq!(
        fill("The {name}, {stock} left.", &values),
        "The fan,  left."
    );
    assert_eq!(
        fill_checked("The {name}, {stock} left.", &values),
        Err(Unfilled {
            text: "The fan,  left.".into(),
            missing: "stock".into()
        })
    );
    assert_eq!(fill_checked("The {name}.", &values), Ok("The fan.".into()));
    // A name that is no placeholder stays as written.
    assert_eq!(
        fill_checked("{name} {size}", &values),
        Ok("fan {size}".into())
    );
}
