//! ERP → store: stock levels and issued invoices reach WooCommerce; reconciliation finds orders
//! whose webhook never arrived; `doctor` checks both peers.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::bus::{Bus, BusOptions};
use crate::support::fake_erpnext::FakeErpNext;
use crate::support::fake_woocommerce::{CONSUMER_KEY, CONSUMER_SECRET, FakeWoo};
use crate::support::frappe::{self, FRAPPE_SECRET};
use crate::support::orders::{fixture, line, order_with};

const WAIT: Duration = Duration::from_secs(30);

fn options(erp: &FakeErpNext, woo: &FakeWoo) -> BusOptions {
    let mut options = BusOptions::new(&erp.url());
    options.frappe_secret = Some(FRAPPE_SECRET.to_string());
    options.woo_url = woo.url();
    options.woo_rest = Some((CONSUMER_KEY.to_string(), CONSUMER_SECRET.to_string()));
    options.extra_erpnext = "stock_coalesce_delay = \"0\"".to_string();
    options
}

fn send_stock(bus: &Bus, entry: &str, item_code: &str) -> i64 {
    let (status, answer) = frappe::deliver(
        &bus.url,
        &frappe::stock_body(entry, item_code),
        Some(FRAPPE_SECRET),
        None,
    );
    assert_eq!(status, 200, "{answer}");
    serde_json::from_str::<Value>(&answer).unwrap()["job_id"]
        .as_i64()
        .unwrap()
}

fn send_invoice(bus: &Bus, name: &str) -> i64 {
    let (status, answer) = frappe::deliver(
        &bus.url,
        &frappe::invoice_body(name),
        Some(FRAPPE_SECRET),
        Some("application/json"),
    );
    assert_eq!(status, 200, "{answer}");
    serde_json::from_str::<Value>(&answer).unwrap()["job_id"]
        .as_i64()
        .unwrap()
}

#[test]
fn stock_event_for_simple_product() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    let product = woo.add_simple_product("EX-MUG");
    erp.set_bin("EX-MUG", "Stores - TS", 10.0, 2.0, 8.0);
    erp.set_bin("EX-MUG", "Finished Goods - TS", 50.0, 0.0, 50.0);
    let bus = Bus::start_with(options(&erp, &woo));

    let id = send_stock(&bus, "6c2be17c8a", "EX-MUG");
    let job = bus.wait_for_job(id, &["done", "failed", "cancelled"], WAIT);
    assert_eq!(job["status"], "done", "{job:#}");
    assert_eq!(job["woo_id"], product.to_string());
    assert_eq!(
        woo.stock_of("EX-MUG"),
        Some(8),
        "actual 10 − reserved 2 in Stores - TS only"
    );
    assert!(woo.batch_requests().iter().all(|body| {
        body["__path"]
            .as_str()
            .unwrap()
            .ends_with("/products/batch")
    }));
}

#[test]
fn stock_event_for_variation() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start_basic();
    let parent = woo.add_variable_product("EX-TEE");
    woo.add_variation(parent, "EX-TEE-BL-L");
    erp.set_bin("EX-TEE-BL-L", "Stores - TS", 5.0, 0.0, 5.0);
    let bus = Bus::start_with(options(&erp, &woo));

    let id = send_stock(&bus, "a1b2c3d4e5", "EX-TEE-BL-L");
    let job = bus.wait_for_job(id, &["done", "failed", "cancelled"], WAIT);
    assert_eq!(job["status"], "done", "{job:#}");
    assert_eq!(woo.stock_of("EX-TEE-BL-L"), Some(5));
    let paths: Vec<String> = woo
        .batch_requests()
        .iter()
        .map(|body| body["__path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        paths,
        vec![format!("/wp-json/wc/v3/products/{parent}/variations/batch")]
    );
}

