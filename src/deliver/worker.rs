//! Delivery worker threads: claim a due job with a lease, run it, record the attempt, repeat.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::context::{JobContext, JobError, JobSuccess};
use super::invoice::deliver_invoice;
use super::order::deliver_order;
use super::retry::{Decision, FailedAttempt, RetryPolicy, decide};
use super::stock::{StockSettings, deliver_stock, full_pass};
use crate::erpnext::ErpNextClient;
use crate::mapping::MappingSettings;
use crate::peer::{ErrorClass, PeerError};
use crate::store::{self, AttemptRecord, Lease, Outcome, Stage, StoreError, now_millis};
use crate::woocommerce::WooClient;

/// Topic of the periodic job that publishes the stock of every linked SKU.
pub const FULL_PASS_TOPIC: &str = "stock.full_pass";

/// Returns the reason as the journal gets it. A validation message quotes address fields and e-mail
/// addresses from the order, so the journal gets a pointer to the audit trail instead.
fn loggable(stage: Stage, message: &str, job: crate::store::JobId) -> String {
    if stage == Stage::Validate {
        format!(
            "the order breaks a validation rule; `shopbus jobs show {job}` has the field and value"
        )
    } else {
        message.to_string()
    }
}

/// How long a worker waits after a transient peer error before it claims the next job, unless the
/// peer asked for a different delay with `Retry-After`.
const PEER_COOLDOWN: Duration = Duration::from_secs(1);

/// Maximum pause after a transient peer error, whatever `Retry-After` requests.
const MAX_PEER_COOLDOWN: Duration = Duration::from_secs(30);

/// Returns the pause before the next claim: some after a transient peer error, none otherwise.
fn peer_cooldown(result: &Result<JobSuccess, JobError>) -> Option<Duration> {
    match result {
        Err(JobError::Stage { error, .. }) if error.class == ErrorClass::Transient => Some(
            error
                .retry_after
                .unwrap_or(PEER_COOLDOWN)
                .clamp(PEER_COOLDOWN, MAX_PEER_COOLDOWN),
        ),
        _ => None,
    }
}

/// How often worker 0 erases the payloads of jobs past their retention.
const PURGE_INTERVAL: Duration = Duration::from_secs(600);

/// The settings of the delivery workers.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    pub store_path: PathBuf,
    pub workers: usize,
    pub poll_interval: Duration,
    pub request_timeout: Duration,
    pub policy: RetryPolicy,
    pub mapping: MappingSettings,
    pub stock: StockSettings,
    /// Order status set when the order's Sales Invoice is submitted.
    pub invoice_status: String,
    /// Zero keeps payloads forever.
    pub payload_retention: Duration,
}

impl WorkerSettings {
    /// Returns the lease length: two requests and 10 s, renewed before each request.
    fn lease_millis(&self) -> i64 {
        i64::try_from((self.request_timeout * 2 + Duration::from_secs(10)).as_millis())
            .unwrap_or(i64::MAX / 4)
    }
}

/// The running workers.
pub struct Workers {
    handles: Vec<JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl Workers {
    /// Starts the worker threads. `start_id` marks this process's leases.
    pub fn start(
        settings: WorkerSettings,
        erp: Arc<ErpNextClient>,
        woo: Option<Arc<WooClient>>,
        start_id: &str,
    ) -> Result<Workers, StoreError> {
        let stop = Arc::new(AtomicBool::new(false));
        let settings = Arc::new(settings);
        let mut handles = Vec::with_capacity(settings.workers);

        for index in 0..settings.workers {
            let connection = store::open(&settings.store_path)?;
            let worker = Worker {
                index,
                owner: format!("{start_id}/{index}"),
                connection,
                settings: settings.clone(),
                erp: erp.clone(),
                woo: woo.clone(),
                stop: stop.clone(),
            };
            let handle = std::thread::Builder::new()
                .name(format!("deliver-{index}"))
                .spawn(move || worker.run())
                .map_err(StoreError::Thread)?;
            handles.push(handle);
        }

        log::info!("deliver: started {} worker(s)", handles.len());
        Ok(Workers { handles, stop })
    }

    /// Asks every worker to stop after its current job and waits for them.
    pub fn stop_and_join(self) {
        self.stop.store(true, Ordering::SeqCst);
        for handle in self.handles {
            if handle.join().is_err() {
                log::error!("deliver: a worker thread panicked while stopping");
            }
        }
        log::info!("deliver: workers stopped");
    }
}

struct Worker {
    index: usize,
    owner: String,
    connection: Connection,
    settings: Arc<WorkerSettings>,
    erp: Arc<ErpNextClient>,
    woo: Option<Arc<WooClient>>,
    stop: Arc<AtomicBool>,
}

impl Worker {
    fn run(mut self) {
        let mut last_purge: Option<Instant> = None;

        while !self.stop.load(Ordering::SeqCst) {
            if self.index == 0 && last_purge.is_none_or(|at| at.elapsed() >= PURGE_INTERVAL) {
                self.purge_payloads();
                last_purge = Some(Instant::now());
            }

            match store::claim(
                &mut self.connection,
                &self.owner,
                now_millis(),
                self.settings.lease_millis(),
            ) {
                Ok(Some(lease)) => self.attempt(lease),
                Ok(None) => std::thread::sleep(self.settings.poll_interval),
                Err(error) => {
                    log::error!(
                        "deliver: could not claim a job worker={}: {error}",
                        self.index
                    );
                    std::thread::sleep(self.settings.poll_interval * 5);
                }
            }
        }
    }

