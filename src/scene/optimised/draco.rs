//! `KHR_draco_mesh_compression`: a primitive's mesh compressed with Google's Draco (as
//! Blender's glTF exporter, gltf-transform and Sketchfab write it), decoded by
//! `draco-core` into plain accessors of the copy. The primitive's own accessors say what
//! each attribute is (type, component type, normalized); their decoded values become
//! floats (joints: unsigned shorts) and the faces 32-bit indices. Morph targets are not
//! compressed by the extension and stay as they are.

use super::{MAX_VIEW_BYTES, component_size, components, place, set_bounds, slice_of};
use draco_core::{DataType, DecodeLimits, DecoderBuffer, Mesh, MeshDecoder, PointAttribute};
use serde_json::{Value, json};
use std::collections::BTreeSet;

pub(super) const DRACO: &str = "KHR_draco_mesh_compression";

/// Decodes every Draco-compressed primitive of `doc` whose views are in `blob`: its
/// attributes and indices become new accessors over views appended to `blob`, and the
/// extension leaves the primitive.
pub(super) fn decode_primitives(doc: &mut Value, blob: &mut Vec<u8>) -> Result<(), String> {
    let mut replaced = BTreeSet::new();
    let meshes = doc["meshes"].as_array().map_or(0, Vec::len);
    for m in 0..meshes {
        let primitives = doc["meshes"][m]["primitives"]
            .as_array()
            .map_or(0, Vec::len);
        for p in 0..primitives {
            let ext = doc["meshes"][m]["primitives"][p]["extensions"][DRACO].clone();
            if ext.is_null() {
                continue;
            }
            let primitive = doc["meshes"][m]["primitives"][p].clone();
            replaced.extend(accessors_of(&primitive));
            let primitive = decode(doc, blob, &primitive, &ext)
                .map_err(|e| format!("mesh {m} primitive {p}: {e}"))?;
            doc["meshes"][m]["primitives"][p] = primitive;
        }
    }
    give_views_to_the_replaced(doc, blob, &replaced)
}

/// The accessors a primitive draws from: its attributes, indices and morph targets.
fn accessors_of(primitive: &Value) -> Vec<u64> {
    let sets = std::iter::once(&primitive["attributes"])
        .chain(primitive["targets"].as_array().into_iter().flatten());
    let attributes = sets.flat_map(|set| set.as_object().into_iter().flatten().map(|(_, a)| a));
    attributes
        .chain([&primitive["indices"]])
        .filter_map(Value::as_u64)
        .collect()
}

/// The Draco primitives' own accessors have no data (Bevy's loader refuses such a one).
/// One nothing draws from any more holds a single zero; one something still uses (a
/// skin, an animation, a plain primitive) holds zeros in full, as glTF reads an accessor
/// without a view.
fn give_views_to_the_replaced(
    doc: &mut Value,
    blob: &mut Vec<u8>,
    replaced: &BTreeSet<u64>,
) -> Result<(), String> {
    let mut used: BTreeSet<u64> = BTreeSet::new();
    for mesh in doc["meshes"].as_array().into_iter().flatten() {
        for p in mesh["primitives"].as_array().into_iter().flatten() {
            used.extend(accessors_of(p));
        }
    }
    for skin in doc["skins"].as_array().into_iter().flatten() {
        used.extend(skin["inverseBindMatrices"].as_u64());
    }
    for animation in doc["animations"].as_array().into_iter().flatten() {
        for sampler in animation["samplers"].as_array().into_iter().flatten() {
            used.extend(
                [&sampler["input"], &sampler["output"]]
                    .into_iter()
                    .filter_map(Value::as_u64),
            );
        }
    }
    for &index in replaced {
        let accessor = &doc["accessors"][index as usize];
        if accessor.get("bufferView").is_some() || accessor.get("sparse").is_some() {
            continue;
        }
        let n = match accessor["type"].as_str().unwrap_or("") {
            "MAT2" => 4,
            "MAT3" => 9,
            "MAT4" => 16,
            kind => components(kind).ok_or(format!("accessor {index}: unknown type"))?,
        };
        let size = (accessor["componentType"].as_u64())
            .and_then(component_size)
            .unwrap_or(4);
        let count = match used.contains(&index) {
            true => accessor["count"].as_u64().unwrap_or(0) as usize,
            false => 1,
        };
        let bytes = count.saturating_mul(n * size);
        if bytes > MAX_VIEW_BYTES {
            return Err(format!("accessor {index}: too large"));
        }
        let view = push(
            &mut doc["bufferViews"],
            place(blob, &vec![0; bytes], json!({})),
        );
        let accessor = &mut doc["accessors"][index as usize];
        accessor["bufferView"] = json!(view);
        accessor["count"] = json!(count);
    }
    Ok(())
}