#[test]
fn unknown_sku_is_cancelled_not_failed() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    erp.set_bin("ERP-ONLY", "Stores - TS", 3.0, 0.0, 3.0);
    let bus = Bus::start_with(options(&erp, &woo));

    let id = send_stock(&bus, "0000000001", "ERP-ONLY");
    let job = bus.wait_for_job(id, &["done", "failed", "cancelled"], WAIT);
    assert_eq!(job["status"], "cancelled", "{job:#}");
    assert!(job["last_error"].as_str().unwrap().contains("ERP-ONLY"));
}

#[test]
fn burst_of_entries_coalesces_per_sku() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    let skus = ["BURST-A", "BURST-B", "BURST-C"];
    for (index, sku) in skus.iter().enumerate() {
        woo.add_simple_product(sku);
        erp.set_bin(sku, "Stores - TS", 100.0 + index as f64, 0.0, 0.0);
    }
    let mut options = options(&erp, &woo);
    options.extra_erpnext = "stock_coalesce_delay = \"3s\"".to_string();
    let bus = Bus::start_with(options);

    for entry in 0..250 {
        send_stock(&bus, &format!("burst{entry:05}"), skus[entry % 3]);
    }
    let jobs = bus.wait_until_idle(WAIT);

    let batches = woo.batch_requests();
    assert!(
        batches.len() <= 3,
        "{} batch writes for 3 SKUs: {batches:#?}",
        batches.len()
    );
    for body in &batches {
        assert!(body["update"].as_array().unwrap().len() <= 100);
    }
    for (index, sku) in skus.iter().enumerate() {
        assert_eq!(woo.stock_of(sku), Some(100 + index as i64), "{sku}");
    }
    let done = jobs.iter().filter(|job| job["status"] == "done").count();
    let coalesced = jobs
        .iter()
        .filter(|job| {
            job["status"] == "cancelled"
                && job["last_error"]
                    .as_str()
                    .unwrap_or("")
                    .contains("coalesced")
        })
        .count();
    assert_eq!(done + coalesced, 250, "every event is done or coalesced");
    assert!(done <= 3, "{done} stock jobs wrote");
}

