//! The parts of a glTF file that twincast reads itself, before or beside Bevy's loader:
//! the JSON (and binary chunk) of a `.gltf`, `.glb` or `.vrm`, and its URIs. A file is
//! untrusted: every length is checked against the bytes there are.

/// The JSON of a `.gltf`, `.glb` or `.vrm` file, or what keeps it from being read. Of a
/// binary file only the JSON chunk is read (a set rebuilt after an edit reads each of its
/// models' documents between two frames; their meshes and textures are the loader's), and
/// a file shorter than its header says is refused as cut short.
pub fn document(file: &std::path::Path) -> Result<serde_json::Value, String> {
    let json = json_chunk(file)?;
    serde_json::from_slice(&json).map_err(|e| format!("bad glTF JSON: {e}"))
}

/// The JSON of a glTF file: the whole of a `.gltf`, the JSON chunk of a GLB (read alone).
fn json_chunk(file: &std::path::Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let io = |e: std::io::Error| format!("cannot read: {e}");
    let mut f = std::fs::File::open(file).map_err(io)?;
    let mut header = Vec::with_capacity(20);
    (f.by_ref().take(20).read_to_end(&mut header)).map_err(io)?;
    if !header.starts_with(b"glTF") {
        f.read_to_end(&mut header).map_err(io)?;
        return Ok(header);
    }
    if header.len() < 20 {
        return Err("truncated GLB".into());
    }
    let (total, json_len) = (u32_le(&header, 8)? as u64, json_length(&header)? as u64);
    if f.metadata().map_err(io)?.len() < total || total < 20 + json_len {
        return Err("truncated GLB".into());
    }
    let mut json = Vec::new();
    f.take(json_len).read_to_end(&mut json).map_err(io)?;
    Ok(json)
}

/// The length of a GLB's JSON chunk, from its first 20 bytes (the header and the chunk's).
fn json_length(head: &[u8]) -> Result<usize, String> {
    let json_len = u32_le(head, 12)?;
    if head.get(16..20) != Some(b"JSON".as_slice()) {
        return Err("GLB without a JSON chunk".into());
    }
    Ok(json_len)
}

