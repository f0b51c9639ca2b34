//! The command line: help, exit codes, check-config, job listing and operator commands.

use std::process::Command;

use crate::support::bus::{Bus, BusOptions, write_config};
use crate::support::orders::{line, order_with};

fn shopbus(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_shopbus"))
        .current_dir(dir)
        .env_remove("SHOPBUS_CONFIG")
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).to_string()
}

#[test]
fn help_works_without_config() {
    let dir = tempfile::tempdir().unwrap();
    let output = shopbus(dir.path(), &["--help"]);
    assert!(output.status.success());
    let help = text(&output.stdout);
    for command in ["serve", "check-config", "jobs"] {
        assert!(help.contains(command), "{help}");
    }

    let output = shopbus(dir.path(), &["jobs", "replay", "--help"]);
    assert!(output.status.success());
    assert!(text(&output.stdout).contains("--failed"));
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        shopbus(dir.path(), &["jobs", "show", "not-a-number"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        shopbus(dir.path(), &["no-such-command"]).status.code(),
        Some(2)
    );
    assert_eq!(
        shopbus(dir.path(), &["jobs", "replay"]).status.code(),
        Some(2)
    );
    assert_eq!(
        shopbus(dir.path(), &["jobs", "list", "--status", "lost"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn missing_config_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let output = shopbus(dir.path(), &["check-config"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("shopbus.toml"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn check_config_names_every_problem_by_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &BusOptions::new("http://127.0.0.1:9"));
    let config = std::fs::read_to_string(&path)
        .unwrap()
        .replace("listen = \"127.0.0.1:0\"", "listen = \"localhost\"")
        .replace(
            "api_secret_file = \"erp_secret\"",
            "api_secret_file = \"missing_secret\"",
        )
        .replace("workers = 2", "workers = 0")
        .replace(
            "webhook_secret_file = \"woo_webhook\"",
            "webhook_secret_file = \"woo_webhook\"\ninvoice_status = \"complete\"",
        );
    std::fs::write(&path, config).unwrap();

    let output = shopbus(
        dir.path(),
        &["--config", path.to_str().unwrap(), "check-config"],
    );
    assert_eq!(output.status.code(), Some(2));
    let message = text(&output.stderr);
    for key in [
        "server.listen",
        "erpnext.api_secret_file",
        "delivery.workers",
    ] {
        assert!(message.contains(key), "{key} missing from: {message}");
    }
}

#[test]
fn check_config_accepts_valid_config_and_rejects_bad_duration() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &BusOptions::new("http://127.0.0.1:9"));
    let output = shopbus(
        dir.path(),
        &["--config", path.to_str().unwrap(), "check-config"],
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("valid"));

    let config = std::fs::read_to_string(&path)
        .unwrap()
        .replace("max_backoff = \"2s\"", "max_backoff = \"2\"");
    std::fs::write(&path, config).unwrap();
    let output = shopbus(
        dir.path(),
        &["--config", path.to_str().unwrap(), "check-config"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("max_backoff"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn config_file_from_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_config(dir.path(), &BusOptions::new("http://127.0.0.1:9"));
    let output = Command::new(env!("CARGO_BIN_EXE_shopbus"))
        .current_dir(std::env::temp_dir())
        .env("SHOPBUS_CONFIG", &path)
        .arg("check-config")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
}

#[test]
fn second_serve_on_same_store_refuses() {
    let bus = Bus::start("http://127.0.0.1:9");
    let output = bus.cli(&["serve"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output.stderr).contains("another shopbus process"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn job_json_has_the_contract_fields() {
    let bus = Bus::start("http://127.0.0.1:9");
    let (status, answer) = bus.send_order("order.created", br#"{"id":4242}"#);
    assert_eq!(status, 200);
    let id = answer["job_id"].as_i64().unwrap();

    let list = bus.jobs();
    assert_eq!(list.len(), 1);
    for field in [
        "id",
        "source",
        "topic",
        "entity",
        "status",
        "attempts",
        "received_at",
        "next_attempt_at",
        "last_error",
        "erp_name",
        "woo_id",
    ] {
        assert!(
            list[0].get(field).is_some(),
            "{field} missing from {}",
            list[0]
        );
    }
    assert!(list[0]["received_at"].as_str().unwrap().ends_with('Z'));

    let job = bus.job(id);
    let history = job["history"].as_array().unwrap();
    assert_eq!(history[0]["stage"], "receive");
    for field in [
        "stage",
        "outcome",
        "http_status",
        "message",
        "started_at",
        "finished_at",
    ] {
        assert!(
            history[0].get(field).is_some(),
            "{field} missing from {}",
            history[0]
        );
    }

    let output = bus.cli(&["jobs", "show", "999999"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("job 999999 not found"));
}

#[test]
fn cancel_and_list_by_status() {
    let bus = Bus::start("http://127.0.0.1:9");
    let order = order_with(
        1,
        &[line("CLI-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    bus.send_order_job("order.created", &order);
    // The second job of order 1 waits behind the first, which keeps retrying against an
    // ERPNext address that refuses connections, so it is queued whenever it is cancelled.
    let mut cancelled_order = order.clone();
    cancelled_order["status"] = serde_json::json!("cancelled");
    let id = bus.send_order_job("order.updated", &cancelled_order);

    let output = bus.cli(&["jobs", "cancel", &id.to_string()]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains(&format!("cancelled 1 job(s): {id}")));

    let cancelled = bus.cli_json(&["jobs", "list", "--status", "cancelled", "--json"]);
    let ids: Vec<i64> = cancelled
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![id]);

    let output = bus.cli(&["jobs", "cancel", &id.to_string()]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a second cancel changes nothing and says so"
    );
    assert!(
        text(&output.stderr).contains("is cancelled"),
        "{}",
        text(&output.stderr)
    );
}
