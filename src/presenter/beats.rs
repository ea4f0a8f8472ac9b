//! The talking body: while she speaks, her forearms come up a little (the posture of
//! someone explaining) and beat with the speech, one arm or both, as people's do, her
//! hands opening a little from their relaxed curl as she talks and more as their arm
//! strokes; between lines they settle, and her weight shifts slowly from side to side.
//!
//! A beat lands on a stressed syllable (the line's [`stresses`](crate::speech::Line),
//! its loudest peaks): its stroke peaks just before the syllable, as speakers' hands do.
//! Each line draws its beats' sizes and arms from its start (a seed), so no two lines move
//! alike, and the same render is the same every time.

/// How far the forearms come up while speaking, and the largest beat on top, in degrees.
const TALKING_LIFT: f32 = 9.0;
const BEAT_DEGREES: (f32, f32) = (5.0, 13.0);
/// A beat rises this fast and falls this slowly (seconds), peaking this long before the
/// syllable it stresses (the hand leads the voice a little).
const RISE_S: f32 = 0.14;
const FALL_S: f32 = 0.36;
const LEAD_S: f32 = 0.04;
/// Lift eases in at the line's start and out at its end over this long.
const EASE_S: f32 = 0.5;
/// How far a hand opens from its relaxed curl (0 relaxed, 1 straight) while she talks,
/// and on top at the peak of its arm's beat.
const HAND_TALKING: f32 = 0.2;
const HAND_BEAT: f32 = 0.5;

fn draw(seed: u64, k: u32) -> f32 {
    let mut x = seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    x = x.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    x ^= x >> 33;
    (x >> 40) as f32 / (1u64 << 24) as f32
}

fn smooth(x: f32) -> f32 {
    let x = x.clamp(0.0, 1.0);
    x * x * (3.0 - 2.0 * x)
}

/// Where a line's talking body is at one moment: how far the talking posture has eased in
/// (0–1), and the beat under way, if any.
struct Moment {
    ease: f32,
    beat: Option<Beat>,
}

/// A beat: how far through its stroke (0–1–0), its size in degrees, and how much each
/// arm (left, right) takes part.
struct Beat {
    shape: f32,
    size: f32,
    arms: (f32, f32),
}

/// The talking body `offset` seconds into a line of `length` seconds with these
/// `stresses`, its beats' sizes and arms drawn from `seed`; none outside the line. A
/// stress too near either end for a whole beat gets none.
fn moment(seed: u64, offset: f32, length: f32, stresses: &[f32]) -> Option<Moment> {
    if !(0.0..length).contains(&offset) {
        return None;
    }
    let ease = smooth(offset / EASE_S) * smooth((length - offset) / EASE_S);
    let beat = stresses.iter().enumerate().find_map(|(k, stress)| {
        let peak = stress - LEAD_S;
        let whole = peak - RISE_S >= 0.0 && peak + FALL_S <= length;
        let into = offset - (peak - RISE_S);
        (whole && (0.0..RISE_S + FALL_S).contains(&into)).then_some((k as u32, into))
    });
    let beat = beat.map(|(k, into)| Beat {
        shape: if into < RISE_S {
            smooth(into / RISE_S)
        } else {
            1.0 - smooth((into - RISE_S) / FALL_S)
        },
        size: BEAT_DEGREES.0 + (BEAT_DEGREES.1 - BEAT_DEGREES.0) * draw(seed, 3 * k),
        arms: match draw(seed, 3 * k + 1) {
            a if a < 0.45 => (0.0, 1.0),
            a if a < 0.8 => (1.0, 0.0),
            _ => (0.8, 0.8),
        },
    });
    Some(Moment { ease, beat })
}

/// How far each forearm (left, right) is lifted, in degrees, `offset` seconds into a line
/// of `length` seconds with these `stresses`, its beats' sizes and arms drawn from `seed`.
pub fn arms_at(seed: u64, offset: f32, length: f32, stresses: &[f32]) -> (f32, f32) {
    let m = moment(seed, offset, length, stresses);
    per_arm(m, TALKING_LIFT, |b| b.size * b.shape)
}

/// How far each hand (left, right) opens from its relaxed curl at the same moment, 0–1:
/// a little while she talks, more as its arm beats (a speaker's hand opens on the stroke).
pub fn hands_at(seed: u64, offset: f32, length: f32, stresses: &[f32]) -> (f32, f32) {
    let m = moment(seed, offset, length, stresses);
    per_arm(m, HAND_TALKING, |b| HAND_BEAT * b.shape)
}

/// Each arm's (left, right) share of a moment: `posture` as far as the talking posture
/// has eased in, plus `stroke` of the beat under way as far as that arm takes part.
fn per_arm(m: Option<Moment>, posture: f32, stroke: impl Fn(&Beat) -> f32) -> (f32, f32) {
    let Some(m) = m else {
        return (0.0, 0.0);
    };
    let (left, right) = m.beat.as_ref().map_or((0.0, 0.0), |b| {
        let stroke = stroke(b);
        (b.arms.0 * stroke, b.arms.1 * stroke)
    });
    (posture * m.ease + left, posture * m.ease + right)
}

