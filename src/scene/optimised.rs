//! Optimised glTF, as gltfpack, VRoid, Ready Player Me and Blender write it:
//! meshopt-compressed buffers (`EXT_meshopt_compression`), Draco-compressed meshes
//! (`KHR_draco_mesh_compression`, [`draco`]), integer vertex attributes
//! (`KHR_mesh_quantization`) and WebP textures (`EXT_texture_webp`). Bevy's loader takes
//! none of them, so such a file is rewritten once into a plain GLB in the cache (buffers
//! decoded, attributes made floats, textures pointed at their WebP image, external
//! files embedded) and that copy is loaded. Other required extensions are left for the
//! loader to refuse, naming them.
//!
//! Every number read from the file is checked against the data it points into: a bad
//! file is an error naming the file and what is wrong, never a panic.

use super::gltf_json::{beside_in, newest_change};
use crate::gltf_doc::{document, glb, percent_decode, split};
use base64::Engine as _;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use thiserror::Error;

mod draco;

const MESHOPT: &str = "EXT_meshopt_compression";
const QUANTIZATION: &str = "KHR_mesh_quantization";
const WEBP: &str = "EXT_texture_webp";
/// The extensions this module removes by rewriting.
pub const REWRITTEN: [&str; 4] = [MESHOPT, QUANTIZATION, WEBP, draco::DRACO];
/// A decoded view may be at most this large (a file is untrusted).
const MAX_VIEW_BYTES: usize = 512 << 20;

#[derive(Debug, Error)]
#[error("{}: {reason}", path.display())]
pub struct OptimisedError {
    pub path: PathBuf,
    pub reason: String,
}

/// The file to load for `file`: a plain copy in `cache` when it uses one of the
/// [`REWRITTEN`] extensions (made once per version of the file), else `None`.
pub fn plain_copy(file: &Path, cache: &Path) -> Result<Option<PathBuf>, OptimisedError> {
    let err = |reason: String| OptimisedError {
        path: file.to_path_buf(),
        reason,
    };
    // The document alone first: every set build asks this of every model, and most use
    // none of these extensions, so their meshes and textures are not read here.
    let doc = document(file).map_err(err)?;
    let used = |name: &str| {
        (doc["extensionsUsed"].as_array().into_iter().flatten()).any(|e| e.as_str() == Some(name))
    };
    if !REWRITTEN.iter().any(|e| used(e)) {
        return Ok(None);
    }
    let bytes = std::fs::read(file).map_err(|e| err(format!("cannot read: {e}")))?;
    let (_, bin) = split(&bytes).map_err(err)?;
    // A copy per version of the file and of the files beside it (embedded in the copy).
    let stamp = newest_change(file, &beside_in(file, &doc))
        .and_then(|(t, _)| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64);
    let key = crate::voice::fnv1a(format!("{}|{stamp}|{}", file.display(), bytes.len()).bytes());
    let stem = file
        .file_stem()
        .map_or("model".into(), |s| s.to_string_lossy().into_owned());
    let out = cache.join(format!("{stem}-{key:016x}.glb"));
    if out.exists() {
        return Ok(Some(out));
    }
    let base = file.parent().unwrap_or(Path::new("."));
    let glb = rewrite(doc, bin, base).map_err(err)?;
    std::fs::create_dir_all(cache)
        .and_then(|_| std::fs::write(&out, glb))
        .map_err(|e| {
            err(format!(
                "cannot write the plain copy {}: {e}",
                out.display()
            ))
        })?;
    tracing::info!(
        "{}: optimised glTF rewritten as {}",
        file.display(),
        out.display()
    );
    Ok(Some(out))
}

/// The bytes of each buffer: the GLB's own, data URIs, files beside the model. A meshopt
/// fallback buffer (no data, only there for loaders without the extension) is empty.
fn buffers(doc: &Value, bin: Option<&[u8]>, base: &Path) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for (i, b) in doc["buffers"].as_array().into_iter().flatten().enumerate() {
        let data = match b["uri"].as_str() {
            None if b["extensions"][MESHOPT]["fallback"] == true => Vec::new(),
            None if i == 0 => bin
                .ok_or("buffer 0 has no data and the file is no GLB")?
                .to_vec(),
            None => return Err(format!("buffer {i} has no data")),
            Some(uri) => read_uri(uri, base)?,
        };
        out.push(data);
    }
    Ok(out)
}

