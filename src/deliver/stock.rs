//! Stock jobs: ERPNext owns stock levels. A Stock Ledger Entry webhook only says "this item
//! changed"; the job reads the item's current Bins and publishes the sellable quantity to the
//! WooCommerce product or variation whose SKU is the item code. The full pass does the same for
//! every linked SKU, in batches.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::context::{JobContext, JobError, JobSuccess};
use crate::config::StockFormula;
use crate::mapping::stock::{BinLevel, sellable_quantity};
use crate::peer::PeerError;
use crate::store::{self, Link, LinkKind, NewJob, Source, Stage, now_millis};
use crate::woocommerce::client::{ProductRef, StockUpdate};

/// The Bins that make up the published level, and the formula.
#[derive(Debug, Clone, PartialEq)]
pub struct StockSettings {
    pub warehouses: Vec<String>,
    pub formula: StockFormula,
}

/// Item codes read from ERPNext in one Bin request and written in one batch.
const CHUNK: usize = 100;

/// Publishes one item's level; the queued stock jobs of the same item that arrived before the
/// Bins were read are cancelled as coalesced into this one.
pub fn deliver_stock(
    context: &mut JobContext<'_>,
    settings: &StockSettings,
) -> Result<JobSuccess, JobError> {
    let item_code = context
        .lease
        .job
        .entity
        .strip_prefix("sku:")
        .unwrap_or_default()
        .to_string();

    let Some(product) = product_for(context, &item_code)? else {
        return Ok(JobSuccess::Cancelled {
            reason: format!(
                "no WooCommerce product or variation has the SKU {item_code}; nothing to publish"
            ),
        });
    };

    let read_at = now_millis();
    let bins = read_bins(context, settings, std::slice::from_ref(&item_code))?;
    let level = sellable_quantity(
        bins.get(&item_code).map(Vec::as_slice).unwrap_or(&[]),
        settings.formula,
    );

    let product = publish_one(context, &item_code, product, level)?;

    let touched = store::skus_touched_since(
        context.connection,
        std::slice::from_ref(&item_code),
        read_at,
        context.lease.job.id,
    )?;
    if !touched.is_empty() {
        follow_up(
            context,
            &item_code,
            "an order or stock event arrived while the level was being published",
        )?;
    }

    let coalesced = store::cancel_coalesced(
        context.connection,
        &context.lease.job.entity,
        context.lease.job.id,
        read_at,
        now_millis(),
    )?;
    context.record(
        Stage::Deliver,
        format!(
            "stock of {item_code} in {} is {level}; published to {}{}",
            settings.warehouses.join(", "),
            describe(product),
            if coalesced.is_empty() {
                String::new()
            } else {
                format!("; coalesced {} queued event(s)", coalesced.len())
            }
        ),
    );
    Ok(JobSuccess::Done {
        erp_name: Some(item_code),
        woo_id: Some(product.id.to_string()),
    })
}

/// Writes one level. When WooCommerce rejects the linked id (the product was deleted or its SKU
/// moved to another product), the link is dropped, the SKU looked up again, and the level
/// written once more to what the lookup found.
// NOTE: a link whose product still exists but no longer has this SKU is not detected; the level
// then goes to the old product until its id is rejected or the link is removed.
fn publish_one(
    context: &mut JobContext<'_>,
    item_code: &str,
    linked: ProductRef,
    level: i64,
) -> Result<ProductRef, JobError> {
    let mut product = linked;
    for looked_up_again in [false, true] {
        let outcomes = context
            .woo(Stage::Deliver)?
            .update_stock(&[StockUpdate {
                product,
                quantity: level,
            }])
            .map_err(|error| JobError::at(Stage::Deliver, error))?;
        let Some(Err(message)) = outcomes.first().map(|outcome| outcome.result.clone()) else {
            return Ok(product);
        };

        store::delete_links_to(context.connection, LinkKind::Product, item_code)?;
        let found = if looked_up_again {
            None
        } else {
            product_for(context, item_code)?
        };
        match found {
            Some(other) if other != product => {
                context.record(
                    Stage::Deliver,
                    format!("WooCommerce rejected {} for SKU {item_code} ({message}); the SKU now belongs to {}", describe(product), describe(other)),
                );
                product = other;
            }
            _ => {
                return Err(JobError::at(
                    Stage::Deliver,
                    PeerError::permanent(format!(
                        "WooCommerce rejected the stock of {} (SKU {item_code}): {message}; the link was dropped, \
                         so a replay looks the SKU up again",
                        describe(product)
                    )),
                ));
            }
        }
    }
    Ok(product)
}

