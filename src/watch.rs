//! Watching a file for edits (the show file, the scene, a twin feed), with the operating
//! system's notifications (`notify`) rather than polling modification times.
//!
//! Events are debounced: a change is reported once the file has had no further event for
//! [`SETTLE`], so a file still being written (an editor saving in several writes, a feed
//! copied in) is read once, whole. The folder is watched rather than the file, because
//! editors save by writing a new file and renaming it over the old one. A file that was
//! deleted is not reported (there is nothing to read); its next appearance is.

use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};
use thiserror::Error;

/// How long a file must stay untouched before its change is reported.
pub const SETTLE: Duration = Duration::from_millis(250);

#[derive(Debug, Error)]
#[error("{}: cannot watch for changes: {reason}", path.display())]
pub struct WatchError {
    pub path: PathBuf,
    pub reason: String,
}

/// One watched file. [`FileWatch::changed`] never blocks, so the render loop can ask
/// every frame.
pub struct FileWatch {
    pub path: PathBuf,
    name: Option<std::ffi::OsString>,
    events: Receiver<DebounceEventResult>,
    /// When the last event for the file arrived, until it is reported.
    touched: Option<Instant>,
    _debouncer: Debouncer<RecommendedWatcher>,
}

impl FileWatch {
    pub fn new(path: PathBuf) -> Result<Self, WatchError> {
        let bad = |reason: String| WatchError {
            path: path.clone(),
            reason,
        };
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let (tx, events) = channel();
        let mut debouncer = new_debouncer(SETTLE, tx).map_err(|e| bad(e.to_string()))?;
        debouncer
            .watcher()
            .watch(&folder, RecursiveMode::NonRecursive)
            .map_err(|e| bad(e.to_string()))?;
        Ok(Self {
            name: path.file_name().map(|n| n.to_os_string()),
            path,
            events,
            touched: None,
            _debouncer: debouncer,
        })
    }

    /// Whether the file changed and has since been quiet for [`SETTLE`] (and still exists).
    /// Each settled change is reported once.
    pub fn changed(&mut self) -> bool {
        while let Ok(result) = self.events.try_recv() {
            let Ok(events) = result else { continue };
            if events.iter().any(|e| self.is_ours(&e.path)) {
                self.touched = Some(Instant::now());
            }
        }
        match self.touched {
            Some(at) if at.elapsed() >= SETTLE => {
                self.touched = None;
                self.path.is_file()
            }
            _ => false,
        }
    }

    fn is_ours(&self, changed: &Path) -> bool {
        changed.file_name().map(|n| n.to_os_string()) == self.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed_within(watch: &mut FileWatch, limit: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < limit {
            if watch.changed() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[test]
    fn a_write_is_reported_once_it_settles_and_a_delete_is_not() {
        let dir = std::env::temp_dir().join(format!("twincast-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("show.toml");
        std::fs::write(&file, "a").unwrap();
        let mut watch = FileWatch::new(file.clone()).unwrap();
        assert!(!changed_within(&mut watch, Duration::from_millis(400)));
        // Written in pieces: one report, after the last piece.
        for piece in ["b", "c", "d"] {
            std::fs::write(&file, piece).unwrap();
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(changed_within(&mut watch, Duration::from_secs(3)));
        assert!(!changed_within(&mut watch, Duration::from_millis(600)));
        // Another file in the folder is not ours.
        std::fs::write(dir.join("other.toml"), "x").unwrap();
        assert!(!changed_within(&mut watch, Duration::from_millis(600)));
        std::fs::remove_file(&file).unwrap();
        assert!(!changed_within(&mut watch, Duration::from_millis(600)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
