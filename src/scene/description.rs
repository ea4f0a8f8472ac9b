//! The showroom as a designer writes it: a RON file of shapes, glTF props, lights and cameras.
//!
//! Everything here is plain data with serde; nothing knows about Bevy. Colours are sRGB hex
//! strings and rotations are Euler angles in degrees because those are what people type and
//! read in a diff.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::config::plan::SetNames;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SceneDescription {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub environment: Environment,
    pub cameras: Vec<CameraSpec>,
    #[serde(default)]
    pub lights: Vec<LightSpec>,
    #[serde(default)]
    pub shapes: Vec<ShapeSpec>,
    #[serde(default)]
    pub props: Vec<PropSpec>,
    /// The virtual host, when the scene has one.
    #[serde(default)]
    pub presenter: Option<PresenterSpec>,
    /// Live data sources for the digital twin.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub feeds: Vec<FeedSpec>,
    /// Objects driven by feed values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bindings: Vec<BindingSpec>,
}

impl SceneDescription {
    /// Its cameras' and set pieces' names, which a show's plan is checked against.
    pub fn names(&self) -> SetNames {
        let shapes = self.shapes.iter().map(|s| s.name.clone());
        SetNames {
            cameras: self.cameras.iter().map(|c| c.name.clone()).collect(),
            pieces: shapes
                .chain(self.props.iter().map(|p| p.name.clone()))
                .collect(),
        }
    }
}

/// Where a feed's JSON document comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum FeedSource {
    /// Polled over HTTP(S).
    Http { url: String, every_seconds: f32 },
    /// A file another program rewrites, relative to the scene file.
    File { path: PathBuf },
    /// Pushed to the control API: `POST /twin/<name>` with the document as the body.
    Api,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSpec {
    pub name: String,
    pub source: FeedSource,
    /// Seconds without a good update before its values are marked stale on screen.
    #[serde(default = "default_stale")]
    pub stale_after: f32,
}

fn default_stale() -> f32 {
    10.0
}

/// A value (`feed.path.to.field`) shown on an object of the scene.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BindingSpec {
    /// A shape or prop, by name.
    pub target: String,
    /// `<feed>.<field>[.<field>…]`; array items by index (`lines.0.state`).
    pub value: String,
    pub show: BindingShow,
}

