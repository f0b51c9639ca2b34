//! The WooCommerce peer: its order payload.

pub mod order;
