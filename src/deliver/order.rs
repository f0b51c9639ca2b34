//! The order job: a WooCommerce order snapshot becomes (or updates, submits or cancels) exactly
//! one ERPNext Sales Order whose grand total equals the order total to the cent.
//!
//! Stages: `parse` the payload, `validate` and `map` it (pure), `deliver` the Customer, Addresses
//! and Sales Order, `confirm` the total ERPNext computed. Before any insert the Sales Order is
//! looked up by `po_no`, so an attempt whose answer was lost never creates a second one.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::context::{JobContext, JobError, JobSuccess};
use super::customer::{Found, document_name, ensure_address, ensure_customer};
use crate::erpnext::documents::SalesOrderDoc;
use crate::mapping::{self, OrderIntent, OrderPlan};
use crate::peer::PeerError;
use crate::store::{self, Link, LinkKind, Stage, now_millis};
use crate::woocommerce::order::Order;

const SALES_ORDER: &str = "Sales Order";

/// Runs every stage of an `order.created` / `order.updated` job.
pub fn deliver_order(context: &mut JobContext<'_>) -> Result<JobSuccess, JobError> {
    let order: Order = serde_json::from_slice(&context.lease.payload).map_err(|error| {
        JobError::at(
            Stage::Parse,
            PeerError::permanent(format!("the payload is not a WooCommerce order: {error}")),
        )
    })?;

    if let Some(reason) = superseded(context, &order)? {
        return Ok(JobSuccess::Cancelled { reason });
    }

    let plan = mapping::map_order(&order, context.settings)
        .map_err(|error| JobError::at(Stage::Validate, PeerError::permanent(error.0)))?;
    record_mapping(context, &plan);

    let Some(sales_order) = write_sales_order(context, &plan)? else {
        return Ok(JobSuccess::Done {
            erp_name: None,
            woo_id: None,
        });
    };

    let link = Link {
        erp_name: sales_order.clone(),
        woo_modified: order.date_modified_gmt.clone(),
    };
    store::put_link(
        context.connection,
        LinkKind::SalesOrder,
        &order.id.to_string(),
        &link,
        now_millis(),
    )?;
    Ok(JobSuccess::Done {
        erp_name: Some(sales_order),
        woo_id: None,
    })
}

/// Returns the reason to skip this snapshot when a newer one of the order was already delivered.
/// WooCommerce builds the payload when it sends it, so deliveries can arrive out of order, and
/// an operator may replay an old failed job after newer ones succeeded.
fn superseded(context: &JobContext<'_>, order: &Order) -> Result<Option<String>, JobError> {
    let Some(this) = &order.date_modified_gmt else {
        return Ok(None);
    };
    let job = &context.lease.job;
    let Some((newer_job, newer)) =
        store::newer_done_snapshot(context.connection, &job.entity, this, job.id)?
    else {
        return Ok(None);
    };
    Ok(Some(format!(
        "superseded: this snapshot of order {} (date_modified_gmt {this}) is older than the one job {newer_job} \
         already delivered ({newer})",
        order.id
    )))
}

fn record_mapping(context: &mut JobContext<'_>, plan: &OrderPlan) {
    let mut message = format!(
        "{} item row(s), {} tax row(s), total {} {}",
        plan.sales_order.items.len(),
        plan.sales_order.taxes.len(),
        plan.total,
        plan.sales_order.currency
    );
    if !plan.rounding_residual.is_zero() {
        message.push_str(&format!(
            "; rounding residual {} booked on {}",
            plan.rounding_residual, context.settings.rounding_account
        ));
    }
    for note in &plan.notes {
        message.push_str("; ");
        message.push_str(note);
    }
    context.record(Stage::Map, message);
}

/// A Sales Order as found in ERPNext.
struct Existing {
    name: String,
    docstatus: i64,
    document: Value,
}

/// Creates, updates, submits or cancels the Sales Order; returns its name, or `None` when a
/// cancelled order has no Sales Order.
fn write_sales_order(
    context: &mut JobContext<'_>,
    plan: &OrderPlan,
) -> Result<Option<String>, JobError> {
    let existing = find_sales_order(context, &plan.sales_order.po_no)?;

    if plan.intent == OrderIntent::Cancel {
        return cancel_sales_order(context, plan, existing);
    }

    let mut document = plan.sales_order.clone();
    {
        // Two workers with orders of one new customer must not both create it.
        let key = plan
            .customer
            .email
            .as_ref()
            .unwrap_or(&plan.customer.link_key);
        let _customer = super::customer::lock_customer(key);
        fill_parties_locked(context, plan, &mut document)?;
    }

    let sales_order = match existing {
        None => {
            let cancelled = latest_cancelled(context, &plan.sales_order.po_no)?;
            insert_sales_order(context, plan, &document, cancelled.as_deref())?
        }
        Some(existing) if existing.docstatus == 0 => {
            update_draft(context, plan, &document, existing)?
        }
        Some(existing) => amend_if_changed(context, plan, &document, existing)?,
    };

    if plan.intent == OrderIntent::Submit && sales_order.docstatus == 0 {
        submit(context, &sales_order.name)?;
    }
    Ok(Some(sales_order.name))
}