fn read_uri(uri: &str, base: &Path) -> Result<Vec<u8>, String> {
    if let Some(rest) = uri.strip_prefix("data:") {
        let (_, data) = rest
            .split_once(";base64,")
            .ok_or("a data URI that is not base64")?;
        return base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| format!("bad base64 data URI: {e}"));
    }
    let name = percent_decode(uri);
    let path = base.join(&name);
    if Path::new(&name).is_absolute() || name.split(['/', '\\']).any(|p| p == "..") {
        return Err(format!("`{uri}` points outside the model's folder"));
    }
    std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The plain GLB: one buffer holding every view (decoded), quantized attributes as
/// floats, WebP textures pointing at their image, external images embedded.
fn rewrite(mut doc: Value, bin: Option<&[u8]>, base: &Path) -> Result<Vec<u8>, String> {
    let sources = buffers(&doc, bin, base)?;
    let mut blob: Vec<u8> = Vec::new();
    let views = doc["bufferViews"].as_array().cloned().unwrap_or_default();
    let mut new_views = Vec::with_capacity(views.len());
    for (i, view) in views.iter().enumerate() {
        let data = match view["extensions"].get(MESHOPT) {
            Some(m) => decode_meshopt(m, &sources).map_err(|e| format!("buffer view {i}: {e}"))?,
            None => slice(view, &sources)
                .map_err(|e| format!("buffer view {i}: {e}"))?
                .to_vec(),
        };
        let mut v = view.clone();
        if let Some(ext) = v["extensions"].as_object_mut() {
            ext.remove(MESHOPT);
        }
        new_views.push(place(&mut blob, &data, v));
    }
    doc["bufferViews"] = Value::Array(new_views);
    embed_images(&mut doc, &mut blob, base)?;
    use_webp_sources(&mut doc);
    draco::decode_primitives(&mut doc, &mut blob)?;
    dequantize(&mut doc, &mut blob)?;
    doc["buffers"] = json!([{ "byteLength": blob.len() }]);
    for list in ["extensionsUsed", "extensionsRequired"] {
        if let Some(a) = doc.get_mut(list).and_then(Value::as_array_mut) {
            a.retain(|e| !e.as_str().is_some_and(|e| REWRITTEN.contains(&e)));
        }
    }
    Ok(glb(&doc, &blob))
}

/// A view's bytes in its buffer.
fn slice<'a>(view: &Value, sources: &'a [Vec<u8>]) -> Result<&'a [u8], String> {
    let buffer = sources
        .get(view["buffer"].as_u64().unwrap_or(u64::MAX) as usize)
        .ok_or("no such buffer")?;
    slice_of(view, buffer)
}

/// A view's bytes in `buffer`.
fn slice_of<'a>(view: &Value, buffer: &'a [u8]) -> Result<&'a [u8], String> {
    let at = view["byteOffset"].as_u64().unwrap_or(0) as usize;
    let len = view["byteLength"].as_u64().ok_or("no byteLength")? as usize;
    buffer
        .get(at..at.checked_add(len).ok_or("length overflows")?)
        .ok_or_else(|| "past the end of its buffer".to_string())
}

/// Appends `data` to the blob (4-byte aligned) and points `view` at it.
fn place(blob: &mut Vec<u8>, data: &[u8], mut view: Value) -> Value {
    while !blob.len().is_multiple_of(4) {
        blob.push(0);
    }
    view["buffer"] = json!(0);
    view["byteOffset"] = json!(blob.len());
    view["byteLength"] = json!(data.len());
    blob.extend_from_slice(data);
    view
}