    /// Runs one attempt of the leased job and records it. After a transient peer error the
    /// worker pauses before its next claim, so an unreachable ERPNext does not turn every due
    /// job into a burst of failed attempts whose writes compete with webhook ingest for the
    /// store.
    fn attempt(&mut self, mut lease: Lease) {
        let started_at = now_millis();
        log::debug!(
            "deliver: attempt job={} topic={} entity={} attempt={}",
            lease.job.id,
            lease.job.topic,
            lease.job.entity,
            lease.attempt
        );

        let (result, records) = self.run_job(&mut lease);
        let cooldown = peer_cooldown(&result);
        let outcome = self.outcome(&lease, result, records, started_at);
        let Some((outcome, records)) = outcome else {
            return;
        };

        if let Err(error) = store::finish(
            &mut self.connection,
            &lease,
            &outcome,
            &records,
            now_millis(),
        ) {
            log::error!(
                "deliver: could not record the attempt job={} topic={} entity={}: {error}",
                lease.job.id,
                lease.job.topic,
                lease.job.entity
            );
        }
        if let Some(pause) = cooldown {
            self.pause(pause);
        }
    }

    /// Sleeps for `pause`, waking early when the process stops.
    fn pause(&self, pause: Duration) {
        let until = Instant::now() + pause;
        while !self.stop.load(Ordering::SeqCst) && Instant::now() < until {
            std::thread::sleep(self.settings.poll_interval.min(until - Instant::now()));
        }
    }

    /// Runs the job's stages; a panic becomes a failed stage instead of a dead worker.
    fn run_job(&self, lease: &mut Lease) -> (Result<JobSuccess, JobError>, Vec<AttemptRecord>) {
        let topic = lease.job.topic.clone();
        let mut context = JobContext::new(
            &self.connection,
            lease,
            &self.erp,
            self.woo.as_deref(),
            &self.settings.mapping,
            self.settings.lease_millis(),
            &self.stop,
        );

        let result = std::panic::catch_unwind(AssertUnwindSafe(|| match topic.as_str() {
            "order.created" | "order.updated" => deliver_order(&mut context),
            crate::receive::STOCK_TOPIC => deliver_stock(&mut context, &self.settings.stock),
            crate::receive::INVOICE_TOPIC => {
                deliver_invoice(&mut context, &self.settings.invoice_status)
            }
            FULL_PASS_TOPIC => full_pass(&mut context, &self.settings.stock),
            other => Err(JobError::at(
                Stage::Parse,
                PeerError::permanent(format!("no handler for topic '{other}'")),
            )),
        }));

        let result = result.unwrap_or_else(|panic| {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(JobError::at(
                Stage::Deliver,
                PeerError::permanent(format!("internal error (a bug in shopbus): {text}")),
            ))
        });
        (result, context.records)
    }

    /// Turns the result into the job's new state and the attempt's audit rows; `None` when
    /// the lease was lost and nothing may be recorded.
    fn outcome(
        &self,
        lease: &Lease,
        result: Result<JobSuccess, JobError>,
        mut records: Vec<AttemptRecord>,
        started_at: i64,
    ) -> Option<(Outcome, Vec<AttemptRecord>)> {
        let job = &lease.job;
        let now = now_millis();
        let mut row = |stage: Stage, outcome: &str, http_status: Option<u16>, message: String| {
            records.push(AttemptRecord {
                attempt: lease.attempt,
                stage,
                outcome: outcome.to_string(),
                http_status,
                message,
                started_at,
                finished_at: now,
            });
        };

        let outcome = match result {
            Ok(JobSuccess::Done { erp_name, woo_id }) => {
                log::info!(
                    "deliver: done job={} topic={} entity={} erp_name={} woo_id={} attempt={}",
                    job.id,
                    job.topic,
                    job.entity,
                    erp_name.as_deref().unwrap_or("-"),
                    woo_id.as_deref().unwrap_or("-"),
                    lease.attempt
                );
                Outcome::Done { erp_name, woo_id }
            }
            Ok(JobSuccess::Cancelled { reason }) => {
                log::info!(
                    "deliver: cancelled job={} topic={} entity={}: {reason}",
                    job.id,
                    job.topic,
                    job.entity
                );
                row(Stage::Deliver, "cancelled", None, reason.clone());
                Outcome::Cancelled { reason }
            }
            Err(JobError::Interrupted) => {
                log::info!(
                    "deliver: shutdown interrupted job={} topic={} entity={}; it goes back to the queue",
                    job.id,
                    job.topic,
                    job.entity
                );
                if let Err(error) = store::release(&self.connection, lease) {
                    log::error!(
                        "deliver: could not release job={}: {error}; its lease expires instead",
                        job.id
                    );
                }
                return None;
            }
            Err(JobError::LeaseLost) => {
                log::warn!(
                    "deliver: lease lost job={} topic={} entity={}; another worker owns it now",
                    job.id,
                    job.topic,
                    job.entity
                );
                return None;
            }
            Err(JobError::Store(error)) => {
                let error = PeerError::transient(format!("local store error: {error}"));
                self.failure(lease, Stage::Deliver, error, &mut row)
            }
            Err(JobError::Stage { stage, error }) => self.failure(lease, stage, error, &mut row),
        };
        Some((outcome, records))
    }

