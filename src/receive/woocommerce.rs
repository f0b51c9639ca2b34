//! `POST /webhooks/woocommerce`: WooCommerce's signed webhooks and its unsigned ping.

use std::sync::atomic::Ordering;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};

use super::routes::{Body, ReceiveState, answer, enqueue, header_text, hex_sha256, read_body};
use super::signature;
use crate::store::{NewJob, Source};

/// WooCommerce topics that become jobs; other topics are answered 200 and dropped.
pub const TOPICS: &[&str] = &["order.created", "order.updated"];

pub(super) async fn webhook(request: Request<Incoming>, state: &ReceiveState) -> Response<Body> {
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
        return unsigned_request(&body, state);
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

    let document: Value = match serde_json::from_slice(&body) {
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
    if !TOPICS.contains(&topic.as_str()) {
        state.metrics.ignored.fetch_add(1, Ordering::Relaxed);
        if topic.is_empty() {
            log::warn!("receive: ignored a signed woocommerce webhook without X-WC-Webhook-Topic");
        } else {
            log::info!(
                "receive: ignored woocommerce webhook topic={topic}: not handled by this bus"
            );
        }
        return answer(
            StatusCode::OK,
            json!({"job_id": null, "duplicate": false, "ignored": format!("topic '{topic}' is not handled")}),
        );
    }

    let Some(order_id) = document.get("id").and_then(Value::as_u64) else {
        state.metrics.rejected.fetch_add(1, Ordering::Relaxed);
        log::warn!(
            "receive: rejected woocommerce webhook topic={topic}: body has no integer \"id\""
        );
        return answer(
            StatusCode::BAD_REQUEST,
            json!({"error": "the body has no integer \"id\"; expected a WooCommerce order"}),
        );
    };

    let delivery_id = header_text(&headers, "x-wc-webhook-delivery-id");
    let job = NewJob {
        source: Source::WooCommerce,
        topic: topic.clone(),
        entity: format!("order:{order_id}"),
        body_sha256: hex_sha256(&body),
        receive_note: format!(
            "webhook {} delivery {}, {} bytes, signature verified with secret #{} of {}",
            header_text(&headers, "x-wc-webhook-id")
                .as_deref()
                .unwrap_or("-"),
            delivery_id.as_deref().unwrap_or("-"),
            body.len(),
            secret_index + 1,
            secrets.len()
        ),
        delivery_id,
        woo_modified: order_modified(&document),
        skus: order_skus(&document),
        delay_millis: 0,
        payload: body.to_vec(),
    };
    enqueue(job, state, started).await
}

/// Returns the order's `date_modified_gmt`, when it has one.
pub fn order_modified(order: &Value) -> Option<String> {
    order
        .get("date_modified_gmt")
        .and_then(Value::as_str)
        .filter(|text| !text.is_empty())
        .map(str::to_string)
}

/// Returns the distinct non-empty SKUs of an order's lines.
pub fn order_skus(order: &Value) -> Vec<String> {
    let mut skus: Vec<String> = order
        .get("line_items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|line| line.get("sku").and_then(Value::as_str))
        .filter(|sku| !sku.is_empty())
        .map(str::to_string)
        .collect();
    skus.sort();
    skus.dedup();
    skus
}

/// Answers WooCommerce's ping (`webhook_id=N`, form-encoded, unsigned) with 200 and rejects any
/// other unsigned request.
fn unsigned_request(body: &[u8], state: &ReceiveState) -> Response<Body> {
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
