use super::*;
use crate::encode::EncodeSettings;
use crate::media::Silence;

fn settings() -> EncodeSettings {
    EncodeSettings {
        width: 64,
        height: 36,
        source_width: 64,
        source_height: 36,
        fps: 30,
        video_bitrate_kbps: 300,
        buffer_seconds: 2.0,
        encoder: "libx264".into(),
        preset: "ultrafast".into(),
        tune: "zerolatency".into(),
        keyframe_seconds: 2.0,
        b_frames: 0,
        threads: 0,
        audio_bitrate_kbps: 96,
    }
}

fn encoding() -> Encoding<Vec<MediaPacket>> {
    let s = settings();
    Encoding::new(
        VideoEncoder::new(&s).unwrap(),
        AudioEncoder::new(s.audio_bitrate_kbps).unwrap(),
        Box::new(Silence),
        MediaClock::new(s.fps),
        Vec::new(),
    )
}

fn pts_of(packets: &[MediaPacket], kind: StreamKind) -> Vec<i64> {
    packets
        .iter()
        .filter(|p| p.kind == kind)
        .map(|p| p.packet.pts().unwrap())
        .collect()
}

#[test]
fn skipped_frames_are_repeated_and_audio_matches_video() {
    let mut enc = encoding();
    for index in [0u64, 1, 2, 5, 6] {
        enc.push(VideoFrame::solid(index, 64, 36, [200, 10, 10, 255]))
            .unwrap();
    }
    let (summary, packets) = enc.finish().unwrap();
    assert_eq!(summary.frames, 7);
    assert_eq!(summary.repeated, 2);
    assert_eq!(summary.audio_samples, 7 * 1600);

    let video = pts_of(&packets, StreamKind::Video);
    assert_eq!(video, (0..7).collect::<Vec<_>>());
    assert!(
        packets
            .iter()
            .find(|p| p.kind == StreamKind::Video)
            .unwrap()
            .packet
            .is_key()
    );

    let audio = pts_of(&packets, StreamKind::Audio);
    assert!(
        audio.windows(2).all(|w| w[0] < w[1]),
        "audio pts not increasing: {audio:?}"
    );
}

/// A skipped frame repeats the picture before it, not the one after: a repeat is a near
/// empty frame, and the change to the new picture comes where that picture does.
#[test]
fn skipped_frames_repeat_the_previous_picture() {
    let mut enc = encoding();
    enc.push(VideoFrame::solid(0, 64, 36, [200, 10, 10, 255]))
        .unwrap();
    enc.push(VideoFrame::solid(3, 64, 36, [10, 10, 200, 255]))
        .unwrap();
    let (summary, packets) = enc.finish().unwrap();
    assert_eq!(summary.repeated, 2);
    let sizes: Vec<usize> = packets
        .iter()
        .filter(|p| p.kind == StreamKind::Video)
        .map(|p| p.packet.size())
        .collect();
    assert_eq!(sizes.len(), 4);
    assert!(
        sizes[1] < sizes[3] && sizes[2] < sizes[3],
        "packet sizes {sizes:?}: the repeats are not of the first picture"
    );
}

#[test]
fn late_frames_are_dropped_not_encoded_twice() {
    let mut enc = encoding();
    enc.push(VideoFrame::solid(0, 64, 36, [0; 4])).unwrap();
    enc.push(VideoFrame::solid(1, 64, 36, [0; 4])).unwrap();
    enc.push(VideoFrame::solid(1, 64, 36, [0; 4])).unwrap();
    let (summary, _) = enc.finish().unwrap();
    assert_eq!(summary.frames, 2);
}

#[test]
fn wrong_frame_size_is_an_error_not_a_crash() {
    let mut enc = encoding();
    let err = enc.push(VideoFrame::solid(0, 32, 36, [0; 4])).unwrap_err();
    assert!(err.to_string().contains("32x36"), "{err}");
}

#[test]
fn keyframes_follow_the_configured_interval() {
    let mut enc = encoding();
    for index in 0..130u64 {
        let shade = (index % 255) as u8;
        enc.push(VideoFrame::solid(
            index,
            64,
            36,
            [shade, 0, 255 - shade, 255],
        ))
        .unwrap();
    }
    let (_, packets) = enc.finish().unwrap();
    let keys: Vec<i64> = packets
        .iter()
        .filter(|p| p.kind == StreamKind::Video && p.packet.is_key())
        .map(|p| p.packet.pts().unwrap())
        .collect();
    assert_eq!(keys, vec![0, 60, 120]);
}

#[test]
fn smaller_frames_are_scaled_up_to_the_output_size() {
    let mut s = settings();
    s.source_width = 32;
    s.source_height = 18;
    let mut enc = Encoding::new(
        VideoEncoder::new(&s).unwrap(),
        AudioEncoder::new(s.audio_bitrate_kbps).unwrap(),
        Box::new(Silence),
        MediaClock::new(s.fps),
        Vec::new(),
    );
    enc.push(VideoFrame::solid(0, 32, 18, [10, 200, 10, 255]))
        .unwrap();
    assert!(enc.push(VideoFrame::solid(1, 64, 36, [0; 4])).is_err());
    let (summary, packets) = enc.finish().unwrap();
    assert_eq!(summary.frames, 1);
    assert!(!packets.is_empty());
}
