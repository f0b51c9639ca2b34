//! Test support: the fake ERPNext, the fake WooCommerce REST API, WooCommerce and Frappe webhook
//! senders, sample orders and a driver for the real `shopbus` binary. Each test binary uses part
//! of it.
#![allow(dead_code)]

pub mod bus;
pub mod fake_erpnext;
pub mod fake_woocommerce;
pub mod frappe;
pub mod orders;
pub mod woo;
