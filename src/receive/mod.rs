//! The webhook listener: a minimal hyper HTTP/1 server that verifies, size-checks and parses each
//! webhook and answers only after the store has committed its job.
//!
//! It never calls a peer. Neither WooCommerce nor Frappe redelivers a webhook that failed for
//! long, so this path answers 2xx for everything it can keep, including pings and topics the bus
//! does not handle.

mod erpnext;
mod routes;
pub mod signature;
mod woocommerce;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

pub use erpnext::{INVOICE_TOPIC, STOCK_TOPIC, classify as classify_erpnext_webhook};
pub use routes::{Metrics, ReceiveState};
pub use woocommerce::{TOPICS as WOOCOMMERCE_TOPICS, order_modified, order_skus};

/// How long open connections may take to finish after shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a client may take to send the request headers. WooCommerce and Frappe send a whole
/// request at once, so a slow one is a stuck or hostile client.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Open connections at most; further ones wait in the kernel's accept queue, so a flood of idle
/// connections cannot use up the process's file descriptors.
const MAX_CONNECTIONS: usize = 512;

/// Minimum time between two log lines about failed accepts.
const ACCEPT_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(5);

/// Accepts connections until `shutdown` resolves, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    state: Arc<ReceiveState>,
    shutdown: impl Future<Output = ()>,
) {
    let (stop_sender, stop_receiver) = watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut accept_errors = 0u64;
    let mut last_accept_log: Option<std::time::Instant> = None;
    tokio::pin!(shutdown);

    loop {
        let next = async {
            let permit = permits.clone().acquire_owned().await;
            (permit, listener.accept().await)
        };
        tokio::select! {
            (permit, accepted) = next => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    let state = state.clone();
                    let stop = stop_receiver.clone();
                    connections.spawn(async move {
                        serve_connection(stream, state, stop).await;
                        drop(permit);
                    });
                }
                Err(error) => {
                    accept_errors += 1;
                    if last_accept_log.is_none_or(|at| at.elapsed() >= ACCEPT_ERROR_LOG_INTERVAL) {
                        log::warn!("receive: accept failed ({accept_errors} time(s) so far): {error}");
                        last_accept_log = Some(std::time::Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            () = &mut shutdown => break,
        }
    }

    drop(listener);
    let _ = stop_sender.send(true);
    log::info!(
        "receive: stopped accepting; {} connection(s) open",
        connections.len()
    );

    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
        log::warn!("receive: connections still open after {DRAIN_TIMEOUT:?}; closing them");
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    state: Arc<ReceiveState>,
    mut stop: watch::Receiver<bool>,
) {
    let service = service_fn(move |request| {
        let state = state.clone();
        async move { Ok::<_, std::convert::Infallible>(routes::route(request, &state).await) }
    });
    let connection = http1::Builder::new()
        .keep_alive(true)
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);

    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                log::debug!("receive: connection ended with error: {error}");
            }
            return;
        }
        _ = stop.wait_for(|stopped| *stopped) => {}
    }

    connection.as_mut().graceful_shutdown();
    if let Err(error) = connection.await {
        log::debug!("receive: connection ended with error during shutdown: {error}");
    }
}