/// `primitive` with its Draco mesh decoded into new accessors.
fn decode(
    doc: &mut Value,
    blob: &mut Vec<u8>,
    primitive: &Value,
    ext: &Value,
) -> Result<Value, String> {
    let view = ext["bufferView"].as_u64().ok_or("no bufferView")? as usize;
    let mesh = decode_mesh(slice_of(&doc["bufferViews"][view], blob)?)?;
    let points = mesh.num_points();
    let mut out = primitive.clone();
    let indices: Vec<u32> = mesh.faces().iter().flatten().map(|i| i.0).collect();
    if indices.iter().any(|i| *i as usize >= points) {
        return Err("a face names a point the mesh does not have".into());
    }
    let bytes: Vec<u8> = indices.iter().flat_map(|i| i.to_le_bytes()).collect();
    let accessor = json!({"componentType": 5125, "count": indices.len(), "type": "SCALAR"});
    out["indices"] = json!(add(doc, blob, &bytes, accessor));
    for (name, id) in ext["attributes"].as_object().into_iter().flatten() {
        let id = id
            .as_u64()
            .ok_or(format!("{name}: no Draco attribute id"))?;
        let attribute = mesh
            .attribute_by_unique_id(id as u32)
            .ok_or(format!("{name}: no Draco attribute {id}"))?;
        let accessor = primitive["attributes"][name]
            .as_u64()
            .ok_or(format!("{name}: no accessor"))?;
        let kind = doc["accessors"][accessor as usize]["type"].clone();
        let index = attribute_accessor(doc, blob, name, &kind, attribute, points)?;
        out["attributes"][name] = json!(index);
    }
    if let Some(extensions) = out["extensions"].as_object_mut() {
        extensions.remove(DRACO);
    }
    Ok(out)
}

/// A Draco stream decoded, its counts held to what a view of the copy may hold.
fn decode_mesh(data: &[u8]) -> Result<Mesh, String> {
    let mut limits = DecodeLimits::default();
    limits.max_points = (MAX_VIEW_BYTES / 12) as u64;
    limits.max_faces = (MAX_VIEW_BYTES / 12) as u64;
    limits.max_decoded_bytes = MAX_VIEW_BYTES as u64;
    // The decoder is a port of a large C++ library fed untrusted bytes: should it panic on
    // some stream (none was found cutting or changing one anywhere), the file is refused
    // with its name rather than the show stopped.
    let mut mesh = Mesh::new();
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut buffer = DecoderBuffer::new(data).with_limits(limits);
        MeshDecoder::new().decode(&mut buffer, &mut mesh)
    }));
    match decoded {
        Ok(Ok(())) => Ok(mesh),
        Ok(Err(e)) => Err(format!("Draco data: {e}")),
        Err(_) => Err("Draco data the decoder could not read (it failed)".into()),
    }
}

/// Draco attribute `name`'s values for `points` points as a new accessor of glTF type
/// `kind` (the primitive's accessor's): floats, normalized integers scaled to 0–1 or
/// −1–1, joints as unsigned shorts; its index.
fn attribute_accessor(
    doc: &mut Value,
    blob: &mut Vec<u8>,
    name: &str,
    kind: &Value,
    attribute: &PointAttribute,
    points: usize,
) -> Result<usize, String> {
    let n = components(kind.as_str().unwrap_or("")).ok_or(format!("{name}: unknown type"))?;
    if points.saturating_mul(n * 4) > MAX_VIEW_BYTES {
        return Err(format!("{name}: too many points"));
    }
    let values = attribute.read_f32s(points, n);
    if name.starts_with("JOINTS_") {
        let bytes: Vec<u8> = values
            .iter()
            .flat_map(|v| (*v as u16).to_le_bytes())
            .collect();
        let accessor = json!({"componentType": 5123, "count": points, "type": kind});
        return Ok(add(doc, blob, &bytes, accessor));
    }
    let scale = match (attribute.normalized(), attribute.data_type()) {
        (true, DataType::Int8) => Some(127.0),
        (true, DataType::Uint8) => Some(255.0),
        (true, DataType::Int16) => Some(32767.0),
        (true, DataType::Uint16) => Some(65535.0),
        _ => None,
    };
    let values: Vec<f32> = match scale {
        Some(max) => values.iter().map(|v| (v / max).max(-1.0)).collect(),
        None => values,
    };
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut accessor = json!({"componentType": 5126, "count": points, "type": kind});
    if name == "POSITION" {
        set_bounds(&mut accessor, &values, n);
    }
    Ok(add(doc, blob, &bytes, accessor))
}

/// Appends `bytes` as a new view and `accessor` over it; the accessor's index.
fn add(doc: &mut Value, blob: &mut Vec<u8>, bytes: &[u8], mut accessor: Value) -> usize {
    accessor["bufferView"] = json!(push(&mut doc["bufferViews"], place(blob, bytes, json!({}))));
    push(&mut doc["accessors"], accessor)
}

/// Appends `item` to the array `list` (made one if it is not); its index.
fn push(list: &mut Value, item: Value) -> usize {
    match list.as_array_mut() {
        Some(items) => {
            items.push(item);
            items.len() - 1
        }
        None => {
            *list = json!([item]);
            0
        }
    }
}
