//! The configuration file (TOML): one serde struct per section, with the defaults that
//! `examples/shopbus.toml` documents, and one validation pass that reports every problem by key.
//!
//! Secrets are not in this file: `*_file` keys name the files that hold them (see `secret`).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::mapping::{MappingSettings, SubmitPolicy};
use crate::secret::{SecretError, SecretFile};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub store: StoreConfig,
    pub woocommerce: WooCommerceConfig,
    pub erpnext: ErpNextConfig,
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the webhook listener binds to.
    pub listen: String,
    /// Largest webhook body accepted; a larger one gets 413.
    pub max_body_bytes: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:8787".to_string(),
            max_body_bytes: 1_048_576,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// SQLite database file; relative paths are relative to the working directory.
    pub path: PathBuf,
    /// How long the payload of a finished job is kept before it is erased ("0" = forever).
    #[serde(deserialize_with = "duration")]
    pub payload_retention: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            path: PathBuf::from("shopbus.db"),
            payload_retention: Duration::from_secs(30 * 86_400),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WooCommerceConfig {
    pub url: String,
    pub webhook_secret_file: PathBuf,
    #[serde(default)]
    pub consumer_key_file: Option<PathBuf>,
    #[serde(default)]
    pub consumer_secret_file: Option<PathBuf>,
    /// Interval of the poll for orders whose webhook never arrived; "0" turns it off.
    #[serde(default = "default_reconcile_interval", deserialize_with = "duration")]
    pub reconcile_interval: Duration,
    /// Most REST requests a second the bus sends to the store; 0 = no limit.
    #[serde(default = "default_requests_per_second")]
    pub requests_per_second: f64,
    /// Order status set when ERPNext submits the order's Sales Invoice.
    #[serde(default = "default_invoice_status")]
    pub invoice_status: String,
}

fn default_requests_per_second() -> f64 {
    5.0
}

/// Order statuses an issued invoice may set (WooCommerce core statuses of a live order).
pub const INVOICE_STATUSES: &[&str] = &["processing", "on-hold", "completed"];

fn default_invoice_status() -> String {
    "completed".to_string()
}

fn default_reconcile_interval() -> Duration {
    Duration::from_secs(600)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErpNextConfig {
    pub url: String,
    pub api_key_file: PathBuf,
    pub api_secret_file: PathBuf,
    #[serde(default)]
    pub webhook_secret_file: Option<PathBuf>,
    pub company: String,
    pub warehouse: String,
    #[serde(default = "default_price_list")]
    pub selling_price_list: String,
    #[serde(default = "default_customer_group")]
    pub customer_group: String,
    #[serde(default = "default_territory")]
    pub territory: String,
    pub tax_account: String,
    /// WooCommerce tax rate code or label → ERPNext account; others go to `tax_account`.
    #[serde(default)]
    pub tax_accounts: BTreeMap<String, String>,
    pub shipping_account: String,
    /// Account for fee lines; defaults to `shipping_account`.
    #[serde(default)]
    pub fee_account: Option<String>,
    pub rounding_account: String,
    #[serde(default = "default_order_prefix")]
    pub order_prefix: String,
    /// Days between the order date and the Sales Order's delivery date.
    #[serde(default = "default_delivery_lead_days")]
    pub delivery_lead_days: u32,
    #[serde(default = "default_submit_policy", deserialize_with = "submit_policy")]
    pub submit_sales_orders: SubmitPolicy,
    #[serde(default, deserialize_with = "duration")]
    pub stock_full_pass_interval: Duration,
    /// Warehouses whose Bins make up the level published to the store; default `[warehouse]`.
    #[serde(default)]
    pub stock_warehouses: Vec<String>,
    /// The formula that computes the sellable quantity from the Bins.
    #[serde(default)]
    pub stock_formula: StockFormula,
    /// How long a stock event waits before it is published, so a burst becomes one write.
    #[serde(
        default = "default_stock_coalesce_delay",
        deserialize_with = "duration"
    )]
    pub stock_coalesce_delay: Duration,
}

fn default_stock_coalesce_delay() -> Duration {
    Duration::from_secs(2)
}

