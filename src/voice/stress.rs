//! Where a line's stressed syllables fall, from its sound alone: the loudest peaks of its
//! voice, a beat's length apart. The talking body lands its beats there, as people's hands
//! land on the words they stress; read from the samples, so it works for every engine
//! (eSpeak, a command, an HTTP voice), none of which is asked for its prosody.

/// Hop and window of the loudness envelope, seconds: a syllable's nucleus spans several.
const HOP_S: f32 = 0.02;
const WINDOW_S: f32 = 0.04;
/// A peak counts as stressed from this share of the line's loudest moment up.
const LOUD_SHARE: f32 = 0.45;
/// At most one stress in this many seconds: the quickest beats people make.
pub const MIN_GAP_S: f32 = 0.6;
/// The most stresses one line can have (a line is at most a few minutes long).
const MAX_STRESSES: usize = 1024;

/// The times (seconds from the start of `samples`) of the line's stressed syllables, in
/// order: local peaks of its loudness, loudest first, none within [`MIN_GAP_S`] of a
/// louder one. Silence and a line shorter than a syllable have none.
pub fn stresses(samples: &[f32], rate: u32) -> Vec<f32> {
    let envelope = envelope(samples, rate);
    let loudest = envelope.iter().copied().fold(0.0, f32::max);
    if loudest <= 1e-4 {
        return Vec::new();
    }
    let mut peaks: Vec<(usize, f32)> = (1..envelope.len().saturating_sub(1))
        .filter(|&i| {
            let e = envelope[i];
            e >= loudest * LOUD_SHARE && e >= envelope[i - 1] && e > envelope[i + 1]
        })
        .map(|i| (i, envelope[i]))
        .collect();
    peaks.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<f32> = Vec::new();
    for (i, _) in peaks {
        let time = i as f32 * HOP_S;
        if chosen.iter().all(|c| (c - time).abs() >= MIN_GAP_S) {
            chosen.push(time);
            if chosen.len() == MAX_STRESSES {
                break;
            }
        }
    }
    chosen.sort_by(f32::total_cmp);
    chosen
}

/// RMS loudness every [`HOP_S`] over [`WINDOW_S`] centred there, then smoothed over three
/// hops, so a syllable is one peak and not its pitch periods.
fn envelope(samples: &[f32], rate: u32) -> Vec<f32> {
    let hop = ((HOP_S * rate as f32) as usize).max(1);
    let half = ((WINDOW_S * rate as f32) as usize / 2).max(1);
    let raw: Vec<f32> = (0..samples.len().div_ceil(hop))
        .map(|k| {
            let centre = k * hop;
            let window = &samples[centre.saturating_sub(half)..(centre + half).min(samples.len())];
            let power = window.iter().map(|s| s * s).sum::<f32>() / window.len().max(1) as f32;
            if power.is_finite() { power.sqrt() } else { 0.0 }
        })
        .collect();
    (0..raw.len())
        .map(|i| {
            let near = &raw[i.saturating_sub(1)..(i + 2).min(raw.len())];
            near.iter().sum::<f32>() / near.len() as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: u32 = 48_000;

    /// Syllables as 150 ms bursts of a 200 Hz tone: (start, amplitude).
    fn speech(seconds: f32, syllables: &[(f32, f32)]) -> Vec<f32> {
        let mut samples = vec![0.0; (seconds * RATE as f32) as usize];
        for &(start, amplitude) in syllables {
            let from = (start * RATE as f32) as usize;
            for i in from..(from + (0.15 * RATE as f32) as usize).min(samples.len()) {
                let t = i as f32 / RATE as f32;
                let shape = ((t - start) / 0.15 * std::f32::consts::PI).sin();
                samples[i] = amplitude * shape * (t * 200.0 * std::f32::consts::TAU).sin();
            }
        }
        samples
    }

    #[test]
    fn the_loud_syllables_are_the_stressed_ones() {
        // Quiet syllables every 0.25 s, three loud ones among them.
        let mut syllables: Vec<(f32, f32)> =
            (0..16).map(|k| (0.1 + k as f32 * 0.25, 0.1)).collect();
        for (k, amplitude) in [(3, 0.6), (7, 0.5), (12, 0.7)] {
            syllables[k].1 = amplitude;
        }
        let got = stresses(&speech(4.5, &syllables), RATE);
        let want = [0.85 + 0.075, 1.85 + 0.075, 3.1 + 0.075];
        assert_eq!(got.len(), 3, "{got:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 0.04, "{got:?} against {want:?}");
        }
    }

    #[test]
    fn a_softer_stress_too_near_a_louder_one_gives_way() {
        let got = stresses(&speech(2.0, &[(0.2, 0.5), (0.5, 0.8), (1.4, 0.6)]), RATE);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            (got[0] - 0.575).abs() < 0.04 && (got[1] - 1.475).abs() < 0.04,
            "{got:?}"
        );
    }

    #[test]
    fn silence_and_bad_samples_have_no_stress() {
        assert!(stresses(&[], RATE).is_empty());
        assert!(stresses(&vec![0.0; RATE as usize], RATE).is_empty());
        assert!(stresses(&[f32::NAN; 4800], RATE).is_empty());
    }
}
