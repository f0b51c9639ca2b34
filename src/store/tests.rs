//! Store tests. Each one keeps an unrelated neighbour job and checks that it stays untouched,
//! which catches an UPDATE that lost its WHERE.

use super::*;

fn temp_store() -> (tempfile::TempDir, rusqlite::Connection) {
    let dir = tempfile::tempdir().unwrap();
    let connection = open(&dir.path().join("jobs.db")).unwrap();
    (dir, connection)
}

fn order_job(order: u64, body: &str) -> NewJob {
    NewJob {
        source: Source::WooCommerce,
        topic: "order.created".to_string(),
        entity: format!("order:{order}"),
        body_sha256: format!("sha-{body}"),
        payload: body.as_bytes().to_vec(),
        delivery_id: Some("d1".to_string()),
        receive_note: "test".to_string(),
        woo_modified: None,
        skus: Vec::new(),
        delay_millis: 0,
    }
}

fn enqueue(connection: &mut rusqlite::Connection, job: NewJob, now: i64) -> Enqueued {
    enqueue_batch(connection, &[&job], now).unwrap()[0]
}

#[test]
fn pragmas_are_read_back() {
    let (_dir, connection) = temp_store();
    let mode: String = connection
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    let synchronous: i64 = connection
        .pragma_query_value(None, "synchronous", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    assert_eq!(synchronous, 2, "synchronous must be FULL");
}

#[test]
fn redelivered_body_is_a_duplicate() {
    let (_dir, mut connection) = temp_store();
    let first = enqueue(&mut connection, order_job(1, "a"), 10);
    let neighbour = enqueue(&mut connection, order_job(2, "b"), 10);
    let again = enqueue(&mut connection, order_job(1, "a"), 20);

    assert!(!first.duplicate);
    assert!(again.duplicate);
    assert_eq!(again.id, first.id);
    assert_ne!(neighbour.id, first.id);
    assert_eq!(list(&connection, None, 10).unwrap().len(), 2);
}

#[test]
fn changed_body_of_same_order_is_a_new_job() {
    let (_dir, mut connection) = temp_store();
    let first = enqueue(&mut connection, order_job(1, "a"), 10);
    let second = enqueue(&mut connection, order_job(1, "a2"), 10);
    assert!(!second.duplicate);
    assert_ne!(first.id, second.id);
}

#[test]
fn one_entity_runs_one_job_at_a_time_in_order() {
    let (_dir, mut connection) = temp_store();
    let first = enqueue(&mut connection, order_job(1, "a"), 10);
    let second = enqueue(&mut connection, order_job(1, "b"), 10);
    let neighbour = enqueue(&mut connection, order_job(2, "c"), 10);

    let lease = claim(&mut connection, "w1", 100, 1_000).unwrap().unwrap();
    assert_eq!(lease.job.id, first.id);

    let next = claim(&mut connection, "w2", 100, 1_000).unwrap().unwrap();
    assert_eq!(
        next.job.id, neighbour.id,
        "order 1's second job must wait for its first"
    );
    assert!(claim(&mut connection, "w3", 100, 1_000).unwrap().is_none());

    finish(
        &mut connection,
        &lease,
        &Outcome::Done {
            erp_name: None,
            woo_id: None,
        },
        &[],
        150,
    )
    .unwrap();
    let after = claim(&mut connection, "w3", 160, 1_000).unwrap().unwrap();
    assert_eq!(after.job.id, second.id);
}

#[test]
fn job_in_backoff_keeps_later_jobs_of_its_entity_waiting() {
    let (_dir, mut connection) = temp_store();
    let first = enqueue(&mut connection, order_job(1, "a"), 10);
    enqueue(&mut connection, order_job(1, "b"), 10);

    let lease = claim(&mut connection, "w1", 100, 1_000).unwrap().unwrap();
    let retry = Outcome::Retry {
        at: 5_000,
        error: "deliver: 503".to_string(),
    };
    finish(&mut connection, &lease, &retry, &[], 120).unwrap();

    assert!(claim(&mut connection, "w1", 200, 1_000).unwrap().is_none());
    let again = claim(&mut connection, "w1", 5_000, 1_000).unwrap().unwrap();
    assert_eq!(again.job.id, first.id);
    assert_eq!(again.attempt, 2);
}

#[test]
fn expired_lease_is_claimed_again_and_old_owner_loses_it() {
    let (_dir, mut connection) = temp_store();
    enqueue(&mut connection, order_job(1, "a"), 10);
    let neighbour = enqueue(&mut connection, order_job(2, "b"), 10);

    let mut stale = claim(&mut connection, "dead", 100, 1_000).unwrap().unwrap();
    let neighbour_lease = claim(&mut connection, "alive", 100, 60_000)
        .unwrap()
        .unwrap();
    assert_eq!(neighbour_lease.job.id, neighbour.id);

    assert!(claim(&mut connection, "new", 500, 1_000).unwrap().is_none());
    let taken = claim(&mut connection, "new", 2_000, 1_000)
        .unwrap()
        .unwrap();
    assert_eq!(taken.job.id, stale.job.id);

    assert!(matches!(
        renew(&connection, &mut stale, 2_100, 1_000),
        Err(StoreError::LeaseLost(_))
    ));
    let done = Outcome::Done {
        erp_name: Some("X".into()),
        woo_id: None,
    };
    assert!(matches!(
        finish(&mut connection, &stale, &done, &[], 2_100),
        Err(StoreError::LeaseLost(_))
    ));
    finish(&mut connection, &taken, &done, &[], 2_200).unwrap();

    assert_eq!(
        get(&connection, neighbour.id).unwrap().status,
        JobStatus::Running
    );
}

#[test]
fn failed_job_replays_with_history_kept() {
    let (_dir, mut connection) = temp_store();
    let job = enqueue(&mut connection, order_job(1, "a"), 10);
    let neighbour = enqueue(&mut connection, order_job(2, "b"), 10);

    let lease = claim(&mut connection, "w", 100, 1_000).unwrap().unwrap();
    assert_eq!(lease.job.id, job.id);
    let record = AttemptRecord {
        attempt: 1,
        stage: Stage::Deliver,
        outcome: "failed".to_string(),
        http_status: Some(404),
        message: "ERPNext 404 DoesNotExistError: Item EX-MUG not found".to_string(),
        started_at: 100,
        finished_at: 110,
    };
    let failed = Outcome::Failed {
        error: "deliver: Item EX-MUG not found".to_string(),
    };
    finish(&mut connection, &lease, &failed, &[record], 110).unwrap();

    let (replayed, skipped) =
        replay(&mut connection, &[job.id, neighbour.id, JobId(999)], 200).unwrap();
    assert_eq!(replayed, vec![job.id]);
    assert_eq!(skipped.len(), 2);
    assert!(skipped.contains(&Skipped::WrongStatus(neighbour.id, JobStatus::Queued)));
    assert!(skipped.contains(&Skipped::NotFound(JobId(999))));

    let replayed_job = get(&connection, job.id).unwrap();
    assert_eq!(replayed_job.status, JobStatus::Queued);
    assert_eq!(replayed_job.attempts, 1);
    assert_eq!(
        replayed_job.retry_from, 200,
        "retry limits count from the replay"
    );
    assert_eq!(replayed_job.attempts_before_replay, 1);
    let stages: Vec<(Stage, String)> = history(&connection, job.id)
        .unwrap()
        .into_iter()
        .map(|r| (r.stage, r.outcome))
        .collect();
    assert_eq!(
        stages,
        vec![
            (Stage::Receive, "accepted".to_string()),
            (Stage::Deliver, "failed".to_string()),
            (Stage::Receive, "replayed".to_string()),
        ]
    );
    assert_eq!(history(&connection, neighbour.id).unwrap().len(), 1);
}

#[test]
fn cancel_leaves_running_and_done_jobs() {
    let (_dir, mut connection) = temp_store();
    let running = enqueue(&mut connection, order_job(1, "a"), 10);
    let queued = enqueue(&mut connection, order_job(2, "b"), 10);
    claim(&mut connection, "w", 100, 1_000).unwrap().unwrap();

    let (cancelled, skipped) = cancel(&mut connection, &[running.id, queued.id], 200).unwrap();
    assert_eq!(cancelled, vec![queued.id]);
    assert_eq!(
        skipped,
        vec![Skipped::WrongStatus(running.id, JobStatus::Running)]
    );
    assert_eq!(
        get(&connection, queued.id).unwrap().status,
        JobStatus::Cancelled
    );
    assert_eq!(
        get(&connection, running.id).unwrap().status,
        JobStatus::Running
    );
}

#[test]
fn purge_erases_only_old_finished_payloads() {
    let (_dir, mut connection) = temp_store();
    let old = enqueue(&mut connection, order_job(1, "a"), 10);
    let pending = enqueue(&mut connection, order_job(2, "b"), 10);

    let lease = claim(&mut connection, "w", 100, 1_000).unwrap().unwrap();
    assert_eq!(lease.job.id, old.id);
    finish(
        &mut connection,
        &lease,
        &Outcome::Done {
            erp_name: None,
            woo_id: None,
        },
        &[],
        100,
    )
    .unwrap();

    assert_eq!(purge_payloads(&connection, 50, 300).unwrap(), 0);
    assert_eq!(purge_payloads(&connection, 200, 300).unwrap(), 1);
    assert_eq!(payload(&connection, old.id).unwrap(), None);
    assert_eq!(
        payload(&connection, pending.id).unwrap(),
        Some(b"b".to_vec())
    );
    assert!(get(&connection, old.id).unwrap().payload_purged);
    assert_eq!(
        history(&connection, old.id).unwrap().len(),
        1,
        "history outlives the payload"
    );
}

#[test]
fn release_all_leases_requeues_running_jobs() {
    let (_dir, mut connection) = temp_store();
    let job = enqueue(&mut connection, order_job(1, "a"), 10);
    let neighbour = enqueue(&mut connection, order_job(2, "b"), 10);
    claim(&mut connection, "earlier-process", 100, 60_000)
        .unwrap()
        .unwrap();

    assert_eq!(release_all_leases(&connection).unwrap(), 1);
    assert_eq!(get(&connection, job.id).unwrap().status, JobStatus::Queued);
    assert_eq!(
        get(&connection, neighbour.id).unwrap().status,
        JobStatus::Queued
    );
    let again = claim(&mut connection, "this-process", 200, 60_000)
        .unwrap()
        .unwrap();
    assert_eq!(again.job.id, job.id);
}

#[test]
fn second_lock_on_same_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    let first = lock_exclusive(&path).unwrap();
    assert!(matches!(
        lock_exclusive(&path),
        Err(StoreError::Locked { .. })
    ));
    drop(first);
    lock_exclusive(&path).unwrap();
}

