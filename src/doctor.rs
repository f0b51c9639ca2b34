//! `shopbus doctor`: checks both peers with the configured credentials and prints one line per
//! check, with what to do when it fails. Warnings (such as an ERPNext user that can read
//! financial documents the bus never needs) do not fail the run.

use std::fmt;

use serde_json::{Value, json};

use crate::config::Config;
use crate::erpnext::ErpNextClient;
use crate::peer::PeerError;
use crate::secret::SecretFile;
use crate::woocommerce::WooClient;

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Clone)]
pub struct Check {
    pub verdict: Verdict,
    pub message: String,
}

impl fmt::Display for Check {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let label = match self.verdict {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        };
        write!(formatter, "{label}  {}", self.message)
    }
}

fn ok(message: impl Into<String>) -> Check {
    Check {
        verdict: Verdict::Ok,
        message: message.into(),
    }
}

fn warn(message: impl Into<String>) -> Check {
    Check {
        verdict: Verdict::Warn,
        message: message.into(),
    }
}

fn fail(message: impl Into<String>) -> Check {
    Check {
        verdict: Verdict::Fail,
        message: message.into(),
    }
}

/// Financial documents the bus never reads; a token that can read them has more rights than
/// it needs.
const FINANCIAL_DOCTYPES: &[&str] = &["GL Entry", "Payment Entry", "Journal Entry"];

/// Runs every check and returns them in order.
pub fn run(config: &Config) -> Vec<Check> {
    let mut checks = Vec::new();
    erpnext_checks(config, &mut checks);
    woocommerce_checks(config, &mut checks);
    checks
}

fn erpnext_checks(config: &Config, checks: &mut Vec<Check>) {
    let erp = &config.erpnext;
    let (key, secret) = match (
        SecretFile::load(&erp.api_key_file),
        SecretFile::load(&erp.api_secret_file),
    ) {
        (Ok(key), Ok(secret)) => (key, secret),
        (Err(error), _) | (_, Err(error)) => {
            checks.push(fail(format!("ERPNext credentials: {error}")));
            return;
        }
    };
    let client = ErpNextClient::new(&erp.url, key, secret, config.delivery.request_timeout);

    match client.call_get("frappe.auth.get_logged_user") {
        Ok(user) => checks.push(ok(format!(
            "ERPNext {} answers; signed in as {}",
            erp.url,
            user.as_str().unwrap_or("?")
        ))),
        Err(error) => {
            checks.push(fail(format!(
                "ERPNext {}: {error}; {}",
                erp.url,
                advice_for(&error, "erpnext.api_key_file and erpnext.api_secret_file")
            )));
            return;
        }
    }

    let mut documents = vec![
        ("Company", erp.company.clone(), "erpnext.company"),
        ("Warehouse", erp.warehouse.clone(), "erpnext.warehouse"),
        (
            "Price List",
            erp.selling_price_list.clone(),
            "erpnext.selling_price_list",
        ),
        (
            "Customer Group",
            erp.customer_group.clone(),
            "erpnext.customer_group",
        ),
        ("Territory", erp.territory.clone(), "erpnext.territory"),
    ];
    for warehouse in erp.stock_warehouses() {
        if warehouse != erp.warehouse {
            documents.push(("Warehouse", warehouse, "erpnext.stock_warehouses"));
        }
    }
    for (doctype, name, key) in documents {
        checks.push(document_check(&client, doctype, &name, key));
    }

    for (name, key, expected) in accounts(config) {
        checks.push(account_check(&client, &name, &key, expected, &erp.company));
    }

    for doctype in FINANCIAL_DOCTYPES {
        match client.list_page(doctype, &["name"], &json!([]), 1) {
            Ok(_) => checks.push(warn(format!(
                "the ERPNext user can read {doctype}, which the bus never needs; give it only the Sales and Stock roles the README lists"
            ))),
            Err(error) if matches!(error.http_status, Some(403)) => {
                checks.push(ok(format!("the ERPNext user cannot read {doctype}")))
            }
            Err(error) => checks.push(warn(format!("could not tell whether the ERPNext user can read {doctype}: {error}"))),
        }
    }

    if erp.webhook_secret_file.is_some() {
        frappe_webhook_checks(&client, checks);
    } else {
        checks.push(warn(
            "erpnext.webhook_secret_file is not set: ERPNext webhooks are rejected, so stock levels and invoices do not reach the store",
        ));
    }
}

