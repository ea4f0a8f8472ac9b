//! Expressions from a VRM file's extension: which morph targets make each mouth shape and
//! the blink. VRM 1.0 (`VRMC_vrm.expressions.preset.*.morphTargetBinds`, by node) and 0.x
//! (`VRM.blendShapeMaster.blendShapeGroups[].binds`, by mesh) are both read, so an avatar's
//! morphs work whatever their names.

use super::face::Channel;
#[cfg(test)]
use super::face::Vowel;
use serde_json::Value;

/// One morph target an expression moves: on the node called `node`, target `index`,
/// at `weight` (0–1) when the expression is fully on.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpressionBind {
    pub channel: Channel,
    pub node: String,
    pub index: usize,
    pub weight: f32,
}

/// The channel of a VRM expression preset (`aa`, `ih`, …, `blink`, `happy`, …; 0.x's
/// `a`, `i`, …, `joy`, `sorrow`, `fun`).
fn channel_for_preset(name: &str) -> Option<Channel> {
    // The same names as morph targets carry; other presets (neutral…) are not ours.
    super::face::channel_for(name).filter(|c| {
        matches!(
            c,
            Channel::Vowel(_) | Channel::Blink | Channel::Expression(_) | Channel::Look(_)
        )
    })
}

/// What an emotion's expression does to the mouth and the blink while it is on (VRM 1.0's
/// `overrideMouth`, `overrideBlink`): nothing, hides them (`block`), or fades them as it
/// comes on (`blend`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Override {
    #[default]
    None,
    Block,
    Blend,
}

impl Override {
    /// The scale left to the overridden shapes with the expression at `weight`.
    pub fn scale(self, weight: f32) -> f32 {
        match self {
            Override::None => 1.0,
            Override::Block if weight > 0.0 => 0.0,
            Override::Block => 1.0,
            Override::Blend => (1.0 - weight).clamp(0.0, 1.0),
        }
    }
}

/// Each emotion preset's overrides of the mouth and the blink (VRM 1.0 only; 0.x has none).
pub fn expression_overrides(doc: &Value) -> Vec<(crate::speech::Emotion, Override, Override)> {
    let read = |v: &Value| match v.as_str() {
        Some("block") => Override::Block,
        Some("blend") => Override::Blend,
        _ => Override::None,
    };
    let Some(presets) = doc["extensions"]["VRMC_vrm"]["expressions"]["preset"].as_object() else {
        return Vec::new();
    };
    presets
        .iter()
        .filter_map(|(name, e)| {
            let emotion = crate::speech::Emotion::from_name(name)?;
            Some((
                emotion,
                read(&e["overrideMouth"]),
                read(&e["overrideBlink"]),
            ))
        })
        .collect()
}

/// The expression bindings of a glTF/VRM document (empty for plain glTF).
pub fn expression_binds(doc: &Value) -> Vec<ExpressionBind> {
    let node_name = |i: u64| crate::mocap::skeleton::node_name(doc, i as usize);
    let mut binds = Vec::new();
    // VRM 1.0: binds name nodes.
    if let Some(presets) = doc["extensions"]["VRMC_vrm"]["expressions"]["preset"].as_object() {
        for (name, expression) in presets {
            let Some(channel) = channel_for_preset(name) else {
                continue;
            };
            for bind in expression["morphTargetBinds"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let (Some(node), Some(index)) = (bind["node"].as_u64(), bind["index"].as_u64()) {
                    binds.push(ExpressionBind {
                        channel,
                        node: node_name(node),
                        index: index as usize,
                        weight: bind["weight"].as_f64().unwrap_or(1.0) as f32,
                    });
                }
            }
        }
    }
    // VRM 0.x: binds name meshes (weights 0–100); every node showing that mesh is bound.
    for group in doc["extensions"]["VRM"]["blendShapeMaster"]["blendShapeGroups"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let preset = group["presetName"].as_str().unwrap_or("");
        let Some(channel) = channel_for_preset(preset) else {
            continue;
        };
        for bind in group["binds"].as_array().into_iter().flatten() {
            let (Some(mesh), Some(index)) = (bind["mesh"].as_u64(), bind["index"].as_u64()) else {
                continue;
            };
            let weight = (bind["weight"].as_f64().unwrap_or(100.0) / 100.0) as f32;
            for (i, node) in doc["nodes"].as_array().into_iter().flatten().enumerate() {
                if node["mesh"].as_u64() == Some(mesh) {
                    binds.push(ExpressionBind {
                        channel,
                        node: node_name(i as u64),
                        index: index as usize,
                        weight,
                    });
                }
            }
        }
    }
    binds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vrm1_and_vrm0_binds_are_read() {
        let vrm1 = serde_json::json!({
            "nodes": [{"name": "Face", "mesh": 0}],
            "extensions": {"VRMC_vrm": {"expressions": {"preset": {
                "aa": {"morphTargetBinds": [{"node": 0, "index": 3, "weight": 1.0}]},
                "blink": {"morphTargetBinds": [{"node": 0, "index": 7, "weight": 0.5}]},
                "happy": {"morphTargetBinds": [{"node": 0, "index": 9, "weight": 1.0}]}
            }}}}
        });
        let binds = expression_binds(&vrm1);
        assert_eq!(binds.len(), 3);
        assert!(binds.iter().any(|b| b.channel
            == Channel::Expression(crate::speech::Emotion::Happy)
            && b.index == 9));
        assert!(binds.contains(&ExpressionBind {
            channel: Channel::Vowel(Vowel::A),
            node: "Face".into(),
            index: 3,
            weight: 1.0
        }));
        assert!(binds.contains(&ExpressionBind {
            channel: Channel::Blink,
            node: "Face".into(),
            index: 7,
            weight: 0.5
        }));

        let vrm0 = serde_json::json!({
            "nodes": [{"name": "Body"}, {"name": "Head", "mesh": 1}],
            "extensions": {"VRM": {"blendShapeMaster": {"blendShapeGroups": [
                {"presetName": "o", "binds": [{"mesh": 1, "index": 2, "weight": 100}]},
                {"presetName": "joy", "binds": [{"mesh": 1, "index": 5, "weight": 100}]}
            ]}}}
        });
        assert_eq!(
            expression_binds(&vrm0),
            vec![
                ExpressionBind {
                    channel: Channel::Vowel(Vowel::O),
                    node: "Head".into(),
                    index: 2,
                    weight: 1.0
                },
                ExpressionBind {
                    channel: Channel::Expression(crate::speech::Emotion::Happy),
                    node: "Head".into(),
                    index: 5,
                    weight: 1.0
                }
            ]
        );
        assert!(expression_binds(&serde_json::json!({"nodes": []})).is_empty());
    }

    #[test]
    fn overrides_of_the_mouth_and_blink_are_read_and_applied() {
        let doc = serde_json::json!({"extensions": {"VRMC_vrm": {"expressions": {"preset": {
            "happy": {"overrideMouth": "blend", "overrideBlink": "block"},
            "aa": {"overrideMouth": "block"}
        }}}}});
        assert_eq!(
            expression_overrides(&doc),
            vec![(
                crate::speech::Emotion::Happy,
                Override::Blend,
                Override::Block
            )]
        );
        assert!((Override::Blend.scale(0.8) - 0.2).abs() < 1e-6);
        assert_eq!(Override::Block.scale(0.1), 0.0);
        assert_eq!(Override::Block.scale(0.0), 1.0);
        assert_eq!(Override::None.scale(1.0), 1.0);
    }
}