/// The chest's lean to her side (degrees) at media time `t`: a slow shift of weight, never
/// quite periodic (two incommensurate waves).
pub fn weight_shift(t: f64) -> f32 {
    ((t * 0.13).sin() * 1.1 + (t * 0.047 + 1.3).sin() * 0.7) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stresses every 0.7–1.1 s, as a line's loud syllables come.
    const STRESSES: [f32; 4] = [0.6, 1.4, 2.1, 3.2];

    fn trace(seed: u64, length: f32) -> Vec<(f32, f32)> {
        (0..(length * 100.0) as u32)
            .map(|i| arms_at(seed, i as f32 / 100.0, length, &STRESSES))
            .collect()
    }

    #[test]
    fn arms_beat_while_speaking_and_rest_outside_lines() {
        let t = trace(7, 4.0);
        assert_eq!(arms_at(7, -0.1, 4.0, &STRESSES), (0.0, 0.0));
        assert_eq!(arms_at(7, 4.0, 4.0, &STRESSES), (0.0, 0.0));
        assert!(t[0].0 < 0.1 && t[399].0 < 0.5, "eased in and out");
        let most = t.iter().map(|(l, r)| l.max(*r)).fold(0.0, f32::max);
        assert!(
            most > TALKING_LIFT + 4.0 && most <= TALKING_LIFT + 13.0,
            "{most}"
        );
        // Both arms move at some point, and the beats come and go (not a held pose).
        assert!(t.iter().any(|(l, _)| *l > TALKING_LIFT + 2.0));
        assert!(t.iter().any(|(_, r)| *r > TALKING_LIFT + 2.0));
        let mid = &t[100..300];
        let low = mid.iter().map(|(l, r)| l.min(*r)).fold(f32::MAX, f32::min);
        assert!(low < TALKING_LIFT + 0.5, "{low}");
    }

    #[test]
    fn each_beat_peaks_just_before_its_stress() {
        let t = trace(3, 4.0);
        let beat = |i: usize| (t[i].0 + t[i].1) - 2.0 * TALKING_LIFT;
        let peaks: Vec<f32> = (1..t.len() - 1)
            .filter(|&i| beat(i) > 2.0 && beat(i) >= beat(i - 1) && beat(i) > beat(i + 1))
            .map(|i| i as f32 / 100.0)
            .collect();
        let want: Vec<f32> = STRESSES.iter().map(|s| s - LEAD_S).collect();
        assert_eq!(peaks.len(), want.len(), "{peaks:?} against {want:?}");
        for (p, w) in peaks.iter().zip(&want) {
            assert!((p - w).abs() <= 0.015, "{peaks:?} against {want:?}");
        }
        // No stress, no beat: the arms only rise for the line and settle.
        let none: Vec<f32> = (0..400)
            .map(|i| arms_at(3, i as f32 / 100.0, 4.0, &[]).0)
            .collect();
        assert!(
            none.iter().all(|l| *l <= TALKING_LIFT + 1e-3),
            "beat without a stress"
        );
    }

    #[test]
    fn every_line_beats_its_own_way() {
        let a = trace(1, 3.0);
        let b = trace(2, 3.0);
        let differ = a
            .iter()
            .zip(&b)
            .filter(|(x, y)| (x.0 - y.0).abs() + (x.1 - y.1).abs() > 1.0)
            .count();
        assert!(differ > 30, "{differ}");
        assert_eq!(trace(1, 3.0), a, "repeatable");
    }

    #[test]
    fn hands_open_as_their_arm_beats_and_relax_between_lines() {
        let (seed, length) = (7, 4.0);
        assert_eq!(hands_at(seed, -0.1, length, &STRESSES), (0.0, 0.0));
        assert_eq!(hands_at(seed, length, length, &STRESSES), (0.0, 0.0));
        for i in 0..400 {
            let at = i as f32 / 100.0;
            let (arms, hands) = (
                arms_at(seed, at, length, &STRESSES),
                hands_at(seed, at, length, &STRESSES),
            );
            for (lift, open) in [(arms.0, hands.0), (arms.1, hands.1)] {
                assert!(
                    (0.0..=HAND_TALKING + HAND_BEAT).contains(&open),
                    "{at}: {open}"
                );
                // Open past the talking posture only while that arm beats.
                let ease = smooth(at / EASE_S) * smooth((length - at) / EASE_S);
                let beating = lift > TALKING_LIFT * ease + 0.01;
                assert!(
                    beating || open <= HAND_TALKING + 0.05,
                    "{at}: {lift}° {open}"
                );
            }
        }
        let most = (0..400)
            .map(|i| hands_at(seed, i as f32 / 100.0, length, &STRESSES))
            .fold(0.0_f32, |m, (l, r)| m.max(l).max(r));
        assert!(most > HAND_TALKING + 0.3, "{most}");
    }

    #[test]
    fn the_weight_shift_is_slow_and_small() {
        let most = (0..10_000)
            .map(|i| weight_shift(i as f64).abs())
            .fold(0.0, f32::max);
        assert!(most <= 1.8 && most > 1.0, "{most}");
        let step = (weight_shift(100.04) - weight_shift(100.0)).abs();
        assert!(step < 0.01, "{step}");
    }
}