/// The newest cancelled Sales Order with this `po_no`. A live order without a live Sales Order
/// but with a cancelled one was interrupted between the cancel and the insert of an amendment,
/// or restored after a cancellation; its new Sales Order amends the cancelled one.
fn latest_cancelled(context: &mut JobContext<'_>, po_no: &str) -> Result<Option<String>, JobError> {
    let filters = json!([["po_no", "=", po_no], ["docstatus", "=", 2]]);
    let rows = context
        .erp()?
        .list(SALES_ORDER, &["name"], &filters)
        .map_err(|error| JobError::at(Stage::Deliver, error))?;
    Ok(rows
        .iter()
        .filter_map(|row| row.get("name").and_then(Value::as_str))
        .max()
        .map(str::to_string))
}

/// Looks the Sales Order up by `po_no` (a live one: draft or submitted).
fn find_sales_order(
    context: &mut JobContext<'_>,
    po_no: &str,
) -> Result<Option<Existing>, JobError> {
    let filters = json!([["po_no", "=", po_no], ["docstatus", "<", 2]]);
    let rows = context
        .erp()?
        .list(SALES_ORDER, &["name", "docstatus"], &filters)
        .map_err(|error| JobError::at(Stage::Deliver, error))?;

    if rows.len() > 1 {
        log::warn!(
            "deliver: {} live Sales Orders have po_no {po_no:?} job={} entity={}; using the first",
            rows.len(),
            context.lease.job.id,
            context.lease.job.entity
        );
    }
    let Some(name) = rows
        .first()
        .and_then(|row| row.get("name"))
        .and_then(Value::as_str)
    else {
        return Ok(None);
    };

    let document = context
        .erp()?
        .get(SALES_ORDER, name)
        .map_err(|error| JobError::at(Stage::Deliver, error))?
        .ok_or_else(|| {
            JobError::at(
                Stage::Deliver,
                PeerError::transient(format!(
                    "Sales Order {name} was listed but could not be read"
                )),
            )
        })?;
    Ok(Some(Existing {
        name: name.to_string(),
        docstatus: document
            .get("docstatus")
            .and_then(Value::as_i64)
            .unwrap_or(0),
        document,
    }))
}

/// Sets the Customer and its Addresses on the Sales Order, creating them where needed.
fn fill_parties_locked(
    context: &mut JobContext<'_>,
    plan: &OrderPlan,
    document: &mut SalesOrderDoc,
) -> Result<(), JobError> {
    let (customer, found) = ensure_customer(context, &plan.customer)?;
    let how = match found {
        Found::Linked => "linked",
        Found::ByEmail => "found by e-mail",
        Found::Created => "created",
    };

    let billing = ensure_address(context, &plan.billing_address, &customer)?;
    let shipping = match &plan.shipping_address {
        Some(address) => ensure_address(context, address, &customer)?,
        None => billing.clone(),
    };
    context.record(
        Stage::Deliver,
        format!("Customer {customer:?} ({how}); billing Address {billing:?}; shipping Address {shipping:?}"),
    );

    document.customer = customer;
    document.customer_address = Some(billing);
    document.shipping_address_name = Some(shipping);
    Ok(())
}

/// The Sales Order after a write: its name and docstatus.
struct Written {
    name: String,
    docstatus: i64,
}

fn insert_sales_order(
    context: &mut JobContext<'_>,
    plan: &OrderPlan,
    document: &SalesOrderDoc,
    amended_from: Option<&str>,
) -> Result<Written, JobError> {
    let mut body = serde_json::to_value(document).unwrap_or(Value::Null);
    if let Some(cancelled) = amended_from {
        body["amended_from"] = Value::String(cancelled.to_string());
    }
    let inserted = context
        .erp()?
        .insert(SALES_ORDER, &body)
        .map_err(|error| JobError::at(Stage::Deliver, error))?;
    let name = document_name(&inserted, SALES_ORDER)?;
    context.record(
        Stage::Deliver,
        format!("Sales Order {name} created as a draft"),
    );
    log::info!(
        "deliver: created Sales Order job={} entity={} sales_order={name}",
        context.lease.job.id,
        context.lease.job.entity
    );

    confirm_total(context, plan, &name, &inserted)?;
    Ok(Written { name, docstatus: 0 })
}

