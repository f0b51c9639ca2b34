//! Integration tests: the real `shopbus` binary against a fake ERPNext and a WooCommerce sender
//! that speak the peers' protocols.

#[path = "../support/mod.rs"]
mod support;

mod cli;
mod crash;
mod delivery;
mod erp_to_store;
mod erpnext_webhooks;
mod ingest;
mod orders;
