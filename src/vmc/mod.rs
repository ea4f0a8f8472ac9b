//! Live motion capture over the VMC protocol (OSC over UDP), as VSeeFace, Warudo, the VMC
//! app and others send it: bone rotations, the root, and blend-shape values.
//!
//! A receiver thread keeps the latest pose in a shared [`LiveState`]; the presenter reads it
//! each frame, retargets it from VRM's normalised T-pose onto the avatar, and blends it over
//! the clips while packets keep coming (see `presenter::live`).

pub mod osc;

use crate::mocap::humanoid::HumanBone;
use bevy::math::{Quat, Vec3};
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use thiserror::Error;

#[derive(Debug, Error)]
#[error("VMC: cannot listen on {addr}: {source}")]
pub struct VmcError {
    pub addr: String,
    pub source: std::io::Error,
}

/// The latest live pose, in twincast's axes (right-handed, Y up, the performer's left at
/// +X): Unity's left-handed values are mirrored on the way in.
#[derive(Debug, Default, Clone)]
pub struct LivePose {
    /// Local rotations of the humanoid bones the sender sends.
    pub bones: HashMap<HumanBone, Quat>,
    pub root_rotation: Option<Quat>,
    pub root_position: Option<Vec3>,
    /// The hips' position relative to the root (`Bone/Pos` of `Hips`), in metres.
    pub hips_position: Option<Vec3>,
    /// Blend-shape values as of the last `/VMC/Ext/Blend/Apply`.
    pub blends: HashMap<String, f32>,
    /// When the last good message arrived.
    pub received: Option<Instant>,
}

impl LivePose {
    /// Whether the performer drives the host: a good message has arrived, and the last
    /// one within `fallback_after` seconds or the host is held to them (a takeover).
    pub fn drives(&self, fallback_after: f32, hold: bool) -> bool {
        (self.received).is_some_and(|t| hold || t.elapsed().as_secs_f32() < fallback_after)
    }
}

#[derive(Debug, Default)]
pub struct LiveState {
    pub pose: Mutex<LivePose>,
    pub packets: AtomicU64,
    pub malformed: AtomicU64,
    /// Datagrams from senders not allowed (`[takeover] allow`), dropped unread.
    pub refused: AtomicU64,
}

/// Blend-shape names longer than this are refused (real ones are a few characters): the
/// names are copied every frame.
const MAX_BLEND_NAME: usize = 64;

