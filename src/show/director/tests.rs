use super::*;
use crate::config::plan::{Faq, Localized, Names, ScheduleEntry};

fn product(id: &str, zh: &str, en: &str, price: f64) -> Product {
    Product {
        id: id.into(),
        name: Names {
            zh: Some(zh.into()),
            en: Some(en.into()),
        },
        price,
        flash_price: Some(price - 30.0),
        points: vec!["steel".into(), "quiet".into()].into(),
        stock: Some(200),
        prop: None,
        image: None,
        prices: Default::default(),
    }
}

fn segment(kind: SegmentKind, lines: &[&[&str]]) -> Segment {
    Segment {
        kind,
        title: None,
        product: None,
        lines: lines
            .iter()
            .map(|v| LineSpec::Variants(v.iter().map(|s| s.to_string()).collect()))
            .collect(),
        translations: Default::default(),
        shots: Vec::new(),
        seconds: 0.0,
        countdown: None,
    }
}

fn plan() -> ShowPlan {
    let mut flash = segment(
        SegmentKind::FlashSale,
        &[&["{name} now {flash_price}, {countdown} left"]],
    );
    flash.countdown = Some(30.0);
    ShowPlan {
        shop: "Acme".into(),
        products: vec![
            product("kettle", "电水壶", "kettle", 129.0),
            product("fan", "风扇", "fan", 99.5),
        ],
        segments: vec![
            segment(
                SegmentKind::Opening,
                &[&["Welcome to {shop}", "Hello from {shop}"]],
            ),
            segment(
                SegmentKind::Pitch,
                &[&["The {name} is {price}"], &["{points}"]],
            ),
            flash,
        ],
        faq: vec![Faq {
            keywords: vec!["how much".into(), "多少钱".into()],
            answer: "{user}: the {name} is {price}".into(),
        }],
        ..Default::default()
    }
}

/// Plays lines as the runtime would: each starts when written (plus nothing), lasting `len`.
fn say(d: &mut Director, now: &mut f64, len: f64) -> Option<String> {
    let line = d.next_line(*now, 600)?;
    d.started(line.serial, *now, *now + len, 600);
    *now += len;
    Some(line.text)
}

/// Plays `seconds` of the show a second at a time, each line a second long; what was said.
fn run_for(d: &mut Director, now: &mut f64, seconds: f64) -> Vec<String> {
    let mut said = Vec::new();
    let end = *now + seconds;
    while *now < end {
        match say(d, now, 1.0) {
            Some(line) => said.push(line),
            None => *now += 1.0,
        }
    }
    said
}

#[test]
fn walks_the_rundown_filling_templates_and_rotating_variants() {
    let mut d = Director::new(plan(), "en", 0.0);
    let mut now = 0.0;
    assert_eq!(say(&mut d, &mut now, 2.0).unwrap(), "Welcome to Acme");
    assert_eq!(d.on_air().kind, Some(SegmentKind::Opening));
    assert_eq!(say(&mut d, &mut now, 2.0).unwrap(), "The kettle is 129");
    assert_eq!(d.on_air().kind, Some(SegmentKind::Pitch));
    assert_eq!(say(&mut d, &mut now, 2.0).unwrap(), "steel, quiet");
    let flash = say(&mut d, &mut now, 10.0).unwrap();
    assert_eq!(flash, "kettle now 99, 30 seconds left");
    let ends = d.on_air().flash_ends.unwrap();
    assert_eq!(ends, 6.0 + 30.0);
    // The flash sale repeats its line, counting down, until the countdown runs out...
    let again = say(&mut d, &mut now, 10.0).unwrap();
    assert_eq!(again, "kettle now 99, 20 seconds left");
    say(&mut d, &mut now, 10.0).unwrap();
    assert!(now >= ends);
    // ...then the rundown loops: the other variant, the next product.
    assert_eq!(say(&mut d, &mut now, 2.0).unwrap(), "Hello from Acme");
    assert_eq!(say(&mut d, &mut now, 2.0).unwrap(), "The fan is 99.50");
    assert_eq!(d.on_air().product.as_ref().unwrap().id, "fan");
}

