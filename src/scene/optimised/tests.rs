use super::*;

/// A triangle as an optimising exporter writes it: positions as unnormalized u16 in a
/// meshopt-compressed view (stride 8), normals as normalized i8 (plain view), indices
/// meshopt-compressed, a WebP texture only through `EXT_texture_webp`, and an image file
/// beside the model.
fn packed(dir: &Path) -> PathBuf {
    let positions: Vec<[u16; 4]> = vec![[0, 0, 0, 0], [1, 0, 0, 0], [0, 2, 0, 0]];
    let encoded = meshopt::encoding::encode_vertex_buffer(&positions).unwrap();
    let indices = meshopt::encoding::encode_index_buffer(&[0, 1, 2], 3).unwrap();
    let normals: Vec<u8> = [0i8, 0, 127, 0]
        .repeat(3)
        .iter()
        .map(|b| *b as u8)
        .collect();
    let mut bin = encoded.clone();
    while !bin.len().is_multiple_of(4) {
        bin.push(0);
    }
    let indices_at = bin.len();
    bin.extend_from_slice(&indices);
    while !bin.len().is_multiple_of(4) {
        bin.push(0);
    }
    let normals_at = bin.len();
    bin.extend_from_slice(&normals);
    std::fs::write(dir.join("picture.png"), b"not really a png").unwrap();
    let doc = json!({
        "asset": {"version": "2.0"},
        "extensionsUsed": [MESHOPT, QUANTIZATION, WEBP, "KHR_materials_unlit"],
        "extensionsRequired": [MESHOPT, QUANTIZATION],
        "buffers": [
            {"byteLength": bin.len()},
            {"byteLength": 64, "extensions": {MESHOPT: {"fallback": true}}},
        ],
        "bufferViews": [
            {"buffer": 1, "byteLength": 24, "byteStride": 8, "extensions": {MESHOPT: {
                "buffer": 0, "byteOffset": 0, "byteLength": encoded.len(),
                "byteStride": 8, "count": 3, "mode": "ATTRIBUTES"}}},
            {"buffer": 1, "byteLength": 12, "extensions": {MESHOPT: {
                "buffer": 0, "byteOffset": indices_at, "byteLength": indices.len(),
                "byteStride": 4, "count": 3, "mode": "TRIANGLES"}}},
            {"buffer": 0, "byteOffset": normals_at, "byteLength": 12, "byteStride": 4},
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5123, "count": 3, "type": "VEC3",
             "min": [0, 0, 0], "max": [1, 2, 0]},
            {"bufferView": 1, "componentType": 5125, "count": 3, "type": "SCALAR"},
            {"bufferView": 2, "componentType": 5120, "normalized": true, "count": 3, "type": "VEC3"},
        ],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "NORMAL": 2}, "indices": 1}]}],
        "images": [{"uri": "picture.png"}, {"uri": "data:image/webp;base64,AAAA"}],
        "textures": [{"source": 0, "extensions": {WEBP: {"source": 1}}}],
    });
    let path = dir.join("packed.glb");
    std::fs::write(&path, glb(&doc, &bin)).unwrap();
    path
}

/// The document and binary chunk of `file`'s plain copy (made in `dir`'s cache).
fn rewritten(file: &Path, dir: &Path) -> (Value, Vec<u8>) {
    let copy = plain_copy(file, &dir.join("cache")).unwrap().unwrap();
    let bytes = std::fs::read(&copy).unwrap();
    let (json, bin) = split(&bytes).unwrap();
    (serde_json::from_slice(json).unwrap(), bin.unwrap().to_vec())
}

