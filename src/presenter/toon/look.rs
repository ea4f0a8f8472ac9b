//! What a VRM file says about its toon materials, read from its JSON: VRM 1.0's
//! `VRMC_materials_mtoon` on each material, or VRM 0.x's `VRM.materialProperties` (shader
//! `VRM/MToon`), brought to 1.0's terms as UniVRM migrates them. Plain data, checked: a
//! file's numbers are untrusted, so each is kept within the range MToon gives it, and a
//! value that is not a number, or out of range, is named in a message and replaced.
//!
//! Not read: the global illumination equalization (the showroom's ambient light is the
//! same from every side, so there is nothing to even out), and 0.x's shading grade
//! texture, which UniVRM's own migration to 1.0 drops too.

use bevy::reflect::Reflect;
use serde_json::Value;
use std::f32::consts::TAU;

/// One material's toon shading, in VRM 1.0's terms (linear colours).
#[derive(Debug, Clone, PartialEq, Reflect)]
pub struct ToonLook {
    /// The colour of the side turned from a light (`shadeColorFactor`).
    pub shade: [f32; 3],
    /// The glTF texture multiplied into it (`shadeMultiplyTexture`).
    pub shade_texture: Option<usize>,
    /// Where the boundary between lit and shade lies (`shadingShiftFactor`, −1–1) and how
    /// sharp it is (`shadingToonyFactor`, 0 soft as Lambert – 1 a hard step).
    pub shift: f32,
    pub toony: f32,
    /// A texture whose red channel, times `shift_scale`, moves that boundary further where
    /// it says (`shadingShiftTexture`, 1.0 only): shade that stays put on a cheek or a fold.
    pub shift_texture: Option<usize>,
    pub shift_scale: f32,
    /// The rim light at the silhouette: its colour, fresnel power, lift, and how much the
    /// scene's light tints it (`parametricRim*`, `rimLightingMixFactor`).
    pub rim: [f32; 3],
    pub rim_power: f32,
    pub rim_lift: f32,
    pub rim_mix: f32,
    /// A matcap (a picture of a lit sphere, read by which way the surface faces the
    /// camera) added with the rim, times its colour; and a texture the rim is multiplied by.
    pub matcap: [f32; 3],
    pub matcap_texture: Option<usize>,
    pub rim_texture: Option<usize>,
    /// The outline drawn around her, if any.
    pub outline: Option<Outline>,
    /// 0.x's tiling and offset of the main texture (`_MainTex` in `vectorProperties`), in
    /// glTF's terms (KHR_texture_transform, V down), which 0.x's shader applies to all its
    /// textures but the matcap. None in 1.0, whose base colour texture says it itself.
    /// Applied after the UV animation, as 1.0 orders them (UniVRM's migration keeps 0.x's
    /// speeds, so a tiled texture scrolls at the tiled rate there too).
    pub uv_transform: Option<UvTransform>,
    /// Her textures' UVs moving over time: scrolled (UV units a second) and turned about
    /// the texture's centre (radians a second), as far as the mask texture's blue says.
    pub uv_animation: UvAnimation,
    /// A blended material that still writes depth (`transparentWithZWrite`, 0.x render
    /// mode TransparentWithZWrite): hair and cloth whose own layers hide each other. Such
    /// materials draw before plain transparent ones.
    pub zwrite: bool,
    /// Its place in the drawing order among transparent materials of its kind
    /// (`renderQueueOffsetNumber`, −9–9; 0.x's `renderQueue` ranked among the file's):
    /// higher draws later, over lower.
    pub queue_offset: i32,
}

/// A texture's tiling (`scale`) and `offset`, as KHR_texture_transform states them:
/// UV' = UV × scale + offset, V pointing down.
#[derive(Debug, Clone, Copy, PartialEq, Reflect)]
pub struct UvTransform {
    pub scale: [f32; 2],
    pub offset: [f32; 2],
}

impl UvTransform {
    pub const IDENTITY: Self = Self {
        scale: [1.0, 1.0],
        offset: [0.0, 0.0],
    };
}

/// MToon's UV animation (`uvAnimation*`; 0.x `_UvAnim*`): flowing or spinning patterns,
/// in 1.0's terms (glTF's V axis, down; radians a second), as UniVRM writes them.
#[derive(Debug, Clone, Default, PartialEq, Reflect)]
pub struct UvAnimation {
    pub scroll: [f32; 2],
    pub rotation: f32,
    pub mask_texture: Option<usize>,
}

/// An MToon outline: the mesh drawn again a little larger, its back faces only, in one
/// colour.
#[derive(Debug, Clone, PartialEq, Reflect)]
pub struct Outline {
    /// How far out: metres, or with `screen` a share of the picture's height (so the line
    /// keeps its width however far the camera is).
    pub width: f32,
    pub screen: bool,
    pub colour: [f32; 3],
    /// How much the scene's light darkens or tints it (0: the colour as it is).
    pub lighting_mix: f32,
    /// A texture that multiplies the width where it says (VRoid thins the face's line
    /// with it): its green channel in 1.0 (`outlineWidthMultiplyTexture`), its red in 0.x
    /// (`_OutlineWidthTexture`), as each version's shader reads it.
    pub width_texture: Option<usize>,
    pub width_channel: usize,
}

