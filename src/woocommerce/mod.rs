//! The WooCommerce peer: its order payload and the REST client that reads orders and writes
//! stock, order statuses and notes.

pub mod client;
pub mod error;
mod oauth;
pub mod order;
mod rate_limit;

pub use client::{Authentication, WooClient};