fn scratch(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("twincast-optimised-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn an_optimised_file_becomes_a_plain_one() {
    let dir = scratch("plain");
    let file = packed(&dir);
    let (doc, blob) = rewritten(&file, &dir);
    let blob = &blob[..];
    assert_eq!(doc["extensionsRequired"], json!([]));
    assert_eq!(doc["extensionsUsed"], json!(["KHR_materials_unlit"]));
    assert_eq!(doc["buffers"].as_array().unwrap().len(), 1);
    // Positions decoded and made floats, with their bounds.
    let p = &doc["accessors"][0];
    assert_eq!(p["componentType"], 5126);
    let positions = read_accessor(&doc, blob, p).unwrap();
    assert_eq!(positions, vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 2.0, 0.0]);
    assert_eq!(p["max"], json!([1.0, 2.0, 0.0]));
    // Normals scaled from their normalized bytes.
    let normals = read_accessor(&doc, blob, &doc["accessors"][2]).unwrap();
    assert_eq!(normals, vec![0.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0]);
    // Indices decoded in place (still u32 integers).
    let view = &doc["bufferViews"][1];
    let indices: Vec<u32> = slice_of(view, blob)
        .unwrap()
        .chunks(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(indices, vec![0, 1, 2]);
    // The WebP image is the texture's source; the file beside the model is embedded.
    assert_eq!(doc["textures"][0]["source"], 1);
    assert!(doc["textures"][0]["extensions"].get(WEBP).is_none());
    let image = &doc["images"][0];
    assert!(image.get("uri").is_none());
    assert_eq!(image["mimeType"], "image/png");
    let embedded = &doc["bufferViews"][image["bufferView"].as_u64().unwrap() as usize];
    assert_eq!(slice_of(embedded, blob).unwrap(), b"not really a png");
    // Made once per version of the file: another call returns the same copy.
    let copy = plain_copy(&file, &dir.join("cache")).unwrap();
    assert_eq!(plain_copy(&file, &dir.join("cache")).unwrap(), copy);
}

#[test]
fn plain_files_are_left_alone_and_bad_ones_named() {
    let dir = scratch("bad");
    let plain = dir.join("plain.gltf");
    std::fs::write(&plain, r#"{"asset": {"version": "2.0"}}"#).unwrap();
    assert_eq!(plain_copy(&plain, &dir).unwrap(), None);

    // Compressed data cut short: an error naming the file and the view.
    let path = packed(&dir);
    let bytes = std::fs::read(&path).unwrap();
    let (json, bin) = split(&bytes).unwrap();
    let original: Value = serde_json::from_slice(json).unwrap();
    let mut doc = original.clone();
    doc["bufferViews"][0]["extensions"][MESHOPT]["byteLength"] = json!(3);
    let cut = dir.join("cut.glb");
    std::fs::write(&cut, glb(&doc, bin.unwrap())).unwrap();
    let e = plain_copy(&cut, &dir.join("cache"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("cut.glb") && e.contains("buffer view 0"), "{e}");

    // A count far past the data: refused, not allocated.
    doc["bufferViews"][0]["extensions"][MESHOPT]["count"] = json!(u64::MAX / 8);
    std::fs::write(&cut, glb(&doc, bin.unwrap())).unwrap();
    let e = plain_copy(&cut, &dir.join("cache2"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("out of bounds"), "{e}");

    // An image outside the model's folder is not read.
    let mut doc = original;
    doc["images"][0]["uri"] = json!("../../etc/passwd");
    std::fs::write(&cut, glb(&doc, bin.unwrap())).unwrap();
    let e = plain_copy(&cut, &dir.join("cache3"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("outside"), "{e}");
}

/// A quantized morph target as exporters write one: no buffer view (zeros), its few moved
/// vertices as sparse substitutions (u16 indices, normalized i8 deltas); and quantized
/// positions with one vertex replaced sparsely.
fn sparse_doc() -> (Value, Vec<u8>) {
    let mut blob: Vec<u8> = Vec::new();
    // 0: positions, u16 VEC3 (stride 8); 4: the target's index; 8: its delta; 12: the
    // positions' replaced index; 16: its value.
    for p in [[0u16, 0, 0, 0], [1, 0, 0, 0], [0, 2, 0, 0]] {
        blob.extend(p.iter().flat_map(|v| v.to_le_bytes()));
    }
    blob.extend([
        1u8, 0, 0, 0, 127, 0, 129, 0, 2, 0, 0, 0, 5, 0, 5, 0, 5, 0, 0, 0,
    ]);
    let doc = json!({
        "bufferViews": [
            {"buffer": 0, "byteLength": 24, "byteStride": 8},
            {"buffer": 0, "byteOffset": 24, "byteLength": 2},
            {"buffer": 0, "byteOffset": 28, "byteLength": 3},
            {"buffer": 0, "byteOffset": 32, "byteLength": 1},
            {"buffer": 0, "byteOffset": 36, "byteLength": 6},
        ],
        "accessors": [
            {"bufferView": 0, "componentType": 5123, "count": 3, "type": "VEC3",
             "sparse": {"count": 1, "indices": {"bufferView": 3, "componentType": 5121},
                        "values": {"bufferView": 4}}},
            {"componentType": 5120, "normalized": true, "count": 3, "type": "VEC3",
             "sparse": {"count": 1, "indices": {"bufferView": 1, "componentType": 5123},
                        "values": {"bufferView": 2}}},
        ],
        "meshes": [{"primitives": [{"attributes": {"POSITION": 0},
                                    "targets": [{"POSITION": 1}]}]}],
    });
    (doc, blob)
}

#[test]
fn sparse_quantized_accessors_are_read_with_their_substitutions() {
    let (doc, blob) = sparse_doc();
    let positions = read_accessor(&doc, &blob, &doc["accessors"][0]).unwrap();
    assert_eq!(positions, [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 5.0, 5.0, 5.0]);
    let target = read_accessor(&doc, &blob, &doc["accessors"][1]).unwrap();
    assert_eq!(target, [0.0, 0.0, 0.0, 1.0, 0.0, -1.0, 0.0, 0.0, 0.0]);
    // Made plain: dense floats, no sparse part left for the loader, bounds anew.
    let (mut doc, mut blob) = sparse_doc();
    dequantize(&mut doc, &mut blob).unwrap();
    for a in doc["accessors"].as_array().unwrap() {
        assert_eq!(
            (a["componentType"].as_u64(), a.get("sparse")),
            (Some(5126), None)
        );
    }
    assert_eq!(doc["accessors"][0]["max"], json!([5.0, 5.0, 5.0]));
    let view = &doc["bufferViews"][doc["accessors"][1]["bufferView"].as_u64().unwrap() as usize];
    let floats: Vec<f32> = slice_of(view, &blob)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(floats, target);
}

#[test]
fn a_sparse_index_past_the_accessor_is_an_error() {
    let (mut doc, blob) = sparse_doc();
    doc["accessors"][0]["count"] = json!(2);
    let said = read_accessor(&doc, &blob, &doc["accessors"][0]).unwrap_err();
    assert!(
        said.contains("index 2 is past the accessor's end"),
        "{said}"
    );
    doc["accessors"][1]["sparse"]["count"] = json!(1000);
    let said = read_accessor(&doc, &blob, &doc["accessors"][1]).unwrap_err();
    assert!(said.contains("run past"), "{said}");
}

/// A glTF whose one primitive (a quad of two triangles: positions, normalized u8 colours)
/// is Draco-compressed, as Blender's exporter writes it: the accessors without buffer
/// views, the mesh in a view of its own.
fn draco_doc() -> (Value, Vec<u8>) {
    use draco_core::{
        DataType, EncoderBuffer, EncoderOptions, FaceIndex, GeometryAttributeType, MeshEncoder,
        PointAttribute,
    };
    let corners: [[f32; 3]; 4] = [
        [0.0, 0.0, 0.0],
        [2.0, 0.0, 0.0],
        [2.0, 1.0, 0.0],
        [0.0, 1.0, -3.0],
    ];
    let mut mesh = draco_core::Mesh::new();
    let mut position = PointAttribute::new();
    position.init(
        GeometryAttributeType::Position,
        3,
        DataType::Float32,
        false,
        4,
    );
    for (i, v) in corners.iter().flatten().enumerate() {
        position.buffer_mut().write(i * 4, &v.to_le_bytes());
    }
    let mut colour = PointAttribute::new();
    colour.init(GeometryAttributeType::Color, 4, DataType::Uint8, true, 4);
    for i in 0..4 {
        colour
            .buffer_mut()
            .write(i * 4, &[255, 0, 51 * i as u8, 255]);
    }
    let position = mesh.add_attribute(position);
    let colour = mesh.add_attribute(colour);
    let ids = (
        mesh.attribute(position).unique_id(),
        mesh.attribute(colour).unique_id(),
    );
    mesh.set_num_faces(2);
    mesh.set_face(FaceIndex(0), [0u32.into(), 1u32.into(), 2u32.into()]);
    mesh.set_face(FaceIndex(1), [0u32.into(), 2u32.into(), 3u32.into()]);
    let mut encoder = MeshEncoder::new();
    encoder.set_mesh(mesh);
    let mut buffer = EncoderBuffer::new();
    encoder.encode(&EncoderOptions::new(), &mut buffer).unwrap();
    let blob = buffer.data().to_vec();
    let doc = json!({
        "asset": {"version": "2.0"},
        "extensionsUsed": ["KHR_draco_mesh_compression"],
        "extensionsRequired": ["KHR_draco_mesh_compression"],
        "buffers": [{"byteLength": blob.len()}],
        "bufferViews": [{"buffer": 0, "byteLength": blob.len()}],
        "accessors": [
            {"componentType": 5126, "count": 4, "type": "VEC3", "min": [0, 0, -3], "max": [2, 1, 0]},
            {"componentType": 5121, "normalized": true, "count": 4, "type": "VEC4"},
            {"componentType": 5125, "count": 6, "type": "SCALAR"},
        ],
        "meshes": [{"primitives": [{
            "attributes": {"POSITION": 0, "COLOR_0": 1}, "indices": 2,
            "extensions": {"KHR_draco_mesh_compression": {
                "bufferView": 0, "attributes": {"POSITION": ids.0, "COLOR_0": ids.1}}}}]}],
    });
    (doc, blob)
}

/// The floats an accessor of a rewritten document holds.
fn floats(doc: &Value, blob: &[u8], accessor: &Value) -> Vec<f32> {
    let view = &doc["bufferViews"][accessor["bufferView"].as_u64().unwrap() as usize];
    read_accessor(
        doc,
        blob,
        &json!({"bufferView": accessor["bufferView"],
        "componentType": accessor["componentType"], "count": accessor["count"],
        "type": accessor["type"]}),
    )
    .map_err(|e| format!("{e}: {view}"))
    .unwrap()
}

#[test]
fn a_draco_compressed_mesh_becomes_plain_accessors() {
    let dir = scratch("draco");
    let (doc, blob) = draco_doc();
    let file = dir.join("draco.glb");
    std::fs::write(&file, glb(&doc, &blob)).unwrap();
    let (doc, blob) = rewritten(&file, &dir);
    let blob = &blob[..];
    assert_eq!(doc["extensionsRequired"], json!([]));
    // No key left null for Bevy's loader to refuse (a file without textures had one).
    let nulls: Vec<_> = doc
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v.is_null())
        .collect();
    assert!(nulls.is_empty(), "{nulls:?}");
    let primitive = &doc["meshes"][0]["primitives"][0];
    assert_eq!(
        primitive
            .get("extensions")
            .and_then(|e| e.get(draco::DRACO)),
        None
    );
    let at =
        |name: &str| &doc["accessors"][primitive["attributes"][name].as_u64().unwrap() as usize];
    let positions = floats(&doc, blob, at("POSITION"));
    let colours = floats(&doc, blob, at("COLOR_0"));
    let indices = floats(
        &doc,
        blob,
        &doc["accessors"][primitive["indices"].as_u64().unwrap() as usize],
    );
    let min: Vec<f64> = serde_json::from_value(at("POSITION")["min"].clone()).unwrap();
    assert!(
        min.iter()
            .zip([0.0, 0.0, -3.0])
            .all(|(m, w)| (m - w).abs() < 0.01),
        "{min:?}"
    );
    // Whatever order Draco put the points in, each triangle has the corners it had, and
    // each corner its colour (blue 0.2 a corner: 51 of 255).
    let corner = |i: f32| {
        let i = i as usize;
        let at: Vec<i32> = positions[3 * i..3 * i + 3]
            .iter()
            .map(|v| (v * 100.0).round() as i32)
            .collect();
        (at, (colours[4 * i + 2] * 5.0).round())
    };
    let triangles: Vec<Vec<_>> = indices
        .chunks(3)
        .map(|t| t.iter().map(|i| corner(*i)).collect())
        .collect();
    let want = |p: [f32; 3], blue: f32| {
        (
            p.iter().map(|v| (v * 100.0) as i32).collect::<Vec<_>>(),
            blue,
        )
    };
    let quad = [
        want([0.0, 0.0, 0.0], 0.0),
        want([2.0, 0.0, 0.0], 1.0),
        want([2.0, 1.0, 0.0], 2.0),
        want([0.0, 1.0, -3.0], 3.0),
    ];
    // Draco orders faces (and their corners) its own way.
    for corners in [[0, 1, 2], [0, 2, 3]] {
        let found = triangles
            .iter()
            .any(|t| corners.iter().all(|c| t.contains(&quad[*c])));
        assert!(found, "no triangle of {corners:?} in {triangles:?}");
    }
    assert_eq!(triangles.len(), 2);
}

#[test]
fn bad_draco_data_is_an_error_naming_the_primitive() {
    let dir = scratch("draco-bad");
    let (doc, mut blob) = draco_doc();
    blob.truncate(blob.len() / 2);
    let mut doc = doc;
    doc["buffers"][0]["byteLength"] = json!(blob.len());
    doc["bufferViews"][0]["byteLength"] = json!(blob.len());
    let file = dir.join("draco.glb");
    std::fs::write(&file, glb(&doc, &blob)).unwrap();
    let said = plain_copy(&file, &dir.join("cache"))
        .unwrap_err()
        .to_string();
    assert!(
        said.contains("mesh 0 primitive 0") && said.contains("draco.glb"),
        "{said}"
    );
}

/// Damaged Draco data (cut anywhere, a byte changed anywhere) is an error or a mesh,
/// never a panic: a model file is untrusted.
#[test]
fn damaged_draco_data_never_panics() {
    let (doc, blob) = draco_doc();
    let try_decode = |blob: Vec<u8>| {
        let mut doc = doc.clone();
        doc["bufferViews"][0]["byteLength"] = json!(blob.len());
        let mut blob = blob;
        let _ = draco::decode_primitives(&mut doc, &mut blob);
    };
    for cut in 0..blob.len() {
        try_decode(blob[..cut].to_vec());
    }
    for at in 0..blob.len() {
        for flip in [0x01, 0x10, 0x80, 0xff] {
            let mut damaged = blob.clone();
            damaged[at] ^= flip;
            try_decode(damaged);
        }
    }
}
