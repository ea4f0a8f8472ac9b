//! The show file's checks on values that parse but cannot work, one function per part of
//! the file, each naming the key it refuses and why. [`ShowConfig::validate`] runs them
//! in the file's own order and adds the file's path.

use super::ShowConfig;
use std::fmt::Display;
use std::ops::RangeInclusive;

/// A refused key and the reason.
pub(super) type Refusal = (String, String);

/// Every check, in the file's order; the first refusal wins.
pub(super) fn validate(show: &ShowConfig) -> Result<(), Refusal> {
    comments(show)?;
    super::program::validate(show)?;
    super::room::validate(show).map_err(|(field, reason)| (field.into(), reason))?;
    video(show)?;
    sound(show)?;
    render(show)?;
    files(show)?;
    place(show)?;
    alerts(show)
}

fn refuse(field: &str, reason: impl Into<String>) -> Result<(), Refusal> {
    Err((field.into(), reason.into()))
}

/// A setting whose 0 means `auto`, else inside `range`.
fn auto_or_within(field: &str, value: f32, range: RangeInclusive<f32>) -> Result<(), Refusal> {
    if value == 0.0 || range.contains(&value) {
        return Ok(());
    }
    refuse(
        field,
        format!(
            "{value} is neither 0 (auto) nor inside {}..={}",
            range.start(),
            range.end()
        ),
    )
}

/// `value` inside `range`, or a refusal saying "VALUE is outside LOW..=HIGH".
fn within<T: PartialOrd + Display>(
    field: &str,
    value: T,
    range: RangeInclusive<T>,
) -> Result<(), Refusal> {
    if range.contains(&value) {
        return Ok(());
    }
    refuse(
        field,
        format!("{value} is outside {}..={}", range.start(), range.end()),
    )
}

/// `[comments]`, `[takeover]` and `[recording]`: finite, non-negative limits, a share of
/// the minute within 0–1.
fn comments(show: &ShowConfig) -> Result<(), Refusal> {
    let c = &show.comments;
    for (field, v) in [
        ("per_user_seconds", c.per_user_seconds),
        ("repeat_seconds", c.repeat_seconds),
    ] {
        if !(v.is_finite() && (0.0..=86_400.0).contains(&v)) {
            return refuse(field, "must be between 0 and 86400 seconds");
        }
    }
    let takeover = &show.takeover;
    if let Some(a) = (takeover.allow.iter()).find(|a| a.trim().parse::<std::net::IpAddr>().is_err())
    {
        return refuse("takeover.allow", format!("`{a}` is not an IP address"));
    }
    let t = takeover.idle_seconds;
    if !(t.is_finite() && t >= 0.0) {
        return refuse("takeover.idle_seconds", "must be 0 or more");
    }
    let r = &show.recording;
    if !(r.segment_minutes.is_finite() && (0.0..=10_080.0).contains(&r.segment_minutes)) {
        return refuse(
            "recording.segment_minutes",
            "must be between 0 and 10080 minutes",
        );
    }
    if !(r.keep_gb.is_finite() && r.keep_gb >= 0.0) {
        return refuse("recording.keep_gb", "must be 0 or more");
    }
    if !(0.0..=1.0).contains(&c.max_share) {
        return refuse("comments.max_share", "must be between 0 and 1");
    }
    if c.max_waiting > 100
        || !(1..=200).contains(&c.name_chars)
        || !(1..=2000).contains(&c.text_chars)
    {
        return refuse(
            "max_waiting",
            "max_waiting ≤ 100, name_chars 1–200 and text_chars 1–2000",
        );
    }
    Ok(())
}

/// x264's presets, fastest first.
const PRESETS: [&str; 10] = [
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
];

/// `[video]`: a picture the encoder takes (even sides), a rate, bitrate, buffer and
/// keyframe interval it can keep, an x264 preset that exists.
fn video(show: &ShowConfig) -> Result<(), Refusal> {
    let v = &show.video;
    for (field, value, max) in [
        ("video.width", v.width, 7680),
        ("video.height", v.height, 4320),
    ] {
        if !(16..=max).contains(&value) || !value.is_multiple_of(2) {
            return refuse(
                field,
                format!("{value} is not an even number between 16 and {max}"),
            );
        }
    }
    within("video.fps", v.fps, 1..=240)?;
    within("video.bitrate_kbps", v.bitrate_kbps, 100..=100_000)?;
    within("video.buffer_seconds", v.buffer_seconds, 0.1..=10.0)?;
    within("video.keyframe_seconds", v.keyframe_seconds, 0.1..=20.0)?;
    within("video.threads", v.threads, 0..=64)?;
    within("video.render_ahead_ms", v.render_ahead_ms, 0..=2000)?;
    if v.encoder == "libx264" && !PRESETS.contains(&v.preset.as_str()) {
        return refuse(
            "video.preset",
            format!("`{}` is not one of {}", v.preset, PRESETS.join(", ")),
        );
    }
    if v.b_frames > 16 {
        return refuse("video.b_frames", format!("{} is over 16", v.b_frames));
    }
    Ok(())
}

