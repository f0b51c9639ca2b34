//! Migrations from `schema.sql`, applied in order and recorded in `PRAGMA user_version`.

use std::path::Path;

use rusqlite::Connection;

use super::StoreError;

const SCHEMA: &str = include_str!("../../schema.sql");
const MARKER: &str = "-- migration: ";

/// The numbered migrations of `schema.sql`, in file order.
fn migrations() -> Vec<(i64, String)> {
    let mut migrations: Vec<(i64, String)> = Vec::new();
    for line in SCHEMA.lines() {
        if let Some(number) = line.strip_prefix(MARKER) {
            let number = number.trim().parse().unwrap_or(0);
            migrations.push((number, String::new()));
        } else if let Some((_, sql)) = migrations.last_mut() {
            sql.push_str(line);
            sql.push('\n');
        }
    }
    migrations
}

/// Applies every migration newer than the database's `user_version`, each in its own transaction.
pub(super) fn migrate(connection: &Connection, path: &Path) -> Result<(), StoreError> {
    let migrations = migrations();
    let known = migrations.last().map(|(number, _)| *number).unwrap_or(0);
    let current: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;

    if current > known {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found: current,
            known,
        });
    }

    for (number, sql) in migrations.into_iter().filter(|(n, _)| *n > current) {
        let transaction = connection.unchecked_transaction()?;
        transaction.execute_batch(&sql)?;
        transaction.pragma_update(None, "user_version", number)?;
        transaction.commit()?;
        log::info!("store: applied migration {number} to {}", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order() {
        let numbers: Vec<i64> = migrations().iter().map(|(n, _)| *n).collect();
        assert!(!numbers.is_empty());
        for (index, number) in numbers.iter().enumerate() {
            assert_eq!(
                *number,
                index as i64 + 1,
                "migration numbers must be 1, 2, 3, ..."
            );
        }
    }

    #[test]
    fn migrate_twice_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jobs.db");
        let connection = Connection::open(&path).unwrap();
        migrate(&connection, &path).unwrap();
        migrate(&connection, &path).unwrap();
        let version: i64 = connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, migrations().len() as i64);
    }
}