#[test]
fn one_line_in_flight_at_a_time() {
    let mut d = Director::new(plan(), "en", 0.0);
    let first = d.next_line(0.0, 0).unwrap();
    assert!(d.next_line(0.0, 0).is_none(), "the first is not said yet");
    d.skipped(first.serial);
    assert!(
        d.next_line(0.0, 0).is_some(),
        "a skipped line frees the slot"
    );
}

#[test]
fn operator_jumps_apply_at_the_next_line() {
    let mut d = Director::new(plan(), "en", 0.0);
    let mut now = 0.0;
    say(&mut d, &mut now, 1.0);
    d.request(Jump::Product("fan".into()));
    assert_eq!(say(&mut d, &mut now, 1.0).unwrap(), "The fan is 99.50");
    d.request(Jump::FlashSale {
        product: Some("kettle".into()),
        seconds: Some(90.0),
    });
    let line = say(&mut d, &mut now, 1.0).unwrap();
    assert_eq!(line, "kettle now 99, 1 minute 30 seconds left");
    assert_eq!(d.on_air().flash_ends, Some(2.0 + 90.0));
    d.request(Jump::NextSegment);
    // Past the last segment: back to the opening.
    assert_eq!(say(&mut d, &mut now, 1.0).unwrap(), "Welcome to Acme");
}

#[test]
fn jumps_asked_within_one_line_apply_in_turn() {
    let mut d = Director::new(plan(), "en", 0.0);
    let mut now = 0.0;
    assert_eq!(say(&mut d, &mut now, 1.0).unwrap(), "Welcome to Acme");
    // "Next" pressed twice while the opening's line is said: the pitch is passed too.
    d.request(Jump::NextSegment);
    d.request(Jump::NextSegment);
    let line = say(&mut d, &mut now, 1.0).unwrap();
    assert_eq!(line, "kettle now 99, 30 seconds left");
    // A pick, then a flash sale without a product: the sale is of the product picked.
    d.request(Jump::Product("fan".into()));
    d.request(Jump::FlashSale {
        product: None,
        seconds: Some(20.0),
    });
    assert_eq!(
        say(&mut d, &mut now, 1.0).unwrap(),
        "fan now 69.50, 20 seconds left"
    );
    // A pile of them keeps only the last few.
    for _ in 0..MAX_JUMPS + 5 {
        d.request(Jump::NextSegment);
    }
    assert_eq!(d.jumps.len(), MAX_JUMPS);
}

#[test]
fn the_schedule_switches_products_language_and_voice_by_time_of_day() {
    let mut p = plan();
    p.segments[1].translations.insert(
        "zh".into(),
        vec![LineSpec::One("{name}只要{price}元".into())],
    );
    p.schedule = vec![ScheduleEntry {
        from: "23:00".into(),
        to: "06:00".into(),
        products: vec!["fan".into()],
        language: Some("zh".into()),
        voice: Some("cmn".into()),
    }];
    let mut d = Director::new(p, "en", 0.0);
    // 01:00, inside the window that wraps over midnight.
    let opening = d.next_line(0.0, 60).unwrap();
    assert_eq!(opening.voice.as_deref(), Some("cmn"));
    d.started(opening.serial, 0.0, 1.0, 60);
    let pitch = d.next_line(1.0, 60).unwrap();
    assert_eq!(pitch.text, "风扇只要99.50元");
    d.started(pitch.serial, 1.0, 2.0, 60);
    // Noon: outside it.
    let mut d = Director::new(plan(), "en", 0.0);
    let noon = d.next_line(0.0, 12 * 60).unwrap();
    assert_eq!(noon.voice, None);
}

#[test]
fn comments_are_answered_from_the_faq() {
    let mut d = Director::new(plan(), "en", 0.0);
    let mut now = 0.0;
    say(&mut d, &mut now, 1.0);
    say(&mut d, &mut now, 1.0);
    assert_eq!(
        d.answer("amy", "How much is it??", 600).as_deref(),
        Some("amy: the kettle is 129")
    );
    assert_eq!(
        d.answer("李", "这个多少钱", 600).as_deref(),
        Some("李: the kettle is 129")
    );
    assert_eq!(d.answer("bob", "nice hat", 600), None);
}