/// The quantity published to WooCommerce, summed over the configured warehouses' Bins,
/// rounded down to a whole number and never below 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StockFormula {
    /// `actual_qty − reserved_qty`: what is on the shelf and not promised to a Sales Order.
    #[default]
    ActualMinusReserved,
    /// `actual_qty`: what is on the shelf.
    ActualQty,
    /// `projected_qty`: actual plus ordered, planned and requested, minus reserved.
    ProjectedQty,
}

impl ErpNextConfig {
    /// Returns the warehouses whose stock is published.
    pub fn stock_warehouses(&self) -> Vec<String> {
        if self.stock_warehouses.is_empty() {
            vec![self.warehouse.clone()]
        } else {
            self.stock_warehouses.clone()
        }
    }
}

fn default_price_list() -> String {
    "Standard Selling".to_string()
}

fn default_customer_group() -> String {
    "Individual".to_string()
}

fn default_territory() -> String {
    "All Territories".to_string()
}

fn default_order_prefix() -> String {
    "WC-".to_string()
}

fn default_delivery_lead_days() -> u32 {
    7
}

fn default_submit_policy() -> SubmitPolicy {
    SubmitPolicy::OnPayment
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Delivery worker threads.
    pub workers: usize,
    #[serde(deserialize_with = "duration")]
    pub initial_backoff: Duration,
    #[serde(deserialize_with = "duration")]
    pub max_backoff: Duration,
    /// A job still failing this long after it was received is given up.
    #[serde(deserialize_with = "duration")]
    pub give_up_after: Duration,
    pub max_attempts: u32,
    #[serde(deserialize_with = "duration")]
    pub request_timeout: Duration,
    /// Attempts that end in 401 or 403 before the job fails; the secret files are re-read between.
    pub auth_retries: u32,
    /// How often an idle worker looks for due jobs.
    #[serde(deserialize_with = "duration")]
    pub poll_interval: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            workers: 2,
            initial_backoff: Duration::from_secs(5),
            max_backoff: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(72 * 3600),
            max_attempts: 100,
            request_timeout: Duration::from_secs(30),
            auth_retries: 3,
            poll_interval: Duration::from_millis(200),
        }
    }
}

/// A configuration that cannot be loaded; the message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("invalid config file {path}:\n{}", problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        path: PathBuf,
        problems: Vec<String>,
    },
}

impl Config {
    /// Reads, parses and validates the file; every problem found is in the error.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;