#[test]
fn stock_event_waits_for_pending_order() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    woo.add_simple_product("WAIT-1");
    erp.add_item("WAIT-1");
    erp.set_bin("WAIT-1", "Stores - TS", 9.0, 1.0, 8.0);
    let bus = Bus::start_with(options(&erp, &woo));

    erp.fail_next(2, 503, Some("1"));
    let order = order_with(
        9601,
        &[line("WAIT-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let order_job = bus.send_order_job("order.created", &order);
    let stock_job = send_stock(&bus, "wait000001", "WAIT-1");
    // The order job is in a backoff of at least 1 s (Retry-After), so the stock job waits.
    let waiting = bus.job(stock_job);
    assert_eq!(waiting["status"], "queued", "{waiting:#}");
    assert_eq!(waiting["waiting_for"], json!([order_job]), "{waiting:#}");

    bus.wait_for_job(order_job, &["done"], WAIT);
    bus.wait_for_job(stock_job, &["done"], WAIT);

    let requests = erp.requests();
    let insert = requests
        .iter()
        .position(|r| r.method == "POST" && r.path == "/api/resource/Sales Order");
    let bin_read = requests
        .iter()
        .position(|r| r.method == "GET" && r.path == "/api/resource/Bin");
    assert!(insert.is_some(), "no Sales Order insert: {requests:#?}");
    assert!(bin_read.is_some(), "no Bin read: {requests:#?}");
    assert!(
        bin_read > insert,
        "the Bins were read before the order reached ERPNext"
    );
}

#[test]
fn full_pass_applies_valid_ids_despite_one_invalid() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    for sku in ["PASS-A", "PASS-B"] {
        woo.add_simple_product(sku);
        erp.set_bin(sku, "Stores - TS", 4.0, 0.0, 4.0);
    }
    let mut options = options(&erp, &woo);
    options.extra_erpnext =
        "stock_coalesce_delay = \"0\"\nstock_full_pass_interval = \"1s\"".to_string();
    let bus = Bus::start_with(options);

    for (entry, sku) in ["PASS-A", "PASS-B"].iter().enumerate() {
        let id = send_stock(&bus, &format!("pass{entry}"), sku);
        bus.wait_for_job(id, &["done"], WAIT);
    }
    erp.set_bin("PASS-A", "Stores - TS", 7.0, 0.0, 7.0);
    erp.set_bin("PASS-B", "Stores - TS", 6.0, 0.0, 6.0);
    let connection = rusqlite::Connection::open(bus.dir.path().join("shopbus.db")).unwrap();
    connection
        .execute(
            "INSERT INTO links (kind, woo_key, erp_name, updated_at) VALUES ('product', '999999', 'PASS-GHOST', 0)",
            [],
        )
        .unwrap();

    // A pass that reports the ghost id ran after the new levels were set.
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let passes: Vec<Value> = bus
            .jobs()
            .into_iter()
            .filter(|job| job["topic"] == "stock.full_pass" && job["status"] == "done")
            .collect();
        let reported = passes.iter().any(|job| {
            bus.job(job["id"].as_i64().unwrap())
                .to_string()
                .contains("999999")
        });
        if reported {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no full pass reported id 999999; log:\n{}",
            bus.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    assert_eq!(woo.stock_of("PASS-A"), Some(7));
    assert_eq!(woo.stock_of("PASS-B"), Some(6));
}

/// Delivers order 06 to ERPNext, puts it into the store, and bills its Sales Order.
fn billed_order(bus: &Bus, erp: &FakeErpNext, woo: &FakeWoo) -> (u64, String) {
    let order = fixture("wc_order_06_DERIVED_coupon_fee_two_tax_rates.json");
    for sku in ["EX-MUG", "EX-TEE-BL-L"] {
        erp.add_item(sku);
    }
    woo.add_order(order.clone());
    let id = bus.send_order_job("order.created", &order);
    let job = bus.wait_for_job(id, &["done", "failed"], WAIT);
    assert_eq!(job["status"], "done", "{job:#}");
    let invoice = erp.bill_sales_order(job["erp_name"].as_str().unwrap());
    (order["id"].as_u64().unwrap(), invoice)
}

#[test]
fn invoice_sets_status_and_one_note_also_after_replay() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    let bus = Bus::start_with(options(&erp, &woo));
    let (order_id, invoice) = billed_order(&bus, &erp, &woo);

    let id = send_invoice(&bus, &invoice);
    let job = bus.wait_for_job(id, &["done", "failed", "cancelled"], WAIT);
    assert_eq!(job["status"], "done", "{job:#}");
    assert_eq!(woo.order(order_id)["status"], "completed");
    let notes = invoice_notes(&woo, order_id, &invoice);
    assert_eq!(notes.len(), 1, "{:#?}", woo.notes(order_id));
    assert_eq!(notes[0]["customer_note"], false);

    let (_, again) = frappe::deliver(
        &bus.url,
        &frappe::invoice_body(&invoice),
        Some(FRAPPE_SECRET),
        Some("application/json"),
    );
    assert!(again.contains("\"duplicate\":true"), "{again}");

    let output = bus.cli(&["jobs", "replay", &id.to_string()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let job = bus.wait_for_job(id, &["done", "failed"], WAIT);
    assert_eq!(job["status"], "done");
    assert!(
        job["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|row| row["outcome"] == "replayed")
    );
    assert_eq!(
        invoice_notes(&woo, order_id, &invoice).len(),
        1,
        "a replay adds no second note"
    );
}

/// Returns the notes of an order that name the invoice (WooCommerce adds its own status-change notes).
fn invoice_notes(woo: &FakeWoo, order_id: u64, invoice: &str) -> Vec<Value> {
    woo.notes(order_id)
        .into_iter()
        .filter(|note| note["note"].as_str().unwrap_or("").contains(invoice))
        .collect()
}

#[test]
fn invoice_for_foreign_order_is_cancelled() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    erp.add_sales_invoice(json!({
        "name": "ACC-SINV-2026-00077", "doctype": "Sales Invoice", "docstatus": 1, "po_no": "",
        "grand_total": 12.0, "currency": "PLN", "items": [{"item_code": "X", "qty": 1.0, "sales_order": null}]
    }));
    let bus = Bus::start_with(options(&erp, &woo));

    let id = send_invoice(&bus, "ACC-SINV-2026-00077");
    let job = bus.wait_for_job(id, &["done", "failed", "cancelled"], WAIT);
    assert_eq!(job["status"], "cancelled", "{job:#}");
    assert!(
        job["last_error"]
            .as_str()
            .unwrap()
            .contains("not for an order the bus created")
    );
}

#[test]
fn reconciliation_finds_a_dropped_order() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    let bus = Bus::start_with(options(&erp, &woo));
    erp.add_item("RECON-1");
    let mut order = order_with(
        9701,
        &[line("RECON-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    order["date_modified_gmt"] = json!("2026-11-27T09:00:05");
    woo.add_order(order);

    let output = bus.cli(&["reconcile", "--since", "2026-11-27T00:00:00Z"]);
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("1 enqueued"), "{stdout}");

    let jobs = bus.jobs();
    let job = jobs
        .iter()
        .find(|job| job["entity"] == "order:9701")
        .expect("a job for order 9701");
    let job = bus.wait_for_job(job["id"].as_i64().unwrap(), &["done", "failed"], WAIT);
    assert_eq!(job["status"], "done", "{job:#}");
    assert!(
        job["history"][0]["message"]
            .as_str()
            .unwrap()
            .contains("reconciliation"),
        "{job:#}"
    );
    assert_eq!(
        erp.sales_orders()
            .iter()
            .filter(|so| so["po_no"] == "WC-9701")
            .count(),
        1
    );

    let output = bus.cli(&["reconcile", "--since", "2026-11-27T00:00:00Z"]);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("0 enqueued"),
        "a processed snapshot is not enqueued again"
    );
}

fn watermark(output: &std::process::Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    stdout
        .rsplit("watermark ")
        .next()
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn reconciliation_keeps_watermark_before_failed_orders() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    erp.add_item("DOWN-1");
    erp.fail_next(100_000, 503, Some("1"));
    let bus = Bus::start_with(options(&erp, &woo));

    for (id, modified) in [(9801, "2026-11-28T10:00:00"), (9802, "2026-11-28T11:00:00")] {
        let mut order = order_with(
            id,
            &[line("DOWN-1", 1, "10.00", "0.00")],
            "0.00",
            &[],
            &[],
            "10.00",
        );
        order["date_modified_gmt"] = json!(modified);
        woo.add_order(order);
    }

    let output = bus.cli(&["reconcile", "--since", "2026-11-28T00:00:00Z"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let held = watermark(&output);
    assert!(
        held.as_str() <= "2026-11-28T10:00:00",
        "watermark {held} moved past a pending order"
    );

    let output = bus.cli(&["reconcile"]);
    let held_again = watermark(&output);
    assert!(
        held_again.as_str() <= "2026-11-28T10:00:00",
        "watermark {held_again} moved past a pending order"
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("0 enqueued"));

    erp.fail_next(0, 503, None);
    bus.wait_until_idle(WAIT);
    let output = bus.cli(&["reconcile"]);
    let moved = watermark(&output);
    assert!(
        moved.as_str() > "2026-11-28T11:00:00",
        "watermark {moved} should pass delivered orders"
    );
}

fn doctor(bus: &Bus) -> (Option<i32>, String) {
    let output = bus.cli(&["doctor"]);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).to_string(),
    )
}

fn healthy_peers() -> (FakeErpNext, FakeWoo) {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    woo.add_webhook(
        "order.created",
        "https://bus.example/webhooks/woocommerce",
        "active",
    );
    woo.add_webhook(
        "order.updated",
        "https://bus.example/webhooks/woocommerce",
        "active",
    );
    erp.add_frappe_webhook(
        "Stock Ledger Entry",
        "after_insert",
        "https://bus.example/webhooks/erpnext",
        true,
    );
    erp.add_frappe_webhook(
        "Sales Invoice",
        "on_submit",
        "https://bus.example/webhooks/erpnext",
        true,
    );
    (erp, woo)
}

#[test]
fn doctor_passes_on_healthy_peers() {
    let (erp, woo) = healthy_peers();
    let bus = Bus::start_with(options(&erp, &woo));
    let (code, text) = doctor(&bus);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("FAIL"), "{text}");
    assert!(text.contains("cannot read GL Entry"), "{text}");
}

#[test]
fn doctor_names_each_failed_check() {
    let (erp, woo) = healthy_peers();
    erp.set_account_type("VAT - TS", "Receivable");
    erp.allow_financial_reads(true);
    let mut options = options(&erp, &woo);
    options
        .extra_erpnext
        .push_str("\nfee_account = \"No Such Account - TS\"");
    let bus = Bus::start_with(options);

    let (code, text) = doctor(&bus);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("VAT - TS") && l.contains("Receivable")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("No Such Account - TS")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("WARN") && l.contains("GL Entry")),
        "{text}"
    );
}