/// Decodes one meshopt-compressed view (`ATTRIBUTES`, `TRIANGLES` or `INDICES`, with its
/// filter).
fn decode_meshopt(m: &Value, sources: &[Vec<u8>]) -> Result<Vec<u8>, String> {
    let src = slice(m, sources)?;
    let count = m["count"].as_u64().ok_or("no count")? as usize;
    let stride = m["byteStride"].as_u64().ok_or("no byteStride")? as usize;
    let size = count.checked_mul(stride).filter(|s| *s <= MAX_VIEW_BYTES);
    let size = size.ok_or("decoded size out of bounds")?;
    let mut out = vec![0u8; size];
    // SAFETY: `out` holds `count * stride` bytes, as each decoder writes; the decoders
    // check the encoded input against its length (they are safe on untrusted data).
    let code = unsafe {
        match m["mode"].as_str() {
            Some("ATTRIBUTES") if stride.is_multiple_of(4) && stride <= 256 => {
                meshopt::ffi::meshopt_decodeVertexBuffer(
                    out.as_mut_ptr().cast(),
                    count,
                    stride,
                    src.as_ptr(),
                    src.len(),
                )
            }
            Some("TRIANGLES") if (stride == 2 || stride == 4) && count.is_multiple_of(3) => {
                meshopt::ffi::meshopt_decodeIndexBuffer(
                    out.as_mut_ptr().cast(),
                    count,
                    stride,
                    src.as_ptr(),
                    src.len(),
                )
            }
            Some("INDICES") if stride == 2 || stride == 4 => {
                meshopt::ffi::meshopt_decodeIndexSequence(
                    out.as_mut_ptr().cast(),
                    count,
                    stride,
                    src.as_ptr(),
                    src.len(),
                )
            }
            mode => {
                return Err(format!(
                    "meshopt mode {mode:?} with stride {stride} is not valid"
                ));
            }
        }
    };
    if code != 0 {
        return Err(format!("meshopt data does not decode (error {code})"));
    }
    // SAFETY: as above; each filter rewrites `count` elements of `stride` bytes in place,
    // and the strides are the ones the filter accepts.
    unsafe {
        match (m["filter"].as_str().unwrap_or("NONE"), stride) {
            ("NONE", _) => {}
            ("OCTAHEDRAL", 4 | 8) => {
                meshopt::ffi::meshopt_decodeFilterOct(out.as_mut_ptr().cast(), count, stride)
            }
            ("QUATERNION", 8) => {
                meshopt::ffi::meshopt_decodeFilterQuat(out.as_mut_ptr().cast(), count, stride)
            }
            ("EXPONENTIAL", s) if s % 4 == 0 => {
                meshopt::ffi::meshopt_decodeFilterExp(out.as_mut_ptr().cast(), count, stride)
            }
            (filter, _) => return Err(format!("meshopt filter {filter} with stride {stride}")),
        }
    }
    Ok(out)
}

/// Images given as files beside the model go into the blob, since the copy lives
/// elsewhere.
fn embed_images(doc: &mut Value, blob: &mut Vec<u8>, base: &Path) -> Result<(), String> {
    let count = doc["images"].as_array().map_or(0, Vec::len);
    for i in 0..count {
        let Some(uri) = doc["images"][i]["uri"]
            .as_str()
            .filter(|u| !u.starts_with("data:"))
        else {
            continue;
        };
        let data = read_uri(uri, base)?;
        let mime = match uri
            .rsplit('.')
            .next()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("png") => "image/png",
            Some("webp") => "image/webp",
            _ => "image/jpeg",
        };
        let view = place(blob, &data, json!({}));
        let views = doc["bufferViews"].as_array_mut().ok_or("no buffer views")?;
        views.push(view);
        let index = views.len() - 1;
        let image = &mut doc["images"][i];
        if let Some(o) = image.as_object_mut() {
            o.remove("uri");
        }
        image["mimeType"] = json!(mime);
        image["bufferView"] = json!(index);
    }
    Ok(())
}

/// A texture with an `EXT_texture_webp` source shows that image (Bevy decodes WebP).
fn use_webp_sources(doc: &mut Value) {
    // `get_mut`, not indexing: indexing a missing key would write `"textures": null`,
    // which Bevy's loader refuses.
    let textures = doc.get_mut("textures").and_then(Value::as_array_mut);
    for texture in textures.into_iter().flatten() {
        if let Some(source) = texture["extensions"][WEBP]["source"].as_u64() {
            texture["source"] = json!(source);
            if let Some(o) = texture["extensions"].as_object_mut() {
                o.remove(WEBP);
            }
        }
    }
}

/// Components of an accessor's element.
fn components(kind: &str) -> Option<usize> {
    Some(match kind {
        "SCALAR" => 1,
        "VEC2" => 2,
        "VEC3" => 3,
        "VEC4" => 4,
        _ => return None,
    })
}

