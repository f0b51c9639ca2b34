//! Periodic work of `serve`: the reconciliation pass for missed orders and the stock full pass,
//! each on its own interval ("0" turns it off), on one thread.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::deliver::FULL_PASS_TOPIC;
use crate::reconcile;
use crate::store::{self, NewJob, Source, StoreError, now_millis};
use crate::woocommerce::WooClient;

/// The intervals of the periodic passes.
pub struct ScheduleSettings {
    pub store_path: PathBuf,
    pub reconcile_interval: Duration,
    pub full_pass_interval: Duration,
}

pub struct Scheduler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

/// How long after the start the first reconciliation pass runs.
const FIRST_RECONCILE_DELAY: Duration = Duration::from_secs(10);

/// How often the thread checks whether it should stop or run something.
const TICK: Duration = Duration::from_millis(200);

impl Scheduler {
    /// Starts the thread. The first reconciliation pass runs 10 s after the start (or after one
    /// interval, if shorter); the first full pass after one interval.
    pub fn start(
        settings: ScheduleSettings,
        woo: Option<Arc<WooClient>>,
    ) -> Result<Scheduler, StoreError> {
        let mut connection = store::open(&settings.store_path)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();

        let handle = std::thread::Builder::new()
            .name("schedule".to_string())
            .spawn(move || {
                // The first reconciliation pass runs soon after the start, because webhooks sent
                // while the bus was stopped are lost.
                let mut last_reconcile = Instant::now()
                    .checked_sub(settings.reconcile_interval.saturating_sub(FIRST_RECONCILE_DELAY))
                    .unwrap_or_else(Instant::now);
                let mut last_full_pass = Instant::now();
                while !flag.load(Ordering::SeqCst) {
                    std::thread::sleep(TICK);
                    if due(settings.reconcile_interval, &mut last_reconcile) {
                        match &woo {
                            Some(woo) => {
                                if let Err(error) = reconcile::run_pass(&mut connection, woo, None, &mut |_| {}) {
                                    log::error!("reconcile: pass failed: {error}; the watermark stays where it was");
                                }
                            }
                            None => log::warn!(
                                "reconcile: skipped: woocommerce.consumer_key_file and consumer_secret_file are not set"
                            ),
                        }
                    }
                    if due(settings.full_pass_interval, &mut last_full_pass)
                        && let Err(error) = enqueue_full_pass(&mut connection)
                    {
                        log::error!("schedule: could not enqueue the stock full pass: {error}");
                    }
                }
            })
            .map_err(StoreError::Thread)?;
        Ok(Scheduler { stop, handle })
    }

    pub fn stop_and_join(self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.handle.join();
    }
}

fn due(interval: Duration, last: &mut Instant) -> bool {
    if interval.is_zero() || last.elapsed() < interval {
        return false;
    }
    *last = Instant::now();
    true
}

/// Enqueues one stock full pass job.
pub fn enqueue_full_pass(connection: &mut rusqlite::Connection) -> Result<(), StoreError> {
    let now = now_millis();
    let payload = format!("{{\"requested_at\":{now}}}").into_bytes();
    let job = NewJob {
        source: Source::ErpNext,
        topic: FULL_PASS_TOPIC.to_string(),
        entity: "stock:full-pass".to_string(),
        body_sha256: Sha256::digest(&payload)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        delivery_id: None,
        receive_note: "scheduled by erpnext.stock_full_pass_interval".to_string(),
        woo_modified: None,
        skus: Vec::new(),
        delay_millis: 0,
        payload,
    };
    let enqueued = store::enqueue_batch(connection, &[&job], now)?;
    log::info!("schedule: enqueued stock full pass job={}", enqueued[0].id);
    Ok(())
}