#[test]
fn a_reload_takes_over_at_the_next_segment() {
    let mut d = Director::new(plan(), "en", 0.0);
    let mut now = 0.0;
    say(&mut d, &mut now, 1.0);
    let mut edited = plan();
    edited.segments[1].lines = vec![LineSpec::One("Edited {name}".into())];
    edited.segments[0].lines = vec![LineSpec::One("unused".into())];
    edited.overlay.currency = "US$".into();
    d.reload(edited);
    assert_eq!(say(&mut d, &mut now, 1.0).unwrap(), "Edited kettle");
    assert_eq!(
        d.plan().overlay.currency,
        plan().overlay.currency,
        "kept till a restart"
    );
    // The operator pitches a product the next edit adds: that edit takes over with it.
    let mut added = plan();
    added.products.push(product("lamp", "台灯", "lamp", 59.0));
    d.reload(added);
    d.request(Jump::Product("lamp".into()));
    assert_eq!(say(&mut d, &mut now, 1.0).unwrap(), "The lamp is 59");
}

#[test]
fn orders_lower_the_stock_through_edits_in_every_market_until_restocked() {
    let mut p = plan();
    p.segments[1].lines = vec![LineSpec::One("{name}, {stock} left".into())];
    p.segments[1].translations.insert(
        "zh".into(),
        vec![LineSpec::One("{name}还剩{stock}件".into())],
    );
    let market = Market {
        language: "zh".into(),
        currency: "¥".into(),
        products: p.products.clone(),
    };
    let mut d = Director::new(p.clone(), "en", 0.0);
    d.echo_in(vec![market]);
    let mut now = 0.0;
    say(&mut d, &mut now, 1.0);
    assert_eq!(d.sold("kettle", 30, "Chen", now), Some(Some(170)));
    assert!(d.stock_to_keep().is_some(), "the order is to be kept");
    assert!(d.stock_to_keep().is_none(), "once");
    // The Chinese program says the stock the orders left, not its catalog's copy.
    assert_eq!(say(&mut d, &mut now, 1.0).unwrap(), "kettle, 170 left");
    assert_eq!(d.take_echoes(), [Some("电水壶还剩170件".to_string())]);
    // An edit of the show file with the same figure: the orders still count.
    d.reload(p.clone());
    for _ in 0..2 {
        say(&mut d, &mut now, 1.0);
    }
    assert_eq!(d.product("kettle").unwrap().stock, Some(170));
    // The factory restocked (a new figure in the file): counted from it.
    let mut restocked = p.clone();
    restocked.products[0].stock = Some(500);
    d.reload(restocked);
    // (The flash sale on air runs out its countdown first.)
    for _ in 0..40 {
        if d.plan().products[0].stock != Some(170) {
            break;
        }
        say(&mut d, &mut now, 1.0);
    }
    assert_eq!(d.sold("kettle", 1, "Chen", now), Some(Some(499)));
}

/// Orders that come while a catalog edit waits for the next segment are not lost when it
/// takes over: a restocked product counts them off its new figure, a product the edit
/// adds counts them (it was an unknown product), and one whose figure the edit keeps is
/// not counted twice.
#[test]
fn orders_while_an_edit_waits_count_against_it() {
    let mut p = plan();
    let mut d = Director::new(p.clone(), "en", 0.0);
    let mut now = 0.0;
    say(&mut d, &mut now, 1.0);
    assert_eq!(d.sold("fan", 10, "Chen", now), Some(Some(190)));
    let mut edited = p.clone();
    edited.products[0].stock = Some(500);
    let mut lamp = product("lamp", "台灯", "lamp", 59.0);
    lamp.stock = Some(10);
    edited.products.push(lamp);
    d.reload(edited.clone());
    assert_eq!(d.sold("kettle", 1, "Chen", now), Some(Some(499)));
    assert_eq!(d.sold("lamp", 2, "Chen", now), Some(Some(8)));
    assert_eq!(d.sold("fan", 1, "Chen", now), Some(Some(189)));
    assert_eq!(d.sold("toaster", 1, "Chen", now), None);
    let waiting = d.stock();
    assert_eq!(
        (waiting["kettle"], waiting["lamp"], waiting["fan"]),
        (499, 8, 189)
    );
    // The same edit saved again while it waits: the orders since still count.
    d.reload(edited);
    run_for(&mut d, &mut now, 60.0);
    let stock = |id| d.product(id).and_then(|p| p.stock);
    assert_eq!(
        (stock("kettle"), stock("lamp"), stock("fan")),
        (Some(499), Some(8), Some(189))
    );
    // What the ledger keeps for the next start says so too.
    let kept = d.stock_to_keep().expect("the orders are to be kept");
    let mut again = p.clone();
    again.products[0].stock = Some(500);
    kept.clone().carry(&mut again.products);
    assert_eq!(again.products[0].stock, Some(499));
    // An edit that changes the figure again counts from the new one.
    p.products[1].stock = Some(50);
    d.reload(p);
    d.sold("fan", 5, "Chen", now);
    assert_eq!(d.stock()["fan"], 45);
}

