//! Job and attempt operations: enqueue with dedup, claim with a lease, finish, list, replay and
//! cancel. Every change to a leased job is a conditional UPDATE on its id and lease owner, and
//! zero changed rows means the lease was lost.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{JobId, JobStatus, Source, Stage, StoreError};

/// A webhook to be stored as a job.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub source: Source,
    pub topic: String,
    pub entity: String,
    pub body_sha256: String,
    pub payload: Vec<u8>,
    pub delivery_id: Option<String>,
    /// The first row of the audit trail, e.g. the webhook id and which secret verified it.
    pub receive_note: String,
    /// The order's `date_modified_gmt`, for order jobs.
    pub woo_modified: Option<String>,
    /// The SKUs of an order job's lines.
    pub skus: Vec<String>,
    /// How long the job waits before its first attempt, so a burst of stock events coalesces.
    pub delay_millis: i64,
}

/// The job a webhook became, and whether it existed already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    pub id: JobId,
    pub duplicate: bool,
}

/// A job row, without its payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub id: JobId,
    pub source: Source,
    pub topic: String,
    pub entity: String,
    pub status: JobStatus,
    pub attempts: i64,
    pub received_at: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub erp_name: Option<String>,
    pub woo_id: Option<String>,
    pub finished_at: Option<i64>,
    pub delivery_id: Option<String>,
    pub payload_purged: bool,
    /// When the retry limits start counting: the last replay, else `received_at`.
    pub retry_from: i64,
    /// Attempts made before the last replay.
    pub attempts_before_replay: i64,
}

/// One row of a job's audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub attempt: i64,
    pub stage: Stage,
    pub outcome: String,
    pub http_status: Option<u16>,
    pub message: String,
    pub started_at: i64,
    pub finished_at: i64,
}

/// A job leased to one worker until `expires_at`.
#[derive(Debug, Clone)]
pub struct Lease {
    pub job: Job,
    pub payload: Vec<u8>,
    pub owner: String,
    pub expires_at: i64,
    /// The number of this attempt (1 for the first).
    pub attempt: i64,
}

/// The end of an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done {
        erp_name: Option<String>,
        woo_id: Option<String>,
    },
    Retry {
        at: i64,
        error: String,
    },
    Failed {
        error: String,
    },
    Cancelled {
        reason: String,
    },
}

const JOB_COLUMNS: &str = "id, source, topic, entity, status, attempts, received_at, \
     next_attempt_at, last_error, erp_name, woo_id, finished_at, delivery_id, payload IS NULL, \
     COALESCE(retry_from, received_at), attempts_before_replay";

fn job_from_row(row: &Row<'_>) -> rusqlite::Result<Job> {
    let text_column = |index: usize, text: String| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, text.into())
    };
    let source: String = row.get(1)?;
    let status: String = row.get(4)?;
    Ok(Job {
        id: JobId(row.get(0)?),
        source: source.parse().map_err(|e| text_column(1, e))?,
        topic: row.get(2)?,
        entity: row.get(3)?,
        status: status.parse().map_err(|e| text_column(4, e))?,
        attempts: row.get(5)?,
        received_at: row.get(6)?,
        next_attempt_at: row.get(7)?,
        last_error: row.get(8)?,
        erp_name: row.get(9)?,
        woo_id: row.get(10)?,
        finished_at: row.get(11)?,
        delivery_id: row.get(12)?,
        payload_purged: row.get(13)?,
        retry_from: row.get(14)?,
        attempts_before_replay: row.get(15)?,
    })
}

/// Inserts the jobs in one transaction. A job whose source, topic, entity and body hash exist
/// already is not inserted again; its existing id comes back with `duplicate` set.
pub fn enqueue_batch(
    connection: &mut Connection,
    jobs: &[&NewJob],
    now: i64,
) -> Result<Vec<Enqueued>, StoreError> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut results = Vec::with_capacity(jobs.len());
    for job in jobs {
        results.push(insert_job(&transaction, job, now)?);
    }
    transaction.commit()?;
    Ok(results)
}

