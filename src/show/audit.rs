//! The audit log: every line the host said, when, and who wrote it, as JSON lines.
//!
//! Platforms hold the streamer responsible for what a virtual host says, so the record has
//! to survive weeks of running without filling the disk: files rotate by size
//! (`said.jsonl` → `said.1.jsonl` → …) and the oldest is dropped.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use tracing::warn;

pub struct AuditLog {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    file: Option<BufWriter<File>>,
    written: u64,
}

/// One entry, written as it goes on air.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Said<'a> {
    /// Wall clock, seconds since the Unix epoch.
    pub at: f64,
    /// When the line went on air by the show's own clock (its start in the show's time
    /// zone, advanced by the media clock: what the schedule goes by), RFC 3339 with the
    /// zone's offset.
    pub local: &'a str,
    /// Media time the line started, seconds since the stream began.
    pub media: f64,
    pub seconds: f64,
    pub origin: &'a str,
    pub text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<&'a str>,
}

/// A line the compliance filter changed or kept off air, written when it was checked.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Filtered<'a> {
    pub at: f64,
    pub local: &'a str,
    /// `rewritten` or `skipped`.
    pub filtered: &'a str,
    pub origin: &'a str,
    pub before: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<&'a str>,
    pub changes: &'a [super::compliance::Change],
}

impl AuditLog {
    pub fn open(path: &Path, max_bytes: u64, keep: u32) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let written = file.metadata()?.len();
        Ok(Self {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(1024),
            keep,
            file: Some(BufWriter::new(file)),
            written,
        })
    }

    /// Appends one entry and flushes it (a crash must not lose what was said).
    pub fn record<T: serde::Serialize>(&mut self, entry: &T) {
        let Ok(mut json) = serde_json::to_string(entry) else {
            return;
        };
        json.push('\n');
        if self.written + json.len() as u64 > self.max_bytes
            && let Err(e) = self.rotate()
        {
            warn!("audit log {}: cannot rotate: {e}", self.path.display());
        }
        // Reopened whenever it is not open: after a failed rotation, a failed write, or the
        // file moved away by someone else, the record carries on in a fresh file.
        if self.file.is_none()
            && let Err(e) = self.reopen()
        {
            warn!("audit log {}: {e}", self.path.display());
            return;
        }
        let Some(file) = self.file.as_mut() else {
            return;
        };
        match file.write_all(json.as_bytes()).and_then(|()| file.flush()) {
            Ok(()) => self.written += json.len() as u64,
            Err(e) => {
                warn!("audit log {}: {e}", self.path.display());
                self.file = None;
            }
        }
    }

    fn reopen(&mut self) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.written = file.metadata()?.len();
        self.file = Some(BufWriter::new(file));
        Ok(())
    }

    /// The file after `n` rotations: `said.jsonl` → `said.n.jsonl`.
    pub fn rotated(path: &Path, n: u32) -> PathBuf {
        let stem = path.file_stem().unwrap_or_default().to_string_lossy();
        let ext = path
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        path.with_file_name(format!("{stem}.{n}{ext}"))
    }

    /// Shifts the old files up by one and starts a new one. A file that is not there (moved
    /// or deleted by someone else) is no error; the next record reopens in any case.
    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        let gone = |r: std::io::Result<()>| match r {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
        if self.keep == 0 {
            gone(std::fs::remove_file(&self.path))?;
        } else {
            let _ = std::fs::remove_file(Self::rotated(&self.path, self.keep));
            for n in (1..self.keep).rev() {
                let from = Self::rotated(&self.path, n);
                gone(std::fs::rename(&from, Self::rotated(&self.path, n + 1)))?;
            }
            gone(std::fs::rename(&self.path, Self::rotated(&self.path, 1)))?;
        }
        self.reopen()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_json_lines_and_files_rotate_keeping_a_few() {
        let dir = std::env::temp_dir().join(format!("twincast-audit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("said.jsonl");
        let mut log = AuditLog::open(&path, 1024, 2).unwrap();
        for i in 0..100 {
            let text = format!("line {i} 你好");
            log.record(&Said {
                at: 1.0,
                local: "2026-11-30T00:00:01+08:00",
                media: i as f64,
                seconds: 1.0,
                origin: "script",
                text: &text,
                segment: Some("pitch"),
                product: None,
            });
        }
        drop(log);
        let current = std::fs::read_to_string(&path).unwrap();
        let last: serde_json::Value =
            serde_json::from_str(current.lines().last().unwrap()).unwrap();
        assert_eq!(last["text"], "line 99 你好");
        assert_eq!(last["segment"], "pitch");
        assert!(AuditLog::rotated(&path, 1).exists());
        assert!(AuditLog::rotated(&path, 2).exists());
        assert!(!AuditLog::rotated(&path, 3).exists(), "only two kept");
        for n in 0..=2 {
            let p = if n == 0 {
                path.clone()
            } else {
                AuditLog::rotated(&path, n)
            };
            assert!(std::fs::metadata(&p).unwrap().len() <= 1024);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_log_moved_away_while_running_goes_on_in_a_new_file() {
        let dir = std::env::temp_dir().join(format!("twincast-audit-moved-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("said.jsonl");
        let mut log = AuditLog::open(&path, 300, 2).unwrap();
        let said = |text: &'static str| Said {
            at: 1.0,
            local: "2026-11-30T00:00:01+08:00",
            media: 0.0,
            seconds: 1.0,
            origin: "script",
            text,
            segment: None,
            product: None,
        };
        log.record(&said("before"));
        // Someone's logrotate moves the whole folder's files away.
        std::fs::rename(&path, dir.join("elsewhere.jsonl")).unwrap();
        for _ in 0..10 {
            log.record(&said("after the move, long enough to rotate now and then"));
        }
        let current = std::fs::read_to_string(&path).unwrap();
        assert!(current.contains("after the move"), "{current}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
