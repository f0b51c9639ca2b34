//! Test support: the fake ERPNext, a WooCommerce webhook sender, sample orders and a driver for
//! the real `shopbus` binary. Each test binary uses part of it.
#![allow(dead_code)]

pub mod bus;
pub mod fake_erpnext;
pub mod orders;
pub mod woo;