#[test]
fn lock_follows_symlinks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jobs.db");
    std::fs::write(&path, b"").unwrap();
    let link = dir.path().join("alias.db");
    std::os::unix::fs::symlink(&path, &link).unwrap();

    let _first = lock_exclusive(&path).unwrap();
    assert!(matches!(
        lock_exclusive(&link),
        Err(StoreError::Locked { .. })
    ));
}

#[test]
fn operator_commands_do_not_create_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.db");
    assert!(matches!(
        open_existing(&path),
        Err(StoreError::Missing { .. })
    ));
    assert!(!path.exists());
}

#[test]
fn links_round_trip() {
    let (_dir, connection) = temp_store();
    let link = Link {
        erp_name: "SAL-ORD-2026-00001".into(),
        woo_modified: Some("2026-01-01T00:00:00".into()),
    };
    put_link(&connection, LinkKind::SalesOrder, "812", &link, 1).unwrap();
    put_link(
        &connection,
        LinkKind::Customer,
        "812",
        &Link {
            erp_name: "C".into(),
            woo_modified: None,
        },
        1,
    )
    .unwrap();
    assert_eq!(
        get_link(&connection, LinkKind::SalesOrder, "812").unwrap(),
        Some(link)
    );
    delete_link(&connection, LinkKind::SalesOrder, "812").unwrap();
    assert_eq!(
        get_link(&connection, LinkKind::SalesOrder, "812").unwrap(),
        None
    );
    assert!(
        get_link(&connection, LinkKind::Customer, "812")
            .unwrap()
            .is_some()
    );
}