/// The widest outline a file may ask for (metres, or a share of the picture's height).
const MAX_OUTLINE: f32 = 0.05;

/// How far a shading shift texture may move the boundary (N·L is −1–1).
const MAX_SHIFT_SCALE: f32 = 2.0;

/// The fastest UV animation a file may ask for (texture widths, or turns, a second).
const MAX_UV_SPEED: f32 = 10.0;

/// The farthest a material may move in the drawing order (VRM 1.0's range).
const MAX_QUEUE_OFFSET: f32 = 9.0;

impl Default for ToonLook {
    /// VRM 1.0's defaults.
    fn default() -> Self {
        Self {
            shade: [0.0; 3],
            shade_texture: None,
            shift: 0.0,
            toony: 0.9,
            shift_texture: None,
            shift_scale: 1.0,
            rim: [0.0; 3],
            rim_power: 5.0,
            rim_lift: 0.0,
            rim_mix: 1.0,
            matcap: [1.0; 3],
            matcap_texture: None,
            rim_texture: None,
            outline: None,
            uv_transform: None,
            uv_animation: UvAnimation::default(),
            zwrite: false,
            queue_offset: 0,
        }
    }
}

/// A material's look and what was wrong with its numbers (each replaced, named here).
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    pub look: ToonLook,
    pub refused: Vec<String>,
}

/// The toon look of each material of `doc`, by material index (`None`: not MToon).
pub fn toon_looks(doc: &Value) -> Vec<Option<Read>> {
    let materials = doc["materials"].as_array().map_or(&[][..], Vec::as_slice);
    let v0 = doc["extensions"]["VRM"]["materialProperties"]
        .as_array()
        .map_or(&[][..], Vec::as_slice);
    let queues = V0Queues::of(v0);
    materials
        .iter()
        .enumerate()
        .map(|(i, material)| {
            let v1 = &material["extensions"]["VRMC_materials_mtoon"];
            if v1.is_object() {
                return Some(of_mtoon(v1));
            }
            of_v0(v0_properties(v0, i, material)?, &queues)
        })
        .collect()
}

/// VRM 0.x's properties for material `index`: UniVRM writes them in the materials' order;
/// a file whose entry there has another name is matched by name.
fn v0_properties<'a>(v0: &'a [Value], index: usize, material: &Value) -> Option<&'a Value> {
    let name = material["name"].as_str();
    match v0.get(index) {
        Some(p) if name.is_none() || p["name"].as_str() == name => Some(p),
        _ => v0
            .iter()
            .find(|p| name.is_some() && p["name"].as_str() == name),
    }
}

/// Reads the numbers of one material, replacing (and naming) bad ones: from the object
/// `at`, whose keys messages name after `prefix`.
struct Reader<'a> {
    at: &'a Value,
    prefix: &'static str,
    refused: Vec<String>,
}

/// Where VRM 0.x keeps a material's numbers and colours.
const V0_FLOATS: &str = "VRM.materialProperties.floatProperties.";
const V0_VECTORS: &str = "VRM.materialProperties.vectorProperties.";

impl<'a> Reader<'a> {
    fn new(at: &'a Value, prefix: &'static str) -> Self {
        Self {
            at,
            prefix,
            refused: Vec::new(),
        }
    }

    /// Reads on from another object of the same material (0.x keeps numbers and colours
    /// apart), keeping what was refused.
    fn turn_to(&mut self, at: &'a Value, prefix: &'static str) {
        self.at = at;
        self.prefix = prefix;
    }

    fn number(&mut self, key: &str, default: f32, range: (f32, f32)) -> f32 {
        let value = &self.at[key];
        if value.is_null() {
            return default;
        }
        match value.as_f64().map(|v| v as f32) {
            Some(v) if (range.0..=range.1).contains(&v) => v,
            Some(v) if v.is_finite() => {
                let kept = v.clamp(range.0, range.1);
                self.refused.push(format!(
                    "{}{key} {v} is outside {}–{}; {kept} used",
                    self.prefix, range.0, range.1
                ));
                kept
            }
            _ => {
                self.refused.push(format!(
                    "{}{key} is not a number ({value}); {default} used",
                    self.prefix
                ));
                default
            }
        }
    }

    /// An RGB colour (a fourth component, VRM 0.x's alpha, is ignored), each channel
    /// 0–`MAX_COLOUR`.
    fn colour(&mut self, key: &str, default: [f32; 3]) -> [f32; 3] {
        let value = &self.at[key];
        if value.is_null() {
            return default;
        }
        let channels: Option<Vec<f32>> = value.as_array().and_then(|a| {
            (a.len() >= 3)
                .then(|| {
                    a[..3]
                        .iter()
                        .map(|c| c.as_f64().map(|c| c as f32))
                        .collect()
                })
                .flatten()
        });
        match channels {
            Some(c) if c.iter().all(|c| (0.0..=MAX_COLOUR).contains(c)) => [c[0], c[1], c[2]],
            _ => {
                self.refused.push(format!(
                    "{}{key} is not a colour of three numbers 0–{MAX_COLOUR} ({value}); {default:?} used",
                    self.prefix
                ));
                default
            }
        }
    }
}

