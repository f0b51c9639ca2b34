//! Invoice jobs: ERPNext owns invoices. When a Sales Invoice is submitted, the WooCommerce order
//! it bills gets the configured status and one private note naming the invoice. A redelivered
//! or replayed event finds the note and adds no second one.

use serde_json::Value;

use super::context::{JobContext, JobError, JobSuccess};
use crate::peer::PeerError;
use crate::store::{self, LinkKind, Stage};

/// Sets the order status and adds the invoice note.
pub fn deliver_invoice(context: &mut JobContext<'_>, status: &str) -> Result<JobSuccess, JobError> {
    let name = context
        .lease
        .job
        .entity
        .strip_prefix("invoice:")
        .unwrap_or_default()
        .to_string();

    let Some(invoice) = context
        .erp()?
        .get("Sales Invoice", &name)
        .map_err(|error| JobError::at(Stage::Deliver, error))?
    else {
        return Ok(JobSuccess::Cancelled {
            reason: format!("Sales Invoice {name} no longer exists in ERPNext"),
        });
    };
    if invoice.get("docstatus").and_then(Value::as_i64) != Some(1) {
        return Ok(JobSuccess::Cancelled {
            reason: format!(
                "Sales Invoice {name} is not submitted (docstatus {})",
                invoice["docstatus"]
            ),
        });
    }

    let Some(order_id) = order_of_invoice(context, &invoice)? else {
        return Ok(JobSuccess::Cancelled {
            reason: format!(
                "Sales Invoice {name} is not for an order the bus created: none of its Sales Orders has a po_no starting with {:?}",
                context.settings.order_prefix
            ),
        });
    };

    let woo = context.woo(Stage::Deliver)?;
    let Some(order) = woo
        .get_order(order_id)
        .map_err(|error| JobError::at(Stage::Deliver, error))?
    else {
        return Err(JobError::at(
            Stage::Deliver,
            PeerError::permanent(format!(
                "WooCommerce order {order_id} of Sales Invoice {name} does not exist (deleted?)"
            )),
        ));
    };

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
    } else {
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
    }

    let current = order.get("status").and_then(Value::as_str).unwrap_or("");
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

    Ok(JobSuccess::Done {
        erp_name: Some(name),
        woo_id: Some(order_id.to_string()),
    })
}

/// Finds the WooCommerce order id of an invoice: through its Sales Orders (the link table, then their
/// `po_no`), then the invoice's own `po_no`.
fn order_of_invoice(
    context: &mut JobContext<'_>,
    invoice: &Value,
) -> Result<Option<u64>, JobError> {
    let mut sales_orders: Vec<String> = invoice
        .get("items")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| item.get("sales_order").and_then(Value::as_str))
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect();
    sales_orders.dedup();

    for sales_order in &sales_orders {
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
        if let Some(id) = document
            .as_ref()
            .and_then(|so| order_id_of_po(so, &context.settings.order_prefix))
        {
            return Ok(Some(id));
        }
    }

    Ok(order_id_of_po(invoice, &context.settings.order_prefix))
}

fn order_id_of_po(document: &Value, prefix: &str) -> Option<u64> {
    document
        .get("po_no")
        .and_then(Value::as_str)?
        .strip_prefix(prefix)?
        .parse()
        .ok()
}