/// Inserts one job inside the caller's transaction, or finds the job of the same webhook.
fn insert_job(connection: &Connection, job: &NewJob, now: i64) -> Result<Enqueued, StoreError> {
    let mut insert = connection.prepare_cached(
        "INSERT INTO jobs (source, topic, entity, body_sha256, payload, delivery_id, \
                           status, received_at, next_attempt_at, woo_modified, receive_note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?8, ?9, ?10)
         ON CONFLICT (source, topic, entity, body_sha256) DO NOTHING
         RETURNING id",
    )?;
    let inserted: Option<i64> = insert
        .query_row(
            params![
                job.source.as_str(),
                job.topic,
                job.entity,
                job.body_sha256,
                job.payload,
                job.delivery_id,
                now,
                now + job.delay_millis,
                job.woo_modified,
                job.receive_note
            ],
            |row| row.get(0),
        )
        .optional()?;

    if let Some(id) = inserted {
        let mut sku = connection
            .prepare_cached("INSERT OR IGNORE INTO job_skus (sku, job_id) VALUES (?1, ?2)")?;
        for code in &job.skus {
            sku.execute(params![code, id])?;
        }
        return Ok(Enqueued {
            id: JobId(id),
            duplicate: false,
        });
    }

    let mut find = connection.prepare_cached(
        "SELECT id FROM jobs WHERE source = ?1 AND topic = ?2 AND entity = ?3 AND body_sha256 = ?4",
    )?;
    let id: i64 = find.query_row(
        params![job.source.as_str(), job.topic, job.entity, job.body_sha256],
        |row| row.get(0),
    )?;
    Ok(Enqueued {
        id: JobId(id),
        duplicate: true,
    })
}

// TODO: the candidate query below builds and sorts every due job under the write lock, so a
// large backlog falling due at once slows webhook ingest; pick the job in a read transaction
// and take the lock only for the conditional UPDATE.
/// Leases the oldest due job whose entity has no earlier unfinished job and no live lease.
/// A running job whose lease expired (its worker or process died) is due again.
pub fn claim(
    connection: &mut Connection,
    owner: &str,
    now: i64,
    lease_millis: i64,
) -> Result<Option<Lease>, StoreError> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;

    let candidate: Option<i64> = transaction
        .query_row(
            "SELECT j.id FROM jobs j
             WHERE ((j.status = 'queued' AND j.next_attempt_at <= ?1)
                 OR (j.status = 'running' AND j.lease_expires_at < ?1))
               AND NOT EXISTS (
                   SELECT 1 FROM jobs e
                   WHERE e.entity = j.entity AND e.id <> j.id
                     AND ((e.id < j.id AND e.status IN ('queued', 'running'))
                       OR (e.status = 'running' AND e.lease_expires_at >= ?1)))
               AND NOT (j.entity LIKE 'sku:%' AND EXISTS (
                   SELECT 1 FROM job_skus s JOIN jobs o ON o.id = s.job_id
                   WHERE s.sku = substr(j.entity, 5) AND o.status IN ('queued', 'running')))
             ORDER BY j.next_attempt_at, j.id
             LIMIT 1",
            params![now],
            |row| row.get(0),
        )
        .optional()?;

    let Some(id) = candidate else {
        return Ok(None);
    };

    let expires_at = now + lease_millis;
    transaction.execute(
        "UPDATE jobs SET status = 'running', lease_owner = ?2, lease_expires_at = ?3
         WHERE id = ?1",
        params![id, owner, expires_at],
    )?;

    let (job, payload) = transaction.query_row(
        &format!("SELECT {JOB_COLUMNS}, payload FROM jobs WHERE id = ?1"),
        params![id],
        |row| Ok((job_from_row(row)?, row.get::<_, Option<Vec<u8>>>(16)?)),
    )?;
    transaction.commit()?;

    let attempt = job.attempts + 1;
    Ok(Some(Lease {
        job,
        payload: payload.unwrap_or_default(),
        owner: owner.to_string(),
        expires_at,
        attempt,
    }))
}

/// Extends a lease while its job is still being worked on.
pub fn renew(
    connection: &Connection,
    lease: &mut Lease,
    now: i64,
    lease_millis: i64,
) -> Result<(), StoreError> {
    let expires_at = now + lease_millis;
    let changed = connection.execute(
        "UPDATE jobs SET lease_expires_at = ?3
         WHERE id = ?1 AND lease_owner = ?2 AND status = 'running'",
        params![lease.job.id.0, lease.owner, expires_at],
    )?;
    if changed == 0 {
        return Err(StoreError::LeaseLost(lease.job.id));
    }
    lease.expires_at = expires_at;
    Ok(())
}