/// A texture's index, where `value` names one.
fn index(value: &Value) -> Option<usize> {
    value.as_u64().map(|t| t as usize)
}

/// The brightest linear colour channel a file may ask for (rims may glow past white).
const MAX_COLOUR: f32 = 16.0;

/// A VRM 1.0 `VRMC_materials_mtoon` object.
fn of_mtoon(ext: &Value) -> Read {
    let mut r = Reader::new(ext, "VRMC_materials_mtoon.");
    let d = ToonLook::default();
    let shifting = &ext["shadingShiftTexture"];
    r.turn_to(shifting, "VRMC_materials_mtoon.shadingShiftTexture.");
    let shift_scale = r.number("scale", d.shift_scale, (-MAX_SHIFT_SCALE, MAX_SHIFT_SCALE));
    r.turn_to(ext, "VRMC_materials_mtoon.");
    let look = ToonLook {
        shade: r.colour("shadeColorFactor", d.shade),
        shade_texture: index(&ext["shadeMultiplyTexture"]["index"]),
        shift: r.number("shadingShiftFactor", d.shift, (-1.0, 1.0)),
        toony: r.number("shadingToonyFactor", d.toony, (0.0, 1.0)),
        shift_texture: index(&shifting["index"]),
        shift_scale,
        rim: r.colour("parametricRimColorFactor", d.rim),
        rim_power: r.number("parametricRimFresnelPowerFactor", d.rim_power, (0.0, 100.0)),
        rim_lift: r.number("parametricRimLiftFactor", d.rim_lift, (-1.0, 1.0)),
        rim_mix: r.number("rimLightingMixFactor", d.rim_mix, (0.0, 1.0)),
        matcap: r.colour("matcapFactor", d.matcap),
        matcap_texture: index(&ext["matcapTexture"]["index"]),
        rim_texture: index(&ext["rimMultiplyTexture"]["index"]),
        outline: v1_outline(&mut r),
        uv_transform: None,
        uv_animation: UvAnimation {
            scroll: [
                r.number("uvAnimationScrollXSpeedFactor", 0.0, UV_SPEEDS),
                r.number("uvAnimationScrollYSpeedFactor", 0.0, UV_SPEEDS),
            ],
            rotation: r.number("uvAnimationRotationSpeedFactor", 0.0, UV_TURNS),
            mask_texture: index(&ext["uvAnimationMaskTexture"]["index"]),
        },
        zwrite: ext["transparentWithZWrite"].as_bool().unwrap_or(false),
        queue_offset: r
            .number(
                "renderQueueOffsetNumber",
                0.0,
                (-MAX_QUEUE_OFFSET, MAX_QUEUE_OFFSET),
            )
            .round() as i32,
    };
    Read {
        look,
        refused: r.refused,
    }
}

/// A VRM 0.x material property entry, when its shader is MToon. Its colours are sRGB
/// (Unity's gamma space); its shading range is turned into 1.0's shift and toony, as
/// UniVRM's migration does.
fn of_v0(props: &Value, queues: &V0Queues) -> Option<Read> {
    if props["shader"].as_str() != Some("VRM/MToon") {
        return None;
    }
    let floats = &props["floatProperties"];
    let vectors = &props["vectorProperties"];
    let textures = &props["textureProperties"];
    let mut r = Reader::new(floats, V0_FLOATS);
    let (zwrite, queue_offset) = v0_order(&mut r, props, queues);
    let toony0 = r.number("_ShadeToony", 0.9, (0.0, 1.0));
    let shift0 = r.number("_ShadeShift", 0.0, (-1.0, 1.0));
    let rim_power = r.number("_RimFresnelPower", 1.0, (0.0, 100.0));
    let rim_lift = r.number("_RimLift", 0.0, (-1.0, 1.0));
    let rim_mix = r.number("_RimLightingMix", 0.0, (0.0, 1.0));
    r.turn_to(vectors, V0_VECTORS);
    let shade = r
        .colour("_ShadeColor", [0.97, 0.81, 0.86])
        .map(srgb_to_linear);
    let rim = r.colour("_RimColor", [0.0; 3]).map(srgb_to_linear);
    // Without a shade texture UniVRM multiplies the shade colour by the main texture.
    let shade_texture = index(&textures["_ShadeTexture"]).or(index(&textures["_MainTex"]));
    // 0.x shades between `shift` and `lerp(1, shift, toony)`; 1.0 states the same range
    // by its centre (negated) and margin.
    let (low, high) = (shift0, 1.0 + (shift0 - 1.0) * toony0);
    let look = ToonLook {
        shade,
        shade_texture,
        shift: (-(high + low) * 0.5).clamp(-1.0, 1.0),
        toony: ((2.0 - (high - low)) * 0.5).clamp(0.0, 1.0),
        shift_texture: None,
        shift_scale: 0.0,
        rim,
        rim_power,
        rim_lift,
        rim_mix,
        // 0.x's sphere-add texture is 1.0's matcap, at full strength.
        matcap: [1.0; 3],
        matcap_texture: index(&textures["_SphereAdd"]),
        rim_texture: index(&textures["_RimTexture"]),
        outline: v0_outline(&mut r, floats, vectors, textures),
        uv_transform: v0_tiling(&mut r, vectors),
        uv_animation: v0_uv_animation(&mut r, floats, textures),
        zwrite,
        queue_offset,
    };
    Some(Read {
        look,
        refused: r.refused,
    })
}

