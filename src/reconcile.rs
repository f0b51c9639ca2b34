//! Reconciliation of missed orders: WooCommerce never redelivers a failed webhook and merges
//! quick updates into one delivery, so the bus asks the store for every order modified since a
//! watermark and enqueues each snapshot it has no job for.
//!
//! The watermark (GMT, in the `state` table) never moves past an order whose newest job is
//! still pending or failed, and each pass starts a few minutes before it, so no window is missed.

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use rusqlite::Connection;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::peer::PeerError;
use crate::receive::{order_modified, order_skus};
use crate::store::{self, JobStatus, NewJob, Source, StoreError, now_millis};
use crate::woocommerce::WooClient;

const WATERMARK_KEY: &str = "reconcile.watermark";
const GMT_FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// How far each pass reaches back before the watermark, for orders saved while the previous
/// pass ran.
pub const OVERLAP: Duration = Duration::from_secs(300);

/// Where the first pass starts when no watermark is stored yet.
const FIRST_PASS_LOOKBACK: Duration = Duration::from_secs(86_400);

/// Order statuses WooCommerce never sends in webhooks; reconciliation skips them too.
const SKIPPED_STATUSES: &[&str] = &["checkout-draft", "draft", "auto-draft", "trash"];

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("WooCommerce: {0}")]
    Peer(#[from] PeerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("invalid time {0:?}: expected RFC 3339 such as 2026-11-27T00:00:00Z")]
    Time(String),
}

/// The summary of one pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PassReport {
    pub since: String,
    pub pages: u32,
    pub seen: u64,
    pub enqueued: Vec<u64>,
    pub watermark: String,
}

/// Progress of a pass, for a terminal.
pub struct Progress {
    pub page: u32,
    pub total_pages: u32,
    pub seen: u64,
    pub enqueued: usize,
}

/// Runs one pass from `since` (RFC 3339), or from the stored watermark minus `OVERLAP`.
pub fn run_pass(
    connection: &mut Connection,
    woo: &WooClient,
    since: Option<&str>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<PassReport, ReconcileError> {
    let started = Utc::now().naive_utc();
    let since = match since {
        Some(text) => parse_since(text)?,
        None => stored_start(connection, started)?,
    };
    let after = format!("{}Z", since.format(GMT_FORMAT));

    let mut report = PassReport {
        since: after.clone(),
        ..PassReport::default()
    };
    let mut watermark = started;
    let mut page = 1;
    loop {
        let answer = woo.orders_modified_after(&after, page)?;
        report.pages = page;
        for order in &answer.orders {
            report.seen += 1;
            if let Some(held) = reconcile_order(connection, order, &mut report)? {
                watermark = watermark.min(held);
            }
        }
        progress(&Progress {
            page,
            total_pages: answer.total_pages,
            seen: report.seen,
            enqueued: report.enqueued.len(),
        });
        if page >= answer.total_pages || answer.orders.is_empty() {
            break;
        }
        page += 1;
    }

    report.watermark = watermark.format(GMT_FORMAT).to_string();
    store::put_state(connection, WATERMARK_KEY, &report.watermark, now_millis())?;
    log::info!(
        "reconcile: pass since {} saw {} order(s), enqueued {}, watermark {}",
        report.since,
        report.seen,
        report.enqueued.len(),
        report.watermark
    );
    Ok(report)
}

/// Enqueues the order when the bus has no job for this snapshot. Returns the order's
/// modification time when the watermark must not pass it (its newest job is not finished).
fn reconcile_order(
    connection: &mut Connection,
    order: &Value,
    report: &mut PassReport,
) -> Result<Option<NaiveDateTime>, ReconcileError> {
    let (Some(id), Some(modified)) = (
        order.get("id").and_then(Value::as_u64),
        order_modified(order),
    ) else {
        return Ok(None);
    };
    let status = order.get("status").and_then(Value::as_str).unwrap_or("");
    if SKIPPED_STATUSES.contains(&status) {
        return Ok(None);
    }
    let modified_at = NaiveDateTime::parse_from_str(&modified, GMT_FORMAT).ok();
    let entity = format!("order:{id}");

    match store::newest_snapshot(connection, &entity)? {
        Some((newest, JobStatus::Done | JobStatus::Cancelled)) if newest >= modified => Ok(None),
        Some((newest, _)) if newest >= modified => Ok(modified_at),
        _ => {
            enqueue(connection, id, order, &modified)?;
            report.enqueued.push(id);
            Ok(modified_at)
        }
    }
}

fn enqueue(
    connection: &mut Connection,
    id: u64,
    order: &Value,
    modified: &str,
) -> Result<(), ReconcileError> {
    let payload = serde_json::to_vec(order).unwrap_or_default();
    let job = NewJob {
        source: Source::WooCommerce,
        topic: "order.updated".to_string(),
        entity: format!("order:{id}"),
        body_sha256: Sha256::digest(&payload)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        delivery_id: None,
        receive_note: format!(
            "recovered by reconciliation: no webhook arrived for date_modified_gmt {modified}"
        ),
        woo_modified: Some(modified.to_string()),
        skus: order_skus(order),
        delay_millis: 0,
        payload,
    };
    let enqueued = store::enqueue_batch(connection, &[&job], now_millis())?;
    log::info!(
        "reconcile: enqueued job={} topic=order.updated entity=order:{id} date_modified_gmt={modified}",
        enqueued[0].id
    );
    Ok(())
}

fn stored_start(
    connection: &Connection,
    now: NaiveDateTime,
) -> Result<NaiveDateTime, ReconcileError> {
    let stored = store::get_state(connection, WATERMARK_KEY)?;
    let watermark = stored
        .and_then(|text| NaiveDateTime::parse_from_str(&text, GMT_FORMAT).ok())
        .unwrap_or(now - chrono::Duration::from_std(FIRST_PASS_LOOKBACK).unwrap_or_default());
    Ok(watermark - chrono::Duration::from_std(OVERLAP).unwrap_or_default())
}

fn parse_since(text: &str) -> Result<NaiveDateTime, ReconcileError> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|time| time.naive_utc())
        .map_err(|_| ReconcileError::Time(text.to_string()))
}

/// Returns the stored watermark.
pub fn watermark(connection: &Connection) -> Result<Option<String>, StoreError> {
    store::get_state(connection, WATERMARK_KEY)
}
