use std::path::{Path, PathBuf};
use thiserror::Error;

/// A position in a text file, 1-based, for messages people can jump to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located {
    pub line: usize,
    pub column: usize,
}

impl Located {
    /// Line and column of a byte offset into `text`.
    pub fn from_offset(text: &str, offset: usize) -> Self {
        let before = &text[..offset.min(text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Self { line, column }
    }
}

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("{}: cannot read show file: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}:{}:{}: {message}", path.display(), at.line, at.column)]
    Parse {
        path: PathBuf,
        at: Located,
        message: String,
    },
    #[error("{}:{}:{}: {field}: {reason}", path.display(), at.line, at.column)]
    InvalidAt {
        path: PathBuf,
        at: Located,
        field: String,
        reason: String,
    },
    #[error("{}: {field}: {reason}", path.display())]
    Invalid {
        path: PathBuf,
        field: String,
        reason: String,
    },
}

impl ConfigError {
    pub(super) fn parse(path: &Path, text: &str, error: &toml::de::Error) -> Self {
        let at = error
            .span()
            .map(|span| Located::from_offset(text, span.start))
            .unwrap_or(Located { line: 1, column: 1 });
        // toml's message is multi-line with a source excerpt; keep the first line.
        let message = error
            .message()
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        ConfigError::Parse {
            path: path.to_path_buf(),
            at,
            message,
        }
    }
}
