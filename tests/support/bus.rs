//! Starts the real `shopbus` binary on a temporary config and store, and drives it: webhooks over
//! HTTP, operator commands through the CLI, signals to stop it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::woo;

/// Webhook secret the tests' WooCommerce signs with.
pub const WOO_SECRET: &str = "wc_test_secret_0123456789";

/// Settings of one bus process; the defaults retry fast so tests finish quickly.
#[derive(Debug, Clone)]
pub struct BusOptions {
    pub erp_url: String,
    pub api_key: String,
    pub api_secret: String,
    pub workers: usize,
    pub request_timeout: &'static str,
    pub max_body_bytes: usize,
    pub extra_erpnext: String,
    /// Frappe webhook secret; sets `erpnext.webhook_secret_file`.
    pub frappe_secret: Option<String>,
    pub woo_url: String,
    /// WooCommerce REST consumer key and secret; set the `consumer_*_file` keys.
    pub woo_rest: Option<(String, String)>,
    pub extra_woocommerce: String,
}

impl BusOptions {
    pub fn new(erp_url: &str) -> BusOptions {
        BusOptions {
            erp_url: erp_url.to_string(),
            api_key: super::fake_erpnext::API_KEY.to_string(),
            api_secret: super::fake_erpnext::API_SECRET.to_string(),
            workers: 2,
            request_timeout: "2s",
            max_body_bytes: 1_048_576,
            extra_erpnext: String::new(),
            frappe_secret: None,
            woo_url: "http://127.0.0.1:9".to_string(),
            woo_rest: None,
            extra_woocommerce: "reconcile_interval = \"0\"".to_string(),
        }
    }
}

pub struct Bus {
    pub dir: tempfile::TempDir,
    pub config_path: PathBuf,
    pub url: String,
    child: Option<Child>,
    log: Arc<Mutex<String>>,
}

impl Bus {
    pub fn start(erp_url: &str) -> Bus {
        Bus::start_with(BusOptions::new(erp_url))
    }

    pub fn start_with(options: BusOptions) -> Bus {
        let dir = tempfile::tempdir().expect("temp dir");
        let config_path = write_config(dir.path(), &options);
        let mut bus = Bus {
            dir,
            config_path,
            url: String::new(),
            child: None,
            log: Arc::new(Mutex::new(String::new())),
        };
        bus.spawn();
        bus
    }

    /// Starts the process again on the same config and store.
    pub fn spawn(&mut self) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_shopbus"))
            .arg("--config")
            .arg(&self.config_path)
            .arg("serve")
            .env("SHOPBUS_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start shopbus");

        let (sender, receiver) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        let log = self.log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(address) = line.split("listening on ").nth(1) {
                    let address = address.split(',').next().unwrap_or("").to_string();
                    let _ = sender.send(address);
                }
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });

        let address = receiver
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("shopbus did not start; its log:\n{}", self.logs()));
        self.url = format!("http://{address}");
        self.child = Some(child);
    }

    pub fn logs(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Sends a signed WooCommerce webhook; returns the status and the JSON answer.
    pub fn send_order(&self, topic: &str, body: &[u8]) -> (u16, Value) {
        let (status, text) = woo::deliver(&self.url, topic, body, WOO_SECRET);
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, json)
    }

    /// Sends an order webhook and returns the job id it was stored as.
    pub fn send_order_job(&self, topic: &str, order: &Value) -> i64 {
        let body = serde_json::to_vec(order).unwrap();
        let (status, answer) = self.send_order(topic, &body);
        assert_eq!(
            status,
            200,
            "webhook answer {answer}; log:\n{}",
            self.logs()
        );
        answer["job_id"].as_i64().expect("job_id")
    }

    /// Runs `shopbus --config <config> ARGS...`.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_shopbus"))
            .arg("--config")
            .arg(&self.config_path)
            .args(args)
            .output()
            .expect("run shopbus")
    }

    pub fn cli_json(&self, args: &[&str]) -> Value {
        let output = self.cli(args);
        assert!(
            output.status.success(),
            "shopbus {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&output.stdout).expect("JSON output")
    }

    pub fn jobs(&self) -> Vec<Value> {
        let list = self.cli_json(&["jobs", "list", "--json", "--limit", "100000"]);
        list.as_array().cloned().unwrap_or_default()
    }

    pub fn job(&self, id: i64) -> Value {
        self.cli_json(&["jobs", "show", &id.to_string(), "--json"])
    }

    /// Polls the job until its status is one of `statuses`, or panics at the deadline.
    pub fn wait_for_job(&self, id: i64, statuses: &[&str], timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let job = self.job(id);
            if statuses.contains(&job["status"].as_str().unwrap_or("")) {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} is still {} after {timeout:?}: {job:#}\nlog:\n{}",
                job["status"],
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls until no job is queued or running.
    pub fn wait_until_idle(&self, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let jobs = self.jobs();
            let busy = jobs
                .iter()
                .filter(|job| matches!(job["status"].as_str(), Some("queued" | "running")))
                .count();
            if busy == 0 {
                return jobs;
            }
            assert!(
                Instant::now() < deadline,
                "{busy} job(s) still pending after {timeout:?}; log:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits for the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let pid = child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "shopbus did not stop after SIGTERM; log:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Writes the config and secret files into `dir`; returns the config path.
pub fn write_config(dir: &Path, options: &BusOptions) -> PathBuf {
    std::fs::write(
        dir.join("woo_webhook"),
        format!("old-secret-no-longer-used\n{WOO_SECRET}\n"),
    )
    .unwrap();
    std::fs::write(dir.join("erp_key"), &options.api_key).unwrap();
    std::fs::write(dir.join("erp_secret"), &options.api_secret).unwrap();
    let mut erpnext_lines = options.extra_erpnext.clone();
    if let Some(secret) = &options.frappe_secret {
        std::fs::write(dir.join("erp_webhook"), secret).unwrap();
        erpnext_lines.push_str("\nwebhook_secret_file = \"erp_webhook\"");
    }
    let mut woocommerce_lines = options.extra_woocommerce.clone();
    if let Some((key, secret)) = &options.woo_rest {
        std::fs::write(dir.join("woo_key"), key).unwrap();
        std::fs::write(dir.join("woo_secret"), secret).unwrap();
        woocommerce_lines
            .push_str("\nconsumer_key_file = \"woo_key\"\nconsumer_secret_file = \"woo_secret\"");
    }

    let config = format!(
        r#"[server]
listen = "127.0.0.1:0"
max_body_bytes = {max_body}

[store]
path = "{store}"

[woocommerce]
url = "{woo_url}"
webhook_secret_file = "woo_webhook"
{woo_extra}

[erpnext]
url = "{erp}"
api_key_file = "erp_key"
api_secret_file = "erp_secret"
company = "Test Shop"
warehouse = "Stores - TS"
tax_account = "VAT - TS"
shipping_account = "Freight and Forwarding Charges - TS"
rounding_account = "Round Off - TS"
{extra}

[delivery]
workers = {workers}
initial_backoff = "100ms"
max_backoff = "2s"
give_up_after = "10m"
max_attempts = 20
request_timeout = "{timeout}"
poll_interval = "20ms"
"#,
        max_body = options.max_body_bytes,
        store = dir.join("shopbus.db").display(),
        erp = options.erp_url,
        extra = erpnext_lines,
        woo_url = options.woo_url,
        woo_extra = woocommerce_lines,
        workers = options.workers,
        timeout = options.request_timeout,
    );
    let path = dir.join("shopbus.toml");
    std::fs::write(&path, config).unwrap();
    path
}