/// 1.0's outline: `outlineWidthMode` `worldCoordinates` (metres) or `screenCoordinates`
/// (a share of the picture's height); none for `none`, another mode, or no width.
fn v1_outline(r: &mut Reader) -> Option<Outline> {
    let screen = match r.at["outlineWidthMode"].as_str() {
        None | Some("none") => return None,
        Some("worldCoordinates") => false,
        Some("screenCoordinates") => true,
        Some(other) => {
            r.refused.push(format!(
                "{}outlineWidthMode `{other}` is not none, worldCoordinates or screenCoordinates; no outline",
                r.prefix
            ));
            return None;
        }
    };
    let width = r.number("outlineWidthFactor", 0.0, (0.0, MAX_OUTLINE));
    let colour = r.colour("outlineColorFactor", [0.0; 3]);
    let lighting_mix = r.number("outlineLightingMixFactor", 1.0, (0.0, 1.0));
    (width > 0.0).then_some(Outline {
        width,
        screen,
        colour,
        lighting_mix,
        width_texture: index(&r.at["outlineWidthMultiplyTexture"]["index"]),
        width_channel: 1,
    })
}

/// 0.x's outline: `_OutlineWidthMode` 1 (world) or 2 (screen). MToon 0.x moved a vertex
/// out by `0.01 × _OutlineWidth` object units (centimetres), or as many clip-space units
/// (twice the share of the picture's height); `_OutlineColorMode` 0 is a fixed colour.
fn v0_outline<'a>(
    r: &mut Reader<'a>,
    floats: &'a Value,
    vectors: &'a Value,
    textures: &Value,
) -> Option<Outline> {
    r.turn_to(floats, V0_FLOATS);
    let mode = r.number("_OutlineWidthMode", 0.0, (0.0, 2.0)).round();
    let width = r.number("_OutlineWidth", 0.0, (0.0, 100.0 * MAX_OUTLINE));
    let fixed = r.number("_OutlineColorMode", 0.0, (0.0, 1.0)) < 0.5;
    let mix = r.number("_OutlineLightingMix", 1.0, (0.0, 1.0));
    r.turn_to(vectors, V0_VECTORS);
    let colour = r.colour("_OutlineColor", [0.0; 3]).map(srgb_to_linear);
    let screen = match mode {
        1.0 => false,
        2.0 => true,
        _ => return None,
    };
    let width = width * if screen { 0.005 } else { 0.01 };
    (width > 0.0).then_some(Outline {
        width,
        screen,
        colour,
        lighting_mix: if fixed { 0.0 } else { mix },
        width_texture: index(&textures["_OutlineWidthTexture"]),
        width_channel: 0,
    })
}

/// 0.x's blending and drawing order: transparent (`_ALPHABLEND_ON`) with `_ZWrite` 1 is
/// 1.0's `transparentWithZWrite`; its `renderQueue` is ranked among the file's
/// ([`V0Queues`]) for 1.0's offset.
fn v0_order(r: &mut Reader, props: &Value, queues: &V0Queues) -> (bool, i32) {
    let (zwrite, queue) = v0_queue(r, props);
    (zwrite, queue.map_or(0, |q| queues.offset(zwrite, q)))
}

/// A 0.x material's blending: whether it writes depth, and its `renderQueue` where it is
/// transparent (`None` for opaque and cut-out materials, and a queue that is no number).
fn v0_queue(r: &mut Reader, props: &Value) -> (bool, Option<i64>) {
    let blend = props["keywordMap"]["_ALPHABLEND_ON"]
        .as_bool()
        .unwrap_or(false);
    let zwrite = blend && r.number("_ZWrite", 0.0, (0.0, 1.0)) > 0.5;
    let queue = props["renderQueue"].as_f64().filter(|q| q.is_finite());
    (zwrite, queue.filter(|_| blend).map(|q| q.round() as i64))
}

/// The distinct render queues of a 0.x file's transparent MToon materials, in order, apart
/// for those that write depth. 0.x files use any queue numbers (3000 + 50 for hair, say),
/// and 1.0 has ten steps of each kind, so a material's offset is its queue's rank, as
/// three-vrm's migration ranks them: plain transparent ones up to 0 (the file's last
/// queue), depth-writing ones from 0, nine steps at most. The order among her materials is
/// kept whatever the numbers; a file with more than ten queues of a kind shares the last
/// step among its extremes.
#[derive(Debug, Default)]
struct V0Queues {
    plain: Vec<i64>,
    zwrite: Vec<i64>,
}

impl V0Queues {
    fn of(v0: &[Value]) -> Self {
        let mut queues = Self::default();
        let mtoon = v0
            .iter()
            .filter(|p| p["shader"].as_str() == Some("VRM/MToon"));
        for props in mtoon {
            // Its numbers' problems are named when the material itself is read.
            let mut r = Reader::new(&props["floatProperties"], V0_FLOATS);
            match v0_queue(&mut r, props) {
                (true, Some(q)) => queues.zwrite.push(q),
                (false, Some(q)) => queues.plain.push(q),
                (_, None) => {}
            }
        }
        for kind in [&mut queues.plain, &mut queues.zwrite] {
            kind.sort_unstable();
            kind.dedup();
        }
        queues
    }