/// The little-endian `u32` at `at` in a GLB.
fn u32_le(bytes: &[u8], at: usize) -> Result<usize, String> {
    let b = bytes.get(at..at + 4).ok_or("truncated GLB")?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// The JSON and the binary chunk of a GLB, or the whole of a `.gltf`.
pub fn split(bytes: &[u8]) -> Result<(&[u8], Option<&[u8]>), String> {
    if !bytes.starts_with(b"glTF") {
        return Ok((bytes, None));
    }
    let json_len = json_length(bytes)?;
    let json = bytes
        .get(20..20 + json_len)
        .ok_or("truncated GLB JSON chunk")?;
    let at = 20 + json_len;
    let bin = if bytes.len() >= at + 8 {
        let len = u32_le(bytes, at)?;
        Some(
            bytes
                .get(at + 8..at + 8 + len)
                .ok_or("truncated GLB BIN chunk")?,
        )
    } else {
        None
    };
    Ok((json, bin))
}

/// A GLB container of `doc` and `blob` (each padded to four bytes).
pub fn glb(doc: &serde_json::Value, blob: &[u8]) -> Vec<u8> {
    let mut text = serde_json::to_vec(doc).unwrap_or_default();
    while !text.len().is_multiple_of(4) {
        text.push(b' ');
    }
    let mut bin = blob.to_vec();
    while !bin.len().is_multiple_of(4) {
        bin.push(0);
    }
    let total = 12 + 8 + text.len() + 8 + bin.len();
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(b"glTF");
    out.extend_from_slice(&2u32.to_le_bytes());
    out.extend_from_slice(&(total as u32).to_le_bytes());
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(b"JSON");
    out.extend_from_slice(&text);
    out.extend_from_slice(&(bin.len() as u32).to_le_bytes());
    out.extend_from_slice(b"BIN\0");
    out.extend_from_slice(&bin);
    out
}

/// A URI's `%XX` escapes decoded; bytes that are not UTF-8 come out as U+FFFD.
pub fn percent_decode(s: &str) -> String {
    String::from_utf8_lossy(&percent_bytes(s)).into_owned()
}

/// The JSON of a model file that Bevy's glTF loader can be handed: read whole (not cut
/// short) and with no URI the loader would panic on ([`bad_uri`]).
pub fn document_for_loader(file: &std::path::Path) -> Result<serde_json::Value, String> {
    let doc = document(file)?;
    match bad_uri(&doc) {
        Some(problem) => Err(problem),
        None => Ok(doc),
    }
}

/// The first buffer or image URI of `doc` whose `%XX` escapes do not decode to UTF-8, said
/// as what is wrong. Bevy's glTF loader panics on such a URI (it unwraps the decoding), so
/// a file with one is refused before it is handed over.
pub fn bad_uri(doc: &serde_json::Value) -> Option<String> {
    ["buffers", "images"].into_iter().find_map(|key| {
        let entries = doc[key].as_array()?;
        entries.iter().enumerate().find_map(|(i, entry)| {
            let uri = entry["uri"].as_str()?;
            let undecodable = String::from_utf8(percent_bytes(uri)).is_err();
            undecodable.then(|| format!("{key}[{i}]: URI `{uri}` does not decode to UTF-8"))
        })
    })
}

fn percent_bytes(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A GLB of `json`, a BIN chunk of `bin` bytes, and `total` as its header's length.
    fn glb(json: &[u8], bin: usize, total: Option<u32>) -> Vec<u8> {
        let pad = |n: usize| n.div_ceil(4) * 4;
        let len = 12 + 8 + pad(json.len()) + 8 + pad(bin);
        let mut out = b"glTF".to_vec();
        out.extend(2u32.to_le_bytes());
        out.extend(total.unwrap_or(len as u32).to_le_bytes());
        out.extend((pad(json.len()) as u32).to_le_bytes());
        out.extend(b"JSON");
        out.extend(json);
        out.resize(20 + pad(json.len()), b' ');
        out.extend((pad(bin) as u32).to_le_bytes());
        out.extend(b"BIN\0");
        out.resize(len, 0);
        out
    }

    #[test]
    fn a_glb_document_is_its_json_chunk_and_a_cut_file_is_named() {
        let dir = std::env::temp_dir().join(format!("twincast-glb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("m.glb");
        let json = br#"{"asset":{"version":"2.0"}}"#;
        std::fs::write(&file, glb(json, 1000, None)).unwrap();
        assert_eq!(document(&file).unwrap()["asset"]["version"], "2.0");
        // Saved cut short: its header says more than the file holds.
        let whole = glb(json, 1000, None);
        std::fs::write(&file, &whole[..whole.len() - 10]).unwrap();
        assert_eq!(document(&file).unwrap_err(), "truncated GLB");
        std::fs::write(&file, &whole[..15]).unwrap();
        assert_eq!(document(&file).unwrap_err(), "truncated GLB");
        std::fs::write(&file, glb(json, 0, Some(8))).unwrap();
        assert_eq!(document(&file).unwrap_err(), "truncated GLB");
        // A .gltf is all JSON.
        std::fs::write(dir.join("m.gltf"), json).unwrap();
        assert!(document(&dir.join("m.gltf")).is_ok());
        assert!(
            document(&dir.join("none.glb"))
                .unwrap_err()
                .starts_with("cannot read")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_uri_that_decodes_to_no_text_is_named() {
        let fine =
            json!({"buffers": [{"uri": "a%20b.bin"}, {}], "images": [{"uri": "%E6%9C%A8.png"}]});
        assert_eq!(bad_uri(&fine), None);
        assert_eq!(percent_decode("%E6%9C%A8.png"), "木.png");
        let bad = json!({"buffers": [{"uri": "a.bin"}], "images": [{"uri": "x.png"}, {"uri": "%FF%FE.png"}]});
        assert_eq!(
            bad_uri(&bad).as_deref(),
            Some("images[1]: URI `%FF%FE.png` does not decode to UTF-8")
        );
        assert_eq!(bad_uri(&json!({"images": "not a list"})), None);
    }
}
