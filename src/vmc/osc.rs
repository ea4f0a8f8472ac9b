//! Just enough OSC 1.0 to read what VMC senders put on the wire: messages and (nested)
//! bundles with int, float, string, blob, double, int64 and the data-less T/F/N/I arguments.
//! Every length is checked: a datagram is untrusted input.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Int(i32),
    Float(f32),
    Str(String),
    Blob(Vec<u8>),
    Double(f64),
    Long(i64),
    Bool(bool),
    Nil,
}

impl Arg {
    /// Numbers as f32, whichever width the sender chose.
    pub fn as_f32(&self) -> Option<f32> {
        match self {
            Arg::Float(f) => Some(*f),
            Arg::Double(d) => Some(*d as f32),
            Arg::Int(i) => Some(*i as f32),
            Arg::Long(l) => Some(*l as f32),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Arg::Str(s) => Some(s),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub address: String,
    pub args: Vec<Arg>,
}

#[derive(Debug, Error, PartialEq)]
pub enum OscError {
    #[error("packet ends inside {0}")]
    Truncated(&'static str),
    #[error("{0} is not NUL-terminated UTF-8")]
    BadString(&'static str),
    #[error("address `{0}` does not start with '/'")]
    BadAddress(String),
    #[error("type tags do not start with ','")]
    NoTypeTags,
    #[error("unknown type tag `{0}`")]
    UnknownTag(char),
    #[error("bundle element of {0} bytes does not fit")]
    BadElement(usize),
    #[error("bundles nested deeper than 8")]
    TooDeep,
}

/// Decodes one datagram into the messages it carries, bundles flattened in order.
pub fn decode(packet: &[u8]) -> Result<Vec<Message>, OscError> {
    let mut out = Vec::new();
    decode_into(packet, 0, &mut out)?;
    Ok(out)
}

fn decode_into(packet: &[u8], depth: usize, out: &mut Vec<Message>) -> Result<(), OscError> {
    if depth > 8 {
        return Err(OscError::TooDeep);
    }
    if packet.starts_with(b"#bundle\0") {
        let mut at = 16; // "#bundle\0" and the 8-byte time tag
        if packet.len() < at {
            return Err(OscError::Truncated("a bundle header"));
        }
        while at < packet.len() {
            let size = read_i32(packet, &mut at, "a bundle element size")?;
            let size = usize::try_from(size).map_err(|_| OscError::BadElement(0))?;
            let end = at.checked_add(size).filter(|e| *e <= packet.len());
            let end = end.ok_or(OscError::BadElement(size))?;
            decode_into(&packet[at..end], depth + 1, out)?;
            at = end;
        }
        return Ok(());
    }
    out.push(message(packet)?);
    Ok(())
}

fn message(packet: &[u8]) -> Result<Message, OscError> {
    let mut at = 0;
    let address = read_str(packet, &mut at, "the address")?;
    if !address.starts_with('/') {
        return Err(OscError::BadAddress(address));
    }
    if at >= packet.len() {
        // OSC 1.0 allows a message without type tags: no arguments.
        return Ok(Message {
            address,
            args: Vec::new(),
        });
    }
    let tags = read_str(packet, &mut at, "the type tags")?;
    let tags = tags.strip_prefix(',').ok_or(OscError::NoTypeTags)?;
    let mut args = Vec::with_capacity(tags.len());
    for tag in tags.chars() {
        args.push(match tag {
            'i' => Arg::Int(read_i32(packet, &mut at, "an int argument")?),
            'f' => Arg::Float(f32::from_bits(
                read_i32(packet, &mut at, "a float argument")? as u32,
            )),
            's' | 'S' => Arg::Str(read_str(packet, &mut at, "a string argument")?),
            'b' => {
                let len = read_i32(packet, &mut at, "a blob size")?;
                let len = usize::try_from(len).map_err(|_| OscError::Truncated("a blob"))?;
                let bytes = take(packet, &mut at, len, "a blob")?.to_vec();
                at = at.next_multiple_of(4);
                Arg::Blob(bytes)
            }
            'd' => Arg::Double(f64::from_bits(read_u64(packet, &mut at, "a double")?)),
            'h' => Arg::Long(read_u64(packet, &mut at, "an int64")? as i64),
            't' => Arg::Long(read_u64(packet, &mut at, "a time tag")? as i64),
            'T' => Arg::Bool(true),
            'F' => Arg::Bool(false),
            'N' | 'I' => Arg::Nil,
            other => return Err(OscError::UnknownTag(other)),
        });
    }
    Ok(Message { address, args })
}

fn take<'a>(
    packet: &'a [u8],
    at: &mut usize,
    n: usize,
    what: &'static str,
) -> Result<&'a [u8], OscError> {
    let end = at
        .checked_add(n)
        .filter(|e| *e <= packet.len())
        .ok_or(OscError::Truncated(what))?;
    let bytes = &packet[*at..end];
    *at = end;
    Ok(bytes)
}

fn read_i32(packet: &[u8], at: &mut usize, what: &'static str) -> Result<i32, OscError> {
    let b = take(packet, at, 4, what)?;
    Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn read_u64(packet: &[u8], at: &mut usize, what: &'static str) -> Result<u64, OscError> {
    let b = take(packet, at, 8, what)?;
    Ok(u64::from_be_bytes(b.try_into().unwrap_or([0; 8])))
}

/// A NUL-terminated string padded to a multiple of four bytes.
fn read_str(packet: &[u8], at: &mut usize, what: &'static str) -> Result<String, OscError> {
    let rest = packet.get(*at..).ok_or(OscError::Truncated(what))?;
    let nul = rest
        .iter()
        .position(|b| *b == 0)
        .ok_or(OscError::Truncated(what))?;
    let s = std::str::from_utf8(&rest[..nul]).map_err(|_| OscError::BadString(what))?;
    *at = (*at + nul + 1).next_multiple_of(4);
    if *at > packet.len() {
        return Err(OscError::Truncated(what));
    }
    Ok(s.to_string())
}

/// Encodes a message (for tests and tools that send VMC).
pub fn encode(address: &str, args: &[Arg]) -> Vec<u8> {
    fn put_str(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(s.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }
    let mut out = Vec::new();
    put_str(&mut out, address);
    let mut tags = String::from(",");
    for arg in args {
        tags.push(match arg {
            Arg::Int(_) => 'i',
            Arg::Float(_) => 'f',
            Arg::Str(_) => 's',
            Arg::Blob(_) => 'b',
            Arg::Double(_) => 'd',
            Arg::Long(_) => 'h',
            Arg::Bool(true) => 'T',
            Arg::Bool(false) => 'F',
            Arg::Nil => 'N',
        });
    }
    put_str(&mut out, &tags);
    for arg in args {
        match arg {
            Arg::Int(i) => out.extend_from_slice(&i.to_be_bytes()),
            Arg::Float(f) => out.extend_from_slice(&f.to_bits().to_be_bytes()),
            Arg::Str(s) => put_str(&mut out, s),
            Arg::Blob(b) => {
                out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                out.extend_from_slice(b);
                while !out.len().is_multiple_of(4) {
                    out.push(0);
                }
            }
            Arg::Double(d) => out.extend_from_slice(&d.to_bits().to_be_bytes()),
            Arg::Long(l) => out.extend_from_slice(&l.to_be_bytes()),
            Arg::Bool(_) | Arg::Nil => {}
        }
    }
    out
}

/// Wraps encoded messages in one bundle (time tag "immediately").
pub fn bundle(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"#bundle\0".to_vec();
    out.extend_from_slice(&1u64.to_be_bytes());
    for m in messages {
        out.extend_from_slice(&(m.len() as i32).to_be_bytes());
        out.extend_from_slice(m);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bone_message_round_trips() {
        let args = vec![
            Arg::Str("LeftUpperArm".into()),
            Arg::Float(0.1),
            Arg::Float(1.4),
            Arg::Float(0.0),
            Arg::Float(0.0),
            Arg::Float(0.0),
            Arg::Float(0.38),
            Arg::Float(0.92),
        ];
        let packet = encode("/VMC/Ext/Bone/Pos", &args);
        assert_eq!(packet.len() % 4, 0);
        let decoded = decode(&packet).unwrap();
        assert_eq!(
            decoded,
            vec![Message {
                address: "/VMC/Ext/Bone/Pos".into(),
                args
            }]
        );
    }

    #[test]
    fn bundles_flatten_in_order_and_nest() {
        let a = encode("/a", &[Arg::Int(1)]);
        let b = encode(
            "/b",
            &[Arg::Str("x".into()), Arg::Bool(true), Arg::Double(2.5)],
        );
        let inner = bundle(std::slice::from_ref(&b));
        let packet = bundle(&[a, inner]);
        let decoded = decode(&packet).unwrap();
        assert_eq!(decoded.len(), 2);
        assert_eq!(decoded[0].address, "/a");
        assert_eq!(decoded[1].args[2], Arg::Double(2.5));
    }

    #[test]
    fn garbage_is_refused_never_panics() {
        let good = encode(
            "/VMC/Ext/Blend/Val",
            &[Arg::Str("A".into()), Arg::Float(0.5)],
        );
        // Every truncation of a good packet, and some junk.
        for n in 0..good.len() {
            let _ = decode(&good[..n]);
        }
        assert_eq!(
            decode(b"hello\0\0\0"),
            Err(OscError::BadAddress("hello".into()))
        );
        assert!(decode(b"/a\0\0,q\0\0").is_err());
        assert!(decode(b"/a\0\0,f\0\0\0\0").is_err());
        let mut huge = b"#bundle\0\0\0\0\0\0\0\0\x01".to_vec();
        huge.extend_from_slice(&i32::MAX.to_be_bytes());
        assert!(decode(&huge).is_err());
        let mut negative = b"#bundle\0\0\0\0\0\0\0\0\x01".to_vec();
        negative.extend_from_slice(&(-4i32).to_be_bytes());
        assert!(decode(&negative).is_err());
        let mut deep = encode("/x", &[]);
        for _ in 0..20 {
            deep = bundle(&[deep]);
        }
        assert_eq!(decode(&deep), Err(OscError::TooDeep));
        // Pseudo-random bytes.
        let mut x = 0x1234_5678u32;
        for _ in 0..2000 {
            let len = (x % 64) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                })
                .collect();
            let _ = decode(&bytes);
        }
    }
}