/// Each configured account, its key and the account types it may have.
fn accounts(config: &Config) -> Vec<(String, String, &'static [&'static str])> {
    const TAX: &[&str] = &["Tax", "Chargeable"];
    const CHARGE: &[&str] = &["Chargeable", "Income Account", "Expense Account", "Tax", ""];
    const ROUND: &[&str] = &[
        "Round Off",
        "Chargeable",
        "Expense Account",
        "Income Account",
        "",
    ];
    let erp = &config.erpnext;

    let mut accounts = vec![
        (
            erp.tax_account.clone(),
            "erpnext.tax_account".to_string(),
            TAX,
        ),
        (
            erp.shipping_account.clone(),
            "erpnext.shipping_account".to_string(),
            CHARGE,
        ),
        (
            erp.rounding_account.clone(),
            "erpnext.rounding_account".to_string(),
            ROUND,
        ),
    ];
    if let Some(fee) = &erp.fee_account {
        accounts.push((fee.clone(), "erpnext.fee_account".to_string(), CHARGE));
    }
    for (code, account) in &erp.tax_accounts {
        accounts.push((
            account.clone(),
            format!("erpnext.tax_accounts.{code:?}"),
            TAX,
        ));
    }
    accounts
}

fn document_check(client: &ErpNextClient, doctype: &str, name: &str, key: &str) -> Check {
    match client.get(doctype, name) {
        Ok(Some(_)) => ok(format!("{doctype} {name:?} exists ({key})")),
        Ok(None) => fail(format!(
            "{doctype} {name:?} does not exist in ERPNext; create it or fix {key}"
        )),
        Err(error) => fail(format!(
            "could not read {doctype} {name:?} ({key}): {error}"
        )),
    }
}