        let mut config = Config::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })?;
        config.resolve_secret_paths(&secret_base(path));

        let problems = config.problems();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                problems,
            })
        }
    }

    /// Reads and parses the file without touching the secret files, for the operator commands
    /// that only need the store.
    pub fn load_without_secrets(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut config = Config::parse(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })?;
        config.resolve_secret_paths(&secret_base(path));
        Ok(config)
    }

    /// Makes relative `*_file` paths absolute against `base`.
    fn resolve_secret_paths(&mut self, base: &Path) {
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        };
        resolve(&mut self.woocommerce.webhook_secret_file);
        resolve(&mut self.erpnext.api_key_file);
        resolve(&mut self.erpnext.api_secret_file);
        for path in [
            &mut self.woocommerce.consumer_key_file,
            &mut self.woocommerce.consumer_secret_file,
            &mut self.erpnext.webhook_secret_file,
        ]
        .into_iter()
        .flatten()
        {
            resolve(path);
        }
    }

    /// Parses TOML text without validating values.
    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|error| error.to_string().trim_end().to_string())
    }

    /// Lists every invalid value and unreadable secret file, each with its key.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();

        if self.server.listen.parse::<SocketAddr>().is_err() {
            problems.push(format!(
                "server.listen: '{}' is not an address:port such as 127.0.0.1:8787",
                self.server.listen
            ));
        }
        if self.server.max_body_bytes < 1024 {
            problems.push(format!(
                "server.max_body_bytes: {} is below 1024; an order webhook is several KB",
                self.server.max_body_bytes
            ));
        }

        check_url("woocommerce.url", &self.woocommerce.url, &mut problems);
        check_url("erpnext.url", &self.erpnext.url, &mut problems);

        check_secret_file(
            "woocommerce.webhook_secret_file",
            &self.woocommerce.webhook_secret_file,
            &mut problems,
        );
        check_secret_file(
            "erpnext.api_key_file",
            &self.erpnext.api_key_file,
            &mut problems,
        );
        check_secret_file(
            "erpnext.api_secret_file",
            &self.erpnext.api_secret_file,
            &mut problems,
        );
        if let Some(path) = &self.erpnext.webhook_secret_file {
            check_secret_file("erpnext.webhook_secret_file", path, &mut problems);
        }
        match (&self.woocommerce.consumer_key_file, &self.woocommerce.consumer_secret_file) {
            (Some(key), Some(secret)) => {
                check_secret_file("woocommerce.consumer_key_file", key, &mut problems);
                check_secret_file("woocommerce.consumer_secret_file", secret, &mut problems);
            }
            (None, None) => {}
            _ => problems.push(
                "woocommerce.consumer_key_file and woocommerce.consumer_secret_file: set both or neither".to_string(),
            ),
        }
        let rate = self.woocommerce.requests_per_second;
        if rate.is_nan() || rate < 0.0 {
            problems.push(format!(
                "woocommerce.requests_per_second: {} must be 0 (no limit) or more",
                self.woocommerce.requests_per_second
            ));
        }
        if !INVOICE_STATUSES.contains(&self.woocommerce.invoice_status.as_str()) {
            problems.push(format!(
                "woocommerce.invoice_status: '{}' is not one of {}",
                self.woocommerce.invoice_status,
                INVOICE_STATUSES.join(", ")
            ));
        }

        let names = [
            ("erpnext.company", &self.erpnext.company),
            ("erpnext.warehouse", &self.erpnext.warehouse),
            (
                "erpnext.selling_price_list",
                &self.erpnext.selling_price_list,
            ),
            ("erpnext.customer_group", &self.erpnext.customer_group),
            ("erpnext.territory", &self.erpnext.territory),
            ("erpnext.tax_account", &self.erpnext.tax_account),
            ("erpnext.shipping_account", &self.erpnext.shipping_account),
            ("erpnext.rounding_account", &self.erpnext.rounding_account),
        ];
        for (key, value) in names {
            if value.trim().is_empty() {
                problems.push(format!(
                    "{key}: must name an ERPNext document, not be empty"
                ));
            }
        }

        let delivery = &self.delivery;
        if delivery.workers == 0 || delivery.workers > 64 {
            problems.push(format!(
                "delivery.workers: {} is outside 1..=64",
                delivery.workers
            ));
        }
        if delivery.initial_backoff.is_zero() {
            problems.push("delivery.initial_backoff: must be above 0".to_string());
        }
        if delivery.max_backoff < delivery.initial_backoff {
            problems.push(format!(
                "delivery.max_backoff: {} is below delivery.initial_backoff {}",
                format_duration(delivery.max_backoff),
                format_duration(delivery.initial_backoff)
            ));
        }
        if delivery.give_up_after < Duration::from_secs(60) {
            problems.push(format!(
                "delivery.give_up_after: {} is below 1m; jobs would fail at their first transient error",
                format_duration(delivery.give_up_after)
            ));
        }
        if self.store.path.is_dir() {
            problems.push(format!(
                "store.path: {} is a folder; name the database file, e.g. {}/shopbus.db",
                self.store.path.display(),
                self.store.path.display()
            ));
        }
        if delivery.max_attempts == 0 {
            problems.push("delivery.max_attempts: must be at least 1".to_string());
        }
        if delivery.request_timeout < Duration::from_millis(100) {
            problems.push(format!(
                "delivery.request_timeout: {} is below 100ms",
                format_duration(delivery.request_timeout)
            ));
        }
        if delivery.poll_interval.is_zero() {
            problems.push("delivery.poll_interval: must be above 0".to_string());
        }

        problems
    }

    /// Returns the mapping settings taken from `[erpnext]`.
    pub fn mapping_settings(&self) -> MappingSettings {
        let erpnext = &self.erpnext;
        MappingSettings {
            company: erpnext.company.clone(),
            warehouse: erpnext.warehouse.clone(),
            selling_price_list: erpnext.selling_price_list.clone(),
            customer_group: erpnext.customer_group.clone(),
            territory: erpnext.territory.clone(),
            tax_account: erpnext.tax_account.clone(),
            tax_accounts: erpnext.tax_accounts.clone(),
            shipping_account: erpnext.shipping_account.clone(),
            fee_account: erpnext
                .fee_account
                .clone()
                .unwrap_or_else(|| erpnext.shipping_account.clone()),
            rounding_account: erpnext.rounding_account.clone(),
            order_prefix: erpnext.order_prefix.clone(),
            delivery_lead_days: erpnext.delivery_lead_days,
            submit_sales_orders: erpnext.submit_sales_orders,
        }
    }
}