#[test]
fn doctor_reports_missing_webhooks_and_bad_credentials() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    woo.add_webhook(
        "order.created",
        "https://bus.example/webhooks/woocommerce",
        "disabled",
    );
    let bus = Bus::start_with(options(&erp, &woo));

    let (code, text) = doctor(&bus);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("FAIL")
            && l.contains("order.created")
            && l.contains("disabled")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("order.updated")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("Stock Ledger Entry")),
        "{text}"
    );

    erp.set_credentials("rotated-key", "rotated-secret");
    let (code, text) = doctor(&bus);
    assert_eq!(code, Some(1));
    assert!(text.lines().next().unwrap().starts_with("FAIL"), "{text}");
    assert!(text.contains("401"), "{text}");
}

#[test]
fn doctor_fails_on_missing_documents_and_rejected_store_keys() {
    let (erp, woo) = healthy_peers();
    let mut options = options(&erp, &woo);
    options.woo_rest = Some((CONSUMER_KEY.to_string(), "cs_wrong_secret".to_string()));
    let bus = Bus::start_with(options);
    let config = std::fs::read_to_string(&bus.config_path).unwrap();
    let config = config
        .replace("company = \"Test Shop\"", "company = \"No Such Company\"")
        .replace(
            "warehouse = \"Stores - TS\"",
            "warehouse = \"No Such Warehouse - TS\"",
        );
    std::fs::write(&bus.config_path, config).unwrap();

    let (code, text) = doctor(&bus);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("No Such Company")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("No Such Warehouse - TS")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("WooCommerce") && l.contains("401")),
        "{text}"
    );
}