/// Publishes the level of every linked SKU, for stock that moved while webhooks were down.
///
/// Each batch request reads its Bins just before it is sent. SKUs with a pending order job are
/// skipped (their own stock job publishes them once the order reached ERPNext), and a SKU that
/// an order or stock event touched while its batch was on the way gets a follow-up stock job.
pub fn full_pass(
    context: &mut JobContext<'_>,
    settings: &StockSettings,
) -> Result<JobSuccess, JobError> {
    let links = store::links_of_kind(context.connection, LinkKind::Product)?;
    let mut report = PassReport::default();

    for group in request_groups(&links) {
        publish_group(context, settings, &group, &mut report)?;
    }

    let mut message = format!(
        "full pass: published the stock of {} linked SKU(s), skipped {} with a pending order",
        report.published, report.skipped
    );
    if report.followed_up > 0 {
        message.push_str(&format!(
            "; {} SKU(s) changed meanwhile and were queued again",
            report.followed_up
        ));
    }
    if !report.rejected.is_empty() {
        message.push_str(&format!(
            "; WooCommerce rejected {}: {}",
            report.rejected.len(),
            report.rejected.join("; ")
        ));
        log::warn!(
            "deliver: stock full pass job={}: {message}",
            context.lease.job.id
        );
    }
    context.record(Stage::Deliver, message);
    Ok(JobSuccess::Done {
        erp_name: None,
        woo_id: None,
    })
}

#[derive(Default)]
struct PassReport {
    published: usize,
    skipped: usize,
    followed_up: usize,
    rejected: Vec<String>,
}

