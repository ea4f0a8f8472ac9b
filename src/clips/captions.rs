//! Captions files (SubRip and WebVTT) from what the host said, as the audit log recorded
//! it: each line's start and length on the clip's clock, cut into cues short enough to
//! read on a phone.

use std::path::Path;

/// One line as said: start and length in seconds, and its text.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Said {
    pub media: f64,
    pub seconds: f64,
    pub text: String,
}

/// One caption on screen.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub start: f64,
    pub end: f64,
    pub text: String,
}

/// The lines of an audit log (filter records and unreadable rows are left out).
pub fn read_said(path: &Path) -> std::io::Result<Vec<Said>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .filter_map(|row| serde_json::from_str::<Said>(row).ok())
        .filter(|s| s.seconds.is_finite() && s.media.is_finite() && s.seconds > 0.0)
        .collect())
}

/// The cues of `said`: each line split at its sentences and clauses into pieces of at
/// most `max_chars` characters, each shown for its share of the line's time.
pub fn cues(said: &[Said], max_chars: usize) -> Vec<Cue> {
    let mut out = Vec::new();
    for line in said {
        let text = strip_cues(&line.text);
        let pieces = split(&text, max_chars.max(4));
        let total: usize = pieces.iter().map(|p| p.chars().count()).sum();
        let mut at = line.media;
        for piece in pieces {
            let share = piece.chars().count() as f64 / total.max(1) as f64;
            let end = at + line.seconds * share;
            out.push(Cue {
                start: at,
                end,
                text: piece,
            });
            at = end;
        }
    }
    out
}

/// How many characters a cue may hold: a phone's line of Latin text, or of Chinese.
pub fn max_chars(language: &str) -> usize {
    if language == "zh" { 16 } else { 42 }
}

/// The text without stage cues (`[Wave]`, `[+chime]`) a line may still carry.
fn strip_cues(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0u32;
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Pieces of at most `max` characters, broken after sentence and clause marks where it
/// can, else at the last space, else anywhere (Chinese has no spaces).
fn split(text: &str, max: usize) -> Vec<String> {
    let mut pieces = Vec::new();
    let mut rest: Vec<char> = text.chars().collect();
    while rest.len() > max {
        // A mark ends its piece; a space may fall just after the piece.
        let mark = rest[..max]
            .iter()
            .rposition(|c| ".!?,;:。！？，；：、".contains(*c))
            .filter(|&i| i + 1 >= max / 3)
            .map(|i| i + 1);
        let space = || {
            rest[..=max]
                .iter()
                .rposition(|c| *c == ' ')
                .filter(|&i| i > 0)
        };
        let cut = mark.or_else(space).unwrap_or(max);
        let piece: String = rest[..cut].iter().collect();
        pieces.push(piece.trim().to_string());
        rest.drain(..cut);
    }
    let last: String = rest.iter().collect();
    if !last.trim().is_empty() {
        pieces.push(last.trim().to_string());
    }
    pieces.retain(|p| !p.is_empty());
    pieces
}

fn stamp(seconds: f64, decimal: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    let (h, m, s, ms) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{h:02}:{m:02}:{s:02}{decimal}{ms:03}")
}

/// SubRip (`.srt`).
pub fn srt(cues: &[Cue]) -> String {
    let mut out = String::new();
    for (i, cue) in cues.iter().enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            stamp(cue.start, ','),
            stamp(cue.end, ','),
            cue.text
        ));
    }
    out
}

/// WebVTT (`.vtt`).
pub fn vtt(cues: &[Cue]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for cue in cues {
        // "-->" in the text would end the cue's timing line early.
        let text = cue.text.replace("-->", "->");
        out.push_str(&format!(
            "{} --> {}\n{}\n\n",
            stamp(cue.start, '.'),
            stamp(cue.end, '.'),
            text
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(media: f64, seconds: f64, text: &str) -> Said {
        Said {
            media,
            seconds,
            text: text.into(),
        }
    }

    #[test]
    fn long_lines_become_timed_pieces_that_cover_the_line() {
        let line = said(
            1.0,
            6.0,
            "[Wave] Meet our birthday cake: baked fresh every morning, real cream, delivered cold.",
        );
        let cues = cues(&[line], 42);
        assert!(cues.len() >= 2, "{cues:?}");
        assert!(
            cues.iter().all(|c| c.text.chars().count() <= 42),
            "{cues:?}"
        );
        assert!(!cues[0].text.contains("Wave"));
        assert_eq!(cues[0].start, 1.0);
        assert!((cues.last().unwrap().end - 7.0).abs() < 1e-9);
        assert!(
            cues.windows(2)
                .all(|w| (w[0].end - w[1].start).abs() < 1e-9)
        );
    }

    #[test]
    fn chinese_is_cut_at_its_own_punctuation_or_by_length() {
        let cues = cues(
            &[said(
                0.0,
                4.0,
                "给大家介绍我们的生日蛋糕：每天早上新鲜烘焙，真奶油，冷链配送。",
            )],
            16,
        );
        assert!(
            cues.iter().all(|c| c.text.chars().count() <= 16),
            "{cues:?}"
        );
        assert!(cues[0].text.ends_with('：'), "{cues:?}");
        let one = split("一二三四五六七八九十一二三四五六七八九十", 16);
        assert_eq!(one.len(), 2);
    }

    #[test]
    fn srt_and_vtt_have_their_own_timestamps() {
        let cues = vec![Cue {
            start: 61.5,
            end: 3725.25,
            text: "a --> b".into(),
        }];
        assert_eq!(srt(&cues), "1\n00:01:01,500 --> 01:02:05,250\na --> b\n\n");
        assert_eq!(
            vtt(&cues),
            "WEBVTT\n\n00:01:01.500 --> 01:02:05.250\na -> b\n\n"
        );
    }
}