/// Mesh attributes stored as integers (quantized) become float accessors with their
/// values (normalized ones scaled to −1…1 or 0…1); positions get their bounds anew.
fn dequantize(doc: &mut Value, blob: &mut Vec<u8>) -> Result<(), String> {
    let mut wanted: Vec<(usize, bool)> = Vec::new();
    for mesh in doc["meshes"].as_array().into_iter().flatten() {
        for p in mesh["primitives"].as_array().into_iter().flatten() {
            let sets = std::iter::once(&p["attributes"])
                .chain(p["targets"].as_array().into_iter().flatten());
            for set in sets {
                for (name, a) in set.as_object().into_iter().flatten() {
                    let float_kind = name == "POSITION"
                        || name == "NORMAL"
                        || name == "TANGENT"
                        || name.starts_with("TEXCOORD_");
                    if let (true, Some(a)) = (float_kind, a.as_u64()) {
                        wanted.push((a as usize, name == "POSITION"));
                    }
                }
            }
        }
    }
    wanted.sort();
    wanted.dedup();
    for (index, position) in wanted {
        let accessor = doc["accessors"][index].clone();
        if accessor["componentType"].as_u64().is_none_or(|c| c == 5126) {
            continue;
        }
        let values =
            read_accessor(doc, blob, &accessor).map_err(|e| format!("accessor {index}: {e}"))?;
        let n = components(accessor["type"].as_str().unwrap_or("")).unwrap_or(1);
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let view = place(blob, &bytes, json!({}));
        let views = doc["bufferViews"].as_array_mut().ok_or("no buffer views")?;
        views.push(view);
        let view_index = views.len() - 1;
        let a = &mut doc["accessors"][index];
        a["bufferView"] = json!(view_index);
        a["byteOffset"] = json!(0);
        a["componentType"] = json!(5126);
        if let Some(o) = a.as_object_mut() {
            o.remove("normalized");
            o.remove("sparse");
        }
        if position {
            set_bounds(a, &values, n);
        }
    }
    Ok(())
}

/// Sets a position accessor's `min` and `max` (glTF requires them) from its `values`, `n`
/// components each.
fn set_bounds(accessor: &mut Value, values: &[f32], n: usize) {
    let bound = |pick: fn(f32, f32) -> f32, start: f32| -> Vec<f32> {
        let component = |c: usize| {
            values
                .iter()
                .skip(c)
                .step_by(n)
                .fold(start, |m, v| pick(m, *v))
        };
        (0..n).map(component).collect()
    };
    accessor["min"] = json!(bound(f32::min, f32::MAX));
    accessor["max"] = json!(bound(f32::max, f32::MIN));
}

/// An accessor's values as floats (normalized integers scaled as glTF says), its sparse
/// substitutions made (on zeros where it has no buffer view, as morph targets may).
fn read_accessor(doc: &Value, blob: &[u8], a: &Value) -> Result<Vec<f32>, String> {
    let n = components(a["type"].as_str().unwrap_or("")).ok_or("unknown type")?;
    let count = a["count"].as_u64().ok_or("no count")? as usize;
    let kind = Kind::of(a)?;
    if count.saturating_mul(n * kind.size) > MAX_VIEW_BYTES {
        return Err("too many values".into());
    }
    let offset = a["byteOffset"].as_u64().unwrap_or(0) as usize;
    let mut out = match a["bufferView"].as_u64() {
        Some(v) => {
            let view = &doc["bufferViews"][v as usize];
            let stride = view["byteStride"].as_u64().map(|s| s as usize);
            kind.read(slice_of(view, blob)?, offset, stride, count, n)?
        }
        None if a.get("sparse").is_some() => vec![0.0; count * n],
        None => return Err("no bufferView".into()),
    };
    if let Some(sparse) = a.get("sparse") {
        substitute(doc, blob, sparse, kind, n, &mut out).map_err(|e| format!("sparse: {e}"))?;
    }
    Ok(out)
}

/// The bytes of one component of glTF component type `code`.
fn component_size(code: u64) -> Option<usize> {
    match code {
        5120 | 5121 => Some(1),
        5122 | 5123 => Some(2),
        5125 | 5126 => Some(4),
        _ => None,
    }
}

