//! The routes of the listener and the answer to each webhook.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{erpnext, woocommerce};
use crate::secret::SecretFile;
use crate::store::writer::Writer;
use crate::store::{self, NewJob};

/// Everything a request handler needs, shared by all connections.
pub struct ReceiveState {
    pub writer: Writer,
    pub woocommerce_secrets: SecretFile,
    /// `None` when `erpnext.webhook_secret_file` is not set: ERPNext webhooks are then rejected.
    pub erpnext_secrets: Option<SecretFile>,
    /// How long a stock job waits before it runs, so a burst of ledger entries coalesces.
    pub stock_coalesce_millis: i64,
    pub max_body_bytes: usize,
    pub store_path: PathBuf,
    pub metrics: Metrics,
    /// A read connection for `/healthz` and `/metrics`.
    pub reader: Mutex<Option<rusqlite::Connection>>,
}

/// Counters exposed on `/metrics`.
#[derive(Default)]
pub struct Metrics {
    pub accepted: AtomicU64,
    pub duplicates: AtomicU64,
    pub rejected: AtomicU64,
    pub ignored: AtomicU64,
    pub store_errors: AtomicU64,
    /// Sum and count of the time from first byte to commit, in microseconds.
    pub ingest_micros_sum: AtomicU64,
    pub ingest_count: AtomicU64,
}

pub(super) type Body = Full<Bytes>;

/// How long a client may take to send the body after the headers.
const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub(super) async fn route(request: Request<Incoming>, state: &ReceiveState) -> Response<Body> {
    let path = request.uri().path().to_string();
    match (request.method(), path.as_str()) {
        (&Method::POST, "/webhooks/woocommerce") => woocommerce::webhook(request, state).await,
        (&Method::POST, "/webhooks/erpnext") => erpnext::webhook(request, state).await,
        (&Method::GET, "/healthz") => healthz(state).await,
        (&Method::GET, "/metrics") => metrics(state).await,
        (_, "/webhooks/woocommerce" | "/webhooks/erpnext") => answer(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "use POST for webhooks"}),
        ),
        _ => answer(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no route for {path}")}),
        ),
    }
}

pub(super) async fn enqueue(job: NewJob, state: &ReceiveState, started: Instant) -> Response<Body> {
    let topic = job.topic.clone();
    let entity = job.entity.clone();

    match state.writer.enqueue(job).await {
        Ok(enqueued) => {
            let counter = if enqueued.duplicate {
                &state.metrics.duplicates
            } else {
                &state.metrics.accepted
            };
            counter.fetch_add(1, Ordering::Relaxed);
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            state
                .metrics
                .ingest_micros_sum
                .fetch_add(micros, Ordering::Relaxed);
            state.metrics.ingest_count.fetch_add(1, Ordering::Relaxed);
            log::debug!(
                "receive: stored job={} topic={topic} entity={entity} duplicate={}",
                enqueued.id,
                enqueued.duplicate
            );
            answer(
                StatusCode::OK,
                json!({"job_id": enqueued.id.0, "duplicate": enqueued.duplicate}),
            )
        }
        Err(error) => {
            state.metrics.store_errors.fetch_add(1, Ordering::Relaxed);
            log::error!("receive: could not store webhook topic={topic} entity={entity}: {error}");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"error": "job store unavailable"}),
            )
        }
    }
}

/// Reads the whole body, or answers 413 when it is larger than `limit`.
pub(super) async fn read_body(
    request: Request<Incoming>,
    limit: usize,
) -> Result<Bytes, Response<Body>> {
    let too_large = || {
        answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"error": format!("body is larger than {limit} bytes")}),
        )
    };

    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }

    let collect = Limited::new(request.into_body(), limit).collect();
    let Ok(collected) = tokio::time::timeout(BODY_READ_TIMEOUT, collect).await else {
        return Err(answer(
            StatusCode::REQUEST_TIMEOUT,
            json!({"error": format!("the body did not arrive within {}s", BODY_READ_TIMEOUT.as_secs())}),
        ));
    };
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(error) => Err(answer(
            StatusCode::BAD_REQUEST,
            json!({"error": format!("could not read the body: {error}")}),
        )),
    }
}

async fn healthz(state: &ReceiveState) -> Response<Body> {
    match store_counts(state).await {
        Ok(_) => answer(StatusCode::OK, json!({"status": "ok"})),
        Err(error) => {
            log::error!("receive: health check failed: {error}");
            answer(
                StatusCode::SERVICE_UNAVAILABLE,
                json!({"status": "unavailable", "error": error}),
            )
        }
    }
}

async fn metrics(state: &ReceiveState) -> Response<Body> {
    let (counts, attempts) = match store_counts(state).await {
        Ok(counts) => counts,
        Err(error) => {
            log::error!("receive: metrics could not read the store: {error}");
            return answer(StatusCode::SERVICE_UNAVAILABLE, json!({"error": error}));
        }
    };

    let metrics = &state.metrics;
    let mut text = String::new();
    text.push_str("# HELP shopbus_jobs Jobs in the store by status.\n# TYPE shopbus_jobs gauge\n");
    for (status, count) in counts {
        text.push_str(&format!("shopbus_jobs{{status=\"{status}\"}} {count}\n"));
    }
    text.push_str("# HELP shopbus_attempts_total Audit rows of job attempts by stage and outcome.\n# TYPE shopbus_attempts_total counter\n");
    for (stage, outcome, count) in attempts {
        text.push_str(&format!(
            "shopbus_attempts_total{{stage=\"{stage}\",outcome=\"{outcome}\"}} {count}\n"
        ));
    }
    text.push_str("# HELP shopbus_webhooks_total Webhooks received by outcome.\n# TYPE shopbus_webhooks_total counter\n");
    let outcomes = [
        ("accepted", &metrics.accepted),
        ("duplicate", &metrics.duplicates),
        ("rejected", &metrics.rejected),
        ("ignored", &metrics.ignored),
        ("store_error", &metrics.store_errors),
    ];
    for (outcome, counter) in outcomes {
        text.push_str(&format!(
            "shopbus_webhooks_total{{outcome=\"{outcome}\"}} {}\n",
            counter.load(Ordering::Relaxed)
        ));
    }
    text.push_str("# HELP shopbus_ingest_seconds Time from request to committed job.\n# TYPE shopbus_ingest_seconds summary\n");
    text.push_str(&format!(
        "shopbus_ingest_seconds_sum {}\nshopbus_ingest_seconds_count {}\n",
        metrics.ingest_micros_sum.load(Ordering::Relaxed) as f64 / 1e6,
        metrics.ingest_count.load(Ordering::Relaxed)
    ));

    let mut response = Response::new(Full::new(Bytes::from(text)));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    response
}

/// Job counts by status and attempt counts by stage and outcome.
type StoreCounts = (Vec<(store::JobStatus, i64)>, Vec<(String, String, i64)>);

/// Reads job and attempt counts on a blocking thread; an error means the store is unavailable.
async fn store_counts(state: &ReceiveState) -> Result<StoreCounts, String> {
    let path = state.store_path.clone();
    tokio::task::block_in_place(|| {
        let mut reader = state
            .reader
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if reader.is_none() {
            *reader = Some(store::open(&path).map_err(|error| error.to_string())?);
        }
        let connection = reader.as_ref().expect("reader was just opened");
        let result = store::count_by_status(connection)
            .and_then(|jobs| Ok((jobs, store::count_attempts(connection)?)))
            .map_err(|error| error.to_string());
        if result.is_err() {
            *reader = None;
        }
        result
    })
}

pub(super) fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

pub(super) fn hex_sha256(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub(super) fn answer(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
