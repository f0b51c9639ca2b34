//! Secrets read from files (systemd `LoadCredential=`), never from the config itself.
//!
//! A `Secret` never prints its value. A `SecretFile` can be re-read while the bus runs, so a
//! rotated secret needs no restart: on SIGHUP, and when a peer answers 401.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// A secret value whose `Debug` and `Display` print a mask.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for signing and for request headers only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("***")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read secret file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("secret file {path} contains no secret; write the secret on one line")]
    Empty { path: PathBuf },
}

/// The secrets of one file: one per non-empty line, so that an old and a new secret can both be
/// valid during a rotation. Lines starting with `#` are comments.
#[derive(Debug, Clone)]
pub struct SecretFile {
    path: PathBuf,
    secrets: Arc<RwLock<Vec<Secret>>>,
}

impl SecretFile {
    pub fn load(path: &Path) -> Result<SecretFile, SecretError> {
        let secrets = read_secrets(path)?;
        Ok(SecretFile {
            path: path.to_path_buf(),
            secrets: Arc::new(RwLock::new(secrets)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file again. On error the secrets already loaded stay in force.
    pub fn reload(&self) -> Result<usize, SecretError> {
        let secrets = read_secrets(&self.path)?;
        let count = secrets.len();
        *self
            .secrets
            .write()
            .unwrap_or_else(|poison| poison.into_inner()) = secrets;
        Ok(count)
    }

    /// Returns every secret of the file, in file order.
    pub fn all(&self) -> Vec<Secret> {
        self.secrets
            .read()
            .unwrap_or_else(|poison| poison.into_inner())
            .clone()
    }

    /// Returns the first secret of the file (for single-value files such as an API key).
    pub fn first(&self) -> Secret {
        self.all()
            .into_iter()
            .next()
            .unwrap_or_else(|| Secret::new(""))
    }
}

fn read_secrets(path: &Path) -> Result<Vec<Secret>, SecretError> {
    let text = std::fs::read_to_string(path).map_err(|source| SecretError::Read {
        path: path.to_path_buf(),
        source,
    })?;

    let secrets: Vec<Secret> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(Secret::new)
        .collect();

    if secrets.is_empty() {
        return Err(SecretError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_and_display_are_masked() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(format!("{secret}"), "***");
    }

    #[test]
    fn file_holds_several_secrets_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("webhook");
        std::fs::write(&path, "# rotated 2026-12-01\nold-secret\n\nnew-secret\n").unwrap();

        let file = SecretFile::load(&path).unwrap();
        let values: Vec<String> = file.all().iter().map(|s| s.expose().to_string()).collect();
        assert_eq!(values, ["old-secret", "new-secret"]);

        std::fs::write(&path, "newest\n").unwrap();
        assert_eq!(file.reload().unwrap(), 1);
        assert_eq!(file.first().expose(), "newest");
    }

    #[test]
    fn empty_file_is_an_error_and_reload_keeps_old() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        std::fs::write(&path, "\n# nothing\n").unwrap();
        assert!(matches!(
            SecretFile::load(&path),
            Err(SecretError::Empty { .. })
        ));

        std::fs::write(&path, "k1\n").unwrap();
        let file = SecretFile::load(&path).unwrap();
        std::fs::write(&path, "").unwrap();
        assert!(file.reload().is_err());
        assert_eq!(file.first().expose(), "k1");
    }
}