#[test]
fn a_sold_out_product_is_passed_by_until_restocked() {
    let mut p = plan();
    p.segments[1].lines = vec![
        LineSpec::One("The {name}".into()),
        LineSpec::One("{stock} left".into()),
    ];
    let mut about_fan = segment(SegmentKind::Pitch, &[&["All about the {name}"]]);
    about_fan.product = Some("fan".into());
    p.segments.insert(1, about_fan);
    let mut d = Director::new(p.clone(), "en", 0.0);
    let mut now = 0.0;
    say(&mut d, &mut now, 1.0);
    assert_eq!(say(&mut d, &mut now, 1.0).unwrap(), "All about the fan");
    // The rotation's kettle sells out mid-pitch: its pitch ends at the next line.
    assert_eq!(say(&mut d, &mut now, 1.0).unwrap(), "The kettle");
    d.sold("kettle", 200, "Chen", now);
    let next = say(&mut d, &mut now, 1.0).unwrap();
    assert!(
        next.starts_with("fan now"),
        "the flash sale, of the fan: {next}"
    );
    // Then the fan sells out: its own segment is passed by, and the rotation has
    // nothing left to pitch, so the pitch says nothing about any product.
    d.sold("fan", 200, "Chen", now);
    // The operator's pick of it (one the API let through) is not taken either, and the
    // flash sale of it still ends at once.
    d.request(Jump::Product("fan".into()));
    assert_eq!(run_for(&mut d, &mut now, 2.0), ["Hello from Acme"]);
    let said = run_for(&mut d, &mut now, 60.0);
    assert!(
        said.iter().any(|l| l.contains("Acme")),
        "the show goes on: {said:?}"
    );
    assert!(
        said.iter()
            .all(|l| !l.contains("fan") && !l.contains("kettle")),
        "{said:?}"
    );
    // An edit restocks the fan: pitched again.
    let mut restocked = p.clone();
    restocked.products[1].stock = Some(20);
    assert_eq!(d.stock().get("fan"), Some(&0));
    d.reload(restocked);
    // While the edit waits for the next segment, the stock an operator's pick would find
    // (what `/status` shows, and the API checks) is the edit's: the fan restocked, the
    // kettle still sold out by orders.
    assert_eq!(d.stock().get("fan"), Some(&20));
    assert_eq!(d.stock().get("kettle"), Some(&0));
    let said = run_for(&mut d, &mut now, 60.0);
    assert!(said.iter().any(|l| l == "All about the fan"), "{said:?}");
}

#[test]
fn silent_segments_hold_for_their_seconds() {
    let mut p = plan();
    let mut tour = segment(SegmentKind::Tour, &[]);
    tour.seconds = 20.0;
    p.segments.insert(0, tour);
    let mut d = Director::new(p, "en", 0.0);
    assert!(d.next_line(0.0, 0).is_none());
    assert_eq!(d.on_air().kind, Some(SegmentKind::Tour), "on air at once");
    assert!(d.next_line(19.0, 0).is_none());
    assert_eq!(d.next_line(20.0, 0).unwrap().text, "Welcome to Acme");
}

#[test]
fn countdown_clock_text() {
    assert_eq!(clock_text(59.2), "01:00");
    assert_eq!(clock_text(0.0), "00:00");
    assert_eq!(clock_text(3725.0), "1:02:05");
}

