//! The webhook listener: a minimal hyper HTTP/1 server that verifies, size-checks and parses each
//! webhook and answers only after the store has committed its job.
//!
//! It never calls a peer. WooCommerce does not redeliver a webhook that failed, so this path
//! answers 2xx for everything it can keep, including pings and topics the bus does not handle.

mod routes;
pub mod signature;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use routes::{Metrics, ReceiveState};

/// How long open connections may take to finish after shutdown begins.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Accepts connections until `shutdown` resolves, then lets open requests finish.
pub async fn serve(
    listener: TcpListener,
    state: Arc<ReceiveState>,
    shutdown: impl Future<Output = ()>,
) {
    let (stop_sender, stop_receiver) = watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);

    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    let _ = stream.set_nodelay(true);
                    let state = state.clone();
                    let stop = stop_receiver.clone();
                    connections.spawn(serve_connection(stream, state, stop));
                }
                Err(error) => {
                    log::warn!("receive: accept failed: {error}");
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
