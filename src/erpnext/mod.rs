//! The ERPNext peer: the documents the bus writes and the REST client that writes them.

pub mod client;
pub mod documents;
pub mod error;

pub use client::ErpNextClient;