/// The demo at 03:00 (its Chinese slot) and at noon: every line, title and answer in one
/// language, never an English sentence around a Chinese name or the other way round.
#[test]
fn the_demo_speaks_one_language_per_slot() {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/shows/demo.toml");
    let show = crate::config::ShowConfig::load(&demo).unwrap();
    let has_latin = |t: &str| t.chars().any(|c| c.is_ascii_alphabetic());
    let has_han = |t: &str| t.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
    for (minute, zh) in [(3 * 60, true), (12 * 60, false)] {
        let mut d = Director::new(show.plan.clone(), &show.language, 2.0);
        let (mut now, mut said) = (0.0, Vec::new());
        while said.len() < 40 {
            match d.next_line(now, minute) {
                Some(line) => {
                    d.started(line.serial, now, now + 3.0, minute);
                    now += 3.0;
                    // Cues ([Wave +chime]) are not said.
                    let text = line.text.rsplit(']').next().unwrap_or("").to_string();
                    said.push(text);
                    said.extend(d.on_air().title.clone());
                }
                None => now += 1.0,
            }
        }
        said.push(d.answer("amy", "how much?", minute).unwrap());
        said.push(d.answer("amy", "delivery?", minute).unwrap());
        for text in said.iter().map(|t| t.replace("amy", "")) {
            let mixed = if zh { has_latin(&text) } else { has_han(&text) };
            assert!(!mixed, "at {:02}:00: {text:?}", minute / 60);
        }
    }
}

#[test]
fn orders_lower_the_stock_on_the_card_and_a_sold_out_flash_sale_ends() {
    let mut d = Director::new(plan(), "en", 0.0);
    d.request(Jump::FlashSale {
        product: Some("fan".into()),
        seconds: Some(60.0),
    });
    let mut now = 0.0;
    say(&mut d, &mut now, 2.0).unwrap();
    assert_eq!(d.on_air().kind, Some(SegmentKind::FlashSale));
    assert_eq!(d.sold("fan", 150, "Lily", now), Some(Some(50)));
    assert_eq!(d.on_air().product.as_ref().unwrap().stock, Some(50));
    let ticker = d.on_air().ticker.clone().unwrap();
    assert_eq!(ticker.text, "Lily just bought 150 × fan");
    assert!(ticker.until > now);
    assert_eq!(d.sold("nothing", 1, "Lily", now), None);
    // Sold out: the sale ends at the next line, though its countdown has time left.
    assert_eq!(d.sold("fan", 60, "Chen", now), Some(Some(0)));
    say(&mut d, &mut now, 2.0).unwrap();
    assert_ne!(d.on_air().kind, Some(SegmentKind::FlashSale));
}

#[test]
fn drafted_lines_take_turns_and_stand_in_for_a_missing_language() {
    let mut p = plan();
    p.segments.truncate(1);
    p.drafts.push(crate::config::plan::Draft {
        segment: 1,
        language: "en".into(),
        lines: vec!["Drafted welcome to {shop}".into()],
    });
    let mut d = Director::new(p, "en", 0.0);
    d.add_drafted(0, "zh", vec!["欢迎来到{shop}".into()]);
    let mut now = 0.0;
    let mut heard = Vec::new();
    for _ in 0..4 {
        heard.push(say(&mut d, &mut now, 2.0).unwrap());
    }
    // The file's line, then the drafted one, in turn.
    assert_eq!(
        heard,
        [
            "Welcome to Acme",
            "Drafted welcome to Acme",
            "Hello from Acme",
            "Drafted welcome to Acme"
        ]
    );
    // In a language the segment has no lines in, the model's lines are said.
    let zh = d.template(&d.plan().segments[0].clone(), "zh", 0);
    assert_eq!(zh, "欢迎来到{shop}");
}