/// Records the attempt's audit rows and its outcome, if the lease is still held.
pub fn finish(
    connection: &mut Connection,
    lease: &Lease,
    outcome: &Outcome,
    records: &[AttemptRecord],
    now: i64,
) -> Result<(), StoreError> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let id = lease.job.id.0;

    let changed = match outcome {
        Outcome::Done { erp_name, woo_id } => transaction.execute(
            "UPDATE jobs SET status = 'done', attempts = attempts + 1, lease_owner = NULL,
                    lease_expires_at = NULL, last_error = NULL, finished_at = ?3,
                    erp_name = COALESCE(?4, erp_name), woo_id = COALESCE(?5, woo_id)
             WHERE id = ?1 AND lease_owner = ?2 AND status = 'running'",
            params![id, lease.owner, now, erp_name, woo_id],
        )?,
        Outcome::Retry { at, error } => transaction.execute(
            "UPDATE jobs SET status = 'queued', attempts = attempts + 1, lease_owner = NULL,
                    lease_expires_at = NULL, last_error = ?3, next_attempt_at = ?4
             WHERE id = ?1 AND lease_owner = ?2 AND status = 'running'",
            params![id, lease.owner, error, at],
        )?,
        Outcome::Failed { error: reason } | Outcome::Cancelled { reason } => {
            let status = match outcome {
                Outcome::Failed { .. } => JobStatus::Failed,
                _ => JobStatus::Cancelled,
            };
            transaction.execute(
                "UPDATE jobs SET status = ?5, attempts = attempts + 1, lease_owner = NULL,
                        lease_expires_at = NULL, last_error = ?3, finished_at = ?4
                 WHERE id = ?1 AND lease_owner = ?2 AND status = 'running'",
                params![id, lease.owner, reason, now, status.as_str()],
            )?
        }
    };

    if changed == 0 {
        return Err(StoreError::LeaseLost(lease.job.id));
    }

    insert_attempts(&transaction, lease.job.id, records)?;
    transaction.commit()?;
    Ok(())
}

fn insert_attempts(
    connection: &Connection,
    job: JobId,
    records: &[AttemptRecord],
) -> Result<(), StoreError> {
    let mut insert = connection.prepare_cached(
        "INSERT INTO attempts (job_id, attempt, stage, outcome, http_status, message, \
                               started_at, finished_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for record in records {
        insert.execute(params![
            job.0,
            record.attempt,
            record.stage.as_str(),
            record.outcome,
            record.http_status,
            record.message,
            record.started_at,
            record.finished_at
        ])?;
    }
    Ok(())
}

/// Gives a leased job back to the queue untouched (shutdown before the attempt began).
pub fn release(connection: &Connection, lease: &Lease) -> Result<(), StoreError> {
    connection.execute(
        "UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL
         WHERE id = ?1 AND lease_owner = ?2 AND status = 'running'",
        params![lease.job.id.0, lease.owner],
    )?;
    Ok(())
}

/// Requeues every job leased by an earlier process. Only safe under the process lock.
pub fn release_all_leases(connection: &Connection) -> Result<usize, StoreError> {
    let released = connection.execute(
        "UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_expires_at = NULL
         WHERE status = 'running'",
        [],
    )?;
    Ok(released)
}