#[test]
fn periodic_pass_finds_a_dropped_order() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    erp.add_item("TICK-1");
    let mut order = order_with(
        9751,
        &[line("TICK-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let now = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1);
    order["date_modified_gmt"] = json!(now.format("%Y-%m-%dT%H:%M:%S").to_string());
    woo.add_order(order);

    let mut options = options(&erp, &woo);
    options.extra_woocommerce = "reconcile_interval = \"1s\"".to_string();
    let bus = Bus::start_with(options);

    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let done = bus
            .jobs()
            .into_iter()
            .any(|job| job["entity"] == "order:9751" && job["status"] == "done");
        if done {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the periodic pass never delivered order 9751; log:\n{}",
            bus.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        erp.sales_orders()
            .iter()
            .filter(|so| so["po_no"] == "WC-9751")
            .count(),
        1
    );
    assert_eq!(
        bus.jobs()
            .iter()
            .filter(|job| job["entity"] == "order:9751")
            .count(),
        1,
        "later passes find the snapshot processed"
    );
}

#[test]
fn full_pass_skips_skus_with_pending_orders() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    for sku in ["HOLD-1", "FREE-2"] {
        woo.add_simple_product(sku);
        erp.add_item(sku);
        erp.set_bin(sku, "Stores - TS", 10.0, 0.0, 10.0);
    }
    let mut options = options(&erp, &woo);
    options.extra_erpnext =
        "stock_coalesce_delay = \"0\"\nstock_full_pass_interval = \"1s\"".to_string();
    let bus = Bus::start_with(options);
    for (entry, sku) in ["HOLD-1", "FREE-2"].iter().enumerate() {
        let id = send_stock(&bus, &format!("hold{entry}"), sku);
        bus.wait_for_job(id, &["done"], WAIT);
    }

    // The store sold one HOLD-1; its order cannot reach ERPNext yet.
    woo.set_stock("HOLD-1", 9);
    erp.fail_path("POST", "/api/resource/Sales Order", 503);
    let order = order_with(
        9621,
        &[line("HOLD-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let order_job = bus.send_order_job("order.created", &order);
    erp.set_bin("FREE-2", "Stores - TS", 12.0, 0.0, 12.0);

    let deadline = std::time::Instant::now() + WAIT;
    while woo.stock_of("FREE-2") != Some(12) {
        assert!(
            std::time::Instant::now() < deadline,
            "no full pass published FREE-2; log:\n{}",
            bus.logs()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        woo.stock_of("HOLD-1"),
        Some(9),
        "the pass must not undo the store's own decrement"
    );

    erp.heal_path();
    erp.set_bin("HOLD-1", "Stores - TS", 10.0, 1.0, 9.0);
    assert_eq!(
        bus.wait_for_job(order_job, &["done", "failed"], WAIT)["status"],
        "done"
    );
}

#[test]
fn order_during_stock_publish_gets_a_follow_up() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    woo.add_simple_product("RACE-S");
    erp.add_item("RACE-S");
    erp.set_bin("RACE-S", "Stores - TS", 10.0, 0.0, 10.0);
    let bus = Bus::start_with(options(&erp, &woo));
    erp.set_latency(Duration::from_millis(700));

    let stock_job = send_stock(&bus, "race000001", "RACE-S");
    let deadline = std::time::Instant::now() + WAIT;
    while !erp.requests().iter().any(|r| r.path == "/api/resource/Bin") {
        assert!(
            std::time::Instant::now() < deadline,
            "the stock job never read the Bins"
        );
        std::thread::sleep(Duration::from_millis(10));
    }

    // An order for the SKU arrives after the Bins were read; ERPNext then reserves one unit.
    let order = order_with(
        9631,
        &[line("RACE-S", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let order_job = bus.send_order_job("order.created", &order);
    erp.set_bin("RACE-S", "Stores - TS", 10.0, 1.0, 9.0);
    bus.wait_for_job(stock_job, &["done"], WAIT);
    bus.wait_for_job(order_job, &["done"], WAIT);
    erp.set_latency(Duration::ZERO);

    let jobs = bus.wait_until_idle(WAIT);
    assert!(
        jobs.iter()
            .any(|job| job["entity"] == "sku:RACE-S" && job["id"].as_i64() != Some(stock_job)),
        "a follow-up stock job was queued: {jobs:#?}"
    );
    assert_eq!(woo.stock_of("RACE-S"), Some(9));
}

#[test]
fn credit_note_and_trashed_order_keep_their_status() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    let bus = Bus::start_with(options(&erp, &woo));
    let (order_id, invoice) = billed_order(&bus, &erp, &woo);
    let sales_order = erp.sales_orders()[0]["name"].as_str().unwrap().to_string();

    erp.add_sales_invoice(json!({
        "name": "ACC-SINV-RET-00001", "doctype": "Sales Invoice", "docstatus": 1, "is_return": 1,
        "return_against": invoice, "grand_total": -75.49, "currency": "USD",
        "items": [{"item_code": "EX-MUG", "qty": -2.0, "sales_order": sales_order}]
    }));
    let id = send_invoice(&bus, "ACC-SINV-RET-00001");
    let job = bus.wait_for_job(id, &["done", "failed", "cancelled"], WAIT);
    assert_eq!(job["status"], "cancelled", "{job:#}");
    assert!(
        job["last_error"].as_str().unwrap().contains("return"),
        "{job:#}"
    );
    assert_eq!(woo.order(order_id)["status"], "processing");

    let mut trashed = order_with(
        9941,
        &[line("EX-MUG", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    trashed["status"] = json!("trash");
    woo.add_order(trashed);
    erp.add_sales_invoice(json!({
        "name": "ACC-SINV-TR-00001", "doctype": "Sales Invoice", "docstatus": 1, "po_no": "WC-9941",
        "grand_total": 10.0, "currency": "USD", "items": [{"item_code": "EX-MUG", "qty": 1.0, "sales_order": null}]
    }));
    let id = send_invoice(&bus, "ACC-SINV-TR-00001");
    let job = bus.wait_for_job(id, &["done", "failed", "cancelled"], WAIT);
    assert_eq!(job["status"], "cancelled", "{job:#}");
    assert_eq!(
        woo.order(9941)["status"],
        "trash",
        "an invoice never restores a trashed order"
    );
    assert!(invoice_notes(&woo, 9941, "ACC-SINV-TR-00001").is_empty());
}

#[test]
fn reconciliation_reads_every_page_and_keeps_an_earlier_watermark() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    erp.add_item("PAGE-1");
    erp.fail_path("GET", "/api/resource/Customer", 503);
    let bus = Bus::start_with(options(&erp, &woo));

    for index in 0..250u64 {
        let mut order = order_with(
            30_000 + index,
            &[line("PAGE-1", 1, "10.00", "0.00")],
            "0.00",
            &[],
            &[],
            "10.00",
        );
        order["date_modified_gmt"] = json!(format!(
            "2026-11-29T{:02}:{:02}:00",
            10 + index / 60,
            index % 60
        ));
        woo.add_order(order);
    }
    let output = bus.cli(&["reconcile", "--since", "2026-11-29T00:00:00Z"]);
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("250 enqueued"), "{stdout}");
    let held = watermark(&output);
    assert!(held.as_str() <= "2026-11-29T10:00:00", "{stdout}");

    let output = bus.cli(&["reconcile", "--since", "2026-11-30T00:00:00"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        watermark(&output),
        held,
        "a later window must not move the watermark past unread orders"
    );
}

#[test]
fn first_pass_runs_soon_after_start() {
    let erp = FakeErpNext::start();
    let woo = FakeWoo::start();
    erp.add_item("BOOT-1");
    let mut order = order_with(
        9761,
        &[line("BOOT-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let recent = chrono::Utc::now().naive_utc() - chrono::Duration::minutes(3);
    order["date_modified_gmt"] = json!(recent.format("%Y-%m-%dT%H:%M:%S").to_string());
    woo.add_order(order);

    // An order placed while the bus was stopped: the ten-minute poll must not wait ten minutes.
    let mut options = options(&erp, &woo);
    options.extra_woocommerce = "reconcile_interval = \"10m\"".to_string();
    let bus = Bus::start_with(options);

    let deadline = std::time::Instant::now() + WAIT;
    while !bus
        .jobs()
        .iter()
        .any(|job| job["entity"] == "order:9761" && job["status"] == "done")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no pass after the start; log:\n{}",
            bus.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