/// Leaves a Sales Order that already matches the order as it is, after confirming its total.
fn keep_unchanged(
    context: &mut JobContext<'_>,
    plan: &OrderPlan,
    existing: Existing,
) -> Result<Written, JobError> {
    let state = if existing.docstatus == 0 {
        "draft"
    } else {
        "submitted"
    };
    context.record(
        Stage::Deliver,
        format!(
            "Sales Order {} ({state}) already matches the order",
            existing.name
        ),
    );
    confirm_total(context, plan, &existing.name, &existing.document)?;
    Ok(Written {
        name: existing.name,
        docstatus: existing.docstatus,
    })
}

fn update_draft(
    context: &mut JobContext<'_>,
    plan: &OrderPlan,
    document: &SalesOrderDoc,
    existing: Existing,
) -> Result<Written, JobError> {
    if !differs(&existing.document, document, plan) {
        return keep_unchanged(context, plan, existing);
    }

    let saved = context
        .erp()?
        .update(SALES_ORDER, &existing.name, document)
        .map_err(|error| JobError::at(Stage::Deliver, error))?;
    context.record(
        Stage::Deliver,
        format!(
            "Sales Order {} (draft) updated to the order's new lines and totals",
            existing.name
        ),
    );
    confirm_total(context, plan, &existing.name, &saved)?;
    Ok(Written {
        name: existing.name,
        docstatus: 0,
    })
}

/// A submitted Sales Order is never edited in place: when the order changed, it is cancelled
/// and amended, unless something is already billed or delivered against it.
fn amend_if_changed(
    context: &mut JobContext<'_>,
    plan: &OrderPlan,
    document: &SalesOrderDoc,
    existing: Existing,
) -> Result<Written, JobError> {
    if !differs(&existing.document, document, plan) {
        return keep_unchanged(context, plan, existing);
    }

    refuse_if_billed_or_delivered(&existing, "change")?;
    check_items_exist(context, document)?;

    context
        .erp()?
        .call(
            "frappe.client.cancel",
            &json!({"doctype": SALES_ORDER, "name": existing.name}),
        )
        .map_err(|error| JobError::at(Stage::Deliver, error))?;

    let mut amended = serde_json::to_value(document).unwrap_or(Value::Null);
    amended["amended_from"] = Value::String(existing.name.clone());
    let inserted = context
        .erp()?
        .insert(SALES_ORDER, &amended)
        .map_err(|error| JobError::at(Stage::Deliver, error))?;
    let name = document_name(&inserted, SALES_ORDER)?;
    context.record(
        Stage::Deliver,
        format!("Sales Order {} cancelled and amended as {name}, because the order's lines or totals changed", existing.name),
    );
    log::info!(
        "deliver: amended Sales Order job={} entity={} from={} to={name}",
        context.lease.job.id,
        context.lease.job.entity,
        existing.name
    );

    confirm_total(context, plan, &name, &inserted)?;
    Ok(Written { name, docstatus: 0 })
}

fn cancel_sales_order(
    context: &mut JobContext<'_>,
    plan: &OrderPlan,
    existing: Option<Existing>,
) -> Result<Option<String>, JobError> {
    let Some(existing) = existing else {
        context.record(
            Stage::Deliver,
            format!(
                "order is cancelled and no live Sales Order has po_no {}; nothing to cancel",
                plan.sales_order.po_no
            ),
        );
        return Ok(None);
    };

    if existing.docstatus == 0 {
        context
            .erp()?
            .delete(SALES_ORDER, &existing.name)
            .map_err(|error| JobError::at(Stage::Deliver, error))?;
        context.record(
            Stage::Deliver,
            format!(
                "draft Sales Order {} deleted, because the order was cancelled",
                existing.name
            ),
        );
        return Ok(Some(existing.name));
    }

    refuse_if_billed_or_delivered(&existing, "cancel")?;
    context
        .erp()?
        .call(
            "frappe.client.cancel",
            &json!({"doctype": SALES_ORDER, "name": existing.name}),
        )
        .map_err(|error| JobError::at(Stage::Deliver, error))?;
    context.record(
        Stage::Deliver,
        format!(
            "Sales Order {} cancelled, because the order was cancelled",
            existing.name
        ),
    );
    Ok(Some(existing.name))
}

/// Fails the job before a submitted Sales Order is cancelled for an amendment that ERPNext would
/// reject for an unknown item, so the order is not left without a live Sales Order.
fn check_items_exist(
    context: &mut JobContext<'_>,
    document: &SalesOrderDoc,
) -> Result<(), JobError> {
    let mut codes: Vec<&str> = document
        .items
        .iter()
        .map(|item| item.item_code.as_str())
        .collect();
    codes.sort_unstable();
    codes.dedup();

    for code in codes {
        let found = context
            .erp()?
            .get("Item", code)
            .map_err(|error| JobError::at(Stage::Deliver, error))?;
        if found.is_none() {
            return Err(JobError::at(
                Stage::Deliver,
                PeerError {
                    class: crate::peer::ErrorClass::Permanent,
                    http_status: Some(404),
                    message: format!(
                        "Item {code} not found in ERPNext; the submitted Sales Order was left as it is. \
                         Create the Item (or fix the product's SKU), then replay this job"
                    ),
                    retry_after: None,
                },
            ));
        }
    }
    Ok(())
}

