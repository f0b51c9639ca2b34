//! A Frappe webhook sender: `json.dumps` bodies signed in `X-Frappe-Webhook-Signature`, with the
//! headers python-requests sends and, as a Webhook document may configure, a Content-Type.

use super::woo::sign;

pub const FRAPPE_SECRET: &str = "frappe_test_secret_0123456789";

/// Reads a captured Frappe webhook body from the live ERPNext fixtures.
pub fn live_body(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/erpnext-live/webhooks")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The body Frappe renders from the README's JSON template for a Stock Ledger Entry.
pub fn stock_body(name: &str, item_code: &str) -> String {
    format!(
        r#"{{"event": "after_insert", "doctype": "Stock Ledger Entry", "name": "{name}", "item_code": "{item_code}", "warehouse": "Stores - TS", "actual_qty": -1.0, "qty_after_transaction": 0.0, "is_cancelled": 0}}"#
    )
}

/// The body for a Sales Invoice `on_submit`.
pub fn invoice_body(name: &str) -> String {
    format!(
        r#"{{"event": "on_submit", "doctype": "Sales Invoice", "name": "{name}", "docstatus": 1}}"#
    )
}

/// Posts a signed Frappe webhook; `content_type` is None when the Webhook sets no header.
pub fn deliver(
    bus_url: &str,
    body: &str,
    secret: Option<&str>,
    content_type: Option<&str>,
) -> (u16, String) {
    let mut headers = vec![
        (
            "User-Agent".to_string(),
            "python-requests/2.32.5".to_string(),
        ),
        ("Accept".to_string(), "*/*".to_string()),
    ];
    if let Some(secret) = secret {
        headers.push((
            "X-Frappe-Webhook-Signature".to_string(),
            sign(body.as_bytes(), secret),
        ));
    }
    if let Some(content_type) = content_type {
        headers.push(("Content-Type".to_string(), content_type.to_string()));
    }
    super::woo::post_to(bus_url, "/webhooks/erpnext", body.as_bytes(), &headers)
}
