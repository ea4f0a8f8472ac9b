use super::OutputError;
use std::path::{Path, PathBuf};

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
    /// MP4/MOV: written whole, index first (for uploads), not in fragments.
    pub faststart: bool,
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
                faststart: false,
            });
        }
        if text == "null" {
            return Ok(Self {
                url: text.to_string(),
                kind: OutputKind::Null,
                format: "null",
                faststart: false,
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
            faststart: false,
        })
    }

    pub fn is_network(&self) -> bool {
        self.kind == OutputKind::Rtmp
    }
}

/// A URL as it may be shown anywhere (logs, errors, `/status`, webhooks, thread names):
/// without credentials (`user:pass@`), without its query (`?key=…`), and without the stream
/// key, the last path segment of a network URL (`rtmp://host/app/KEY`). Paths are shown as
/// they are.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (rest, query) = match rest.split_once(['?', '#']) {
        Some((before, _)) => (before, "?…"),
        None => (rest, ""),
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = match authority.rsplit_once('@') {
        Some((_, host)) => format!("…@{host}"),
        None => authority.to_string(),
    };
    let path = match path.rsplit_once('/') {
        Some((keep, _)) => format!("/{keep}/…"),
        None if !path.is_empty() => "/…".to_string(),
        None => String::new(),
    };
    format!("{scheme}://{host}{path}{query}")
}

/// A recording path that does not exist yet: `path` itself when free, else the same name
/// with the local start time (`demo-20261130-031500.flv`), and a count after that if even
/// that is taken. A restart never overwrites the night's earlier recording.
pub fn fresh_path(path: &Path, stamp: &str) -> PathBuf {
    if !path.exists() {
        return path.to_path_buf();
    }
    stamped_path(path, stamp)
}

/// `path` with `-stamp` before its extension (and `-N` after that if taken).
pub fn stamped_path(path: &Path, stamp: &str) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy())
        .unwrap_or_default();
    let name = |extra: String| path.with_file_name(format!("{stem}-{stamp}{extra}.{ext}"));
    let mut candidate = name(String::new());
    let mut n = 1;
    while candidate.exists() {
        candidate = name(format!("-{n}"));
        n += 1;
    }
    candidate
}

/// The local time as `YYYYmmdd-HHMMSS`, for recording names.
pub fn local_stamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as libc::time_t;
    // SAFETY: localtime_r writes only into the tm we pass; both pointers are valid.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&now, &mut tm).is_null() } {
        return format!("{now}");
    }
    format!(
        "{:04}{:02}{:02}-{:02}{:02}{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
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

    #[test]
    fn stream_keys_and_credentials_are_never_shown() {
        for (url, shown) in [
            (
                "rtmp://live.example.com/app/SECRET",
                "rtmp://live.example.com/app/…",
            ),
            (
                "rtmp://h:1935/live/SECRET?key=SECRET2",
                "rtmp://h:1935/live/…?…",
            ),
            ("rtmps://user:PASS@h/app/SECRET", "rtmps://…@h/app/…"),
            ("rtmp://h/SECRET", "rtmp://h/…"),
            ("http://h:8080/hook?token=SECRET", "http://h:8080/…?…"),
            ("out/demo.flv", "out/demo.flv"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
            assert!(!redact(url).contains("SECRET") && !redact(url).contains("PASS"));
        }
    }

    #[test]
    fn a_recording_never_replaces_an_earlier_one() {
        let dir = std::env::temp_dir().join(format!("twincast-fresh-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("demo.flv");
        assert_eq!(fresh_path(&path, "20261130-031500"), path);
        std::fs::write(&path, "x").unwrap();
        let second = fresh_path(&path, "20261130-031500");
        assert_eq!(second, dir.join("demo-20261130-031500.flv"));
        std::fs::write(&second, "x").unwrap();
        assert_eq!(
            fresh_path(&path, "20261130-031500"),
            dir.join("demo-20261130-031500-1.flv")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