    fn failure(
        &self,
        lease: &Lease,
        stage: Stage,
        error: PeerError,
        row: &mut impl FnMut(Stage, &str, Option<u16>, String),
    ) -> Outcome {
        let job = &lease.job;
        if error.class == ErrorClass::Auth {
            self.erp.reload_credentials();
            if let Some(woo) = &self.woo {
                woo.reload_credentials();
            }
        }

        let auth_failures = match error.class {
            ErrorClass::Auth => {
                store::auth_failures(&self.connection, job.id, job.retry_from).unwrap_or(0) + 1
            }
            _ => 0,
        };
        let failed = FailedAttempt {
            attempt: u32::try_from(lease.attempt - job.attempts_before_replay).unwrap_or(u32::MAX),
            class: error.class,
            retry_after: error.retry_after,
            received_at: job.retry_from,
            auth_failures: u32::try_from(auth_failures).unwrap_or(u32::MAX),
        };
        let reason = format!("{stage}: {}", error.message);

        match decide(
            &self.settings.policy,
            failed,
            now_millis(),
            rand::random::<f64>(),
        ) {
            Decision::RetryAt(at) => {
                let wait = Duration::from_millis(u64::try_from(at - now_millis()).unwrap_or(0));
                log::warn!(
                    "deliver: retry job={} topic={} entity={} attempt={} stage={stage} in={:.1}s: {}",
                    job.id,
                    job.topic,
                    job.entity,
                    lease.attempt,
                    wait.as_secs_f64(),
                    error.message
                );
                row(stage, "retry", error.http_status, error.message.clone());
                Outcome::Retry { at, error: reason }
            }
            Decision::GiveUp(why) => {
                log::error!(
                    "deliver: failed job={} topic={} entity={} attempt={} stage={stage}: {} ({why})",
                    job.id,
                    job.topic,
                    job.entity,
                    lease.attempt,
                    loggable(stage, &error.message, job.id)
                );
                row(
                    stage,
                    "failed",
                    error.http_status,
                    format!("{} ({why})", error.message),
                );
                Outcome::Failed { error: reason }
            }
        }
    }

    fn purge_payloads(&self) {
        let retention = self.settings.payload_retention;
        if retention.is_zero() {
            return;
        }

        let now = now_millis();
        let before = now - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX / 2);
        match store::purge_payloads(&self.connection, before, now) {
            Ok(0) => {}
            Ok(count) => log::info!(
                "store: erased the payloads of {count} finished job(s) past store.payload_retention"
            ),
            Err(error) => log::error!("store: could not erase expired payloads: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(class: ErrorClass, retry_after: Option<Duration>) -> Result<JobSuccess, JobError> {
        let mut error = PeerError::transient("ERPNext request timed out");
        error.class = class;
        error.retry_after = retry_after;
        Err(JobError::at(Stage::Deliver, error))
    }

    #[test]
    fn transient_errors_pause_the_worker() {
        assert_eq!(
            peer_cooldown(&failed(ErrorClass::Transient, None)),
            Some(PEER_COOLDOWN)
        );
        let asked = Some(Duration::from_secs(5));
        assert_eq!(
            peer_cooldown(&failed(ErrorClass::Transient, asked)),
            Some(Duration::from_secs(5))
        );
        let long = Some(Duration::from_secs(3600));
        assert_eq!(
            peer_cooldown(&failed(ErrorClass::Transient, long)),
            Some(MAX_PEER_COOLDOWN)
        );
    }

    #[test]
    fn other_results_do_not_pause() {
        assert_eq!(peer_cooldown(&failed(ErrorClass::Permanent, None)), None);
        assert_eq!(peer_cooldown(&failed(ErrorClass::Auth, None)), None);
        let done = Ok(JobSuccess::Done {
            erp_name: None,
            woo_id: None,
        });
        assert_eq!(peer_cooldown(&done), None);
    }
}
