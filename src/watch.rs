//! Watching a file for edits (the show file, the scene, a twin feed), with the operating
//! system's notifications (`notify`) rather than polling modification times.
//!
//! Changes are debounced: one is reported once the file has had no further write for
//! [`SETTLE`], so a file still being written (an editor saving in several writes, a feed
//! copied in) is read once, whole. Only writes, creations and renames count: opening or
//! reading the file (which twincast itself does on every reload) is not a change. The
//! folder is watched rather than the file, because editors save by writing a new file and
//! renaming it over the old one. A file that was deleted is not reported (there is nothing
//! to read); its next appearance is.

use notify::event::{EventKind, ModifyKind};
use notify::{RecommendedWatcher, RecursiveMode, Watcher};
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

/// One watched file, or several ([`FileWatch::files`]). [`FileWatch::changed`] never
/// blocks, so the render loop can ask every frame.
pub struct FileWatch {
    /// The file watched (the first, where there are several), for messages.
    pub path: PathBuf,
    /// Each file as the watcher names it: its folder made canonical, then its name.
    files: Vec<PathBuf>,
    events: Receiver<notify::Result<notify::Event>>,
    /// When a watched file was last written, and which, until that is reported.
    touched: Option<(Instant, PathBuf)>,
    _watcher: RecommendedWatcher,
}

impl FileWatch {
    pub fn new(path: PathBuf) -> Result<Self, WatchError> {
        Self::files(std::slice::from_ref(&path))
    }

    /// Watches every file of `paths` with one watcher (one per folder would spend the
    /// system's few inotify instances on a scene's props). At least one path is needed.
    pub fn files(paths: &[PathBuf]) -> Result<Self, WatchError> {
        let first = paths.first().cloned().unwrap_or_default();
        let (tx, events) = channel();
        let mut watcher = notify::recommended_watcher(tx).map_err(|e| WatchError {
            path: first.clone(),
            reason: e.to_string(),
        })?;
        let mut files = Vec::new();
        let mut folders = Vec::new();
        for path in paths {
            let bad = |reason: String| WatchError {
                path: path.clone(),
                reason,
            };
            let folder = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            let folder = folder.canonicalize().map_err(|e| bad(e.to_string()))?;
            let name = path.file_name().ok_or_else(|| bad("not a file".into()))?;
            files.push(folder.join(name));
            if !folders.contains(&folder) {
                watcher
                    .watch(&folder, RecursiveMode::NonRecursive)
                    .map_err(|e| bad(e.to_string()))?;
                folders.push(folder);
            }
        }
        Ok(Self {
            path: first,
            files,
            events,
            touched: None,
            _watcher: watcher,
        })
    }

    /// Watches `path`, or says why it cannot (with `otherwise`: what that means for the
    /// show) and gives `None`: a file that cannot be watched is no reason to stop a show.
    pub fn or_warn(path: PathBuf, otherwise: &str) -> Option<Self> {
        Self::new(path)
            .map_err(|e| tracing::warn!("{e}; {otherwise}"))
            .ok()
    }

    /// Whether a watched file changed and has since been quiet for [`SETTLE`] (and still
    /// exists). Each settled change is reported once.
    pub fn changed(&mut self) -> bool {
        self.changed_file().is_some()
    }

    /// The watched file that changed and has since been quiet for [`SETTLE`] (the last
    /// written, where several were), once.
    pub fn changed_file(&mut self) -> Option<PathBuf> {
        while let Ok(result) = self.events.try_recv() {
            let Ok(event) = result else { continue };
            if !is_write(&event.kind) {
                continue;
            }
            if let Some(ours) = event.paths.iter().find(|p| self.files.contains(p)) {
                self.touched = Some((Instant::now(), ours.clone()));
            }
        }
        match &self.touched {
            Some((at, _)) if at.elapsed() >= SETTLE => {
                let (_, file) = self.touched.take()?;
                file.is_file().then_some(file)
            }
            _ => None,
        }
    }
}

/// Whether an event changes what the file holds (reads, opens and attribute changes don't).
fn is_write(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) => true,
        EventKind::Modify(ModifyKind::Metadata(_)) => false,
        EventKind::Modify(_) => true,
        _ => false,
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
        // Another file in the folder is not ours; reading ours is not a change.
        std::fs::write(dir.join("other.toml"), "x").unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "d");
        assert!(!changed_within(&mut watch, Duration::from_millis(600)));
        std::fs::remove_file(&file).unwrap();
        assert!(!changed_within(&mut watch, Duration::from_millis(600)));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn of_several_files_the_one_written_is_named() {
        let dir = std::env::temp_dir().join(format!("twincast-watch-many-{}", std::process::id()));
        let props = dir.join("props");
        std::fs::create_dir_all(&props).unwrap();
        let (cake, chair) = (props.join("cake.glb"), dir.join("chair.glb"));
        for file in [&cake, &chair] {
            std::fs::write(file, "a").unwrap();
        }
        // Named through `..`, as a scene names its props.
        let mut watch = FileWatch::files(&[dir.join("props/../chair.glb"), cake.clone()]).unwrap();
        assert!(!changed_within(&mut watch, Duration::from_millis(400)));
        // Saved as editors save: written beside, renamed over.
        std::fs::write(props.join("cake.tmp"), "b").unwrap();
        std::fs::rename(props.join("cake.tmp"), &cake).unwrap();
        let started = Instant::now();
        let changed = loop {
            if let Some(file) = watch.changed_file() {
                break file;
            }
            assert!(started.elapsed() < Duration::from_secs(3), "no change seen");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(changed, cake.canonicalize().unwrap());
        std::fs::write(&chair, "b").unwrap();
        assert!(changed_within(&mut watch, Duration::from_secs(3)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
