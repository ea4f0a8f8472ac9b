//! BVH motion capture: a parser written for files from anywhere.
//!
//! BVH has no formal grammar, and the files in the wild differ in line endings (CRLF, LF,
//! both), whitespace (tabs, spaces), channel orders per joint, 3- or 6-channel joints,
//! "End Site" leaves, `Frame Time: .0083333` with no leading zero, and junk after the last
//! frame. All of that is accepted. Anything that would make the motion wrong — a truncated
//! frame, a channel count that disagrees with its names, a word where a number belongs, a
//! missing MOTION section — is refused with the line it is on and what was expected.

use bevy::math::{EulerRot, Quat, Vec3};
use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// One animation channel of a joint, in the order the file lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Xposition,
    Yposition,
    Zposition,
    Xrotation,
    Yrotation,
    Zrotation,
}

impl Channel {
    fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "xposition" => Self::Xposition,
            "yposition" => Self::Yposition,
            "zposition" => Self::Zposition,
            "xrotation" => Self::Xrotation,
            "yrotation" => Self::Yrotation,
            "zrotation" => Self::Zrotation,
            _ => return None,
        })
    }

    pub fn is_rotation(self) -> bool {
        matches!(self, Self::Xrotation | Self::Yrotation | Self::Zrotation)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct BvhJoint {
    pub name: String,
    pub parent: Option<usize>,
    /// Offset from the parent joint in the rest pose, in the file's units.
    pub offset: Vec3,
    pub channels: Vec<Channel>,
    /// Index of this joint's first channel within a frame's values.
    pub first_channel: usize,
    /// The End Site offset, for leaf joints that have one (where a hand or toe ends).
    pub end_site: Option<Vec3>,
}

/// A parsed clip: the skeleton and every frame's channel values, frame after frame.
#[derive(Debug, Clone, PartialEq)]
pub struct BvhClip {
    pub joints: Vec<BvhJoint>,
    pub frame_time: f64,
    pub frame_count: usize,
    /// Values per frame (the sum of all joints' channels).
    pub channels_per_frame: usize,
    pub values: Vec<f32>,
}

#[derive(Debug, Error, PartialEq)]
#[error("{}:{line}: {reason}", path.display())]
pub struct BvhError {
    pub path: PathBuf,
    pub line: usize,
    pub reason: String,
}

impl BvhClip {
    pub fn load(path: &Path) -> Result<Self, BvhError> {
        let bytes = std::fs::read(path).map_err(|e| BvhError {
            path: path.to_path_buf(),
            line: 0,
            reason: format!("cannot read: {e}"),
        })?;
        // Latin-1 names happen in old files; keep going rather than refuse the clip.
        let text = String::from_utf8_lossy(&bytes);
        Self::parse(&text).map_err(|(line, reason)| BvhError {
            path: path.to_path_buf(),
            line,
            reason,
        })
    }

    /// Parses BVH text. Errors are `(line, reason)`; [`BvhClip::load`] adds the path.
    pub fn parse(text: &str) -> Result<Self, (usize, String)> {
        let mut parser = Parser::new(text);
        parser.expect_word("HIERARCHY")?;
        let mut joints = Vec::new();
        let mut channels = 0;
        loop {
            let (line, word) = parser.next_word("ROOT or MOTION")?;
            match word.to_ascii_uppercase().as_str() {
                "ROOT" => parser.joint(&mut joints, None, &mut channels, 0)?,
                "MOTION" => break,
                _ => return Err((line, format!("expected ROOT or MOTION, found `{word}`"))),
            }
        }
        if joints.is_empty() {
            return Err((parser.line, "the HIERARCHY has no ROOT joint".into()));
        }
        let frame_count = parser.labelled_number("Frames")?;
        let frame_count = usize::try_from(frame_count as i64)
            .ok()
            .filter(|_| frame_count.fract() == 0.0 && frame_count >= 0.0)
            .ok_or((
                parser.line,
                format!("Frames: `{frame_count}` is not a frame count"),
            ))?;
        let frame_time = parser.labelled_number("Frame Time")?;
        if !(frame_time > 0.0 && frame_time.is_finite()) {
            return Err((
                parser.line,
                format!("Frame Time must be positive, not {frame_time}"),
            ));
        }
        let values = parser.frames(frame_count, channels)?;
        Ok(Self {
            joints,
            frame_time,
            frame_count,
            channels_per_frame: channels,
            values,
        })
    }

    pub fn fps(&self) -> f64 {
        1.0 / self.frame_time
    }

    pub fn duration(&self) -> f64 {
        self.frame_count as f64 * self.frame_time
    }

    pub fn joint_index(&self, name: &str) -> Option<usize> {
        self.joints.iter().position(|j| j.name == name)
    }

    /// Channel values of one frame.
    pub fn frame(&self, index: usize) -> &[f32] {
        let start = index * self.channels_per_frame;
        &self.values[start..start + self.channels_per_frame]
    }

    /// A joint's local translation and rotation at a frame. Rotations compose in the order
    /// the channels are listed (the first listed is the outermost), in degrees.
    pub fn local_pose(&self, joint: usize, frame: usize) -> (Vec3, Quat) {
        let j = &self.joints[joint];
        let values = &self.frame(frame)[j.first_channel..j.first_channel + j.channels.len()];
        let mut translation = j.offset;
        let mut rotation = Quat::IDENTITY;
        for (channel, value) in j.channels.iter().zip(values) {
            let v = *value;
            match channel {
                Channel::Xposition => translation.x += v,
                Channel::Yposition => translation.y += v,
                Channel::Zposition => translation.z += v,
                Channel::Xrotation => rotation *= Quat::from_rotation_x(v.to_radians()),
                Channel::Yrotation => rotation *= Quat::from_rotation_y(v.to_radians()),
                Channel::Zrotation => rotation *= Quat::from_rotation_z(v.to_radians()),
            }
        }
        (translation, rotation)
    }

    /// World positions and rotations of every joint at a frame (forward kinematics).
    /// Parents always precede children in `joints`, so one pass suffices.
    pub fn world_pose(&self, frame: usize) -> Vec<(Vec3, Quat)> {
        let mut world: Vec<(Vec3, Quat)> = Vec::with_capacity(self.joints.len());
        for (i, joint) in self.joints.iter().enumerate() {
            let (t, r) = self.local_pose(i, frame);
            world.push(match joint.parent {
                Some(p) => {
                    let (pt, pr) = world[p];
                    (pt + pr * t, pr * r)
                }
                None => (t, r),
            });
        }
        world
    }

    /// The rest pose (all channels zero) in world space.
    pub fn rest_positions(&self) -> Vec<Vec3> {
        let mut out: Vec<Vec3> = Vec::with_capacity(self.joints.len());
        for joint in &self.joints {
            let p = joint.parent.map_or(Vec3::ZERO, |p| out[p]);
            out.push(p + joint.offset);
        }
        out
    }

    /// Which axis is up in the rest pose: the longest extent of a standing skeleton.
    /// Most files are Y-up; 3ds Max exports are Z-up. Up is assumed to be positive.
    pub fn up_axis(&self) -> Vec3 {
        let rest = self.rest_positions();
        let (lo, hi) = rest.iter().fold(
            (Vec3::splat(f32::MAX), Vec3::splat(f32::MIN)),
            |(lo, hi), p| (lo.min(*p), hi.max(*p)),
        );
        let extent = hi - lo;
        if extent.z > extent.y && extent.z > extent.x {
            Vec3::Z
        } else {
            Vec3::Y
        }
    }
}

/// Euler angles as BVH files write them, for tests and tools.
pub fn euler_degrees(order: EulerRot, a: f32, b: f32, c: f32) -> Quat {
    Quat::from_euler(order, a.to_radians(), b.to_radians(), c.to_radians())
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// A cursor over the words of the file that knows which line each word is on.
/// Joints nested deeper than this are refused (real skeletons nest about ten deep).
pub const MAX_DEPTH: usize = 256;
/// More joints than this are refused (real skeletons have under a hundred).
pub const MAX_JOINTS: usize = 4096;

struct Parser<'a> {
    lines: std::iter::Enumerate<std::str::Lines<'a>>,
    words: std::str::SplitWhitespace<'a>,
    line: usize,
    /// Bytes in the file, an upper bound for what its frames can hold.
    rest_len: usize,
}

type Parse<T> = Result<T, (usize, String)>;

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            lines: text.lines().enumerate(),
            words: "".split_whitespace(),
            line: 0,
            rest_len: text.len(),
        }
    }

    fn next_word(&mut self, expected: &str) -> Parse<(usize, &'a str)> {
        loop {
            if let Some(word) = self.words.next() {
                return Ok((self.line, word));
            }
            match self.lines.next() {
                Some((i, l)) => {
                    self.line = i + 1;
                    self.words = l.split_whitespace();
                }
                None => {
                    return Err((
                        self.line.max(1),
                        format!("file ends where {expected} was expected"),
                    ));
                }
            }
        }
    }

    fn expect_word(&mut self, expected: &str) -> Parse<()> {
        let (line, word) = self.next_word(&format!("`{expected}`"))?;
        if word.eq_ignore_ascii_case(expected) {
            Ok(())
        } else {
            Err((line, format!("expected `{expected}`, found `{word}`")))
        }
    }

    fn number(&mut self, what: &str) -> Parse<f32> {
        let (line, word) = self.next_word(what)?;
        parse_number(word).ok_or((line, format!("expected {what}, found `{word}`")))
    }

    fn vec3(&mut self, what: &str) -> Parse<Vec3> {
        Ok(Vec3::new(
            self.number(what)?,
            self.number(what)?,
            self.number(what)?,
        ))
    }

    /// Reads one `ROOT`/`JOINT` body (its name and braces included) and its children,
    /// `depth` joints below the root. Deeper than [`MAX_DEPTH`] is refused with its line
    /// rather than recursing until the stack runs out.
    fn joint(
        &mut self,
        joints: &mut Vec<BvhJoint>,
        parent: Option<usize>,
        channels: &mut usize,
        depth: usize,
    ) -> Parse<()> {
        let (line, name) = self.next_word("a joint name")?;
        if depth > MAX_DEPTH {
            return Err((line, format!("joints nested deeper than {MAX_DEPTH}")));
        }
        if joints.len() >= MAX_JOINTS {
            return Err((line, format!("more than {MAX_JOINTS} joints")));
        }
        if name == "{" {
            return Err((line, "joint has no name".into()));
        }
        self.expect_word("{")?;
        self.expect_word("OFFSET")?;
        let offset = self.vec3("an OFFSET number")?;
        let index = joints.len();
        joints.push(BvhJoint {
            name: name.to_string(),
            parent,
            offset,
            channels: Vec::new(),
            first_channel: *channels,
            end_site: None,
        });
        loop {
            let (line, word) = self.next_word("CHANNELS, JOINT, End Site or `}`")?;
            match word.to_ascii_uppercase().as_str() {
                "CHANNELS" => {
                    if !joints[index].channels.is_empty() {
                        return Err((line, format!("joint `{name}` has CHANNELS twice")));
                    }
                    let list = self.channel_list(line)?;
                    *channels += list.len();
                    joints[index].channels = list;
                }
                "JOINT" => self.joint(joints, Some(index), channels, depth + 1)?,
                "END" => {
                    let (line, site) = self.next_word("`Site`")?;
                    if !site.eq_ignore_ascii_case("site") {
                        return Err((line, format!("expected `End Site`, found `End {site}`")));
                    }
                    self.expect_word("{")?;
                    self.expect_word("OFFSET")?;
                    joints[index].end_site = Some(self.vec3("an End Site OFFSET number")?);
                    self.expect_word("}")?;
                }
                "}" => return Ok(()),
                _ => {
                    return Err((
                        line,
                        format!(
                            "expected CHANNELS, JOINT, End Site or `}}` in joint `{name}`, found `{word}`"
                        ),
                    ));
                }
            }
        }
    }

    /// `CHANNELS n name…` — the names must be on the same line and number exactly `n`.
    fn channel_list(&mut self, line: usize) -> Parse<Vec<Channel>> {
        let (_, count) = self.next_word("a channel count")?;
        let count: usize = count
            .parse()
            .map_err(|_| (line, format!("expected a channel count, found `{count}`")))?;
        let mut list = Vec::with_capacity(count);
        for word in self.words.by_ref() {
            let channel = Channel::parse(word).ok_or((
                line,
                format!("`{word}` is not a channel (Xposition … Zrotation)"),
            ))?;
            list.push(channel);
        }
        if list.len() != count {
            return Err((
                line,
                format!("CHANNELS says {count} but names {}", list.len()),
            ));
        }
        Ok(list)
    }

    /// A `Frames: N` or `Frame Time: T` line (any case and spacing, `Frames:N` too).
    fn labelled_number(&mut self, label: &str) -> Parse<f64> {
        let (line, text) = self.next_line(&format!("`{label}:`"))?;
        let found = || {
            (
                line,
                format!("expected `{label}: <number>`, found `{}`", text.trim()),
            )
        };
        let (head, value) = text.split_once(':').ok_or_else(found)?;
        let head: Vec<&str> = head.split_whitespace().collect();
        if !head.join(" ").eq_ignore_ascii_case(label) {
            return Err(found());
        }
        let value = value.split_whitespace().next().ok_or_else(found)?;
        value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or((line, format!("`{label}:` wants a number, found `{value}`")))
    }

    /// The next non-blank line; words left on the current line are skipped.
    fn next_line(&mut self, expected: &str) -> Parse<(usize, &'a str)> {
        self.words = "".split_whitespace();
        for (i, text) in self.lines.by_ref() {
            self.line = i + 1;
            if !text.trim().is_empty() {
                return Ok((self.line, text));
            }
        }
        Err((
            self.line.max(1),
            format!("file ends where {expected} was expected"),
        ))
    }

    /// The frame lines: exactly `channels` numbers each. Blank lines are skipped; whatever
    /// follows the last frame is ignored.
    fn frames(&mut self, count: usize, channels: usize) -> Parse<Vec<f32>> {
        // Capacity from what the file can hold (a value takes at least two bytes), not from
        // what its `Frames:` line claims.
        let mut values = Vec::with_capacity(count.saturating_mul(channels).min(self.rest_len / 2));
        let mut read = 0;
        while read < count {
            let Some((i, line)) = self.lines.next() else {
                return Err((
                    self.line.max(1),
                    format!("expected {count} frames, the file ends after {read}"),
                ));
            };
            self.line = i + 1;
            if line.trim().is_empty() {
                continue;
            }
            let before = values.len();
            for word in line.split_whitespace() {
                let v = parse_number(word).ok_or_else(|| {
                    (
                        self.line,
                        format!("frame {}: `{word}` is not a number", read + 1),
                    )
                })?;
                values.push(v);
            }
            let got = values.len() - before;
            if got != channels {
                return Err((
                    self.line,
                    format!(
                        "frame {} has {got} values, the HIERARCHY has {channels} channels",
                        read + 1
                    ),
                ));
            }
            read += 1;
        }
        Ok(values)
    }
}

fn parse_number(word: &str) -> Option<f32> {
    word.parse::<f32>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests;