/// The folder relative `*_file` paths start from: systemd's `$CREDENTIALS_DIRECTORY` when the
/// service runs with `LoadCredential=`, else the config file's folder.
fn secret_base(config_path: &Path) -> PathBuf {
    if let Some(directory) = std::env::var_os("CREDENTIALS_DIRECTORY") {
        return PathBuf::from(directory);
    }
    config_path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn check_url(key: &str, value: &str, problems: &mut Vec<String>) {
    let scheme_ok = value.starts_with("https://") || value.starts_with("http://");
    let host = value.split("://").nth(1).unwrap_or("");
    if !scheme_ok || host.trim_matches('/').is_empty() {
        problems.push(format!(
            "{key}: '{value}' is not an http:// or https:// URL such as https://shop.example"
        ));
    }
}

fn check_secret_file(key: &str, path: &Path, problems: &mut Vec<String>) {
    match SecretFile::load(path) {
        Ok(_) => {}
        Err(SecretError::Empty { .. }) => problems.push(format!(
            "{key}: {} contains no secret; write the secret on one line",
            path.display()
        )),
        Err(error) => problems.push(format!("{key}: {error}")),
    }
}

/// Parses a duration such as `500ms`, `5s`, `10m`, `72h` or `7d`; a bare `0` means zero.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if text == "0" {
        return Ok(Duration::ZERO);
    }

    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("'{text}' has no unit; write it as 500ms, 5s, 10m, 72h or 7d"))?;
    let (number, unit) = text.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("'{text}' does not start with a whole number"))?;

    let millis_per_unit = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(format!(
                "'{text}' has the unit '{unit}'; use ms, s, m, h or d"
            ));
        }
    };
    value
        .checked_mul(millis_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("'{text}' is too long"))
}

/// Formats a duration in the largest unit that keeps it whole.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    let units = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "m"),
        (1_000, "s"),
    ];
    for (size, unit) in units {
        if millis >= size && millis.is_multiple_of(size) {
            return format!("{}{unit}", millis / size);
        }
    }
    format!("{millis}ms")
}

fn duration<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_duration(&text).map_err(serde::de::Error::custom)
}

fn submit_policy<'de, D: Deserializer<'de>>(deserializer: D) -> Result<SubmitPolicy, D::Error> {
    let text = String::deserialize(deserializer)?;
    match text.as_str() {
        "on_payment" => Ok(SubmitPolicy::OnPayment),
        "never" => Ok(SubmitPolicy::Never),
        other => Err(serde::de::Error::custom(format!(
            "'{other}' is not a submit policy; use \"on_payment\" or \"never\""
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duration_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("72h"), Ok(Duration::from_secs(72 * 3600)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn duration_rejects_missing_unit() {
        let error = parse_duration("30").unwrap_err();
        assert!(error.contains("no unit"), "{error}");
        let error = parse_duration("3w").unwrap_err();
        assert!(error.contains("'w'"), "{error}");
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn duration_formats_largest_whole_unit() {
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("../examples/shopbus.toml");
        let config = Config::parse(text).expect("examples/shopbus.toml must parse");
        assert_eq!(config.server.listen, "127.0.0.1:8787");
        assert_eq!(
            config.delivery.give_up_after,
            Duration::from_secs(72 * 3600)
        );
        assert_eq!(config.erpnext.order_prefix, "WC-");
    }

    #[test]
    fn unknown_key_is_rejected_with_its_name() {
        let text = include_str!("../examples/shopbus.toml")
            .replace("[delivery]", "[delivery]\nworkerz = 3");
        let error = Config::parse(&text).unwrap_err();
        assert!(error.contains("workerz"), "{error}");
    }
}
