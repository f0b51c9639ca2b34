//! `shopbus serve`: takes the process lock, starts the store writer, the delivery workers and the
//! listener, and stops them in that reverse order on SIGTERM or SIGINT. SIGHUP re-reads the
//! secret files.

use std::future::Future;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::deliver::retry::RetryPolicy;
use crate::deliver::{StockSettings, WorkerSettings, Workers};
use crate::erpnext::ErpNextClient;
use crate::receive::{self, Metrics, ReceiveState};
use crate::schedule::{ScheduleSettings, Scheduler};
use crate::secret::SecretFile;
use crate::store::{self, writer::Writer};
use crate::woocommerce::WooClient;

/// Runs the bus until SIGTERM or SIGINT.
pub fn run(config: &Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("receive")
        .enable_all()
        .build()
        .context("could not start the async runtime")?;

    runtime.block_on(async {
        let listener = TcpListener::bind(&config.server.listen)
            .await
            .with_context(|| {
                format!(
                    "could not listen on {} (server.listen)",
                    config.server.listen
                )
            })?;
        serve(config, listener, shutdown_signal()).await
    })
}

/// Runs the bus on `listener` until `shutdown` resolves. Tests and the demo call this directly.
pub async fn serve(
    config: &Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let store_path = config.store.path.clone();
    let _lock = store::lock_exclusive(&store_path)?;

    let connection = store::open(&store_path)?;
    let released = store::release_all_leases(&connection)?;
    if released > 0 {
        log::warn!("store: released {released} job lease(s) left by an earlier process");
    }
    drop(connection);

    let woocommerce_secrets = SecretFile::load(&config.woocommerce.webhook_secret_file)?;
    let api_key = SecretFile::load(&config.erpnext.api_key_file)?;
    let api_secret = SecretFile::load(&config.erpnext.api_secret_file)?;
    let erp = Arc::new(ErpNextClient::new(
        &config.erpnext.url,
        api_key,
        api_secret,
        config.delivery.request_timeout,
    ));

    let woo = woo_client(config)?.map(Arc::new);
    let erpnext_secrets = match &config.erpnext.webhook_secret_file {
        Some(path) => Some(SecretFile::load(path)?),
        None => None,
    };

    let (writer, writer_thread) = Writer::start(&store_path)?;
    let workers = Workers::start(
        worker_settings(config),
        erp.clone(),
        woo.clone(),
        &start_id(),
    )?;
    let scheduler = Scheduler::start(
        ScheduleSettings {
            store_path: store_path.clone(),
            reconcile_interval: config.woocommerce.reconcile_interval,
            full_pass_interval: config.erpnext.stock_full_pass_interval,
        },
        woo.clone(),
    )?;

    let state = Arc::new(ReceiveState {
        writer,
        woocommerce_secrets: woocommerce_secrets.clone(),
        erpnext_secrets: erpnext_secrets.clone(),
        stock_coalesce_millis: i64::try_from(config.erpnext.stock_coalesce_delay.as_millis())
            .unwrap_or(i64::MAX / 4),
        max_body_bytes: config.server.max_body_bytes,
        store_path: store_path.clone(),
        metrics: Metrics::default(),
        reader: Mutex::new(None),
    });
    let mut secret_files = vec![woocommerce_secrets];
    secret_files.extend(erpnext_secrets);
    let reloader = tokio::spawn(reload_on_hangup(secret_files, erp, woo));

    let address = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    log::info!(
        "serve: listening on {address}, store {}, ERPNext {}",
        store_path.display(),
        config.erpnext.url
    );
    receive::serve(listener, state, shutdown).await;

    reloader.abort();
    tokio::task::spawn_blocking(move || {
        let _ = writer_thread.join();
        scheduler.stop_and_join();
        workers.stop_and_join();
    })
    .await
    .context("shutdown task failed")?;

    log::info!("serve: stopped");
    Ok(())
}

fn worker_settings(config: &Config) -> WorkerSettings {
    WorkerSettings {
        store_path: config.store.path.clone(),
        workers: config.delivery.workers,
        poll_interval: config.delivery.poll_interval,
        request_timeout: config.delivery.request_timeout,
        policy: RetryPolicy::from_config(&config.delivery),
        mapping: config.mapping_settings(),
        stock: StockSettings {
            warehouses: config.erpnext.stock_warehouses(),
            formula: config.erpnext.stock_formula,
        },
        invoice_status: config.woocommerce.invoice_status.clone(),
        payload_retention: config.store.payload_retention,
    }
}

/// Builds the WooCommerce REST client when the consumer key and secret files are configured.
pub fn woo_client(config: &Config) -> anyhow::Result<Option<WooClient>> {
    let (Some(key), Some(secret)) = (
        &config.woocommerce.consumer_key_file,
        &config.woocommerce.consumer_secret_file,
    ) else {
        return Ok(None);
    };
    Ok(Some(WooClient::new(
        &config.woocommerce.url,
        SecretFile::load(key)?,
        SecretFile::load(secret)?,
        config.delivery.request_timeout,
        config.woocommerce.requests_per_second,
    )))
}

/// Returns an id for this process start, part of every lease owner it writes.
fn start_id() -> String {
    format!("{}-{:08x}", std::process::id(), rand::random::<u32>())
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};

    let (Ok(mut terminate), Ok(mut interrupt)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        log::error!("serve: could not install signal handlers; stop the process with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = terminate.recv() => log::info!("serve: SIGTERM received, shutting down"),
        _ = interrupt.recv() => log::info!("serve: SIGINT received, shutting down"),
    }
}

/// Re-reads the secret files on every SIGHUP.
async fn reload_on_hangup(
    webhook_files: Vec<SecretFile>,
    erp: Arc<ErpNextClient>,
    woo: Option<Arc<WooClient>>,
) {
    use tokio::signal::unix::{SignalKind, signal};

    let Ok(mut hangup) = signal(SignalKind::hangup()) else {
        log::error!("serve: could not install the SIGHUP handler; restart to rotate secrets");
        return;
    };
    while hangup.recv().await.is_some() {
        for file in &webhook_files {
            match file.reload() {
                Ok(count) => log::info!(
                    "serve: SIGHUP: re-read {} ({count} secret(s))",
                    file.path().display()
                ),
                Err(error) => {
                    log::error!("serve: SIGHUP: {error}; the secrets loaded before stay in force")
                }
            }
        }
        erp.reload_credentials();
        if let Some(woo) = &woo {
            woo.reload_credentials();
        }
    }
}