/// A Sales Order accepts any account in an Actual tax row, so the bus checks the type itself.
fn account_check(
    client: &ErpNextClient,
    name: &str,
    key: &str,
    expected: &[&str],
    company: &str,
) -> Check {
    let account = match client.get("Account", name) {
        Ok(Some(account)) => account,
        Ok(None) => {
            return fail(format!(
                "Account {name:?} does not exist in ERPNext; create it or fix {key}"
            ));
        }
        Err(error) => return fail(format!("could not read Account {name:?} ({key}): {error}")),
    };

    let text = |field: &str| {
        account
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    if account.get("is_group").and_then(Value::as_i64) == Some(1) {
        return fail(format!(
            "Account {name:?} ({key}) is a group; name a ledger account under it"
        ));
    }
    if !text("company").is_empty() && text("company") != company {
        return fail(format!(
            "Account {name:?} ({key}) belongs to {:?}, not erpnext.company {company:?}",
            text("company")
        ));
    }
    let account_type = text("account_type");
    if !expected.contains(&account_type.as_str()) {
        return fail(format!(
            "Account {name:?} ({key}) has the type {account_type:?}; use an account of type {}",
            expected
                .iter()
                .filter(|t| !t.is_empty())
                .map(|t| format!("{t:?}"))
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    ok(format!(
        "Account {name:?} exists with type {account_type:?} ({key})"
    ))
}

fn frappe_webhook_checks(client: &ErpNextClient, checks: &mut Vec<Check>) {
    let fields = [
        "name",
        "webhook_doctype",
        "webhook_docevent",
        "request_url",
        "enabled",
    ];
    let webhooks = match client.list("Webhook", &fields, &json!([])) {
        Ok(webhooks) => webhooks,
        Err(error) if error.http_status == Some(403) => {
            checks.push(warn(
                "the ERPNext user may not read Webhook documents (only System Manager may, which the bus does not need); \
                 check in ERPNext that the Stock Ledger Entry and Sales Invoice webhooks point at /webhooks/erpnext",
            ));
            return;
        }
        Err(error) => {
            checks.push(fail(format!("could not list the Frappe Webhooks: {error}")));
            return;
        }
    };
    for (doctype, event) in [
        ("Stock Ledger Entry", "after_insert"),
        ("Sales Invoice", "on_submit"),
    ] {
        let found = webhooks.iter().any(|webhook| {
            webhook["webhook_doctype"] == doctype
                && webhook["webhook_docevent"] == event
                && webhook["enabled"].as_i64() == Some(1)
                && webhook["request_url"]
                    .as_str()
                    .is_some_and(|url| url.ends_with("/webhooks/erpnext"))
        });
        if found {
            checks.push(ok(format!(
                "Frappe Webhook for {doctype} {event} points at /webhooks/erpnext and is enabled"
            )));
        } else {
            checks.push(fail(format!(
                "no enabled Frappe Webhook for {doctype} {event} points at /webhooks/erpnext; create it as the README shows"
            )));
        }
    }
}

fn woocommerce_checks(config: &Config, checks: &mut Vec<Check>) {
    let woo = match crate::serve::woo_client(config) {
        Ok(Some(woo)) => woo,
        Ok(None) => {
            checks.push(warn(
                "woocommerce.consumer_key_file and consumer_secret_file are not set: stock levels, invoice status and reconciliation are off",
            ));
            return;
        }
        Err(error) => {
            checks.push(fail(format!("WooCommerce credentials: {error:#}")));
            return;
        }
    };
    woocommerce_webhook_checks(&woo, &config.woocommerce.url, checks);
}

fn woocommerce_webhook_checks(woo: &WooClient, url: &str, checks: &mut Vec<Check>) {
    let webhooks = match woo.webhooks() {
        Ok(webhooks) => {
            checks.push(ok(format!(
                "WooCommerce {url} answers; REST API keys accepted"
            )));
            webhooks
        }
        Err(error) => {
            checks.push(fail(format!(
                "WooCommerce {url}: {error}; {}",
                advice_for(
                    &error,
                    "woocommerce.consumer_key_file and consumer_secret_file (Read/Write keys)"
                )
            )));
            return;
        }
    };

    for topic in crate::receive::WOOCOMMERCE_TOPICS {
        let pointing: Vec<&Value> = webhooks
            .iter()
            .filter(|webhook| {
                webhook["topic"] == *topic
                    && webhook["delivery_url"]
                        .as_str()
                        .is_some_and(|url| url.ends_with("/webhooks/woocommerce"))
            })
            .collect();
        let active = pointing.iter().any(|webhook| webhook["status"] == "active");
        let check = match (pointing.is_empty(), active) {
            (true, _) => fail(format!(
                "no WooCommerce webhook for {topic} points at /webhooks/woocommerce; add it in WooCommerce > Settings > Advanced > Webhooks"
            )),
            (false, false) => fail(format!(
                "the WooCommerce webhook for {topic} is {}; WooCommerce disables a webhook after repeated failures: set it to Active",
                pointing[0]["status"].as_str().unwrap_or("not active")
            )),
            (false, true) => ok(format!(
                "WooCommerce webhook for {topic} points at /webhooks/woocommerce and is active"
            )),
        };
        checks.push(check);
    }
}

fn advice_for(error: &PeerError, keys: &str) -> String {
    match error.http_status {
        Some(401 | 403) => format!("check {keys} and the user's roles"),
        Some(_) => "check the URL and the server's logs".to_string(),
        None => "check the URL, DNS and the firewall".to_string(),
    }
}
