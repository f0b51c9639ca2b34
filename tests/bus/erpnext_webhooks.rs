//! The Frappe webhook route: signatures, bodies without Content-Type, doctypes and dedup.

use serde_json::Value;

use crate::support::bus::{Bus, BusOptions};
use crate::support::frappe::{self, FRAPPE_SECRET};

fn bus() -> Bus {
    let mut options = BusOptions::new("http://127.0.0.1:9");
    options.frappe_secret = Some(FRAPPE_SECRET.to_string());
    Bus::start_with(options)
}

#[test]
fn live_signed_webhooks_become_jobs() {
    let bus = bus();
    let cases = [
        (
            "03_sales_invoice_on_submit_body.json",
            "invoice.submitted",
            "invoice:ACC-SINV-2026-00001",
        ),
        (
            "01_sle_after_insert_stock_entry_EX-MUG_body.json",
            "stock.changed",
            "sku:EX-MUG",
        ),
        (
            "02_sle_after_insert_stock_entry_EX-TEE-BL-L_body.json",
            "stock.changed",
            "sku:EX-TEE-BL-L",
        ),
    ];
    for (file, topic, entity) in cases {
        let body = frappe::live_body(file);
        let (status, answer) = frappe::deliver(
            &bus.url,
            &body,
            Some(FRAPPE_SECRET),
            Some("application/json"),
        );
        assert_eq!(status, 200, "{file}: {answer}");
        let answer: Value = serde_json::from_str(&answer).unwrap();
        let job = bus.job(answer["job_id"].as_i64().unwrap());
        assert_eq!(job["source"], "erpnext");
        assert_eq!(job["topic"], topic);
        assert_eq!(job["entity"], entity);
    }
}

#[test]
fn captured_signature_header_verifies() {
    let bus = bus();
    let body = frappe::live_body("03_sales_invoice_on_submit_body.json");
    let headers = vec![
        (
            "X-Frappe-Webhook-Signature".to_string(),
            "T0rXoqGEHxIhklnj5B3hPgQETGhdU8LKUjSrLQkGGHA=".to_string(),
        ),
        ("Content-Type".to_string(), "application/json".to_string()),
    ];
    let (status, answer) =
        crate::support::woo::post_to(&bus.url, "/webhooks/erpnext", body.as_bytes(), &headers);
    assert_eq!(status, 200, "{answer}");
}

#[test]
fn body_without_content_type_is_parsed() {
    let bus = bus();
    let (status, answer) = frappe::deliver(
        &bus.url,
        &frappe::stock_body("a1b2c3d4e5", "EX-MUG"),
        Some(FRAPPE_SECRET),
        None,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(bus.jobs().len(), 1);
}

#[test]
fn unsigned_or_badly_signed_is_401_without_job() {
    let bus = bus();
    let body = frappe::invoice_body("ACC-SINV-2026-00009");
    let (status, _) = frappe::deliver(&bus.url, &body, None, Some("application/json"));
    assert_eq!(status, 401);
    let (status, _) = frappe::deliver(
        &bus.url,
        &body,
        Some("not-the-secret"),
        Some("application/json"),
    );
    assert_eq!(status, 401);
    assert!(bus.jobs().is_empty());
}

#[test]
fn route_is_closed_without_a_secret_file() {
    let bus = Bus::start("http://127.0.0.1:9");
    let body = frappe::invoice_body("ACC-SINV-2026-00009");
    let (status, answer) = frappe::deliver(
        &bus.url,
        &body,
        Some(FRAPPE_SECRET),
        Some("application/json"),
    );
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("not configured"), "{answer}");
}

#[test]
fn unhandled_doctype_is_200_and_bad_body_400() {
    let bus = bus();
    let other = r#"{"doctype": "Purchase Order", "name": "PUR-ORD-2026-00001"}"#;
    let (status, answer) = frappe::deliver(&bus.url, other, Some(FRAPPE_SECRET), None);
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("not handled"), "{answer}");

    let no_item = r#"{"doctype": "Stock Ledger Entry", "name": "x1"}"#;
    let (status, answer) = frappe::deliver(&bus.url, no_item, Some(FRAPPE_SECRET), None);
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("item_code"), "{answer}");

    let (status, _) = frappe::deliver(&bus.url, "{\"doctype\": ", Some(FRAPPE_SECRET), None);
    assert_eq!(status, 400);
    assert!(bus.jobs().is_empty());
}

#[test]
fn redelivered_frappe_webhook_is_a_duplicate() {
    let bus = bus();
    let body = frappe::invoice_body("ACC-SINV-2026-00007");
    let (_, first) = frappe::deliver(&bus.url, &body, Some(FRAPPE_SECRET), None);
    let (_, second) = frappe::deliver(&bus.url, &body, Some(FRAPPE_SECRET), None);
    let first: Value = serde_json::from_str(&first).unwrap();
    let second: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(first["job_id"], second["job_id"]);
    assert_eq!(second["duplicate"], true);
}
