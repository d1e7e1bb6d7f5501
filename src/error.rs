//! Errors that end a command with exit code 2: the tool could not do its job.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("{path}:{line}: {message}")]
    FileLine {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("host {host}: {message}")]
    Host { host: String, message: String },
    #[error("{0}")]
    Usage(String),
    #[error("`lbdoctor {command}` is not implemented yet (tracked in issue #{issue}); it prints no result rather than a made-up one")]
    NotImplemented { command: &'static str, issue: u32 },
}

impl Error {
    pub fn file(path: impl AsRef<Path>, message: impl Into<String>) -> Self {
        Error::File {
            path: path.as_ref().to_path_buf(),
            message: message.into(),
        }
    }

    pub fn file_line(path: impl AsRef<Path>, line: usize, message: impl Into<String>) -> Self {
        Error::FileLine {
            path: path.as_ref().to_path_buf(),
            line,
            message: message.into(),
        }
    }

    pub fn host(host: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Host {
            host: host.into(),
            message: message.into(),
        }
    }
}

/// Read a whole file with an error that names it and says what to do.
pub fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        let hint = match e.kind() {
            std::io::ErrorKind::NotFound => "check the path",
            std::io::ErrorKind::PermissionDenied => "run with sudo or fix the file's permissions",
            _ => "check that it is a readable file",
        };
        Error::file(path, format!("cannot read: {e} ({hint})")).into()
    })
}
