//! `POST /webhooks/erpnext`: Frappe webhooks, signed in `X-Frappe-Webhook-Signature`.
//!
//! Frappe sends no Content-Type unless the Webhook document adds one, so the body is parsed as
//! JSON whatever the header says. The body is a notification: `doctype` and `name` (and
//! `item_code` for a Stock Ledger Entry); the delivery stage reads the current document.

use std::sync::atomic::Ordering;
use std::time::Instant;

use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use serde_json::{Value, json};

use super::routes::{Body, ReceiveState, answer, enqueue, header_text, hex_sha256, read_body};
use super::signature;
use crate::store::{NewJob, Source};

/// Topic of a Stock Ledger Entry webhook: "the stock of this item changed".
pub const STOCK_TOPIC: &str = "stock.changed";
/// Topic of a Sales Invoice `on_submit` webhook.
pub const INVOICE_TOPIC: &str = "invoice.submitted";

pub(super) async fn webhook(request: Request<Incoming>, state: &ReceiveState) -> Response<Body> {
    let started = Instant::now();
    let headers = request.headers().clone();

    let body = match read_body(request, state.max_body_bytes).await {
        Ok(body) => body,
        Err(response) => {
            state.metrics.rejected.fetch_add(1, Ordering::Relaxed);
            log::warn!(
                "receive: rejected erpnext webhook over server.max_body_bytes={}",
                state.max_body_bytes
            );
            return response;
        }
    };

    let Some(secret_file) = &state.erpnext_secrets else {
        state.metrics.rejected.fetch_add(1, Ordering::Relaxed);
        log::warn!(
            "receive: rejected erpnext webhook: erpnext.webhook_secret_file is not set, so no signature can be checked"
        );
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "ERPNext webhooks are not configured on this bus"}),
        );
    };
    let secrets = secret_file.all();
    let header = header_text(&headers, "x-frappe-webhook-signature").unwrap_or_default();
    let Some(secret_index) = signature::verify(&body, &header, &secrets, false) else {
        state.metrics.rejected.fetch_add(1, Ordering::Relaxed);
        log::warn!(
            "receive: rejected erpnext webhook: {} signature; enable security with a secret from {} on the Frappe Webhook",
            if header.is_empty() {
                "missing"
            } else {
                "invalid"
            },
            secret_file.path().display()
        );
        return answer(
            StatusCode::UNAUTHORIZED,
            json!({"error": "invalid or missing X-Frappe-Webhook-Signature"}),
        );
    };

    let document: Value = match serde_json::from_slice(&body) {
        Ok(document) => document,
        Err(error) => {
            state.metrics.rejected.fetch_add(1, Ordering::Relaxed);
            log::warn!("receive: rejected erpnext webhook: invalid JSON: {error}");
            return answer(
                StatusCode::BAD_REQUEST,
                json!({"error": format!("invalid JSON: {error}")}),
            );
        }
    };

    let (topic, entity) = match classify(&document) {
        Ok(Some(found)) => found,
        Ok(None) => {
            state.metrics.ignored.fetch_add(1, Ordering::Relaxed);
            let doctype = document
                .get("doctype")
                .and_then(Value::as_str)
                .unwrap_or("-");
            log::info!(
                "receive: ignored erpnext webhook doctype={doctype}: not handled by this bus"
            );
            return answer(
                StatusCode::OK,
                json!({"job_id": null, "duplicate": false, "ignored": format!("doctype '{doctype}' is not handled")}),
            );
        }
        Err(problem) => {
            state.metrics.rejected.fetch_add(1, Ordering::Relaxed);
            log::warn!("receive: rejected erpnext webhook: {problem}");
            return answer(StatusCode::BAD_REQUEST, json!({"error": problem}));
        }
    };

    let delay_millis = if topic == STOCK_TOPIC {
        state.stock_coalesce_millis
    } else {
        0
    };
    let job = NewJob {
        source: Source::ErpNext,
        topic: topic.to_string(),
        entity,
        body_sha256: hex_sha256(&body),
        receive_note: format!(
            "{} {}, {} bytes, signature verified with secret #{} of {}",
            document["doctype"].as_str().unwrap_or("-"),
            document["name"].as_str().unwrap_or("-"),
            body.len(),
            secret_index + 1,
            secrets.len()
        ),
        delivery_id: None,
        woo_modified: None,
        skus: Vec::new(),
        delay_millis,
        payload: body.to_vec(),
    };
    enqueue(job, state, started).await
}

/// The topic and entity of a Frappe webhook body, `None` for a doctype the bus does not handle,
/// or the reason the body is unusable.
pub fn classify(document: &Value) -> Result<Option<(&'static str, String)>, String> {
    let text = |field: &str| {
        document
            .get(field)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|t| !t.is_empty())
    };

    let Some(doctype) = text("doctype") else {
        return Err("the body has no \"doctype\"; use a JSON template such as {\"doctype\": \"{{ doc.doctype }}\", \"name\": \"{{ doc.name }}\", \"item_code\": \"{{ doc.item_code }}\"}".to_string());
    };
    let Some(name) = text("name") else {
        return Err(format!("the {doctype} webhook body has no \"name\""));
    };

    match doctype {
        "Stock Ledger Entry" => match text("item_code") {
            Some(item_code) => Ok(Some((STOCK_TOPIC, format!("sku:{item_code}")))),
            None => Err(format!(
                "Stock Ledger Entry {name}: the body has no \"item_code\""
            )),
        },
        "Sales Invoice" => Ok(Some((INVOICE_TOPIC, format!("invoice:{name}")))),
        _ => Ok(None),
    }
}