    fn offset(&self, zwrite: bool, queue: i64) -> i32 {
        let kind = if zwrite { &self.zwrite } else { &self.plain };
        let rank = kind.binary_search(&queue).unwrap_or_default() as i32;
        let steps = MAX_QUEUE_OFFSET as i32;
        match zwrite {
            true => rank.min(steps),
            false => (rank + 1 - kind.len() as i32).max(-steps),
        }
    }
}

const UV_SPEEDS: (f32, f32) = (-MAX_UV_SPEED, MAX_UV_SPEED);
const UV_TURNS: (f32, f32) = (-MAX_UV_SPEED * TAU, MAX_UV_SPEED * TAU);

/// 0.x's UV animation: its V axis is Unity's, upward, so its scroll in V is 1.0's negated,
/// and it turns in turns a second, where 1.0 says radians.
fn v0_uv_animation<'a>(r: &mut Reader<'a>, floats: &'a Value, textures: &Value) -> UvAnimation {
    r.turn_to(floats, V0_FLOATS);
    UvAnimation {
        scroll: [
            r.number("_UvAnimScrollX", 0.0, UV_SPEEDS),
            -r.number("_UvAnimScrollY", 0.0, UV_SPEEDS),
        ],
        rotation: r.number("_UvAnimRotation", 0.0, UV_SPEEDS) * TAU,
        mask_texture: index(&textures["_UvAnimMaskTexture"]),
    }
}

/// The farthest a texture's tiling or offset may go (texture widths).
const MAX_TILING: f32 = 1000.0;

/// 0.x's `_MainTex` tiling and offset (Unity's `[offset x, offset y, scale x, scale y]`,
/// V up) in glTF's terms, V down: Unity samples V' = V·s + o at V = 1 − glTF's V, so
/// glTF's offset is 1 − s − o (as UniVRM's migration to 1.0 writes it). None when
/// absent, the identity, or not four numbers within ±[`MAX_TILING`] (named).
fn v0_tiling<'a>(r: &mut Reader<'a>, vectors: &'a Value) -> Option<UvTransform> {
    let value = &vectors["_MainTex"];
    if value.is_null() {
        return None;
    }
    let numbers: Option<Vec<f32>> = value.as_array().filter(|a| a.len() == 4).and_then(|a| {
        a.iter()
            .map(|n| n.as_f64().map(|n| n as f32))
            .filter(|n| n.is_some_and(|n| n.abs() <= MAX_TILING))
            .collect()
    });
    let Some(&[ox, oy, sx, sy]) = numbers.as_deref() else {
        r.refused.push(format!(
            "{V0_VECTORS}_MainTex is not four numbers within ±{MAX_TILING} ({value}); not tiled"
        ));
        return None;
    };
    let transform = UvTransform {
        scale: [sx, sy],
        offset: [ox, 1.0 - sy - oy],
    };
    (transform != UvTransform::IDENTITY).then_some(transform)
}