/// Splits the links into the groups one batch request can carry: simple products together,
/// the variations of each parent together, at most `CHUNK` each.
fn request_groups(links: &[(String, String)]) -> Vec<Vec<(ProductRef, String)>> {
    let mut by_parent: std::collections::BTreeMap<Option<u64>, Vec<(ProductRef, String)>> =
        Default::default();
    for (key, code) in links {
        if let Some(product) = parse_product_key(key) {
            by_parent
                .entry(product.parent_id)
                .or_default()
                .push((product, code.clone()));
        }
    }
    by_parent
        .into_values()
        .flat_map(|products| {
            products
                .chunks(CHUNK)
                .map(<[_]>::to_vec)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn publish_group(
    context: &mut JobContext<'_>,
    settings: &StockSettings,
    group: &[(ProductRef, String)],
    report: &mut PassReport,
) -> Result<(), JobError> {
    let codes: Vec<String> = group.iter().map(|(_, code)| code.clone()).collect();
    let pending = store::skus_with_pending_orders(context.connection, &codes)?;
    let codes: Vec<String> = codes
        .into_iter()
        .filter(|code| !pending.contains(code))
        .collect();
    report.skipped += pending.len();
    if codes.is_empty() {
        return Ok(());
    }

    let read_at = now_millis();
    let bins = read_bins(context, settings, &codes)?;
    let updates: Vec<StockUpdate> = group
        .iter()
        .filter(|(_, code)| codes.contains(code))
        .map(|(product, code)| StockUpdate {
            product: *product,
            quantity: sellable_quantity(
                bins.get(code).map(Vec::as_slice).unwrap_or(&[]),
                settings.formula,
            ),
        })
        .collect();

    let outcomes = context
        .woo(Stage::Deliver)?
        .update_stock(&updates)
        .map_err(|error| JobError::at(Stage::Deliver, error))?;
    for outcome in outcomes {
        match outcome.result {
            Ok(()) => report.published += 1,
            Err(message) => report
                .rejected
                .push(format!("{}: {message}", describe(outcome.product))),
        }
    }

    for code in
        store::skus_touched_since(context.connection, &codes, read_at, context.lease.job.id)?
    {
        follow_up(
            context,
            &code,
            "an order or stock event arrived while the full pass published it",
        )?;
        report.followed_up += 1;
    }
    Ok(())
}

/// Queues another stock job for the SKU, so the newest level is published once whatever
/// touched it meanwhile is done; it waits behind a pending order job like any stock job.
fn follow_up(context: &JobContext<'_>, item_code: &str, reason: &str) -> Result<(), JobError> {
    let now = now_millis();
    let payload = json!({
        "doctype": "Stock Ledger Entry",
        "name": format!("follow-up-{now}"),
        "item_code": item_code,
    })
    .to_string()
    .into_bytes();
    let job = NewJob {
        source: Source::ErpNext,
        topic: crate::receive::STOCK_TOPIC.to_string(),
        entity: format!("sku:{item_code}"),
        body_sha256: Sha256::digest(&payload)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        delivery_id: None,
        receive_note: format!("follow-up of job {}: {reason}", context.lease.job.id),
        woo_modified: None,
        skus: Vec::new(),
        delay_millis: 0,
        payload,
    };
    let enqueued = store::enqueue_from_job(context.connection, &job, now)?;
    log::info!(
        "deliver: queued stock follow-up job={} entity=sku:{item_code} after job={}",
        enqueued.id,
        context.lease.job.id
    );
    Ok(())
}

/// Finds the product or variation of a SKU: the link table first, then a REST lookup by SKU.
fn product_for(
    context: &mut JobContext<'_>,
    item_code: &str,
) -> Result<Option<ProductRef>, JobError> {
    if let Some(key) = store::find_link_by_name(context.connection, LinkKind::Product, item_code)?
        && let Some(product) = parse_product_key(&key)
    {
        return Ok(Some(product));
    }

    let found = context
        .woo(Stage::Deliver)?
        .find_by_sku(item_code)
        .map_err(|error| JobError::at(Stage::Deliver, error))?;
    if let Some(product) = found {
        let link = Link {
            erp_name: item_code.to_string(),
            woo_modified: None,
        };
        store::put_link(
            context.connection,
            LinkKind::Product,
            &product_key(product),
            &link,
            now_millis(),
        )?;
    }
    Ok(found)
}

/// Reads the Bins of the items in the configured warehouses, grouped by item code.
fn read_bins(
    context: &mut JobContext<'_>,
    settings: &StockSettings,
    item_codes: &[String],
) -> Result<std::collections::HashMap<String, Vec<BinLevel>>, JobError> {
    let filters = json!([
        ["item_code", "in", item_codes],
        ["warehouse", "in", settings.warehouses]
    ]);
    let rows = context
        .erp()?
        .list(
            "Bin",
            &[
                "item_code",
                "warehouse",
                "actual_qty",
                "reserved_qty",
                "projected_qty",
            ],
            &filters,
        )
        .map_err(|error| JobError::at(Stage::Deliver, error))?;

    let mut bins: std::collections::HashMap<String, Vec<BinLevel>> =
        std::collections::HashMap::new();
    for row in rows {
        let code = row
            .get("item_code")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        bins.entry(code).or_default().push(BinLevel {
            warehouse: row
                .get("warehouse")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            actual_qty: quantity(&row, "actual_qty"),
            reserved_qty: quantity(&row, "reserved_qty"),
            projected_qty: quantity(&row, "projected_qty"),
        });
    }
    Ok(bins)
}

fn quantity(row: &Value, field: &str) -> Decimal {
    match row.get(field) {
        Some(Value::Number(number)) => Decimal::from_str(&number.to_string())
            .or_else(|_| Decimal::from_scientific(&number.to_string()))
            .unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

/// Builds the link key of a product (`<id>`) or a variation (`<parent id>/<id>`).
fn product_key(product: ProductRef) -> String {
    match product.parent_id {
        Some(parent) => format!("{parent}/{}", product.id),
        None => product.id.to_string(),
    }
}

fn parse_product_key(key: &str) -> Option<ProductRef> {
    match key.split_once('/') {
        Some((parent, id)) => Some(ProductRef {
            id: id.parse().ok()?,
            parent_id: Some(parent.parse().ok()?),
        }),
        None => Some(ProductRef {
            id: key.parse().ok()?,
            parent_id: None,
        }),
    }
}

fn describe(product: ProductRef) -> String {
    match product.parent_id {
        Some(parent) => format!("variation {} of product {parent}", product.id),
        None => format!("product {}", product.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_keys_round_trip() {
        for product in [
            ProductRef {
                id: 93,
                parent_id: None,
            },
            ProductRef {
                id: 23,
                parent_id: Some(22),
            },
        ] {
            assert_eq!(parse_product_key(&product_key(product)), Some(product));
        }
        assert_eq!(parse_product_key("x/1"), None);
    }
}