impl LiveState {
    /// Applies one datagram. Returns whether it was understood.
    pub fn apply(&self, packet: &[u8], pending_blends: &mut HashMap<String, f32>) -> bool {
        let Ok(messages) = osc::decode(packet) else {
            self.malformed.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        self.packets.fetch_add(1, Ordering::Relaxed);
        let mut pose = self.pose.lock().unwrap_or_else(|e| e.into_inner());
        let (mut used, mut bad) = (false, false);
        for m in &messages {
            match apply_message(&mut pose, m, pending_blends) {
                Applied::Used => used = true,
                Applied::Ignored => {}
                Applied::Bad => bad = true,
            }
        }
        if used {
            pose.received = Some(Instant::now());
        }
        if bad {
            // VMC addresses with the wrong arguments: malformed, not merely other traffic.
            self.malformed.fetch_add(1, Ordering::Relaxed);
        }
        !bad
    }

    pub fn snapshot(&self) -> LivePose {
        self.pose.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Unity (left-handed) to twincast (right-handed): mirror X.
fn position(x: f32, y: f32, z: f32) -> Vec3 {
    Vec3::new(-x, y, z)
}

fn rotation(x: f32, y: f32, z: f32, w: f32) -> Option<Quat> {
    let q = Quat::from_xyzw(x, -y, -z, w);
    let len = q.length();
    (len.is_finite() && len > 1e-3).then(|| q / len)
}

fn floats(args: &[osc::Arg]) -> Option<Vec<f32>> {
    args.iter()
        .map(|a| a.as_f32().filter(|f| f.is_finite()))
        .collect()
}

enum Applied {
    Used,
    /// Valid traffic we have no use for (status, time, cameras, trackers).
    Ignored,
    Bad,
}

fn apply_message(
    pose: &mut LivePose,
    m: &osc::Message,
    pending_blends: &mut HashMap<String, f32>,
) -> Applied {
    let ok = |used: bool| if used { Applied::Used } else { Applied::Bad };
    match m.address.as_str() {
        "/VMC/Ext/Bone/Pos" => {
            let (Some(name), Some(v)) = (
                m.args.first().and_then(osc::Arg::as_str),
                floats(m.args.get(1..8).unwrap_or(&[])),
            ) else {
                return Applied::Bad;
            };
            let Some(q) = (v.len() == 7)
                .then(|| rotation(v[3], v[4], v[5], v[6]))
                .flatten()
            else {
                return Applied::Bad;
            };
            // Bones twincast's humanoid has no slot for (fingers, eyes, jaw) are valid
            // messages we do not use.
            match HumanBone::from_vrm_name(name) {
                Some(bone) => {
                    if bone == HumanBone::Hips {
                        let p = position(v[0], v[1], v[2]);
                        // Metres of a performer in a room; anything else is not a position.
                        if !(p.is_finite() && p.length() < 100.0) {
                            return Applied::Bad;
                        }
                        pose.hips_position = Some(p);
                    }
                    pose.bones.insert(bone, q);
                    Applied::Used
                }
                None => Applied::Ignored,
            }
        }
        "/VMC/Ext/Root/Pos" => {
            let Some(v) = floats(m.args.get(1..8).unwrap_or(&[])).filter(|v| v.len() == 7) else {
                return Applied::Bad;
            };
            let at = position(v[0], v[1], v[2]);
            if !(at.is_finite() && at.length() < 100.0) {
                return Applied::Bad;
            }
            pose.root_position = Some(at);
            pose.root_rotation = rotation(v[3], v[4], v[5], v[6]);
            ok(pose.root_rotation.is_some())
        }
        "/VMC/Ext/Blend/Val" => {
            let (Some(name), Some(value)) = (
                m.args.first().and_then(osc::Arg::as_str),
                m.args.get(1).and_then(osc::Arg::as_f32),
            ) else {
                return Applied::Bad;
            };
            if !value.is_finite() || name.len() > MAX_BLEND_NAME || pending_blends.len() > 1024 {
                return Applied::Bad;
            }
            pending_blends.insert(name.to_string(), value.clamp(0.0, 1.0));
            Applied::Used
        }
        "/VMC/Ext/Blend/Apply" => {
            pose.blends = std::mem::take(pending_blends);
            Applied::Used
        }
        // Status, time, camera, devices: other VMC traffic we do not need.
        a if a.starts_with("/VMC/") => Applied::Ignored,
        _ => Applied::Bad,
    }
}

/// The receiving thread; stops when dropped.
pub struct VmcReceiver {
    pub state: Arc<LiveState>,
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl VmcReceiver {
    /// Listens on `addr`, accepting datagrams from this machine and `senders` only.
    pub fn listen(addr: &str, senders: crate::net::Senders) -> Result<Self, VmcError> {
        let err = |source| VmcError {
            addr: addr.to_string(),
            source,
        };
        let socket = UdpSocket::bind(addr).map_err(err)?;
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .map_err(err)?;
        let local = socket.local_addr().map_err(err)?;
        let state = Arc::new(LiveState::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let state = state.clone();
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("vmc".into())
                .spawn(move || receive(socket, &state, &stop, &senders))
                .map_err(err)?
        };
        tracing::info!("VMC: listening on {local}");
        Ok(Self {
            state,
            addr: local,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for VmcReceiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn receive(socket: UdpSocket, state: &LiveState, stop: &AtomicBool, senders: &crate::net::Senders) {
    // The largest UDP payload; VMC senders bundle a whole pose into one datagram.
    let mut buf = vec![0u8; 65_536];
    let mut pending = HashMap::new();
    let mut warned = 0u64;
    while !stop.load(Ordering::Relaxed) {
        match socket.recv_from(&mut buf) {
            Ok((_, from)) if !senders.allows(from.ip()) => {
                let refused = state.refused.fetch_add(1, Ordering::Relaxed) + 1;
                if refused.is_power_of_two() {
                    tracing::warn!(
                        "VMC: refused a packet from {from}, not an allowed sender ({refused} so far)"
                    );
                }
            }
            Ok((n, from)) => {
                if !state.apply(&buf[..n], &mut pending) {
                    let bad = state.malformed.load(Ordering::Relaxed);
                    // Say so, but not for every packet of a flood.
                    if bad > warned && (bad < 10 || bad.is_power_of_two()) {
                        warned = bad;
                        tracing::warn!("VMC: dropped a packet from {from} ({bad} so far)");
                    }
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => {
                tracing::warn!("VMC: receive failed: {e}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::osc::{Arg, encode};
    use super::*;

    fn bone(name: &str, q: [f32; 4]) -> Vec<u8> {
        let mut args = vec![Arg::Str(name.into())];
        args.extend([0.0, 0.0, 0.0, q[0], q[1], q[2], q[3]].map(Arg::Float));
        encode("/VMC/Ext/Bone/Pos", &args)
    }

    #[test]
    fn bones_arrive_mirrored_into_right_handed_axes() {
        let state = LiveState::default();
        let mut pending = HashMap::new();
        let s = std::f32::consts::FRAC_1_SQRT_2;
        // Unity: 90° about Z.
        assert!(state.apply(&bone("LeftUpperArm", [0.0, 0.0, s, s]), &mut pending));
        let pose = state.snapshot();
        let q = pose.bones[&HumanBone::LeftUpperArm];
        // Mirrored: -90° about Z.
        assert!(q.abs_diff_eq(Quat::from_rotation_z(-std::f32::consts::FRAC_PI_2), 1e-5));
        assert!(pose.received.is_some());
    }

    #[test]
    fn root_and_hips_positions_arrive_mirrored_and_absurd_ones_are_refused() {
        let state = LiveState::default();
        let mut pending = HashMap::new();
        let placed = |address: &str, name: &str, at: [f32; 3]| {
            let mut args = vec![Arg::Str(name.into())];
            args.extend([at[0], at[1], at[2], 0.0, 0.0, 0.0, 1.0].map(Arg::Float));
            encode(address, &args)
        };
        assert!(state.apply(
            &placed("/VMC/Ext/Root/Pos", "root", [0.5, 0.0, 0.2]),
            &mut pending
        ));
        assert!(state.apply(
            &placed("/VMC/Ext/Bone/Pos", "Hips", [0.0, 0.9, 0.0]),
            &mut pending
        ));
        let pose = state.snapshot();
        assert_eq!(pose.root_position, Some(Vec3::new(-0.5, 0.0, 0.2)));
        assert_eq!(pose.hips_position, Some(Vec3::new(0.0, 0.9, 0.0)));
        assert!(!state.apply(
            &placed("/VMC/Ext/Root/Pos", "root", [1e9, 0.0, 0.0]),
            &mut pending
        ));
        assert!(!state.apply(
            &placed("/VMC/Ext/Bone/Pos", "Hips", [0.0, f32::NAN, 0.0]),
            &mut pending
        ));
        assert_eq!(
            state.snapshot().root_position,
            Some(Vec3::new(-0.5, 0.0, 0.2))
        );
    }

    #[test]
    fn blends_apply_together_and_junk_is_counted() {
        let state = LiveState::default();
        let mut pending = HashMap::new();
        let val = encode(
            "/VMC/Ext/Blend/Val",
            &[Arg::Str("A".into()), Arg::Float(0.8)],
        );
        state.apply(&val, &mut pending);
        assert!(state.snapshot().blends.is_empty(), "not applied yet");
        state.apply(&encode("/VMC/Ext/Blend/Apply", &[]), &mut pending);
        assert_eq!(state.snapshot().blends["A"], 0.8);

        assert!(!state.apply(b"\xff\xfe garbage", &mut pending));
        assert!(!state.apply(&bone("Head", [0.0, 0.0, 0.0, 0.0]), &mut pending));
        assert!(!state.apply(
            &encode("/VMC/Ext/Bone/Pos", &[Arg::Str("Head".into())]),
            &mut pending
        ));
        assert_eq!(state.malformed.load(Ordering::Relaxed), 3);
        assert!(!state.snapshot().bones.contains_key(&HumanBone::Head));
    }
}