fn srgb_to_linear(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_vrm_1_material_is_read_with_its_defaults() {
        let doc = json!({"materials": [
            {"name": "plain"},
            {"name": "skin", "extensions": {"VRMC_materials_mtoon": {
                "specVersion": "1.0",
                "shadeColorFactor": [0.2, 0.1, 0.6],
                "shadeMultiplyTexture": {"index": 3},
                "shadingToonyFactor": 0.95,
                "parametricRimColorFactor": [0.0, 1.0, 0.0],
                "parametricRimLiftFactor": 0.1,
                "matcapTexture": {"index": 4},
                "rimMultiplyTexture": {"index": 5},
                "shadingShiftTexture": {"index": 6, "scale": -0.5},
                "uvAnimationScrollYSpeedFactor": 0.25,
                "uvAnimationRotationSpeedFactor": -1.0,
                "uvAnimationMaskTexture": {"index": 7},
                "transparentWithZWrite": true,
                "renderQueueOffsetNumber": 3,
            }}},
        ]});
        let looks = toon_looks(&doc);
        assert_eq!(looks.len(), 2);
        assert_eq!(looks[0], None);
        let read = looks[1].clone().unwrap();
        assert!(read.refused.is_empty(), "{:?}", read.refused);
        let look = read.look;
        assert_eq!(look.shade, [0.2, 0.1, 0.6]);
        assert_eq!(look.shade_texture, Some(3));
        assert_eq!(look.toony, 0.95);
        assert_eq!(look.shift, 0.0);
        assert_eq!(look.rim, [0.0, 1.0, 0.0]);
        assert_eq!(
            (look.rim_power, look.rim_lift, look.rim_mix),
            (5.0, 0.1, 1.0)
        );
        assert_eq!(look.matcap, [1.0; 3]);
        assert_eq!((look.matcap_texture, look.rim_texture), (Some(4), Some(5)));
        assert_eq!((look.shift_texture, look.shift_scale), (Some(6), -0.5));
        let uv = UvAnimation {
            scroll: [0.0, 0.25],
            rotation: -1.0,
            mask_texture: Some(7),
        };
        assert_eq!(look.uv_animation, uv);
        assert_eq!((look.zwrite, look.queue_offset), (true, 3));
    }

    #[test]
    fn bad_numbers_are_named_and_replaced() {
        let doc = json!({"materials": [{"extensions": {"VRMC_materials_mtoon": {
            "shadingToonyFactor": 7.0,
            "shadingShiftFactor": "left",
            "shadeColorFactor": [1.0, -3.0, 0.0],
            "parametricRimColorFactor": [1.0],
            "parametricRimFresnelPowerFactor": 1e30,
            "shadingShiftTexture": {"index": 1, "scale": -9.0},
        }}}]});
        let read = toon_looks(&doc)[0].clone().unwrap();
        let look = &read.look;
        assert_eq!(look.toony, 1.0);
        assert_eq!(look.shift, 0.0);
        assert_eq!(look.shade, [0.0; 3]);
        assert_eq!(look.rim, [0.0; 3]);
        assert_eq!(look.rim_power, 100.0);
        assert_eq!(look.shift_scale, -2.0);
        let said = read.refused.join("\n");
        assert_eq!(read.refused.len(), 6, "{said}");
        for key in [
            "shadingToonyFactor 7 is outside 0–1; 1 used",
            "shadingShiftFactor is not a number",
            "shadeColorFactor is not a colour",
            "parametricRimColorFactor is not a colour",
            "parametricRimFresnelPowerFactor",
            "shadingShiftTexture.scale -9 is outside -2–2; -2 used",
        ] {
            assert!(said.contains(key), "{key} not in {said}");
        }
    }

    #[test]
    fn a_vrm_0_material_is_brought_to_1_0s_terms() {
        let doc = json!({
            "materials": [{"name": "body"}, {"name": "eyes"}, {"name": "hair"},
                          {"name": "veil"}, {"name": "glass"}, {"name": "lace"},
                          {"name": "tear"}, {"name": "lens"}],
            "extensions": {"VRM": {"materialProperties": [
                {"name": "body", "shader": "VRM/MToon",
                 "floatProperties": {"_ShadeToony": 0.9, "_ShadeShift": 0.0,
                                     "_IndirectLightIntensity": 0.1, "_RimLightingMix": 0.5,
                                     "_UvAnimScrollX": 0.5, "_UvAnimScrollY": 0.25,
                                     "_UvAnimRotation": 99.0},
                 "vectorProperties": {"_ShadeColor": [0.5, 0.5, 1.0, 1.0],
                                      "_RimColor": [0.0, 1.0, 0.0, 1.0],
                                      "_MainTex": [0.5, 0.25, 3.0, 2.0]},
                 "textureProperties": {"_MainTex": 0, "_SphereAdd": 2, "_RimTexture": 3,
                                       "_UvAnimMaskTexture": 4}},
                {"name": "eyes", "shader": "VRM/UnlitTexture"},
                // Out of order: matched by name.
                {"name": "other", "shader": "VRM/MToon"},
                {"name": "veil", "shader": "VRM/MToon", "renderQueue": 2503,
                 "keywordMap": {"_ALPHABLEND_ON": true}, "floatProperties": {"_ZWrite": 1}},
                {"name": "glass", "shader": "VRM/MToon", "renderQueue": 2990,
                 "keywordMap": {"_ALPHABLEND_ON": true}, "floatProperties": {"_ZWrite": 0}},
                {"name": "lace", "shader": "VRM/MToon", "renderQueue": 2600,
                 "keywordMap": {"_ALPHABLEND_ON": true}, "floatProperties": {"_ZWrite": 1}},
                {"name": "tear", "shader": "VRM/MToon", "renderQueue": 3050,
                 "keywordMap": {"_ALPHABLEND_ON": true}},
                {"name": "lens", "shader": "VRM/MToon", "renderQueue": 3000,
                 "keywordMap": {"_ALPHABLEND_ON": true}},
            ]}}
        });
        let looks = toon_looks(&doc);
        let body = looks[0].clone().unwrap().look;
        // 0.5 in sRGB is 0.214 linear.
        assert!((body.shade[0] - 0.214).abs() < 0.001, "{:?}", body.shade);
        assert_eq!(body.shade[2], 1.0);
        assert_eq!(body.rim, [0.0, 1.0, 0.0]);
        assert_eq!(body.rim_mix, 0.5);
        // Shading between 0 and 0.1: centred at 0.05, a margin of 0.95.
        assert!((body.shift + 0.05).abs() < 1e-6, "{}", body.shift);
        assert!((body.toony - 0.95).abs() < 1e-6, "{}", body.toony);
        // No shade texture: the main texture's.
        assert_eq!(body.shade_texture, Some(0));
        assert_eq!((body.matcap_texture, body.rim_texture), (Some(2), Some(3)));
        // Unity's V is up, glTF's down; a wild speed is kept to ten turns a second.
        let uv = UvAnimation {
            scroll: [0.5, -0.25],
            rotation: 10.0 * TAU,
            mask_texture: Some(4),
        };
        assert_eq!(body.uv_animation, uv);
        // Tiled twice down, offset a quarter up (Unity): glTF's offset 1 - 2 - 0.25.
        let tiling = UvTransform {
            scale: [3.0, 2.0],
            offset: [0.5, -1.25],
        };
        assert_eq!(body.uv_transform, Some(tiling));
        let refused = &looks[0].as_ref().unwrap().refused;
        assert!(refused[0].contains("_UvAnimRotation 99 is outside -10–10"));
        assert_eq!(looks[1], None, "an unlit material is not toon");
        assert_eq!(looks[2], None, "hair's entry is another material's");
        assert_eq!((body.zwrite, body.queue_offset), (false, 0), "opaque");
        // Queues ranked by kind: depth-writing ones up from 0 (2503, 2600), plain
        // transparent ones up to 0 (2990, 3000, 3050), whatever their numbers.
        let order = |i: usize| {
            let look = looks[i].clone().unwrap().look;
            (look.zwrite, look.queue_offset)
        };
        assert_eq!([order(3), order(5)], [(true, 0), (true, 1)]);
        assert_eq!(
            [order(4), order(7), order(6)],
            [(false, -2), (false, -1), (false, 0)]
        );
    }

    #[test]
    fn a_vrm_0_tiling_is_read_only_when_it_is_four_sane_numbers() {
        let tiled = |tiling: Value| {
            let doc = json!({"materials": [{}], "extensions": {"VRM": {"materialProperties": [
                {"shader": "VRM/MToon", "vectorProperties": {"_MainTex": tiling}}]}}});
            let read = toon_looks(&doc)[0].clone().unwrap();
            (read.look.uv_transform, read.refused.join("\n"))
        };
        assert_eq!(tiled(json!([0.0, 0.0, 1.0, 1.0])), (None, String::new()));
        for bad in [json!([0.0, 0.0, 1.0]), json!([0, 0, 1e9, 1]), json!("big")] {
            let (transform, said) = tiled(bad.clone());
            assert_eq!(transform, None, "{bad}");
            assert!(
                said.contains("_MainTex is not four numbers"),
                "{bad}: {said}"
            );
        }
        let flipped = UvTransform {
            scale: [1.0, 1.0],
            offset: [0.0, -0.5],
        };
        assert_eq!(tiled(json!([0.0, 0.5, 1.0, 1.0])).0, Some(flipped));
    }

    #[test]
    fn a_vrm_0_file_of_more_than_ten_queues_keeps_nine_steps() {
        let props: Vec<_> = (0..12)
            .map(|i| {
                json!({"shader": "VRM/MToon", "renderQueue": 3000 + 10 * i,
                       "keywordMap": {"_ALPHABLEND_ON": true}})
            })
            .collect();
        let materials: Vec<_> = (0..12).map(|_| json!({})).collect();
        let doc = json!({"materials": materials,
                         "extensions": {"VRM": {"materialProperties": props}}});
        let offsets: Vec<i32> = (toon_looks(&doc).into_iter())
            .map(|read| read.unwrap().look.queue_offset)
            .collect();
        assert_eq!(offsets, [-9, -9, -9, -8, -7, -6, -5, -4, -3, -2, -1, 0]);
    }

    #[test]
    fn outlines_are_read_in_either_version() {
        let doc = json!({
            "materials": [
                {"extensions": {"VRMC_materials_mtoon": {
                    "outlineWidthMode": "worldCoordinates", "outlineWidthFactor": 0.002,
                    "outlineColorFactor": [1.0, 0.0, 0.0],
                    "outlineWidthMultiplyTexture": {"index": 7}}}},
                {"extensions": {"VRMC_materials_mtoon": {
                    "outlineWidthMode": "screenCoordinates", "outlineWidthFactor": 0.5,
                    "outlineLightingMixFactor": 0.0}}},
                {"extensions": {"VRMC_materials_mtoon": {
                    "outlineWidthMode": "sideways", "outlineWidthFactor": 0.01}}},
                {"extensions": {"VRMC_materials_mtoon": {"outlineWidthFactor": 0.01}}},
                {"name": "a"},
                {"name": "b"},
            ],
            "extensions": {"VRM": {"materialProperties": [
                {}, {}, {}, {},
                {"name": "a", "shader": "VRM/MToon",
                 "floatProperties": {"_OutlineWidthMode": 1, "_OutlineWidth": 0.2,
                                     "_OutlineColorMode": 1, "_OutlineLightingMix": 0.5},
                 "vectorProperties": {"_OutlineColor": [0.5, 0.5, 0.5, 1.0]}},
                {"name": "b", "shader": "VRM/MToon",
                 "floatProperties": {"_OutlineWidthMode": 2, "_OutlineWidth": 0.4},
                 "textureProperties": {"_OutlineWidthTexture": 8}},
            ]}}
        });
        let looks: Vec<Read> = toon_looks(&doc).into_iter().map(Option::unwrap).collect();
        let outline = |i: usize| looks[i].look.outline.clone();
        let world = outline(0).unwrap();
        assert_eq!((world.width, world.screen), (0.002, false));
        assert_eq!((world.colour, world.lighting_mix), ([1.0, 0.0, 0.0], 1.0));
        // 1.0 reads the width texture's green, 0.x its red.
        assert_eq!((world.width_texture, world.width_channel), (Some(7), 1));
        // Five per cent of the picture at most.
        let screen = outline(1).unwrap();
        assert_eq!(
            (screen.width, screen.screen, screen.lighting_mix),
            (0.05, true, 0.0)
        );
        assert!(looks[1].refused[0].contains("outlineWidthFactor 0.5 is outside"));
        assert_eq!(outline(2), None);
        assert!(looks[2].refused[0].contains("outlineWidthMode `sideways`"));
        assert_eq!(outline(3), None, "no mode, no outline");
        // 0.x: centimetres in the world; a mixed-lighting colour keeps its mix.
        let a = outline(4).unwrap();
        assert!((a.width - 0.002).abs() < 1e-6 && !a.screen, "{a:?}");
        assert!((a.colour[0] - 0.214).abs() < 0.001 && a.lighting_mix == 0.5);
        // Screen: 0.01 × width of clip space's two units of height; a fixed colour.
        let b = outline(5).unwrap();
        assert!((b.width - 0.002).abs() < 1e-6 && b.screen, "{b:?}");
        assert_eq!((b.colour, b.lighting_mix), ([0.0; 3], 0.0));
        assert_eq!((b.width_texture, b.width_channel), (Some(8), 0));
        assert_eq!(a.width_texture, None);
    }

    /// Every field a file can set, set to every kind of wrong value: each look read
    /// still has its numbers in range (no panic, no NaN reaching the shader).
    #[test]
    fn garbage_in_any_field_leaves_a_look_in_range() {
        let v1_keys = [
            "shadeColorFactor",
            "shadeMultiplyTexture",
            "shadingShiftFactor",
            "shadingShiftTexture",
            "shadingToonyFactor",
            "parametricRimColorFactor",
            "parametricRimFresnelPowerFactor",
            "parametricRimLiftFactor",
            "rimLightingMixFactor",
            "matcapFactor",
            "matcapTexture",
            "rimMultiplyTexture",
            "outlineWidthMode",
            "outlineWidthFactor",
            "outlineColorFactor",
            "outlineLightingMixFactor",
            "outlineWidthMultiplyTexture",
            "uvAnimationMaskTexture",
            "uvAnimationScrollXSpeedFactor",
            "uvAnimationScrollYSpeedFactor",
            "uvAnimationRotationSpeedFactor",
            "transparentWithZWrite",
            "renderQueueOffsetNumber",
        ];
        let v0_floats = [
            "_ShadeToony",
            "_ShadeShift",
            "_RimFresnelPower",
            "_RimLift",
            "_RimLightingMix",
            "_OutlineWidthMode",
            "_OutlineWidth",
            "_OutlineColorMode",
            "_OutlineLightingMix",
            "_UvAnimScrollX",
            "_UvAnimScrollY",
            "_UvAnimRotation",
            "_ZWrite",
        ];
        let garbage = [
            json!("x"),
            json!([1.0, f64::MAX]),
            json!({"index": -1, "scale": "big"}),
            json!(1e300),
            json!(-1e300),
            json!(u64::MAX),
            json!(null),
            json!(true),
        ];
        let in_range = |look: &ToonLook| {
            let colours = [look.shade, look.rim, look.matcap];
            let numbers = [
                look.shift,
                look.toony,
                look.shift_scale,
                look.rim_power,
                look.rim_lift,
                look.rim_mix,
                look.uv_animation.scroll[0],
                look.uv_animation.scroll[1],
                look.uv_animation.rotation,
            ];
            let outline = look.outline.as_ref().is_none_or(|o| {
                (0.0..=MAX_OUTLINE).contains(&o.width) && o.colour.iter().all(|c| c.is_finite())
            });
            colours
                .iter()
                .flatten()
                .all(|c| (0.0..=MAX_COLOUR).contains(c))
                && numbers.iter().all(|n| n.is_finite() && n.abs() <= 100.0)
                && outline
                && look.queue_offset.abs() <= MAX_QUEUE_OFFSET as i32
        };
        for bad in &garbage {
            for key in v1_keys {
                let mut ext = json!({"outlineWidthMode": "worldCoordinates",
                                     "outlineWidthFactor": 0.01});
                ext[key] = bad.clone();
                let doc = json!({"materials": [{"extensions": {"VRMC_materials_mtoon": ext}}]});
                let read = toon_looks(&doc)[0].clone().unwrap();
                assert!(in_range(&read.look), "{key} = {bad}: {:?}", read.look);
            }
            for key in v0_floats {
                let mut floats = json!({"_OutlineWidthMode": 1, "_OutlineWidth": 1.0});
                floats[key] = bad.clone();
                let doc = json!({"materials": [{}], "extensions": {"VRM": {"materialProperties": [
                    {"shader": "VRM/MToon", "floatProperties": floats, "renderQueue": bad,
                     "keywordMap": {"_ALPHABLEND_ON": true},
                     "vectorProperties": {"_ShadeColor": bad, "_OutlineColor": bad},
                     "textureProperties": {"_OutlineWidthTexture": bad, "_SphereAdd": bad}}
                ]}}});
                let read = toon_looks(&doc)[0].clone().unwrap();
                assert!(in_range(&read.look), "{key} = {bad}: {:?}", read.look);
            }
        }
    }

    #[test]
    fn a_file_without_toon_materials_has_none() {
        assert!(toon_looks(&json!({})).is_empty());
        let doc = json!({"materials": [{"pbrMetallicRoughness": {}}]});
        assert_eq!(toon_looks(&doc), vec![None]);
    }
}