/// Fails the job when an invoice or delivery exists against the Sales Order, for an operator.
fn refuse_if_billed_or_delivered(existing: &Existing, action: &str) -> Result<(), JobError> {
    let billed = number(&existing.document, "per_billed");
    let delivered = number(&existing.document, "per_delivered");
    if billed.is_zero() && delivered.is_zero() {
        return Ok(());
    }

    Err(JobError::at(
        Stage::Deliver,
        PeerError::permanent(format!(
            "cannot {action} submitted Sales Order {}: it is {billed}% billed and {delivered}% delivered in ERPNext; \
             cancel its Sales Invoice or Delivery Note in ERPNext (or make the change there), then replay this job",
            existing.name
        )),
    ))
}

fn submit(context: &mut JobContext<'_>, name: &str) -> Result<(), JobError> {
    context
        .erp()?
        .update(SALES_ORDER, name, &json!({"docstatus": 1}))
        .map_err(|error| JobError::at(Stage::Deliver, error))?;
    context.record(
        Stage::Deliver,
        format!("Sales Order {name} submitted, because the order is paid"),
    );
    Ok(())
}

/// Fails the job at `confirm` when ERPNext's grand total differs from the order total.
fn confirm_total(
    context: &mut JobContext<'_>,
    plan: &OrderPlan,
    name: &str,
    document: &Value,
) -> Result<(), JobError> {
    let grand_total = number(document, "grand_total").round_dp(2);
    let expected = plan.total.round_dp(2);

    if grand_total != expected {
        return Err(JobError::at(
            Stage::Confirm,
            PeerError::permanent(format!(
                "Sales Order {name} has grand_total {grand_total} but the WooCommerce order total is {expected} {}; \
                 the Sales Order stays a draft: check ERPNext pricing rules, taxes templates and currency precision",
                plan.sales_order.currency
            )),
        ));
    }

    context.record(
        Stage::Confirm,
        format!("Sales Order {name} grand_total {grand_total} equals the order total {expected}"),
    );
    Ok(())
}

/// Returns whether the Sales Order in ERPNext differs from the one the order maps to, in customer,
/// addresses, item rows, tax rows or grand total.
fn differs(existing: &Value, wanted: &SalesOrderDoc, plan: &OrderPlan) -> bool {
    let text = |field: &str| {
        existing
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if text("customer") != wanted.customer
        || Some(text("customer_address")) != wanted.customer_address
        || Some(text("shipping_address_name")) != wanted.shipping_address_name
    {
        return true;
    }

    let existing_items: Vec<(String, Decimal, Decimal)> = rows(existing, "items")
        .iter()
        .map(|row| {
            (
                text_of(row, "item_code"),
                number(row, "qty"),
                number(row, "rate").round_dp(2),
            )
        })
        .collect();
    let wanted_items: Vec<(String, Decimal, Decimal)> = wanted
        .items
        .iter()
        .map(|item| {
            (
                item.item_code.clone(),
                Decimal::from(item.qty),
                item.rate.round_dp(2),
            )
        })
        .collect();

    let existing_taxes: Vec<(String, Decimal)> = rows(existing, "taxes")
        .iter()
        .map(|row| {
            (
                text_of(row, "account_head"),
                number(row, "tax_amount").round_dp(2),
            )
        })
        .collect();
    let wanted_taxes: Vec<(String, Decimal)> = wanted
        .taxes
        .iter()
        .map(|tax| (tax.account_head.clone(), tax.tax_amount.round_dp(2)))
        .collect();

    existing_items != wanted_items
        || existing_taxes != wanted_taxes
        || number(existing, "grand_total").round_dp(2) != plan.total.round_dp(2)
}

fn rows<'v>(document: &'v Value, field: &str) -> &'v [Value] {
    document
        .get(field)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn text_of(row: &Value, field: &str) -> String {
    row.get(field)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string()
}

/// Reads a numeric field of an ERPNext document as a `Decimal`, through its shortest decimal text,
/// so 75.49 stays 75.49; a missing or non-numeric field is 0.
fn number(document: &Value, field: &str) -> Decimal {
    match document.get(field) {
        Some(Value::Number(number)) => Decimal::from_str(&number.to_string())
            .or_else(|_| Decimal::from_scientific(&number.to_string()))
            .unwrap_or_default(),
        Some(Value::String(text)) => Decimal::from_str(text).unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}
