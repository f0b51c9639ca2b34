//! shopbus: a durable data bus between a WooCommerce store and an ERPNext instance.
//!
//! Webhooks are verified and committed to a SQLite job table (`receive`, `store`) before they are
//! answered; delivery workers (`deliver`) then write them to the other peer (`erpnext`) through
//! pure mapping code (`mapping`), retrying with backoff until the peer accepts or rejects them.

pub mod cli;
pub mod config;
pub mod deliver;
pub mod doctor;
pub mod erpnext;
pub mod logging;
pub mod mapping;
pub mod peer;
pub mod receive;
pub mod reconcile;
pub mod schedule;
pub mod secret;
pub mod serve;
pub mod store;
pub mod woocommerce;
