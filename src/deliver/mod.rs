//! Delivery: worker threads that lease due jobs, run their stages against the peers and record
//! every attempt. The retry policy (`retry`) is pure; this module only applies it.

mod context;
mod customer;
mod invoice;
mod order;
pub mod retry;
mod stock;
mod worker;

pub use context::{JobError, JobSuccess};
pub use stock::StockSettings;
pub use worker::{FULL_PASS_TOPIC, WorkerSettings, Workers};
