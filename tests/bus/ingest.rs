//! The webhook route: signatures, ping, size and JSON checks, dedup, health.

use std::time::Duration;

use serde_json::Value;

use crate::support::bus::{Bus, BusOptions};
use crate::support::orders::fixture_text;
use crate::support::woo;

/// An ERPNext address where nothing listens, for tests that only look at ingest.
const NO_ERP: &str = "http://127.0.0.1:9";

fn job_count(bus: &Bus) -> usize {
    bus.jobs().len()
}

#[test]
fn ping_answers_200_without_job() {
    let bus = Bus::start(NO_ERP);
    let (status, body) = woo::ping(&bus.url);
    assert_eq!(status, 200, "{body}");
    assert_eq!(job_count(&bus), 0);
}

#[test]
fn fixture_request_bytes_verify() {
    let bus = Bus::start(NO_ERP);
    let body = fixture_text("wc_webhook_order_created_body.json");
    let signature = "gZa94NL/VM90YF24etlwhZj8I7n5CC08GlHIhvf/RmU=";
    let (status, answer) = woo::post(
        &bus.url,
        body.as_bytes(),
        &woo::headers("order.created", Some(signature)),
    );
    assert_eq!(status, 200, "{answer}");
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["duplicate"], false);
    assert!(answer["job_id"].as_i64().is_some());

    let jobs = bus.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0]["entity"], "order:727");
    assert_eq!(jobs[0]["topic"], "order.created");
    assert_eq!(jobs[0]["source"], "woocommerce");
}

#[test]
fn bad_or_missing_signature_is_401_without_job() {
    let bus = Bus::start(NO_ERP);
    let body = br#"{"id":727}"#;

    let wrong = woo::sign(body, "not-the-secret");
    let (status, _) = woo::post(&bus.url, body, &woo::headers("order.created", Some(&wrong)));
    assert_eq!(status, 401);

    let (status, _) = woo::post(&bus.url, body, &woo::headers("order.created", None));
    assert_eq!(status, 401);

    let (status, _) = woo::post(
        &bus.url,
        body,
        &woo::headers("order.created", Some("garbage")),
    );
    assert_eq!(status, 401);

    let tampered = woo::sign(br#"{"id":728}"#, crate::support::bus::WOO_SECRET);
    let (status, _) = woo::post(
        &bus.url,
        body,
        &woo::headers("order.created", Some(&tampered)),
    );
    assert_eq!(status, 401);

    assert_eq!(job_count(&bus), 0);
}

#[test]
fn every_secret_of_the_file_verifies() {
    let bus = Bus::start(NO_ERP);
    let (status, answer) = woo::deliver(
        &bus.url,
        "order.created",
        br#"{"id":1}"#,
        "old-secret-no-longer-used",
    );
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = woo::deliver(
        &bus.url,
        "order.created",
        br#"{"id":2}"#,
        crate::support::bus::WOO_SECRET,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(job_count(&bus), 2);
}

#[test]
fn sighup_rotates_the_webhook_secret() {
    let bus = Bus::start(NO_ERP);
    std::fs::write(bus.dir.path().join("woo_webhook"), "brand-new-secret\n").unwrap();
    let pid = bus.pid().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = woo::deliver(
            &bus.url,
            "order.created",
            br#"{"id":3}"#,
            "brand-new-secret",
        );
        if status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "new secret never accepted; log:\n{}",
            bus.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, _) = woo::deliver(
        &bus.url,
        "order.created",
        br#"{"id":4}"#,
        crate::support::bus::WOO_SECRET,
    );
    assert_eq!(status, 401, "the rotated-out secret must be rejected");
}

#[test]
fn invalid_json_is_400_without_job() {
    let bus = Bus::start(NO_ERP);
    let (status, answer) = woo::deliver(
        &bus.url,
        "order.created",
        br#"{"id": 727,"#,
        crate::support::bus::WOO_SECRET,
    );
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("invalid JSON"), "{answer}");

    let (status, answer) = woo::deliver(
        &bus.url,
        "order.created",
        br#"{"number":"727"}"#,
        crate::support::bus::WOO_SECRET,
    );
    assert_eq!(status, 400, "{answer}");
    assert_eq!(job_count(&bus), 0);
}

#[test]
fn oversized_body_is_413_without_job() {
    let mut options = BusOptions::new(NO_ERP);
    options.max_body_bytes = 4096;
    let bus = Bus::start_with(options);

    let padding = "x".repeat(5000);
    let body = format!(r#"{{"id":1,"customer_note":"{padding}"}}"#);
    let (status, _) = woo::deliver(
        &bus.url,
        "order.created",
        body.as_bytes(),
        crate::support::bus::WOO_SECRET,
    );
    assert_eq!(status, 413);

    let small = br#"{"id":1}"#;
    let (status, _) = woo::deliver(
        &bus.url,
        "order.created",
        small,
        crate::support::bus::WOO_SECRET,
    );
    assert_eq!(status, 200);
    assert_eq!(job_count(&bus), 1);
}

#[test]
fn redelivered_body_returns_same_job() {
    let bus = Bus::start(NO_ERP);
    let body = fixture_text("wc_webhook_order_created_body.json");

    let (status, first) = bus.send_order("order.created", body.as_bytes());
    assert_eq!(status, 200);
    let (status, second) = bus.send_order("order.created", body.as_bytes());
    assert_eq!(status, 200);

    assert_eq!(first["duplicate"], false);
    assert_eq!(second["duplicate"], true);
    assert_eq!(first["job_id"], second["job_id"]);
    assert_eq!(job_count(&bus), 1);
}

#[test]
fn unhandled_topic_is_200_without_job() {
    let bus = Bus::start(NO_ERP);
    let (status, answer) = bus.send_order("coupon.created", br#"{"id":5}"#);
    assert_eq!(status, 200);
    assert_eq!(answer["job_id"], Value::Null);
    assert_eq!(job_count(&bus), 0);
}

#[test]
fn healthz_and_metrics_answer() {
    let bus = Bus::start(NO_ERP);
    bus.send_order("order.created", br#"{"id":9}"#);

    let agent = ureq::Agent::new_with_defaults();
    let mut health = agent.get(format!("{}/healthz", bus.url)).call().unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert!(health.body_mut().read_to_string().unwrap().contains("ok"));

    let mut metrics = agent.get(format!("{}/metrics", bus.url)).call().unwrap();
    let text = metrics.body_mut().read_to_string().unwrap();
    assert!(
        text.contains("shopbus_webhooks_total{outcome=\"accepted\"} 1"),
        "{text}"
    );
    assert!(text.contains("shopbus_jobs{status="), "{text}");
    assert!(
        text.contains("shopbus_attempts_total{stage=\"receive\",outcome=\"accepted\"} 1"),
        "{text}"
    );
}
