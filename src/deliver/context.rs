//! What one attempt of one job works with: the leased job, the store connection, the ERPNext
//! client, and the audit rows it collects.

use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::Connection;

use crate::erpnext::ErpNextClient;
use crate::mapping::MappingSettings;
use crate::peer::PeerError;
use crate::store::{self, AttemptRecord, Lease, Stage, StoreError, now_millis};
use crate::woocommerce::WooClient;

/// The result of a successful attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum JobSuccess {
    Done {
        erp_name: Option<String>,
        woo_id: Option<String>,
    },
    /// Nothing to write, e.g. an older snapshot than the one already delivered.
    Cancelled { reason: String },
}

/// The reason an attempt failed.
#[derive(Debug)]
pub enum JobError {
    /// A stage failed; the error's class decides whether the job is retried.
    Stage { stage: Stage, error: PeerError },
    /// Another worker took the job over, so this attempt must not record anything.
    LeaseLost,
    /// The process is stopping; the job goes back to the queue before its next request.
    Interrupted,
    /// The local store failed; the job is retried.
    Store(StoreError),
}

impl JobError {
    pub fn at(stage: Stage, error: PeerError) -> JobError {
        JobError::Stage { stage, error }
    }
}

impl From<StoreError> for JobError {
    fn from(error: StoreError) -> JobError {
        match error {
            StoreError::LeaseLost(_) => JobError::LeaseLost,
            other => JobError::Store(other),
        }
    }
}

pub struct JobContext<'a> {
    pub connection: &'a Connection,
    pub lease: &'a mut Lease,
    erp: &'a ErpNextClient,
    woo: Option<&'a WooClient>,
    pub settings: &'a MappingSettings,
    lease_millis: i64,
    stop: &'a AtomicBool,
    pub records: Vec<AttemptRecord>,
}

impl<'a> JobContext<'a> {
    pub fn new(
        connection: &'a Connection,
        lease: &'a mut Lease,
        erp: &'a ErpNextClient,
        woo: Option<&'a WooClient>,
        settings: &'a MappingSettings,
        lease_millis: i64,
        stop: &'a AtomicBool,
    ) -> JobContext<'a> {
        JobContext {
            connection,
            lease,
            erp,
            woo,
            settings,
            lease_millis,
            stop,
            records: Vec::new(),
        }
    }

    /// Renews the lease so it covers the next request, then returns the ERPNext client.
    pub fn erp(&mut self) -> Result<&'a ErpNextClient, JobError> {
        self.check_stop()?;
        store::renew(self.connection, self.lease, now_millis(), self.lease_millis)?;
        Ok(self.erp)
    }

    /// Renews the lease, then returns the WooCommerce client, or a permanent error when the REST
    /// API keys are not configured.
    pub fn woo(&mut self, stage: Stage) -> Result<&'a WooClient, JobError> {
        let Some(woo) = self.woo else {
            return Err(JobError::at(
                stage,
                PeerError::permanent(
                    "woocommerce.consumer_key_file and woocommerce.consumer_secret_file are not set; \
                     the bus needs WooCommerce REST API keys to write stock levels and order status",
                ),
            ));
        };
        self.check_stop()?;
        store::renew(self.connection, self.lease, now_millis(), self.lease_millis)?;
        Ok(woo)
    }

    /// Stops the job between two requests when the process is shutting down. Every step looks
    /// its document up before writing, so the next attempt picks up where this one stopped.
    fn check_stop(&self) -> Result<(), JobError> {
        if self.stop.load(Ordering::SeqCst) {
            return Err(JobError::Interrupted);
        }
        Ok(())
    }

    /// Adds a successful step to the attempt's audit trail.
    pub fn record(&mut self, stage: Stage, message: impl Into<String>) {
        let now = now_millis();
        self.records.push(AttemptRecord {
            attempt: self.lease.attempt,
            stage,
            outcome: "ok".to_string(),
            http_status: None,
            message: message.into(),
            started_at: now,
            finished_at: now,
        });
    }
}