/// Jobs newest first, optionally of one status.
pub fn list(
    connection: &Connection,
    status: Option<JobStatus>,
    limit: usize,
) -> Result<Vec<Job>, StoreError> {
    let mut statement = connection.prepare(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs
         WHERE (?1 IS NULL OR status = ?1)
         ORDER BY id DESC LIMIT ?2"
    ))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement.query_map(params![status.map(JobStatus::as_str), limit], job_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn get(connection: &Connection, id: JobId) -> Result<Job, StoreError> {
    connection
        .query_row(
            &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1"),
            params![id.0],
            job_from_row,
        )
        .optional()?
        .ok_or(StoreError::NotFound(id))
}

/// Returns the raw webhook body of a job, or `None` once retention has erased it.
pub fn payload(connection: &Connection, id: JobId) -> Result<Option<Vec<u8>>, StoreError> {
    connection
        .query_row(
            "SELECT payload FROM jobs WHERE id = ?1",
            params![id.0],
            |row| row.get(0),
        )
        .optional()?
        .ok_or(StoreError::NotFound(id))
}

/// Returns the audit trail of a job, oldest first; its first row is the receipt of the webhook.
pub fn history(connection: &Connection, id: JobId) -> Result<Vec<AttemptRecord>, StoreError> {
    let mut statement = connection.prepare(
        "SELECT 0, 'receive', 'accepted', NULL, receive_note, received_at, received_at, 0
         FROM jobs WHERE id = ?1 AND receive_note IS NOT NULL
         UNION ALL
         SELECT attempt, stage, outcome, http_status, message, started_at, finished_at, id
         FROM attempts WHERE job_id = ?1
         ORDER BY 8",
    )?;
    let rows = statement.query_map(params![id.0], |row| {
        let stage: String = row.get(1)?;
        Ok(AttemptRecord {
            attempt: row.get(0)?,
            stage: stage.parse().map_err(|error: String| {
                rusqlite::Error::FromSqlConversionFailure(
                    1,
                    rusqlite::types::Type::Text,
                    error.into(),
                )
            })?,
            outcome: row.get(2)?,
            http_status: row.get(3)?,
            message: row.get(4)?,
            started_at: row.get(5)?,
            finished_at: row.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The reason an operator command left a job as it was.
#[derive(Debug, Clone, PartialEq)]
pub enum Skipped {
    NotFound(JobId),
    WrongStatus(JobId, JobStatus),
    PayloadErased(JobId),
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skipped::NotFound(id) => write!(formatter, "job {id} not found"),
            Skipped::WrongStatus(id, status) => write!(formatter, "job {id} is {status}"),
            Skipped::PayloadErased(id) => write!(
                formatter,
                "job {id} has no payload left (erased after store.payload_retention); \
                 run `shopbus reconcile` to fetch the order again"
            ),
        }
    }
}

/// Requeues finished jobs (failed, cancelled or done) for now, keeping their history, and adds
/// a history row naming the operator. Every job type looks its documents up before writing, so
/// replaying a done job writes nothing twice.
pub fn replay(
    connection: &mut Connection,
    ids: &[JobId],
    now: i64,
) -> Result<(Vec<JobId>, Vec<Skipped>), StoreError> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut replayed = Vec::new();
    let mut skipped = Vec::new();

    for &id in ids {
        let Some(job) = get(&transaction, id)
            .map(Some)
            .or_else(|error| match error {
                StoreError::NotFound(_) => Ok(None),
                other => Err(other),
            })?
        else {
            skipped.push(Skipped::NotFound(id));
            continue;
        };

        if !matches!(
            job.status,
            JobStatus::Failed | JobStatus::Cancelled | JobStatus::Done
        ) {
            skipped.push(Skipped::WrongStatus(id, job.status));
            continue;
        }
        if job.payload_purged {
            skipped.push(Skipped::PayloadErased(id));
            continue;
        }

        transaction.execute(
            "UPDATE jobs SET status = 'queued', next_attempt_at = ?2, finished_at = NULL,
                    retry_from = ?2, attempts_before_replay = attempts
             WHERE id = ?1",
            params![id.0, now],
        )?;
        let record = AttemptRecord {
            attempt: job.attempts,
            stage: Stage::Receive,
            outcome: "replayed".to_string(),
            http_status: None,
            message: format!("requeued by an operator (was {})", job.status),
            started_at: now,
            finished_at: now,
        };
        insert_attempts(&transaction, id, &[record])?;
        replayed.push(id);
    }

    transaction.commit()?;
    Ok((replayed, skipped))
}

/// Returns the ids of every failed job, oldest first.
pub fn failed_ids(connection: &Connection) -> Result<Vec<JobId>, StoreError> {
    let mut statement =
        connection.prepare("SELECT id FROM jobs WHERE status = 'failed' ORDER BY id")?;
    let rows = statement.query_map([], |row| Ok(JobId(row.get(0)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Cancels queued or failed jobs. A running job is left alone: its worker owns it.
pub fn cancel(
    connection: &mut Connection,
    ids: &[JobId],
    now: i64,
) -> Result<(Vec<JobId>, Vec<Skipped>), StoreError> {
    let transaction =
        connection.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut cancelled = Vec::new();
    let mut skipped = Vec::new();

    for &id in ids {
        let changed = transaction.execute(
            "UPDATE jobs SET status = 'cancelled', finished_at = ?2,
                    last_error = COALESCE(last_error, 'cancelled by an operator')
             WHERE id = ?1 AND status IN ('queued', 'failed')",
            params![id.0, now],
        )?;
        if changed == 1 {
            let attempts: i64 = transaction.query_row(
                "SELECT attempts FROM jobs WHERE id = ?1",
                params![id.0],
                |row| row.get(0),
            )?;
            let record = AttemptRecord {
                attempt: attempts,
                stage: Stage::Receive,
                outcome: "cancelled".to_string(),
                http_status: None,
                message: "cancelled by an operator".to_string(),
                started_at: now,
                finished_at: now,
            };
            insert_attempts(&transaction, id, &[record])?;
            cancelled.push(id);
            continue;
        }

        match get(&transaction, id) {
            Ok(job) => skipped.push(Skipped::WrongStatus(id, job.status)),
            Err(StoreError::NotFound(_)) => skipped.push(Skipped::NotFound(id)),
            Err(other) => return Err(other),
        }
    }

    transaction.commit()?;
    Ok((cancelled, skipped))
}

/// Job counts by status, for `/metrics` and `/healthz`.
pub fn count_by_status(connection: &Connection) -> Result<Vec<(JobStatus, i64)>, StoreError> {
    let mut counts: Vec<(JobStatus, i64)> = JobStatus::ALL.iter().map(|s| (*s, 0)).collect();
    let mut statement = connection.prepare("SELECT status, COUNT(*) FROM jobs GROUP BY status")?;
    let rows = statement.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (status, count) = row?;
        if let Some(entry) = counts.iter_mut().find(|(s, _)| s.as_str() == status) {
            entry.1 = count;
        }
    }
    Ok(counts)
}

/// Erases the payload of jobs that finished (done, cancelled or failed) before
/// `finished_before`; ids and history stay. A failed job then can no longer be replayed.
pub fn purge_payloads(
    connection: &Connection,
    finished_before: i64,
    now: i64,
) -> Result<usize, StoreError> {
    let purged = connection.execute(
        "UPDATE jobs SET payload = NULL, payload_purged_at = ?2
         WHERE payload IS NOT NULL AND status IN ('done', 'cancelled', 'failed')
           AND finished_at < ?1",
        params![finished_before, now],
    )?;
    Ok(purged)
}

/// Returns whether an unfinished job of `entity`, other than `except`, exists.
pub fn entity_has_pending(
    connection: &Connection,
    entity: &str,
    except: JobId,
) -> Result<bool, StoreError> {
    let found: Option<i64> = connection
        .query_row(
            "SELECT id FROM jobs WHERE entity = ?1 AND id <> ?2 AND status IN ('queued', 'running') LIMIT 1",
            params![entity, except.0],
            |row| row.get(0),
        )
        .optional()?;
    Ok(found.is_some())
}

/// Cancels the queued jobs of `entity` received before `received_before`, other than `except`:
/// the attempt that just ran read a state that already includes what they would report.
pub fn cancel_coalesced(
    connection: &Connection,
    entity: &str,
    except: JobId,
    received_before: i64,
    now: i64,
) -> Result<Vec<JobId>, StoreError> {
    let mut statement = connection.prepare(
        "UPDATE jobs SET status = 'cancelled', finished_at = ?4,
                last_error = 'coalesced into job ' || ?2
         WHERE entity = ?1 AND id <> ?2 AND status = 'queued' AND received_at < ?3
         RETURNING id",
    )?;
    let rows = statement.query_map(params![entity, except.0, received_before, now], |row| {
        Ok(JobId(row.get(0)?))
    })?;
    let cancelled: Vec<JobId> = rows.collect::<Result<_, _>>()?;

    for id in &cancelled {
        let record = AttemptRecord {
            attempt: 0,
            stage: Stage::Deliver,
            outcome: "cancelled".to_string(),
            http_status: None,
            message: format!("coalesced into job {except}, which published a newer level"),
            started_at: now,
            finished_at: now,
        };
        insert_attempts(connection, *id, &[record])?;
    }
    Ok(cancelled)
}

/// Returns the newest `woo_modified` among the jobs of `entity`, with that job's status.
pub fn newest_snapshot(
    connection: &Connection,
    entity: &str,
) -> Result<Option<(String, JobStatus)>, StoreError> {
    let row: Option<(String, String)> = connection
        .query_row(
            "SELECT woo_modified, status FROM jobs
             WHERE entity = ?1 AND woo_modified IS NOT NULL
             ORDER BY woo_modified DESC, id DESC LIMIT 1",
            params![entity],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    Ok(match row {
        Some((modified, status)) => Some((
            modified,
            status
                .parse()
                .map_err(|e: String| StoreError::Sql(rusqlite::Error::InvalidColumnName(e)))?,
        )),
        None => None,
    })
}

/// Reads a named value of the `state` table.
pub fn get_state(connection: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(connection
        .query_row(
            "SELECT value FROM state WHERE key = ?1",
            params![key],
            |row| row.get(0),
        )
        .optional()?)
}

/// Writes a named value of the `state` table.
pub fn put_state(
    connection: &Connection,
    key: &str,
    value: &str,
    now: i64,
) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO state (key, value, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        params![key, value, now],
    )?;
    Ok(())
}

/// Finds a done job of `entity`, other than `except`, that delivered a newer snapshot than `modified`.
pub fn newer_done_snapshot(
    connection: &Connection,
    entity: &str,
    modified: &str,
    except: JobId,
) -> Result<Option<(JobId, String)>, StoreError> {
    let row = connection
        .query_row(
            "SELECT id, woo_modified FROM jobs
             WHERE entity = ?1 AND id <> ?2 AND status = 'done' AND woo_modified > ?3
             ORDER BY woo_modified DESC LIMIT 1",
            params![entity, except.0, modified],
            |row| Ok((JobId(row.get(0)?), row.get(1)?)),
        )
        .optional()?;
    Ok(row)
}

/// Counts the attempts of the job that got 401 or 403 since `since` (the last replay or the arrival).
pub fn auth_failures(connection: &Connection, job: JobId, since: i64) -> Result<i64, StoreError> {
    Ok(connection.query_row(
        "SELECT COUNT(*) FROM attempts
         WHERE job_id = ?1 AND http_status IN (401, 403) AND outcome IN ('retry', 'failed') AND started_at >= ?2",
        params![job.0, since],
        |row| row.get(0),
    )?)
}

/// Attempt rows by stage and outcome, for `/metrics`.
pub fn count_attempts(connection: &Connection) -> Result<Vec<(String, String, i64)>, StoreError> {
    let mut statement = connection.prepare(
        "SELECT stage, outcome, COUNT(*) FROM attempts GROUP BY stage, outcome
         UNION ALL
         SELECT 'receive', 'accepted', COUNT(*) FROM jobs WHERE receive_note IS NOT NULL
         ORDER BY 1, 2",
    )?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Returns the SKUs among `skus` that a job received at or after `since` is about, other than
/// `except`: an order job with the SKU, or a stock job of it. A level read before `since` may be
/// older than what such a job changed.
pub fn skus_touched_since(
    connection: &Connection,
    skus: &[String],
    since: i64,
    except: JobId,
) -> Result<Vec<String>, StoreError> {
    let mut touched = Vec::new();
    let mut statement = connection.prepare_cached(
        "SELECT EXISTS (
             SELECT 1 FROM job_skus s JOIN jobs o ON o.id = s.job_id
             WHERE s.sku = ?1 AND o.received_at >= ?2 AND o.id <> ?3)
         OR EXISTS (
             SELECT 1 FROM jobs j
             WHERE j.entity = 'sku:' || ?1 AND j.received_at >= ?2 AND j.id <> ?3)",
    )?;
    for sku in skus {
        let found: bool = statement.query_row(params![sku, since, except.0], |row| row.get(0))?;
        if found {
            touched.push(sku.clone());
        }
    }
    Ok(touched)
}

/// The SKUs among `skus` that an unfinished order job contains; their levels must wait.
pub fn skus_with_pending_orders(
    connection: &Connection,
    skus: &[String],
) -> Result<Vec<String>, StoreError> {
    let mut pending = Vec::new();
    let mut statement = connection.prepare_cached(
        "SELECT EXISTS (
             SELECT 1 FROM job_skus s JOIN jobs o ON o.id = s.job_id
             WHERE s.sku = ?1 AND o.status IN ('queued', 'running'))",
    )?;
    for sku in skus {
        let found: bool = statement.query_row(params![sku], |row| row.get(0))?;
        if found {
            pending.push(sku.clone());
        }
    }
    Ok(pending)
}

/// Enqueues one job from inside another job's attempt, where only a shared connection is at hand.
pub fn enqueue_from_job(
    connection: &Connection,
    job: &NewJob,
    now: i64,
) -> Result<Enqueued, StoreError> {
    let transaction = connection.unchecked_transaction()?;
    let enqueued = insert_job(&transaction, job, now)?;
    transaction.commit()?;
    Ok(enqueued)
}

/// Returns the unfinished order jobs that contain `sku`; a stock job of the SKU waits for them.
pub fn pending_order_jobs_with_sku(
    connection: &Connection,
    sku: &str,
) -> Result<Vec<JobId>, StoreError> {
    let mut statement = connection.prepare(
        "SELECT o.id FROM job_skus s JOIN jobs o ON o.id = s.job_id
         WHERE s.sku = ?1 AND o.status IN ('queued', 'running') ORDER BY o.id",
    )?;
    let rows = statement.query_map(params![sku], |row| Ok(JobId(row.get(0)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
