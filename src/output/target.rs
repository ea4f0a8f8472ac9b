use super::OutputError;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputKind {
    /// RTMP or RTMPS: FLV over the network.
    Rtmp,
    /// A recording on disk.
    File(PathBuf),
    /// Discards packets (for benchmarks).
    Null,
}

/// An output as named on the command line or in the show file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputTarget {
    pub url: String,
    pub kind: OutputKind,
    /// FFmpeg muxer name.
    pub format: &'static str,
}

impl OutputTarget {
    /// `rtmp://` and `rtmps://` URLs go out as FLV; files by extension (.flv, .mp4, .mkv, .mov);
    /// `null` discards.
    pub fn parse(text: &str) -> Result<Self, OutputError> {
        let unsupported = |reason: &str| OutputError::Unsupported {
            url: text.to_string(),
            reason: reason.to_string(),
        };
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("rtmp://") || lower.starts_with("rtmps://") {
            let rest = text.split_once("://").map(|(_, r)| r).unwrap_or("");
            if rest.is_empty() || rest.starts_with('/') {
                return Err(unsupported("RTMP URL has no host"));
            }
            return Ok(Self {
                url: text.to_string(),
                kind: OutputKind::Rtmp,
                format: "flv",
            });
        }
        if text == "null" {
            return Ok(Self {
                url: text.to_string(),
                kind: OutputKind::Null,
                format: "null",
            });
        }
        if lower.contains("://") {
            return Err(unsupported("only rtmp:// and rtmps:// URLs are supported"));
        }
        let path = PathBuf::from(text);
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        let format = match ext.as_str() {
            "flv" => "flv",
            "mp4" => "mp4",
            "mkv" => "matroska",
            "mov" => "mov",
            _ => {
                return Err(unsupported(
                    "unknown file type: use .flv, .mp4, .mkv, .mov or an rtmp:// URL",
                ));
            }
        };
        Ok(Self {
            url: text.to_string(),
            kind: OutputKind::File(path),
            format,
        })
    }

    pub fn is_network(&self) -> bool {
        self.kind == OutputKind::Rtmp
    }
}

/// An output's URL without its stream key (the last path segment of a network URL), for
/// endpoints anyone on the host can read.
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) if rest.matches('/').count() >= 2 => {
            let (keep, _) = rest.rsplit_once('/').unwrap_or((rest, ""));
            format!("{scheme}://{keep}/…")
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_by_scheme_and_extension() {
        assert_eq!(
            OutputTarget::parse("rtmp://h/live/k").unwrap().format,
            "flv"
        );
        assert_eq!(
            OutputTarget::parse("RTMPS://h/live/k").unwrap().kind,
            OutputKind::Rtmp
        );
        assert_eq!(OutputTarget::parse("out/a.mp4").unwrap().format, "mp4");
        assert_eq!(OutputTarget::parse("a.MKV").unwrap().format, "matroska");
        assert_eq!(OutputTarget::parse("null").unwrap().kind, OutputKind::Null);
    }

    #[test]
    fn unsupported_targets_say_why() {
        let e = OutputTarget::parse("a.avi").unwrap_err().to_string();
        assert!(e.contains("a.avi") && e.contains(".flv"), "{e}");
        let e = OutputTarget::parse("srt://h:9000").unwrap_err().to_string();
        assert!(e.contains("rtmp://"), "{e}");
        assert!(OutputTarget::parse("rtmp:///live").is_err());
    }
}