/// An accessor's component type, and whether its integers are normalized.
#[derive(Clone, Copy)]
struct Kind {
    code: u64,
    size: usize,
    normalized: bool,
}

impl Kind {
    fn of(a: &Value) -> Result<Self, String> {
        let code = a["componentType"].as_u64().ok_or("no componentType")?;
        let size = component_size(code).ok_or(format!("component type {code}"))?;
        let normalized = a["normalized"] == true;
        Ok(Self {
            code,
            size,
            normalized,
        })
    }

    /// `count` elements of `n` components from `data` at `offset`, `stride` bytes apart
    /// (their own size, 4-byte aligned, when the view gives none).
    fn read(
        self,
        data: &[u8],
        offset: usize,
        stride: Option<usize>,
        count: usize,
        n: usize,
    ) -> Result<Vec<f32>, String> {
        let element = n * self.size;
        let stride = stride.unwrap_or(element.next_multiple_of(4));
        let end = (count.checked_sub(1))
            .and_then(|c| c.checked_mul(stride))
            .and_then(|c| c.checked_add(offset + element))
            .unwrap_or(0);
        if end > data.len() || count.saturating_mul(stride) > MAX_VIEW_BYTES {
            return Err("runs past its buffer view".into());
        }
        let mut out = Vec::with_capacity(count * n);
        for i in 0..count {
            for c in 0..n {
                let at = offset + i * stride + c * self.size;
                out.push(self.value(&data[at..at + self.size]));
            }
        }
        Ok(out)
    }

    fn value(self, b: &[u8]) -> f32 {
        match (self.code, self.normalized) {
            (5120, false) => b[0] as i8 as f32,
            (5120, true) => (b[0] as i8 as f32 / 127.0).max(-1.0),
            (5121, false) => b[0] as f32,
            (5121, true) => b[0] as f32 / 255.0,
            (5122, false) => i16::from_le_bytes([b[0], b[1]]) as f32,
            (5122, true) => (i16::from_le_bytes([b[0], b[1]]) as f32 / 32767.0).max(-1.0),
            (5123, false) => u16::from_le_bytes([b[0], b[1]]) as f32,
            (5123, true) => u16::from_le_bytes([b[0], b[1]]) as f32 / 65535.0,
            (5125, _) => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32,
            _ => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        }
    }
}

/// Puts a sparse accessor's values (tightly packed, of the accessor's kind) at its indices
/// (unsigned bytes, shorts or ints) into `out`; an index past the accessor is an error.
fn substitute(
    doc: &Value,
    blob: &[u8],
    sparse: &Value,
    kind: Kind,
    n: usize,
    out: &mut [f32],
) -> Result<(), String> {
    let count = sparse["count"].as_u64().ok_or("no count")? as usize;
    let part = |name: &str| -> Result<(&[u8], usize), String> {
        let at = &sparse[name];
        let view = at["bufferView"]
            .as_u64()
            .ok_or(format!("no {name} bufferView"))?;
        let data = slice_of(&doc["bufferViews"][view as usize], blob)?;
        Ok((data, at["byteOffset"].as_u64().unwrap_or(0) as usize))
    };
    let (data, offset) = part("indices")?;
    let size = match sparse["indices"]["componentType"].as_u64() {
        Some(5121) => 1,
        Some(5123) => 2,
        Some(5125) => 4,
        k => return Err(format!("index component type {k:?}")),
    };
    let bytes = (data.get(offset..))
        .and_then(|d| d.get(..count.checked_mul(size)?))
        .ok_or("indices run past their buffer view")?;
    let at = bytes.chunks_exact(size).map(|b| {
        let mut word = [0u8; 4];
        word[..size].copy_from_slice(b);
        u32::from_le_bytes(word) as usize
    });
    let (data, offset) = part("values")?;
    let values = kind.read(data, offset, Some(n * kind.size), count, n)?;
    for (i, value) in at.zip(values.chunks_exact(n)) {
        let start = i.checked_mul(n).filter(|s| s + n <= out.len());
        let start = start.ok_or(format!("index {i} is past the accessor's end"))?;
        out[start..start + n].copy_from_slice(value);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
