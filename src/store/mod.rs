//! The durable job table in SQLite: schema and migrations, connections with read-back pragmas,
//! the single-process lock, and the job, attempt and link operations.
//!
//! Every connection runs in WAL mode with `synchronous=FULL`, so a job is on disk when its
//! transaction commits. Ingest writes go through one writer thread (`writer`) that commits waiting
//! jobs together; delivery workers and the CLI use their own connections.

mod jobs;
mod links;
mod schema;
mod types;
pub mod writer;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

pub use jobs::*;
pub use links::*;
pub use types::*;

/// How long a connection waits for another writer before it reports the database busy.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("database {path}: pragma {pragma} is {actual}, expected {expected}")]
    Pragma {
        path: PathBuf,
        pragma: &'static str,
        actual: String,
        expected: &'static str,
    },
    #[error(
        "database {path} was written by a newer shopbus (schema version {found}, this one knows {known})"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error(
        "another shopbus process is using {path} (lock file {lock} is held); stop it first or point store.path elsewhere"
    )]
    Locked { path: PathBuf, lock: PathBuf },
    #[error("cannot create lock file {lock}: {source}")]
    LockFile {
        lock: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "database {path} does not exist; check store.path (a relative path is relative to the working directory) or start `shopbus serve` once"
    )]
    Missing { path: PathBuf },
    #[error("job {0} not found")]
    NotFound(JobId),
    #[error("lease on job {0} was lost (another worker took it over)")]
    LeaseLost(JobId),
    #[error("cannot start the store writer thread: {0}")]
    Thread(std::io::Error),
    #[error("job store write queue is closed")]
    WriterGone,
    #[error("database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

/// Opens the database of an operator command, which must exist: a mistyped or relative
/// `store.path` run from the wrong folder must not show an empty new store.
pub fn open_existing(path: &Path) -> Result<Connection, StoreError> {
    if !path.is_file() {
        return Err(StoreError::Missing {
            path: path.to_path_buf(),
        });
    }
    open(path)
}

/// Opens a connection, sets and reads back its pragmas, and applies pending migrations.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let open_error = |source| StoreError::Open {
        path: path.to_path_buf(),
        source,
    };
    let connection = Connection::open(path).map_err(open_error)?;
    connection.busy_timeout(BUSY_TIMEOUT).map_err(open_error)?;

    set_pragma(&connection, path, "journal_mode", "wal")?;
    set_pragma(&connection, path, "synchronous", "2")?;
    set_pragma(&connection, path, "foreign_keys", "1")?;

    schema::migrate(&connection, path)?;
    Ok(connection)
}

/// Sets a pragma and reads it back, because SQLite ignores a pragma it does not know.
fn set_pragma(
    connection: &Connection,
    path: &Path,
    pragma: &'static str,
    expected: &'static str,
) -> Result<(), StoreError> {
    connection.pragma_update(None, pragma, expected)?;
    let actual: String = connection.pragma_query_value(None, pragma, |row| {
        let value: rusqlite::types::Value = row.get(0)?;
        Ok(match value {
            rusqlite::types::Value::Integer(number) => number.to_string(),
            rusqlite::types::Value::Text(text) => text.to_lowercase(),
            other => format!("{other:?}"),
        })
    })?;

    if actual != expected {
        return Err(StoreError::Pragma {
            path: path.to_path_buf(),
            pragma,
            actual,
            expected,
        });
    }
    Ok(())
}

/// An exclusive lock on the database for one `serve` process, released when dropped or when
/// the process dies (the kernel drops the lock with the file descriptor).
#[derive(Debug)]
pub struct ProcessLock {
    _file: File,
}

/// Takes the lock next to the database (`<path>.lock`), or reports that another process has it.
pub fn lock_exclusive(path: &Path) -> Result<ProcessLock, StoreError> {
    // Two paths to one database (a symlink, `./` or `..`) must find the same lock file.
    let resolved = canonical(path);
    let mut lock_name = resolved.as_os_str().to_owned();
    lock_name.push(".lock");
    let lock = PathBuf::from(lock_name);

    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
        .map_err(|source| StoreError::LockFile {
            lock: lock.clone(),
            source,
        })?;

    match file.try_lock() {
        Ok(()) => Ok(ProcessLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked {
            path: path.to_path_buf(),
            lock,
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(StoreError::LockFile { lock, source }),
    }
}

/// The path with its folder resolved through symlinks; the file itself may not exist yet.
fn canonical(path: &Path) -> PathBuf {
    if let Ok(resolved) = std::fs::canonicalize(path) {
        return resolved;
    }
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match (std::fs::canonicalize(folder), path.file_name()) {
        (Ok(folder), Some(name)) => folder.join(name),
        _ => path.to_path_buf(),
    }
}

/// Milliseconds since the Unix epoch, the unit of every time column.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests;