#[test]
fn every_line_is_written_in_the_echo_languages_too() {
    let mut plan = plan();
    let pitch = &mut plan.segments[1];
    pitch.translations.insert(
        "zh".into(),
        vec![LineSpec::Variants(vec!["{name}只要{price}元".into()])],
    );
    pitch.title = Some(Localized::ByLanguage(
        [
            ("en".into(), "{name}".into()),
            ("zh".into(), "{name}特价".into()),
        ]
        .into(),
    ));
    // The Chinese market's catalog: the kettle at its own price there.
    let mut products = plan.products.clone();
    products[0].price = 139.0;
    let market = Market {
        language: "zh".into(),
        currency: "¥".into(),
        products,
    };
    let mut d = Director::new(plan, "en", 0.0);
    d.echo_in(vec![market.clone()]);
    let mut now = 0.0;
    say(&mut d, &mut now, 2.0);
    // No translation: the file's own line, as a program speaking only zh would say it.
    assert_eq!(d.take_echoes(), [Some("Welcome to Acme".to_string())]);
    assert_eq!(say(&mut d, &mut now, 2.0).unwrap(), "The kettle is 129");
    assert_eq!(d.take_echoes(), [Some("电水壶只要139元".to_string())]);
    assert!(d.take_echoes().is_empty(), "taken once");
    // The second pitch line has no second translation: the translation's lines in turn.
    say(&mut d, &mut now, 2.0);
    assert_eq!(d.take_echoes(), [Some("电水壶只要139元".to_string())]);
    let zh = d.on_air_in(&market);
    assert_eq!(
        (zh.language.as_str(), zh.title.as_deref()),
        ("zh", Some("电水壶特价"))
    );
    assert_eq!(d.on_air().title.as_deref(), Some("kettle"));
    let (here, there) = (d.on_air().product.as_ref(), zh.product.as_ref());
    assert_eq!((here.unwrap().price, there.unwrap().price), (129.0, 139.0));
}

#[test]
fn an_echo_line_the_product_cannot_fill_is_not_said() {
    let mut plan = plan();
    plan.products[0].points =
        Localized::ByLanguage([("en".into(), vec!["light".into()]), ("zh".into(), vec![])].into());
    plan.segments[1].translations.insert(
        "zh".into(),
        vec![
            LineSpec::One("{name}只要{price}元".into()),
            LineSpec::One("卖点：{points}".into()),
        ],
    );
    let market = Market {
        language: "zh".into(),
        currency: "¥".into(),
        products: plan.products.clone(),
    };
    let mut d = Director::new(plan, "en", 0.0);
    d.echo_in(vec![market]);
    let mut now = 0.0;
    say(&mut d, &mut now, 2.0);
    say(&mut d, &mut now, 2.0);
    assert_eq!(d.take_echoes(), [Some("电水壶只要129元".to_string())]);
    // Said in English; in Chinese the kettle has no selling points, so no "卖点：".
    assert_eq!(say(&mut d, &mut now, 2.0).unwrap(), "light");
    assert_eq!(d.take_echoes(), [None]);
}

#[test]
fn a_line_the_product_cannot_fill_is_not_said() {
    let mut p = plan();
    p.products[0].stock = None;
    p.products[0].points = Vec::new().into();
    p.segments[1] = segment(
        SegmentKind::Pitch,
        &[
            &["The {name}"],
            &["Only {stock} left"],
            &["{points}"],
            &["Just {price}"],
        ],
    );
    let mut d = Director::new(p, "en", 0.0);
    let mut now = 0.0;
    assert_eq!(say(&mut d, &mut now, 2.0).unwrap(), "Welcome to Acme");
    assert_eq!(say(&mut d, &mut now, 2.0).unwrap(), "The kettle");
    // No "Only  left", no empty line for its missing selling points.
    assert_eq!(say(&mut d, &mut now, 2.0).unwrap(), "Just 129");
    assert_eq!(d.skipped.len(), 2);
    // A flash sale whose every line is unfillable still ends with its countdown.
    let mut p = plan();
    p.products[0].stock = None;
    p.segments[2].lines = vec![LineSpec::One("{stock} left".into())];
    let mut d = Director::new(p, "en", 0.0);
    let mut now = 0.0;
    for _ in 0..3 {
        say(&mut d, &mut now, 2.0).unwrap();
    }
    assert_eq!(d.on_air().kind, Some(SegmentKind::Pitch));
    for _ in 0..40 {
        now += 1.0;
        if let Some(line) = d.next_line(now, 600) {
            assert!(!line.text.contains("left"), "{}", line.text);
            d.started(line.serial, now, now + 1.0, 600);
            break;
        }
    }
    assert_eq!(
        d.on_air().kind,
        Some(SegmentKind::Opening),
        "the sale ended"
    );
}
