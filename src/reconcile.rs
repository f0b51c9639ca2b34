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

/// The lookback of the first pass, when no watermark is stored yet.
const FIRST_PASS_LOOKBACK: Duration = Duration::from_secs(86_400);

/// Order statuses WooCommerce never sends in webhooks; reconciliation skips them too.
const SKIPPED_STATUSES: &[&str] = &["checkout-draft", "draft", "auto-draft", "trash"];

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("{0}")]
    Peer(#[from] PeerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "invalid time {0:?}: expected RFC 3339 such as 2026-11-27T00:00:00Z, or a UTC time without offset"
    )]
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
    pub requests: u32,
    pub seen: u64,
    pub enqueued: usize,
}

/// Orders WooCommerce returns per request at most (`per_page`).
const PAGE_SIZE: usize = 100;

/// Requests one pass sends at most, so a store that keeps returning full pages cannot keep a
/// pass running forever.
const MAX_REQUESTS: u32 = 10_000;

/// Runs one pass from `since` (RFC 3339, or a UTC time without offset), or from the stored
/// watermark minus `OVERLAP`.
///
/// Orders are read oldest modification first, and each request starts one second before the
/// newest order of the previous one instead of at the next page: an order modified during the
/// pass moves to the end of the list, and page offsets would then skip the order after it.
pub fn run_pass(
    connection: &mut Connection,
    woo: &WooClient,
    since: Option<&str>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<PassReport, ReconcileError> {
    let started = Utc::now().naive_utc();
    let stored = stored_watermark(connection)?;
    let since = match since {
        Some(text) => parse_since(text)?,
        None => stored_start(stored, started),
    };

    let mut report = PassReport {
        since: format!("{}Z", since.format(GMT_FORMAT)),
        ..PassReport::default()
    };
    let mut watermark = started;
    let mut after = since;
    let mut page = 1;
    let mut requests = 0;
    loop {
        let answer = woo.orders_modified_after(&format!("{}Z", after.format(GMT_FORMAT)), page)?;
        requests += 1;
        report.pages = requests;

        let mut newest = after;
        for order in &answer.orders {
            report.seen += 1;
            if let Some(held) = reconcile_order(connection, order, &mut report)? {
                watermark = watermark.min(held);
            }
            if let Some(modified) = modified_time(order) {
                newest = newest.max(modified);
            }
        }
        progress(&Progress {
            requests,
            seen: report.seen,
            enqueued: report.enqueued.len(),
        });

        if answer.orders.len() < PAGE_SIZE || requests >= MAX_REQUESTS {
            break;
        }
        let next = newest - chrono::Duration::seconds(1);
        if next > after {
            after = next;
            page = 1;
        } else {
            page += 1;
        }
    }

    // A window that starts after the stored watermark leaves the orders before it unread.
    if let Some(stored) = stored
        && since > stored
    {
        watermark = watermark.min(stored);
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

fn modified_time(order: &Value) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(&order_modified(order)?, GMT_FORMAT).ok()
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

fn stored_watermark(connection: &Connection) -> Result<Option<NaiveDateTime>, ReconcileError> {
    let stored = store::get_state(connection, WATERMARK_KEY)?;
    Ok(stored.and_then(|text| NaiveDateTime::parse_from_str(&text, GMT_FORMAT).ok()))
}

fn stored_start(stored: Option<NaiveDateTime>, now: NaiveDateTime) -> NaiveDateTime {
    let watermark =
        stored.unwrap_or(now - chrono::Duration::from_std(FIRST_PASS_LOOKBACK).unwrap_or_default());
    watermark - chrono::Duration::from_std(OVERLAP).unwrap_or_default()
}

/// Parses RFC 3339, or a time without offset (`2026-11-27T00:00:00`), read as UTC.
fn parse_since(text: &str) -> Result<NaiveDateTime, ReconcileError> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.naive_utc());
    }
    NaiveDateTime::parse_from_str(text.trim(), GMT_FORMAT)
        .map_err(|_| ReconcileError::Time(text.to_string()))
}

/// Returns the stored watermark.
pub fn watermark(connection: &Connection) -> Result<Option<String>, StoreError> {
    store::get_state(connection, WATERMARK_KEY)
}
