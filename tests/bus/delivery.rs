//! Delivery under failure: retries with Retry-After, permanent errors and replay, lost answers,
//! rotated credentials, graceful shutdown.

use std::time::Duration;

use serde_json::Value;

use crate::support::bus::{Bus, BusOptions};
use crate::support::fake_erpnext::FakeErpNext;
use crate::support::orders::{line, order_with};

const WAIT: Duration = Duration::from_secs(30);

fn history(job: &Value) -> Vec<Value> {
    job["history"].as_array().cloned().unwrap_or_default()
}

fn live_sales_orders(erp: &FakeErpNext, po_no: &str) -> usize {
    erp.sales_orders()
        .iter()
        .filter(|so| so["po_no"] == po_no && so["docstatus"].as_i64() != Some(2))
        .count()
}

#[test]
fn erpnext_503_with_retry_after_then_success() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());
    erp.add_item("RETRY-1");
    erp.fail_next(2, 503, Some("1"));

    let order = order_with(
        9101,
        &[line("RETRY-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let id = bus.send_order_job("order.created", &order);
    let job = bus.wait_for_job(id, &["done", "failed"], WAIT);
    assert_eq!(job["status"], "done", "{job:#}");
    assert_eq!(job["attempts"], 3);

    let retries: Vec<Value> = history(&job)
        .into_iter()
        .filter(|a| a["outcome"] == "retry")
        .collect();
    assert_eq!(retries.len(), 2, "{job:#}");
    for retry in &retries {
        assert_eq!(retry["http_status"], 503);
        assert!(
            retry["message"].as_str().unwrap().contains("503"),
            "{retry}"
        );
    }

    let first_retry =
        chrono::DateTime::parse_from_rfc3339(retries[0]["finished_at"].as_str().unwrap()).unwrap();
    let second_retry =
        chrono::DateTime::parse_from_rfc3339(retries[1]["finished_at"].as_str().unwrap()).unwrap();
    assert!(
        second_retry - first_retry >= chrono::Duration::seconds(1),
        "Retry-After: 1 must be honoured: {first_retry} → {second_retry}"
    );
    assert_eq!(live_sales_orders(&erp, "WC-9101"), 1);
}

#[test]
fn unknown_item_fails_then_replay_delivers() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());

    let order = order_with(
        9201,
        &[line("NO-SUCH-ITEM", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let id = bus.send_order_job("order.created", &order);
    let job = bus.wait_for_job(id, &["done", "failed"], WAIT);
    assert_eq!(job["status"], "failed", "{job:#}");
    assert_eq!(job["attempts"], 1, "a 404 is not retried");
    let error = job["last_error"].as_str().unwrap();
    assert!(
        error.contains("NO-SUCH-ITEM"),
        "the reason names the item: {error}"
    );
    assert!(error.contains("404"), "{error}");
    let failed: Vec<Value> = history(&job)
        .into_iter()
        .filter(|a| a["outcome"] == "failed")
        .collect();
    assert_eq!(failed[0]["http_status"], 404);

    erp.add_item("NO-SUCH-ITEM");
    let output = bus.cli(&["jobs", "replay", &id.to_string()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("requeued 1 job"));

    let job = bus.wait_for_job(id, &["done", "failed"], WAIT);
    assert_eq!(job["status"], "done", "{job:#}");
    let outcomes: Vec<String> = history(&job)
        .iter()
        .map(|a| a["outcome"].as_str().unwrap().to_string())
        .collect();
    assert!(
        outcomes.contains(&"failed".to_string()),
        "replay keeps the history: {outcomes:?}"
    );
    assert!(outcomes.contains(&"replayed".to_string()), "{outcomes:?}");
    assert_eq!(live_sales_orders(&erp, "WC-9201"), 1);
}

#[test]
fn lost_insert_answer_creates_no_second_sales_order() {
    let erp = FakeErpNext::start();
    let mut options = BusOptions::new(&erp.url());
    options.request_timeout = "1s";
    let bus = Bus::start_with(options);
    erp.add_item("LOST-1");
    erp.hold_answer_after_commit("Sales Order", Duration::from_secs(3));

    let order = order_with(
        9301,
        &[line("LOST-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let id = bus.send_order_job("order.created", &order);
    let job = bus.wait_for_job(id, &["done", "failed"], WAIT);
    assert_eq!(job["status"], "done", "{job:#}");
    assert!(
        job["attempts"].as_i64().unwrap() >= 2,
        "the first attempt timed out: {job:#}"
    );

    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        live_sales_orders(&erp, "WC-9301"),
        1,
        "{:#?}",
        erp.sales_orders()
    );
    assert_eq!(
        erp.count_requests("POST", "/api/resource/Sales Order"),
        1,
        "the retry found the first insert by po_no"
    );
}

#[test]
fn rotated_api_secret_is_read_again_after_401() {
    let erp = FakeErpNext::start();
    let mut options = BusOptions::new(&erp.url());
    options.api_secret = "revoked-secret".to_string();
    let bus = Bus::start_with(options);
    erp.add_item("AUTH-1");

    let order = order_with(
        9401,
        &[line("AUTH-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let id = bus.send_order_job("order.created", &order);

    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let job = bus.job(id);
        if history(&job).iter().any(|a| a["http_status"] == 401) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no 401 attempt recorded: {job:#}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::fs::write(
        bus.dir.path().join("erp_secret"),
        crate::support::fake_erpnext::API_SECRET,
    )
    .unwrap();

    let job = bus.wait_for_job(id, &["done", "failed"], WAIT);
    assert_eq!(
        job["status"], "done",
        "the new secret file is read without a restart: {job:#}"
    );
}

#[test]
fn sigterm_exits_zero_and_keeps_jobs() {
    let erp = FakeErpNext::start();
    erp.fail_next(1000, 503, None);
    let mut bus = Bus::start(&erp.url());

    let order = order_with(
        9501,
        &[line("TERM-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let id = bus.send_order_job("order.created", &order);
    assert_eq!(bus.terminate(), Some(0), "log:\n{}", bus.logs());
    assert!(bus.logs().contains("serve: stopped"), "{}", bus.logs());

    let job = bus.job(id);
    assert!(matches!(job["status"].as_str(), Some("queued")), "{job:#}");

    erp.fail_next(0, 503, None);
    erp.add_item("TERM-1");
    bus.spawn();
    let job = bus.wait_for_job(id, &["done", "failed"], WAIT);
    assert_eq!(job["status"], "done", "{job:#}");
}

#[test]
fn sigterm_interrupts_a_slow_job_between_requests() {
    let erp = FakeErpNext::start();
    erp.add_item("SLOW-1");
    erp.set_latency(Duration::from_secs(2));
    let mut bus = Bus::start(&erp.url());

    let order = order_with(
        9502,
        &[line("SLOW-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let id = bus.send_order_job("order.created", &order);
    let deadline = std::time::Instant::now() + WAIT;
    while erp.requests().is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "the job never reached ERPNext"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // The whole job needs seven or more requests of 2 s each; the stop comes after the first.
    let stopping = std::time::Instant::now();
    assert_eq!(bus.terminate(), Some(0));
    assert!(
        stopping.elapsed() < Duration::from_secs(8),
        "stop took {:?}",
        stopping.elapsed()
    );
    assert_eq!(bus.job(id)["status"], "queued");

    erp.set_latency(Duration::ZERO);
    bus.spawn();
    assert_eq!(
        bus.wait_for_job(id, &["done", "failed"], WAIT)["status"],
        "done"
    );
    assert_eq!(live_sales_orders(&erp, "WC-9502"), 1);
}

#[test]
fn unreachable_erpnext_pauses_the_workers() {
    let bus = Bus::start("http://127.0.0.1:9");
    for id in 0..20 {
        let order = order_with(
            9700 + id,
            &[line("DOWN-2", 1, "10.00", "0.00")],
            "0.00",
            &[],
            &[],
            "10.00",
        );
        bus.send_order_job("order.created", &order);
    }
    std::thread::sleep(Duration::from_millis(1500));

    // Two workers, each pausing 1 s after a refused connection: at most a few attempts so far.
    let attempts: i64 = bus
        .jobs()
        .iter()
        .map(|job| job["attempts"].as_i64().unwrap())
        .sum();
    assert!(
        attempts <= 6,
        "{attempts} attempts in 1.5 s against an unreachable ERPNext"
    );
}
