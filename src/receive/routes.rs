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

use super::signature;
use crate::secret::SecretFile;
use crate::store::writer::Writer;
use crate::store::{self, NewJob, Source};

/// WooCommerce topics that become jobs; other topics are answered 200 and dropped.
pub const WOOCOMMERCE_TOPICS: &[&str] = &["order.created", "order.updated"];

/// Everything a request handler needs, shared by all connections.
pub struct ReceiveState {
    pub writer: Writer,
    pub woocommerce_secrets: SecretFile,
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

type Body = Full<Bytes>;

pub(super) async fn route(request: Request<Incoming>, state: &ReceiveState) -> Response<Body> {
    let path = request.uri().path().to_string();
    match (request.method(), path.as_str()) {
        (&Method::POST, "/webhooks/woocommerce") => woocommerce_webhook(request, state).await,
        (&Method::GET, "/healthz") => healthz(state).await,
        (&Method::GET, "/metrics") => metrics(state).await,
        (_, "/webhooks/woocommerce") => answer(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "use POST for webhooks"}),
        ),
        _ => answer(
            StatusCode::NOT_FOUND,
            json!({"error": format!("no route for {path}")}),
        ),
    }
}

async fn woocommerce_webhook(request: Request<Incoming>, state: &ReceiveState) -> Response<Body> {
    let started = Instant::now();
    let headers = request.headers().clone();
    let topic = header_text(&headers, "x-wc-webhook-topic");

    let body = match read_body(request, state.max_body_bytes).await {
        Ok(body) => body,
        Err(response) => {
            state.metrics.rejected.fetch_add(1, Ordering::Relaxed);
            log::warn!(
                "receive: rejected woocommerce webhook topic={} over server.max_body_bytes={}",
                topic.as_deref().unwrap_or("-"),
                state.max_body_bytes
            );
            return response;
        }
    };

    let Some(signature_header) = header_text(&headers, "x-wc-webhook-signature") else {
        return unsigned_woocommerce_request(&body, state);
    };

    let secrets = state.woocommerce_secrets.all();
    let Some(secret_index) = signature::verify(&body, &signature_header, &secrets, true) else {
        state.metrics.rejected.fetch_add(1, Ordering::Relaxed);
        log::warn!(
            "receive: rejected woocommerce webhook topic={} webhook_id={}: signature matches none of the {} secret(s) in {}",
            topic.as_deref().unwrap_or("-"),
            header_text(&headers, "x-wc-webhook-id")
                .as_deref()
                .unwrap_or("-"),
            secrets.len(),
            state.woocommerce_secrets.path().display()
        );
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid signature"}),
        );
    };

    let document: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(document) => document,
        Err(error) => {
            state.metrics.rejected.fetch_add(1, Ordering::Relaxed);
            log::warn!(
                "receive: rejected woocommerce webhook topic={}: invalid JSON: {error}",
                topic.as_deref().unwrap_or("-")
            );
            return answer(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("invalid JSON: {error}")}),
            );
        }
    };

    let topic = topic.unwrap_or_default();
    if !WOOCOMMERCE_TOPICS.contains(&topic.as_str()) {
        state.metrics.ignored.fetch_add(1, Ordering::Relaxed);
        log::info!("receive: ignored woocommerce webhook topic={topic}: not handled by this bus");
        return answer(
            StatusCode::OK,
            json!({"job_id": null, "duplicate": false, "ignored": format!("topic '{topic}' is not handled")}),
        );
    }

    let Some(order_id) = document.get("id").and_then(serde_json::Value::as_u64) else {
        state.metrics.rejected.fetch_add(1, Ordering::Relaxed);
        log::warn!(
            "receive: rejected woocommerce webhook topic={topic}: body has no integer \"id\""
        );
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "the body has no integer \"id\"; expected a WooCommerce order"}),
        );
    };

    let job = NewJob {
        source: Source::WooCommerce,
        topic: topic.clone(),
        entity: format!("order:{order_id}"),
        body_sha256: hex_sha256(&body),
        delivery_id: header_text(&headers, "x-wc-webhook-delivery-id"),
        receive_note: format!(
            "webhook {} delivery {}, {} bytes, signature verified with secret #{} of {}",
            header_text(&headers, "x-wc-webhook-id")
                .as_deref()
                .unwrap_or("-"),
            header_text(&headers, "x-wc-webhook-delivery-id")
                .as_deref()
                .unwrap_or("-"),
            body.len(),
            secret_index + 1,
            secrets.len()
        ),
        payload: body.to_vec(),
    };
    enqueue(job, state, started).await
}

/// Answers WooCommerce's ping (`webhook_id=N`, form-encoded, unsigned) with 200 and rejects any
/// other unsigned request.
fn unsigned_woocommerce_request(body: &[u8], state: &ReceiveState) -> Response<Body> {
    if is_ping(body) {
        log::info!(
            "receive: answered woocommerce ping ({})",
            String::from_utf8_lossy(body)
        );
        return answer(StatusCode::OK, json!({"ping": "ok"}));
    }

    state.metrics.rejected.fetch_add(1, Ordering::Relaxed);
    log::warn!("receive: rejected woocommerce webhook without X-WC-Webhook-Signature");
    answer(
        StatusCode::UNAUTHORIZED,
        json!({"error": "missing X-WC-Webhook-Signature"}),
    )
}

fn is_ping(body: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    text.trim()
        .strip_prefix("webhook_id=")
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

async fn enqueue(job: NewJob, state: &ReceiveState, started: Instant) -> Response<Body> {
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
async fn read_body(request: Request<Incoming>, limit: usize) -> Result<Bytes, Response<Body>> {
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

    match Limited::new(request.into_body(), limit).collect().await {
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
    let counts = match store_counts(state).await {
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

/// Reads job counts on a blocking thread; an error means the store does not answer.
async fn store_counts(state: &ReceiveState) -> Result<Vec<(store::JobStatus, i64)>, String> {
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
        let result = store::count_by_status(connection).map_err(|error| error.to_string());
        if result.is_err() {
            *reader = None;
        }
        result
    })
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

fn hex_sha256(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