/// `[audio]` and `[voice]`: levels, loudness targets and times a mixer can keep, and no
/// empty line to say.
fn sound(show: &ShowConfig) -> Result<(), Refusal> {
    let (a, voice) = (&show.audio, &show.voice);
    within("audio.bitrate_kbps", a.bitrate_kbps, 32..=512)?;
    for (field, value, range) in [
        ("audio.music_gain_db", a.music_gain_db, -60.0..=12.0),
        ("audio.loudness_lufs", a.loudness_lufs, -40.0..=-5.0),
        ("audio.true_peak_dbtp", a.true_peak_dbtp, -10.0..=0.0),
        ("audio.duck_db", a.duck_db, -40.0..=0.0),
        ("audio.duck_attack_ms", a.duck_attack_ms, 1.0..=5000.0),
        ("audio.duck_release_ms", a.duck_release_ms, 1.0..=10000.0),
        ("voice.pause_seconds", voice.pause_seconds, 0.0..=3600.0),
        ("voice.speech_gain_db", voice.speech_gain_db, -40.0..=20.0),
        ("voice.timeout_seconds", voice.timeout_seconds, 0.5..=600.0),
    ] {
        within(field, value, range)?;
    }
    if let Some(i) = voice.lines.iter().position(|l| l.trim().is_empty()) {
        return refuse(&format!("voice.lines[{i}]"), "is empty");
    }
    Ok(())
}

/// `[render]`: a sample count, scales the renderer can draw at, and a 360° picture of 2:1.
fn render(show: &ShowConfig) -> Result<(), Refusal> {
    let r = &show.render;
    if ![1, 2, 4, 8].contains(&r.msaa) {
        return refuse("render.msaa", format!("{} is not 1, 2, 4 or 8", r.msaa));
    }
    within("render.scale", r.scale, 0.25..=1.0)?;
    auto_or_within("render.glide_scale", r.glide_scale, 0.25..=1.0)?;
    auto_or_within("render.host_pixels", r.host_pixels, 0.05..=1.0)?;
    let v = &show.video;
    if r.vr360 && v.width != 2 * v.height {
        return refuse(
            "render.vr360",
            format!(
                "360° video is 2:1; {}x{} is not (try 2048x1024, or 3840x1920 on a GPU)",
                v.width, v.height
            ),
        );
    }
    Ok(())
}

/// Every file the show names exists: its scene, sound effects, music, font and logo.
fn files(show: &ShowConfig) -> Result<(), Refusal> {
    if !show.scene.is_file() {
        let reason = format!("scene file {} does not exist", show.scene.display());
        return refuse("scene", reason);
    }
    if let Some((name, path)) = show.audio.effects.iter().find(|(_, p)| !p.is_file()) {
        let reason = format!("file {} does not exist", path.display());
        return refuse(&format!("audio.effects.{name}"), reason);
    }
    let overlay = &show.plan.overlay;
    for (field, file, what) in [
        ("overlay.font", &overlay.font, "font file"),
        ("overlay.logo", &overlay.logo, "picture"),
        ("audio.music", &show.audio.music, "music file"),
    ] {
        if let Some(path) = file.as_ref().filter(|f| !f.is_file()) {
            return refuse(field, format!("{what} {} does not exist", path.display()));
        }
    }
    Ok(())
}

/// `timezone` names a zone and `language` is one the show speaks.
fn place(show: &ShowConfig) -> Result<(), Refusal> {
    if let Some(name) = &show.timezone
        && let Err(e) = jiff::tz::TimeZone::get(name)
    {
        return refuse(
            "timezone",
            format!("`{name}` is not a time zone (an IANA name, e.g. Asia/Shanghai): {e}"),
        );
    }
    if !["zh", "en"].contains(&show.language.as_str()) {
        return refuse(
            "language",
            format!("`{}` is not `zh` or `en`", show.language),
        );
    }
    Ok(())
}

/// `[alerts]`: a webhook that is a URL, times and shares an alarm can be judged on.
fn alerts(show: &ShowConfig) -> Result<(), Refusal> {
    let alerts = &show.alerts;
    if let Some(url) = &alerts.webhook
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return refuse(
            "alerts.webhook",
            format!("`{url}` is not an http:// or https:// URL"),
        );
    }
    if !(alerts.choppy_seconds.is_finite() && alerts.choppy_seconds >= 0.0) {
        return refuse(
            "alerts.choppy_seconds",
            "must be a number of seconds, 0 or more",
        );
    }
    let share = alerts.choppy_repeated_percent;
    if !(share > 0.0 && share <= 100.0) {
        return refuse(
            "alerts.choppy_repeated_percent",
            "must be over 0 and at most 100",
        );
    }
    Ok(())
}
