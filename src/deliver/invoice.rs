//! Invoice jobs: ERPNext owns invoices. When a Sales Invoice is submitted, each WooCommerce order
//! it bills gets the configured status and one private note naming the invoice. A redelivered
//! or replayed event finds the note and adds no second one.

use serde_json::Value;

use super::context::{JobContext, JobError, JobSuccess};
use crate::store::{self, LinkKind, Stage};

/// Order statuses an invoice never changes: a cancelled, refunded or trashed order stays so.
const FINAL_STATUSES: &[&str] = &["cancelled", "refunded", "trash", "failed"];

/// Sets the status of each billed order and adds the invoice note.
pub fn deliver_invoice(context: &mut JobContext<'_>, status: &str) -> Result<JobSuccess, JobError> {
    let name = context
        .lease
        .job
        .entity
        .strip_prefix("invoice:")
        .unwrap_or_default()
        .to_string();

    let invoice = match read_invoice(context, &name)? {
        Ok(invoice) => invoice,
        Err(reason) => return Ok(JobSuccess::Cancelled { reason }),
    };

    let order_ids = orders_of_invoice(context, &invoice)?;
    if order_ids.is_empty() {
        return Ok(JobSuccess::Cancelled {
            reason: format!(
                "Sales Invoice {name} is not for an order the bus created: none of its Sales Orders has a po_no starting with {:?}",
                context.settings.order_prefix
            ),
        });
    }

    let mut updated = Vec::new();
    for order_id in &order_ids {
        if update_order(context, &invoice, &name, *order_id, status)? {
            updated.push(order_id.to_string());
        }
    }

    if updated.is_empty() {
        return Ok(JobSuccess::Cancelled {
            reason: format!(
                "no WooCommerce order of Sales Invoice {name} could take the invoice; see the attempt rows"
            ),
        });
    }
    Ok(JobSuccess::Done {
        erp_name: Some(name),
        woo_id: Some(updated.join(",")),
    })
}

/// Reads the invoice; `Err(reason)` when it must not change any order (missing, not submitted,
/// or a return, whose refund WooCommerce handles itself).
fn read_invoice(
    context: &mut JobContext<'_>,
    name: &str,
) -> Result<Result<Value, String>, JobError> {
    let Some(invoice) = context
        .erp()?
        .get("Sales Invoice", name)
        .map_err(|error| JobError::at(Stage::Deliver, error))?
    else {
        return Ok(Err(format!(
            "Sales Invoice {name} no longer exists in ERPNext"
        )));
    };

    if invoice.get("docstatus").and_then(Value::as_i64) != Some(1) {
        return Ok(Err(format!(
            "Sales Invoice {name} is not submitted (docstatus {})",
            invoice["docstatus"]
        )));
    }
    if invoice.get("is_return").and_then(Value::as_i64) == Some(1) {
        return Ok(Err(format!(
            "Sales Invoice {name} is a return (credit note); the order status is left as it is"
        )));
    }
    Ok(Ok(invoice))
}

/// Adds the note and sets the status of one order; `false` when the order is gone or in a final
/// status, which the attempt rows record.
fn update_order(
    context: &mut JobContext<'_>,
    invoice: &Value,
    name: &str,
    order_id: u64,
    status: &str,
) -> Result<bool, JobError> {
    let order = context
        .woo(Stage::Deliver)?
        .get_order(order_id)
        .map_err(|error| JobError::at(Stage::Deliver, error))?;
    let Some(order) = order else {
        context.record(
            Stage::Deliver,
            format!(
                "WooCommerce order {order_id} of Sales Invoice {name} no longer exists; left alone"
            ),
        );
        return Ok(false);
    };
    let current = order
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if FINAL_STATUSES.contains(&current.as_str()) {
        context.record(
            Stage::Deliver,
            format!(
                "WooCommerce order {order_id} is {current}; Sales Invoice {name} does not change it"
            ),
        );
        return Ok(false);
    }

    add_note_once(context, invoice, name, order_id)?;

    if current == status {
        context.record(
            Stage::Deliver,
            format!("order {order_id} is already {status}"),
        );
    } else {
        context
            .woo(Stage::Deliver)?
            .set_order_status(order_id, status)
            .map_err(|error| JobError::at(Stage::Deliver, error))?;
        context.record(
            Stage::Deliver,
            format!("order {order_id} status {current} → {status}"),
        );
    }
    Ok(true)
}

fn add_note_once(
    context: &mut JobContext<'_>,
    invoice: &Value,
    name: &str,
    order_id: u64,
) -> Result<(), JobError> {
    let marker = format!("ERPNext Sales Invoice {name}");
    let notes = context
        .woo(Stage::Deliver)?
        .order_notes(order_id)
        .map_err(|error| JobError::at(Stage::Deliver, error))?;
    let noted = notes.iter().any(|note| {
        note.get("note")
            .and_then(Value::as_str)
            .is_some_and(|text| text.contains(&marker))
    });
    if noted {
        context.record(
            Stage::Deliver,
            format!("order {order_id} already has the note of {name}"),
        );
        return Ok(());
    }

    let text = format!(
        "{marker} issued: {} {}.",
        invoice
            .get("grand_total")
            .map(Value::to_string)
            .unwrap_or_default(),
        invoice
            .get("currency")
            .and_then(Value::as_str)
            .unwrap_or("")
    );
    context
        .woo(Stage::Deliver)?
        .add_order_note(order_id, &text)
        .map_err(|error| JobError::at(Stage::Deliver, error))?;
    context.record(
        Stage::Deliver,
        format!("private note added to order {order_id}: {text}"),
    );
    Ok(())
}

/// The WooCommerce order ids an invoice bills: through its Sales Orders (the link table, then
/// their `po_no`), else the invoice's own `po_no`.
fn orders_of_invoice(context: &mut JobContext<'_>, invoice: &Value) -> Result<Vec<u64>, JobError> {
    let mut sales_orders: Vec<String> = invoice
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| item.get("sales_order").and_then(Value::as_str))
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect();
    sales_orders.sort();
    sales_orders.dedup();

    let mut ids = Vec::new();
    for sales_order in &sales_orders {
        if let Some(id) = order_of_sales_order(context, sales_order)?
            && !ids.contains(&id)
        {
            ids.push(id);
        }
    }
    if ids.is_empty()
        && let Some(id) = order_id_of_po(invoice, &context.settings.order_prefix)
    {
        ids.push(id);
    }
    Ok(ids)
}

fn order_of_sales_order(
    context: &mut JobContext<'_>,
    sales_order: &str,
) -> Result<Option<u64>, JobError> {
    if let Some(key) =
        store::find_link_by_name(context.connection, LinkKind::SalesOrder, sales_order)?
        && let Ok(id) = key.parse()
    {
        return Ok(Some(id));
    }
    let document = context
        .erp()?
        .get("Sales Order", sales_order)
        .map_err(|error| JobError::at(Stage::Deliver, error))?;
    Ok(document
        .as_ref()
        .and_then(|so| order_id_of_po(so, &context.settings.order_prefix)))
}

fn order_id_of_po(document: &Value, prefix: &str) -> Option<u64> {
    document
        .get("po_no")
        .and_then(Value::as_str)?
        .strip_prefix(prefix)?
        .parse()
        .ok()
}
