//! The order flow end to end on one machine: a temporary SQLite store, an ERPNext stand-in
//! that answers like ERPNext 15, and the signed sample orders from `examples/orders/`.
//!
//! Run with `cargo run --release --example demo`. It prints the jobs, the Sales Orders the
//! stand-in received with their totals next to WooCommerce's, and the audit trail of the order
//! that failed validation.

#[path = "../tests/support/fake_erpnext.rs"]
#[allow(dead_code)]
mod fake_erpnext;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use serde_json::Value;

use fake_erpnext::FakeErpNext;
use shopbus::cli::Cli;
use shopbus::config::Config;
use shopbus::receive::signature;
use shopbus::store;

const WEBHOOK_SECRET: &str = "demo-webhook-secret";

fn main() -> anyhow::Result<()> {
    shopbus::logging::init();
    let orders = read_orders(&Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/orders"))?;

    let erp = FakeErpNext::start();
    for (_, order) in &orders {
        for line in order["line_items"].as_array().into_iter().flatten() {
            if let Some(sku) = line["sku"].as_str() {
                erp.add_item(sku);
            }
        }
    }

    let dir = tempfile::tempdir()?;
    let config_path = write_config(dir.path(), &erp.url())?;
    let config = Config::load(&config_path)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let bus_url = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let bus = runtime.spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        shopbus::serve::serve(&config, listener, shutdown).await
    });

    println!(
        "\n== sending {} signed order webhooks to {bus_url}",
        orders.len()
    );
    for (name, order) in &orders {
        let body = serde_json::to_vec(order)?;
        let (status, answer) = send(&bus_url, &body)?;
        println!("   {name}: HTTP {status} {answer}");
    }

    wait_until_idle(&dir.path().join("shopbus.db"), Duration::from_secs(60))?;

    println!("\n== shopbus jobs list");
    cli(&config_path, &["jobs", "list"]);

    println!("\n== Sales Orders in the ERPNext stand-in");
    print_sales_orders(&erp, &orders);

    let failed = store::list(
        &store::open(&dir.path().join("shopbus.db"))?,
        Some(store::JobStatus::Failed),
        1,
    )?;
    if let Some(job) = failed.first() {
        println!("\n== shopbus jobs show {}", job.id);
        cli(&config_path, &["jobs", "show", &job.id.to_string()]);
    }

    let _ = stop.send(());
    runtime.block_on(bus).context("bus task")??;
    Ok(())
}

fn read_orders(folder: &Path) -> anyhow::Result<Vec<(String, Value)>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();

    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)?;
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            Ok((name, serde_json::from_str(&text)?))
        })
        .collect()
}

fn write_config(dir: &Path, erp_url: &str) -> anyhow::Result<PathBuf> {
    std::fs::write(dir.join("woo_webhook"), WEBHOOK_SECRET)?;
    std::fs::write(dir.join("erp_key"), fake_erpnext::API_KEY)?;
    std::fs::write(dir.join("erp_secret"), fake_erpnext::API_SECRET)?;

    let config = format!(
        r#"[server]
listen = "127.0.0.1:0"

[store]
path = "{store}"

[woocommerce]
url = "https://shop.example.com"
webhook_secret_file = "woo_webhook"

[erpnext]
url = "{erp_url}"
api_key_file = "erp_key"
api_secret_file = "erp_secret"
company = "Test Shop"
warehouse = "Stores - TS"
tax_account = "VAT - TS"
shipping_account = "Freight and Forwarding Charges - TS"
rounding_account = "Round Off - TS"

[erpnext.tax_accounts]
"US-CA-COUNTY TAX-2" = "VAT 7% - TS"

[delivery]
poll_interval = "20ms"
"#,
        store = dir.join("shopbus.db").display(),
    );
    let path = dir.join("shopbus.toml");
    std::fs::write(&path, config)?;
    Ok(path)
}

/// Posts one webhook with the headers and signature WooCommerce sends.
fn send(bus_url: &str, body: &[u8]) -> anyhow::Result<(u16, String)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut response = agent
        .post(format!("{bus_url}/webhooks/woocommerce"))
        .header("Content-Type", "application/json")
        .header("X-WC-Webhook-Topic", "order.created")
        .header("X-WC-Webhook-Resource", "order")
        .header("X-WC-Webhook-Event", "created")
        .header("X-WC-Webhook-ID", "1")
        .header(
            "X-WC-Webhook-Signature",
            signature::sign(body, WEBHOOK_SECRET),
        )
        .send(body)?;
    let status = response.status().as_u16();
    Ok((status, response.body_mut().read_to_string()?))
}

fn wait_until_idle(store_path: &Path, timeout: Duration) -> anyhow::Result<()> {
    let connection = store::open(store_path)?;
    let deadline = Instant::now() + timeout;
    loop {
        let pending = store::list(&connection, Some(store::JobStatus::Queued), 1)?.len()
            + store::list(&connection, Some(store::JobStatus::Running), 1)?.len();
        if pending == 0 {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "jobs still pending after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn cli(config: &Path, args: &[&str]) {
    let mut full = vec!["shopbus", "--config", config.to_str().unwrap_or_default()];
    full.extend_from_slice(args);
    let _ = shopbus::cli::run(Cli::parse_from(full));
}

fn print_sales_orders(erp: &FakeErpNext, orders: &[(String, Value)]) {
    println!(
        "   {:<20}  {:<8}  {:<26}  {:>10}  {:>12}  {:<4}  {:<20}",
        "SALES ORDER", "PO NO", "CUSTOMER", "GRAND TOTAL", "WOO TOTAL", "CUR", "STATUS"
    );
    for so in erp.sales_orders() {
        let po_no = so["po_no"].as_str().unwrap_or("");
        let woo_total = orders
            .iter()
            .find(|(_, order)| format!("WC-{}", order["id"]) == po_no)
            .and_then(|(_, order)| order["total"].as_str())
            .unwrap_or("-");
        println!(
            "   {:<20}  {:<8}  {:<26}  {:>10}  {:>12}  {:<4}  {:<20}",
            so["name"].as_str().unwrap_or(""),
            po_no,
            so["customer"].as_str().unwrap_or(""),
            format!("{:.2}", so["grand_total"].as_f64().unwrap_or_default()),
            woo_total,
            so["currency"].as_str().unwrap_or(""),
            so["status"].as_str().unwrap_or("")
        );
    }
}