impl BindingSpec {
    /// Whether it draws its text on the shape `name`: that shape is a twin screen, built
    /// with texture coordinates and given a texture to draw into.
    pub fn draws_text_on(&self, name: &str) -> bool {
        self.target == name && matches!(self.show, BindingShow::Text { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum BindingShow {
    /// Text on the target (a screen): `{value}` is replaced; `\n` breaks lines.
    Text {
        format: String,
        #[serde(default = "default_text_color")]
        color: Rgb,
        #[serde(default = "default_screen_color")]
        background: Rgb,
        /// Letter height, in percent of the screen's height (a banner's single line wants
        /// more than a two-line screen's).
        #[serde(default = "default_text_size")]
        size: f32,
    },
    /// The target's colour by the value (`"running": "#1d9a6c"`); `default` otherwise.
    Color {
        states: BTreeMap<String, Rgb>,
        #[serde(default)]
        default: Option<Rgb>,
    },
    /// Shown when the value is true, a non-zero number or a non-empty string.
    Visible,
    /// Turns about its vertical axis at `value × degrees_per_unit` degrees per second
    /// (a conveyor roller, a fan, a turntable).
    Spin {
        #[serde(default = "one_eighty")]
        degrees_per_unit: f32,
    },
    /// Plays the prop's own glTF animation `clip` (by name), looped, at `value ×
    /// speed_per_unit` times its recorded speed: a conveyor that runs as fast as the line.
    Animation {
        clip: String,
        #[serde(default = "one")]
        speed_per_unit: f32,
    },
}

fn default_text_color() -> Rgb {
    Rgb::from_bytes(0xff, 0xff, 0xff)
}

fn default_text_size() -> f32 {
    15.0
}

fn default_screen_color() -> Rgb {
    Rgb::from_bytes(0x0b, 0x1a, 0x2a)
}

fn one_eighty() -> f32 {
    180.0
}

/// The avatar that presents the show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenterSpec {
    pub name: String,
    /// glTF/GLB file, relative to the scene file.
    pub asset: PathBuf,
    #[serde(default)]
    pub scene: usize,
    #[serde(default)]
    pub transform: TransformSpec,
    /// Name of the clip to loop while nothing else plays (e.g. "Idle"): one of the avatar's
    /// own or of `clips`.
    #[serde(default)]
    pub idle: Option<String>,
    /// Motion-capture clips retargeted onto the avatar, played by name like its own clips.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clips: Vec<MocapClipSpec>,
    /// Humanoid bone (VRM name, e.g. `leftHand`) → the avatar's node name, for rigs whose
    /// names no convention covers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub bones: BTreeMap<String, String>,
    /// Seconds to blend from one clip into the next.
    #[serde(default = "default_crossfade")]
    pub crossfade: f32,
    /// Playback speed of the idle clip (1 = as recorded).
    #[serde(default = "one")]
    pub speed: f32,
    /// A breeze through her spring chains (hair, a skirt), so they stir while she stands
    /// still, as live-avatar tools offer; none unless given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wind: Option<WindSpec>,
}

/// A breeze blowing `toward` a direction of the scene, in gusts. `strength` 1 pulls a
/// spring joint about as hard as its file's `gravityPower` 1 does (0–5).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindSpec {
    pub strength: f32,
    pub toward: [f32; 3],
}

fn default_crossfade() -> f32 {
    0.3
}

fn one() -> f32 {
    1.0
}

/// A BVH clip for the presenter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MocapClipSpec {
    pub name: String,
    /// BVH file, relative to the scene file.
    pub bvh: PathBuf,
    /// Keep the host on her mark (walks become walking on the spot) facing forward.
    #[serde(default = "yes")]
    pub in_place: bool,
}

/// The default of a field that is true unless the scene says otherwise.
fn yes() -> bool {
    true
}

/// Whether such a field holds its default, and need not be written.
fn is_true(value: &bool) -> bool {
    *value
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Environment {
    /// Background where no geometry is drawn.
    pub clear_color: Rgb,
    pub ambient_color: Rgb,
    /// Ambient light in cd/m² (Bevy's unit); a few hundred lifts shadows indoors.
    pub ambient_brightness: f32,
}

impl Default for Environment {
    fn default() -> Self {
        Self {
            clear_color: Rgb::from_bytes(0x0d, 0x0d, 0x0f),
            ambient_color: Rgb::from_bytes(0xff, 0xff, 0xff),
            ambient_brightness: 200.0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraSpec {
    pub name: String,
    pub position: [f32; 3],
    pub look_at: [f32; 3],
    #[serde(default = "default_fov")]
    pub fov_degrees: f32,
    /// Camera exposure (EV100). Indoors with a few thousand lumens of lights, 7–9.
    #[serde(default = "default_ev100")]
    pub exposure_ev100: f32,
    #[serde(default)]
    pub tonemapping: ToneMapping,
}

fn default_fov() -> f32 {
    50.0
}

fn default_ev100() -> f32 {
    8.0
}

/// How HDR light is mapped to screen colours. `None` passes colours through, which is
/// what a pixel-exact test wants; the others are Bevy's filmic curves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ToneMapping {
    None,
    Reinhard,
    AcesFitted,
    AgX,
    #[default]
    TonyMcMapface,
    BlenderFilmic,
    KhronosPbrNeutral,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum LightSpec {
    /// Sun-like light: parallel rays from `from` towards `look_at`.
    Directional {
        color: Rgb,
        /// lux
        illuminance: f32,
        from: [f32; 3],
        look_at: [f32; 3],
        #[serde(default)]
        shadows: bool,
    },
    Point {
        position: [f32; 3],
        color: Rgb,
        /// lumens
        intensity: f32,
        #[serde(default = "default_range")]
        range: f32,
        #[serde(default)]
        shadows: bool,
    },
    Spot {
        position: [f32; 3],
        look_at: [f32; 3],
        color: Rgb,
        /// lumens
        intensity: f32,
        #[serde(default = "default_range")]
        range: f32,
        #[serde(default = "default_inner")]
        inner_angle_degrees: f32,
        #[serde(default = "default_outer")]
        outer_angle_degrees: f32,
        #[serde(default)]
        shadows: bool,
    },
}

fn default_range() -> f32 {
    20.0
}
fn default_inner() -> f32 {
    15.0
}
fn default_outer() -> f32 {
    30.0
}

/// A piece of set built from a primitive: floor, walls, plinths, panels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShapeSpec {
    pub name: String,
    pub shape: Shape,
    #[serde(default)]
    pub transform: TransformSpec,
    #[serde(default)]
    pub material: MaterialSpec,
    /// Whether it casts shadows (default true). A floor has nothing under it to shade,
    /// yet drawing it into the key light's map costs a CPU renderer a few percent of a
    /// frame (docs/performance.md); as in other engines, the designer says so.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub cast_shadows: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Shape {
    /// Horizontal rectangle facing up, centred on the origin.
    Plane {
        width: f32,
        depth: f32,
    },
    Box {
        width: f32,
        height: f32,
        depth: f32,
    },
    Cylinder {
        radius: f32,
        height: f32,
    },
    Sphere {
        radius: f32,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MaterialSpec {
    pub color: Rgb,
    pub roughness: f32,
    pub metallic: f32,
    /// Shows `color` as is, unaffected by lights: for screens, signs and brand panels.
    pub unlit: bool,
    /// Light the surface gives off, in the same sRGB colour space, scaled by `emissive_strength`.
    pub emissive: Option<Rgb>,
    pub emissive_strength: f32,
}

impl Default for MaterialSpec {
    fn default() -> Self {
        Self {
            color: Rgb::from_bytes(0xcc, 0xcc, 0xcc),
            roughness: 0.6,
            metallic: 0.0,
            unlit: false,
            emissive: None,
            emissive_strength: 1.0,
        }
    }
}

/// A product or set piece loaded from a glTF file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PropSpec {
    pub name: String,
    /// glTF/GLB file, relative to the scene file.
    pub asset: PathBuf,
    /// Which of the file's scenes to show.
    #[serde(default)]
    pub scene: usize,
    #[serde(default)]
    pub transform: TransformSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransformSpec {
    pub translation: [f32; 3],
    /// Euler angles in degrees, applied in Y (yaw), X (pitch), Z (roll) order.
    pub rotation_degrees: [f32; 3],
    pub scale: [f32; 3],
}

impl Default for TransformSpec {
    fn default() -> Self {
        Self {
            translation: [0.0; 3],
            rotation_degrees: [0.0; 3],
            scale: [1.0; 3],
        }
    }
}

/// An sRGB colour, written `"#rrggbb"` in files and kept as 0–1 floats in memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb(pub [f32; 3]);

impl Rgb {
    /// A colour from 8-bit sRGB components: exactly what a `#rrggbb` string holds, so
    /// defaults survive a save and reload unchanged.
    pub const fn from_bytes(r: u8, g: u8, b: u8) -> Self {
        Self([r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0])
    }

    pub fn from_hex(text: &str) -> Result<Self, String> {
        let hex = text
            .strip_prefix('#')
            .ok_or_else(|| format!("colour `{text}` must start with '#', like \"#ff8800\""))?;
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("colour `{text}` is not #rrggbb"));
        }
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0) as f32 / 255.0;
        Ok(Self([byte(0), byte(2), byte(4)]))
    }

    pub fn to_hex(self) -> String {
        let b = |v: f32| (v.clamp(0.0, 1.0) * 255.0).round() as u8;
        format!(
            "#{:02x}{:02x}{:02x}",
            b(self.0[0]),
            b(self.0[1]),
            b(self.0[2])
        )
    }
}

impl Serialize for Rgb {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Rgb {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        // A custom error here gets the parser's position attached, so a bad colour is located.
        Rgb::from_hex(&text).map_err(serde::de::Error::custom)
    }
}
