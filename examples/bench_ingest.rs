//! Ingest benchmark: signed WooCommerce order webhooks against the release `shopbus` binary and
//! against a hyper hello-world server, over loopback, at several connection counts.
//!
//! Run it with `cargo build --release && cargo run --release --example bench_ingest`, and see
//! `docs/benchmarks.md` for the method and the recorded results. The benchmark starts its own
//! bus (on a temporary store) and its own hello-world server (this executable with `--hello`),
//! sends traffic only to 127.0.0.1, and stops both at the end.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use sha2::Sha256;
use tokio::net::TcpStream;

/// Webhook secret of the benchmark's WooCommerce, written to the bus's secret file.
const WEBHOOK_SECRET: &str = "bench_webhook_secret_0123456789";

/// Order id of the first pre-built webhook. Each later webhook adds 1.
const FIRST_ORDER_ID: u64 = 1_000_000;

/// A value that the order template never contains, replaced by each webhook's order id.
const ORDER_ID_MARKER: &str = "987654321987654321";

/// Body of every hello-world response. It is as long as a bus response with a six-digit job id.
const HELLO_BODY: &[u8] = br#"{"job_id":100000,"duplicate":false}"#;

/// A request without a response for this long counts as an error and its connection is replaced.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Reconnections one load connection may make after I/O errors before it gives up.
const MAX_RECONNECTS: u32 = 3;

/// Distinct error messages kept per run. Further distinct messages are counted as "other errors".
const MAX_ERROR_KINDS: usize = 20;

/// Maximum size of a response head that the load generator accepts, in bytes.
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// How long the bus and the hello-world server may take to start or stop.
const PROCESS_TIMEOUT: Duration = Duration::from_secs(30);

/// Measures durable webhook ingest of shopbus against a hyper hello-world server on 127.0.0.1.
#[derive(Debug, Parser)]
#[command(name = "bench_ingest")]
struct Options {
    /// Measured seconds of each run, after its warm-up (at most 600).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,

    /// Warm-up seconds at the start of each run. Responses in them are checked but not measured.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,

    /// Connection counts to run, comma-separated, each from 1 to 1024. Each connection has one
    /// request in flight.
    #[arg(long, value_delimiter = ',', default_values_t = [1, 16, 64])]
    connections: Vec<usize>,

    /// The shopbus binary [default: `shopbus` two folders above this executable, which is
    /// target/release/shopbus for target/release/examples/bench_ingest].
    #[arg(long)]
    bus: Option<PathBuf>,

    /// WooCommerce order (JSON) that every webhook body copies, with its own order id.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/orders/01-variation-shipping.json"))]
    order: PathBuf,

    /// Signed webhooks built before the first run (at most 2000000). The bus runs share them,
    /// and a bus run ends early when none is left.
    #[arg(long, default_value_t = 500_000)]
    requests: usize,

    /// Worker threads of the load generator's tokio runtime (1 to 64).
    #[arg(long, default_value_t = 2)]
    client_threads: usize,

    /// Stub behind the bus's ERPNext address while the benchmark runs.
    #[arg(long, value_enum, default_value_t = ErpnextStub::Stalled)]
    erpnext: ErpnextStub,

    /// Folder for the temporary store and config [default: the system's temporary folder].
    #[arg(long)]
    temp_dir: Option<PathBuf>,

    /// Run as the hello-world server; the benchmark starts itself this way.
    #[arg(long, hide = true)]
    hello: bool,
}

/// The ERPNext the bus's single delivery worker talks to during the measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ErpnextStub {
    /// A listener of this benchmark that accepts and never responds, so the worker waits on its
    /// first job for the whole measurement and delivery is idle.
    Stalled,
    /// 127.0.0.1:9, where nothing listens: every new job is due at once, so the worker claims
    /// each one, fails to connect and records a retry, writing to the store as it goes.
    Refused,
}

impl ErpnextStub {
    fn name(self) -> &'static str {
        match self {
            ErpnextStub::Stalled => "stalled",
            ErpnextStub::Refused => "refused",
        }
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let result = if options.hello {
        run_hello_server()
    } else {
        run_benchmark(&options)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench_ingest: {error:#}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The benchmark

fn run_benchmark(options: &Options) -> anyhow::Result<()> {
    let settings = RunSettings::from_options(options)?;
    if cfg!(debug_assertions) {
        eprintln!(
            "bench_ingest: WARNING: this is a debug build; the load generator is slow, use --release"
        );
    }

    let bus_path = bus_binary(options)?;

    let template = OrderTemplate::load(&options.order)?;
    let build_started = Instant::now();
    let pool = Arc::new(build_requests(&template, options.requests));
    eprintln!(
        "bench_ingest: built {} signed webhooks of {} bytes each in {:.1} s",
        pool.len(),
        template.body_len(FIRST_ORDER_ID),
        build_started.elapsed().as_secs_f64()
    );

    let temp_dir = match &options.temp_dir {
        Some(parent) => tempfile::tempdir_in(parent),
        None => tempfile::tempdir(),
    }
    .context("could not create the temporary folder for the bus's store")?;

    let mut erpnext = match options.erpnext {
        ErpnextStub::Stalled => Some(StalledErpnext::start()?),
        ErpnextStub::Refused => None,
    };
    let erpnext_url = match &erpnext {
        Some(stub) => format!("http://{}", stub.address),
        None => "http://127.0.0.1:9".to_string(),
    };
    let config_path = write_bus_config(temp_dir.path(), &erpnext_url)?;
    let mut bus = ServerProcess::start_bus(&bus_path, &config_path)?;
    let mut hello = ServerProcess::start_hello()?;
    eprintln!(
        "bench_ingest: bus {} (pid {}) on {}, store {}; hello-world (pid {}) on {}; ERPNext {}",
        bus_path.display(),
        bus.pid(),
        bus.address,
        temp_dir.path().join("shopbus.db").display(),
        hello.pid(),
        hello.address,
        erpnext_url
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.client_threads)
        .enable_all()
        .build()
        .context("could not start the load generator's runtime")?;

    let bus_cursor = Arc::new(AtomicUsize::new(0));
    let mut results = Vec::new();
    for &connections in &options.connections {
        for target in [Target::Bus, Target::Hello] {
            let server = match target {
                Target::Bus => &bus,
                Target::Hello => &hello,
            };
            let run = RunSpec {
                target,
                address: server.address,
                server_pid: server.pid(),
                connections,
                warmup: settings.warmup,
                duration: settings.duration,
            };
            let result = runtime.block_on(run_load(&run, pool.clone(), bus_cursor.clone()));
            eprintln!("bench_ingest: {}", result.summary());
            results.push(result);
        }
    }

    let store_jobs = runtime.block_on(count_store_jobs(bus.address));
    let bus_memory = read_memory(bus.pid());
    let hello_memory = read_memory(hello.pid());

    hello.kill();
    let bus_exit = bus.terminate(erpnext.as_mut())?;
    if let Some(stub) = erpnext.as_mut() {
        stub.stop();
    }

    let report = Report {
        settings: &settings,
        options,
        body_bytes: template.body_len(FIRST_ORDER_ID),
        pool_len: pool.len(),
        results: &results,
        store_jobs,
        bus_memory,
        hello_memory,
        bus_exit,
        bus_log: bus.log_summary(),
    };
    println!("{}", report.markdown());
    report.verdict()
}

/// Validated durations of each run.
struct RunSettings {
    warmup: Duration,
    duration: Duration,
}

impl RunSettings {
    fn from_options(options: &Options) -> anyhow::Result<RunSettings> {
        if !(options.duration > 0.0 && options.duration <= 600.0) {
            bail!(
                "--duration {} is outside (0, 600] seconds",
                options.duration
            );
        }
        if !(options.warmup >= 0.0 && options.warmup <= 600.0) {
            bail!("--warmup {} is outside [0, 600] seconds", options.warmup);
        }
        if options.connections.is_empty()
            || options
                .connections
                .iter()
                .any(|&count| count == 0 || count > 1024)
        {
            bail!(
                "--connections {:?}: each count must be in 1..=1024",
                options.connections
            );
        }
        if options.client_threads == 0 || options.client_threads > 64 {
            bail!(
                "--client-threads {} is outside 1..=64",
                options.client_threads
            );
        }
        if options.requests == 0 || options.requests > 2_000_000 {
            bail!("--requests {} is outside 1..=2000000", options.requests);
        }
        Ok(RunSettings {
            warmup: Duration::from_secs_f64(options.warmup),
            duration: Duration::from_secs_f64(options.duration),
        })
    }
}

/// Returns `--bus`, or else `target/<profile>/shopbus` for
/// `target/<profile>/examples/bench_ingest`, and checks that the file exists.
fn bus_binary(options: &Options) -> anyhow::Result<PathBuf> {
    let path = match &options.bus {
        Some(path) => path.clone(),
        None => {
            let executable =
                std::env::current_exe().context("could not find this executable's path")?;
            let profile_dir = executable
                .parent()
                .and_then(Path::parent)
                .with_context(|| {
                    format!(
                        "{} has no folder two levels up; pass --bus PATH",
                        executable.display()
                    )
                })?;
            profile_dir.join("shopbus")
        }
    };
    if !path.is_file() {
        bail!(
            "shopbus binary not found at {}; run `cargo build --release` first or pass --bus PATH",
            path.display()
        );
    }
    Ok(path)
}

/// Writes the bus's config and secret files into `dir` and returns the config path.
///
/// One delivery worker, an hour of backoff and a 10-minute request timeout keep delivery from
/// competing with ingest. `ErpnextStub` describes what the worker does with each stub. The
/// reconciliation poll is off, so the bus does nothing but ingest while it is measured.
fn write_bus_config(dir: &Path, erpnext_url: &str) -> anyhow::Result<PathBuf> {
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text)
            .with_context(|| format!("could not write {}", dir.join(name).display()))
    };
    write("woo_webhook", &format!("{WEBHOOK_SECRET}\n"))?;
    write("erp_key", "bench_api_key")?;
    write("erp_secret", "bench_api_secret")?;

    let config = format!(
        r#"[server]
listen = "127.0.0.1:0"
max_body_bytes = 1048576

[store]
path = "{store}"

[woocommerce]
url = "http://127.0.0.1:9"
webhook_secret_file = "woo_webhook"
reconcile_interval = "0"

[erpnext]
url = "{erpnext_url}"
api_key_file = "erp_key"
api_secret_file = "erp_secret"
company = "Bench Shop"
warehouse = "Stores - BS"
tax_account = "VAT - BS"
shipping_account = "Freight and Forwarding Charges - BS"
rounding_account = "Round Off - BS"

[delivery]
workers = 1
initial_backoff = "1h"
max_backoff = "1h"
give_up_after = "72h"
max_attempts = 20
request_timeout = "10m"
poll_interval = "200ms"
"#,
        store = dir.join("shopbus.db").display(),
    );
    let path = dir.join("shopbus.toml");
    write("shopbus.toml", &config)?;
    Ok(path)
}

// ---------------------------------------------------------------------------------------------
// Server processes

/// A child process serving HTTP on `address`, killed when dropped.
struct ServerProcess {
    child: Option<Child>,
    pid: u32,
    address: SocketAddr,
    log: Arc<Mutex<LogTail>>,
    /// The thread that reads the log. It ends when the process closes its output.
    log_reader: Option<std::thread::JoinHandle<()>>,
}

/// The last lines of a child's log and counts of its warning and error lines.
#[derive(Default)]
struct LogTail {
    last_lines: Vec<String>,
    warnings: u64,
    errors: u64,
    /// The first `LOG_PROBLEM_LINES` warning lines.
    first_warnings: Vec<String>,
    /// The first `LOG_PROBLEM_LINES` error lines.
    first_errors: Vec<String>,
}

const LOG_TAIL_LINES: usize = 20;
const LOG_PROBLEM_LINES: usize = 3;

impl LogTail {
    fn push(&mut self, line: String) {
        let warning = line.contains(" WARN ");
        let error = line.contains(" ERROR ");
        self.warnings += u64::from(warning);
        self.errors += u64::from(error);
        if warning && self.first_warnings.len() < LOG_PROBLEM_LINES {
            self.first_warnings.push(line.clone());
        }
        if error && self.first_errors.len() < LOG_PROBLEM_LINES {
            self.first_errors.push(line.clone());
        }
        if self.last_lines.len() == LOG_TAIL_LINES {
            self.last_lines.remove(0);
        }
        self.last_lines.push(line);
    }
}

impl ServerProcess {
    /// Starts `shopbus serve` and waits for its `listening on ADDR,` log line.
    fn start_bus(binary: &Path, config: &Path) -> anyhow::Result<ServerProcess> {
        let mut command = Command::new(binary);
        command
            .arg("--config")
            .arg(config)
            .arg("serve")
            .env("SHOPBUS_LOG", "info")
            .env_remove("JOURNAL_STREAM")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .with_context(|| format!("could not start {}", binary.display()))?;
        let stderr = child
            .stderr
            .take()
            .context("the bus's stderr is not piped")?;
        ServerProcess::wait_for_address(child, BufReader::new(stderr), "shopbus")
    }

    /// Starts this executable with `--hello` and waits for its `listening on ADDR,` line.
    /// The server exits when its stdin closes, so it cannot outlive the benchmark.
    fn start_hello() -> anyhow::Result<ServerProcess> {
        let executable =
            std::env::current_exe().context("could not find this executable's path")?;
        let mut child = Command::new(&executable)
            .arg("--hello")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("could not start {} --hello", executable.display()))?;
        let stdout = child
            .stdout
            .take()
            .context("the hello-world server's stdout is not piped")?;
        ServerProcess::wait_for_address(child, BufReader::new(stdout), "hello-world server")
    }

    /// Reads `output` on a thread until the `listening on ADDR,` line, keeping the log's tail.
    fn wait_for_address(
        child: Child,
        output: impl BufRead + Send + 'static,
        name: &str,
    ) -> anyhow::Result<ServerProcess> {
        let log = Arc::new(Mutex::new(LogTail::default()));
        let (sender, receiver) = mpsc::channel();
        let thread_log = log.clone();
        let log_reader = std::thread::spawn(move || {
            for line in output.lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let address = rest
                        .split(',')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_string();
                    let _ = sender.send(address);
                }
                thread_log
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner())
                    .push(line);
            }
        });

        let pid = child.id();
        let mut process = ServerProcess {
            child: Some(child),
            pid,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
            log,
            log_reader: Some(log_reader),
        };
        let address = receiver.recv_timeout(PROCESS_TIMEOUT).map_err(|_| {
            anyhow::anyhow!(
                "the {name} did not log `listening on ADDR,` within {PROCESS_TIMEOUT:?}; its last lines:\n{}",
                process.log_lines()
            )
        })?;
        process.address = address.parse().with_context(|| {
            format!("the {name} logged an invalid listening address '{address}'")
        })?;
        Ok(process)
    }

    fn pid(&self) -> u32 {
        self.pid
    }

    fn log_lines(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .last_lines
            .join("\n")
    }

    fn log_summary(&self) -> LogSummary {
        let log = self.log.lock().unwrap_or_else(|poison| poison.into_inner());
        LogSummary {
            warnings: log.warnings,
            errors: log.errors,
            first_warnings: log.first_warnings.clone(),
            first_errors: log.first_errors.clone(),
            last_lines: log.last_lines.clone(),
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and returns the exit code. A stalled ERPNext stub is closed once the bus
    /// has begun to stop, because the delivery worker finishes its current request first.
    fn terminate(&mut self, erpnext: Option<&mut StalledErpnext>) -> anyhow::Result<Option<i32>> {
        let Some(mut child) = self.child.take() else {
            bail!("the bus was already stopped");
        };
        let status = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .context("could not run `kill -TERM`")?;
        if !status.success() {
            bail!("`kill -TERM {}` failed with {status}", self.pid);
        }

        let deadline = Instant::now() + PROCESS_TIMEOUT;
        let release_at = Instant::now() + Duration::from_millis(500);
        let mut erpnext = erpnext;
        loop {
            if let Some(status) = child.try_wait().context("could not wait for the bus")? {
                // The bus has exited, so its stderr is closed and the reader reaches the end.
                if let Some(reader) = self.log_reader.take() {
                    let _ = reader.join();
                }
                return Ok(status.code());
            }
            if Instant::now() >= release_at
                && let Some(stub) = erpnext.take()
            {
                stub.stop();
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                bail!(
                    "the bus did not exit within {PROCESS_TIMEOUT:?} of SIGTERM and was killed; its last lines:\n{}",
                    self.log_lines()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Counts and last lines of the bus's log.
struct LogSummary {
    warnings: u64,
    errors: u64,
    first_warnings: Vec<String>,
    first_errors: Vec<String>,
    last_lines: Vec<String>,
}

/// A TCP listener on 127.0.0.1 that accepts connections and never responds, standing in for an
/// ERPNext that hangs. Its thread keeps the accepted connections open until `stop`.
struct StalledErpnext {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Lifetime of the stalled stub when `stop` is never called.
const STALLED_ERPNEXT_LIFETIME: Duration = Duration::from_secs(3600);

impl StalledErpnext {
    /// Listens on 127.0.0.1 and starts the thread that accepts connections.
    fn start() -> anyhow::Result<StalledErpnext> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .context("could not listen for the stalled ERPNext stub")?;
        listener
            .set_nonblocking(true)
            .context("could not make the ERPNext stub's listener non-blocking")?;
        let address = listener
            .local_addr()
            .context("the ERPNext stub has no address")?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut open_connections = Vec::new();
            let closes_at = Instant::now() + STALLED_ERPNEXT_LIFETIME;
            while !thread_stop.load(Ordering::SeqCst) && Instant::now() < closes_at {
                match listener.accept() {
                    Ok((stream, _)) => open_connections.push(stream),
                    Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(error) => {
                        eprintln!("bench_ingest: ERPNext stub: accept failed: {error}");
                        std::thread::sleep(Duration::from_millis(10));
                    }
                }
            }
        });
        Ok(StalledErpnext {
            address,
            stop,
            thread: Some(thread),
        })
    }

    /// Closes the listener and every accepted connection.
    fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for StalledErpnext {
    fn drop(&mut self) {
        self.stop();
    }
}

// ---------------------------------------------------------------------------------------------
// The hello-world server

/// Serves 200 with `HELLO_BODY` to every request, on hyper 1 with HTTP/1 keep-alive and a
/// 2-worker tokio runtime like the bus's listener. It reads each request body in full, as the
/// bus does, and exits when its stdin closes.
fn run_hello_server() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("hello")
        .enable_all()
        .build()
        .context("could not start the async runtime")?;

    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("could not listen on 127.0.0.1")?;
        let address = listener
            .local_addr()
            .context("the listener has no address")?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "hello: listening on {address},")?;
        stdout.flush()?;
        drop(stdout);

        std::thread::spawn(exit_when_stdin_closes);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    eprintln!("hello: accept failed: {error}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = service_fn(|request: Request<Incoming>| async move {
                    let _ = request.into_body().collect().await;
                    let mut response = Response::new(Full::new(Bytes::from_static(HELLO_BODY)));
                    response
                        .headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                    Ok::<_, std::convert::Infallible>(response)
                });
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}

/// Exits the process once stdin reaches its end, which happens when the benchmark exits.
fn exit_when_stdin_closes() {
    let mut stdin = std::io::stdin().lock();
    let mut buffer = [0u8; 64];
    while let Ok(read) = std::io::Read::read(&mut stdin, &mut buffer) {
        if read == 0 {
            break;
        }
    }
    std::process::exit(0);
}

// ---------------------------------------------------------------------------------------------
// Signed webhook requests

/// A compact order JSON split around its order id, so each webhook body is a concatenation.
struct OrderTemplate {
    parts: Vec<String>,
}

impl OrderTemplate {
    /// Reads the order and replaces its `id` and `number` with the marker.
    fn load(path: &Path) -> anyhow::Result<OrderTemplate> {
        let text = std::fs::read_to_string(path).with_context(|| {
            format!(
                "could not read the sample order {}; pass --order PATH",
                path.display()
            )
        })?;
        let mut order: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?;
        let object = order
            .as_object_mut()
            .with_context(|| format!("{} is not a JSON object", path.display()))?;
        if !object.get("id").is_some_and(serde_json::Value::is_u64) {
            bail!(
                "{} has no integer \"id\"; expected a WooCommerce order",
                path.display()
            );
        }

        let marker: u64 = ORDER_ID_MARKER.parse().expect("the marker is a number");
        object.insert("id".to_string(), serde_json::Value::from(marker));
        object.insert(
            "number".to_string(),
            serde_json::Value::from(ORDER_ID_MARKER),
        );
        let compact = serde_json::to_string(&order).context("could not serialize the order")?;

        let parts: Vec<String> = compact.split(ORDER_ID_MARKER).map(str::to_string).collect();
        if parts.len() != 3 {
            bail!(
                "{} contains {ORDER_ID_MARKER} somewhere other than id and number; pick another order",
                path.display()
            );
        }
        Ok(OrderTemplate { parts })
    }

    fn body(&self, order_id: u64) -> String {
        self.parts.join(&order_id.to_string())
    }

    fn body_len(&self, order_id: u64) -> usize {
        self.body(order_id).len()
    }
}

/// Builds `count` complete HTTP/1.1 requests, each an `order.created` webhook for its own order
/// id and signed as WooCommerce signs (base64 of HMAC-SHA256 of the body with the secret).
fn build_requests(template: &OrderTemplate, count: usize) -> Vec<Vec<u8>> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let chunk = count.div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let start = (thread * chunk).min(count);
                let end = ((thread + 1) * chunk).min(count);
                scope.spawn(move || {
                    (start..end)
                        .map(|index| signed_request(template, index))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("a request builder thread panicked"))
            .collect()
    })
}

fn signed_request(template: &OrderTemplate, index: usize) -> Vec<u8> {
    let order_id = FIRST_ORDER_ID + index as u64;
    let body = template.body(order_id);
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes())
        .expect("HMAC accepts any key length");
    mac.update(body.as_bytes());
    let signature = STANDARD.encode(mac.finalize().into_bytes());

    // The headers of WooCommerce's WC_Webhook::deliver(), as tests/support/woo.rs sends them.
    let head = format!(
        "POST /webhooks/woocommerce HTTP/1.1\r\n\
         Host: 127.0.0.1\r\n\
         User-Agent: WooCommerce/9.8.5 Hookshot (WordPress/6.8.1)\r\n\
         Content-Type: application/json\r\n\
         Content-Length: {length}\r\n\
         X-WC-Webhook-Source: https://shop.example.com/\r\n\
         X-WC-Webhook-Topic: order.created\r\n\
         X-WC-Webhook-Resource: order\r\n\
         X-WC-Webhook-Event: created\r\n\
         X-WC-Webhook-Signature: {signature}\r\n\
         X-WC-Webhook-ID: 142\r\n\
         X-WC-Webhook-Delivery-ID: {order_id:032x}\r\n\
         \r\n",
        length = body.len(),
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(body.as_bytes());
    request
}

// ---------------------------------------------------------------------------------------------
// Load generation

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Bus,
    Hello,
}

impl Target {
    fn name(self) -> &'static str {
        match self {
            Target::Bus => "shopbus",
            Target::Hello => "hyper hello-world",
        }
    }

    /// Checks a response: 200 for both targets, and for the bus a new job id.
    fn check(self, status: u16, body: &[u8]) -> Result<(), String> {
        if status != 200 {
            let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            return Err(format!("HTTP {status}: {text}"));
        }
        if self == Target::Hello {
            return Ok(());
        }

        #[derive(Deserialize)]
        struct IngestResponse {
            job_id: Option<u64>,
            duplicate: bool,
        }
        match serde_json::from_slice::<IngestResponse>(body) {
            Ok(IngestResponse {
                job_id: Some(_),
                duplicate: false,
            }) => Ok(()),
            Ok(IngestResponse { job_id: None, .. }) => Err("HTTP 200 without a job_id".to_string()),
            Ok(IngestResponse {
                duplicate: true, ..
            }) => Err("HTTP 200 with duplicate=true".to_string()),
            Err(error) => Err(format!("HTTP 200 with an invalid body: {error}")),
        }
    }
}

/// One measured run: a target at a connection count.
struct RunSpec {
    target: Target,
    address: SocketAddr,
    server_pid: u32,
    connections: usize,
    warmup: Duration,
    duration: Duration,
}

/// Start and end of the measured window of a run.
#[derive(Clone, Copy)]
struct Window {
    start: Instant,
    end: Instant,
}

impl Window {
    fn contains(&self, instant: Instant) -> bool {
        instant >= self.start && instant < self.end
    }
}

/// Choice of the pre-built request that a connection sends next.
#[derive(Clone)]
enum RequestPicker {
    /// Bus runs take each request once, in order, from a cursor shared by all bus runs.
    Shared(Arc<AtomicUsize>),
    /// Hello-world runs cycle through the pool from their own offset, since repeats do no harm.
    Cycle { next: usize, step: usize },
}

impl RequestPicker {
    fn next(&mut self, pool_len: usize) -> Option<usize> {
        match self {
            RequestPicker::Shared(cursor) => {
                let index = cursor.fetch_add(1, Ordering::Relaxed);
                (index < pool_len).then_some(index)
            }
            RequestPicker::Cycle { next, step } => {
                let index = *next % pool_len;
                *next = next.wrapping_add(*step);
                Some(index)
            }
        }
    }
}

/// Measurements of one connection.
#[derive(Default)]
struct ConnectionOutcome {
    /// Microseconds from the first byte sent to the last byte read, of the good responses
    /// completed inside the window.
    latencies: Vec<u32>,
    /// Good responses in every phase, the warm-up included.
    good_responses: u64,
    errors: BTreeMap<String, u64>,
    pool_exhausted: bool,
}

impl ConnectionOutcome {
    fn record_error(&mut self, message: String) {
        if self.errors.contains_key(&message) || self.errors.len() < MAX_ERROR_KINDS {
            *self.errors.entry(message).or_default() += 1;
        } else {
            *self.errors.entry("other errors".to_string()).or_default() += 1;
        }
    }
}

/// Measurements of one run, over all its connections.
struct RunResult {
    target: Target,
    connections: usize,
    window: Duration,
    /// Sorted, in microseconds.
    latencies: Vec<u32>,
    good_responses: u64,
    errors: BTreeMap<String, u64>,
    pool_exhausted: bool,
    cpu: CpuUse,
}

impl RunResult {
    fn requests_per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.window.as_secs_f64()
    }

    /// Returns the nearest-rank percentile in milliseconds, or `None` when nothing was measured.
    fn percentile_ms(&self, percent: f64) -> Option<f64> {
        if self.latencies.is_empty() {
            return None;
        }
        let rank = ((percent / 100.0) * self.latencies.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.latencies.len()) - 1;
        Some(f64::from(self.latencies[index]) / 1000.0)
    }

    fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    fn summary(&self) -> String {
        let mut text = format!(
            "{} with {} connection(s): {:.0} requests/s, p50 {} ms, p99 {} ms, {} error(s); \
             CPU % server {}, client {}, other processes {}",
            self.target.name(),
            self.connections,
            self.requests_per_second(),
            format_ms(self.percentile_ms(50.0)),
            format_ms(self.percentile_ms(99.0)),
            self.error_count(),
            format_percent(self.cpu.server),
            format_percent(self.cpu.client),
            format_percent(self.cpu.other),
        );
        for (message, count) in &self.errors {
            text.push_str(&format!("\n    {count} x {message}"));
        }
        if self.pool_exhausted {
            text.push_str("\n    NOTE: the pre-built webhooks ran out; the run ended early (raise --requests)");
        }
        text
    }
}

/// Drives `run.connections` connections for the warm-up and the measured window.
async fn run_load(
    run: &RunSpec,
    pool: Arc<Vec<Vec<u8>>>,
    bus_cursor: Arc<AtomicUsize>,
) -> RunResult {
    let begins = Instant::now();
    let window = Window {
        start: begins + run.warmup,
        end: begins + run.warmup + run.duration,
    };
    let cpu_sampler = tokio::spawn(sample_cpu(run.server_pid, window));

    let mut tasks = tokio::task::JoinSet::new();
    for connection in 0..run.connections {
        let picker = match run.target {
            Target::Bus => RequestPicker::Shared(bus_cursor.clone()),
            Target::Hello => RequestPicker::Cycle {
                next: connection,
                step: run.connections,
            },
        };
        tasks.spawn(drive_connection(
            run.target,
            run.address,
            pool.clone(),
            picker,
            window,
        ));
    }

    let mut latencies = Vec::new();
    let mut good_responses = 0;
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut pool_exhausted = false;
    let mut last_response = window.start;
    let collect_deadline = window.end + REQUEST_TIMEOUT + Duration::from_secs(5);
    while let Ok(Some(joined)) =
        tokio::time::timeout_at(collect_deadline.into(), tasks.join_next()).await
    {
        let (outcome, connection_last_response) = match joined {
            Ok(result) => result,
            Err(error) => {
                *errors
                    .entry(format!("load task failed: {error}"))
                    .or_default() += 1;
                continue;
            }
        };
        latencies.extend(outcome.latencies);
        good_responses += outcome.good_responses;
        pool_exhausted |= outcome.pool_exhausted;
        last_response = last_response.max(connection_last_response);
        for (message, count) in outcome.errors {
            *errors.entry(message).or_default() += count;
        }
    }
    if !tasks.is_empty() {
        *errors
            .entry("load connection still busy after the run; aborted".to_string())
            .or_default() += tasks.len() as u64;
        tasks.abort_all();
    }

    // A run whose pool ran out is measured up to its last response, not to the planned end.
    let measured_end = if pool_exhausted {
        last_response.min(window.end)
    } else {
        window.end
    };
    let measured = measured_end
        .saturating_duration_since(window.start)
        .max(Duration::from_millis(1));
    let cpu = cpu_sampler.await.unwrap_or_default();
    latencies.sort_unstable();

    RunResult {
        target: run.target,
        connections: run.connections,
        window: measured,
        latencies,
        good_responses,
        errors,
        pool_exhausted,
        cpu,
    }
}

/// Sends requests on one keep-alive connection, one at a time, until the window ends.
/// Returns the outcome and the time of the last good response.
async fn drive_connection(
    target: Target,
    address: SocketAddr,
    pool: Arc<Vec<Vec<u8>>>,
    mut picker: RequestPicker,
    window: Window,
) -> (ConnectionOutcome, Instant) {
    let mut outcome = ConnectionOutcome::default();
    let mut last_response = window.start;
    let mut stream: Option<TcpStream> = None;
    let mut buffer = Vec::with_capacity(8 * 1024);
    let mut connects = 0u32;

    while Instant::now() < window.end {
        let current = match stream.take() {
            Some(current) => current,
            None => {
                if connects > MAX_RECONNECTS {
                    outcome.record_error(format!("gave up after {MAX_RECONNECTS} reconnections"));
                    break;
                }
                connects += 1;
                match connect(address).await {
                    Ok(connected) => connected,
                    Err(message) => {
                        outcome.record_error(message);
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                }
            }
        };

        let Some(index) = picker.next(pool.len()) else {
            outcome.pool_exhausted = true;
            break;
        };
        let sent = Instant::now();
        let exchanged = tokio::time::timeout(
            REQUEST_TIMEOUT,
            exchange(&current, &pool[index], &mut buffer),
        )
        .await;
        let received = Instant::now();

        let (status, body) = match exchanged {
            Ok(Ok(response)) => response,
            Ok(Err(message)) => {
                outcome.record_error(message);
                buffer.clear();
                continue;
            }
            Err(_) => {
                outcome.record_error(format!("no response within {REQUEST_TIMEOUT:?}"));
                buffer.clear();
                continue;
            }
        };
        stream = Some(current);

        if let Err(message) = target.check(status, &body) {
            outcome.record_error(message);
            continue;
        }
        outcome.good_responses += 1;
        last_response = received;
        if window.contains(received) {
            let micros = received.duration_since(sent).as_micros();
            outcome
                .latencies
                .push(u32::try_from(micros).unwrap_or(u32::MAX));
        }
    }
    (outcome, last_response)
}

async fn connect(address: SocketAddr) -> Result<TcpStream, String> {
    let stream = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(address))
        .await
        .map_err(|_| format!("connect to {address} timed out"))?
        .map_err(|error| format!("connect to {address} failed: {error}"))?;
    stream
        .set_nodelay(true)
        .map_err(|error| format!("TCP_NODELAY failed: {error}"))?;
    Ok(stream)
}

/// Writes one request, reads one `Content-Length` response and returns its status and body.
/// `buffer` keeps bytes read past the response, which a well-behaved server never sends.
async fn exchange(
    stream: &TcpStream,
    request: &[u8],
    buffer: &mut Vec<u8>,
) -> Result<(u16, Vec<u8>), String> {
    write_all(stream, request).await?;

    let head_end = loop {
        if let Some(position) = buffer.windows(4).position(|window| window == b"\r\n\r\n") {
            break position + 4;
        }
        if buffer.len() > MAX_HEAD_BYTES {
            return Err(format!("response head longer than {MAX_HEAD_BYTES} bytes"));
        }
        read_more(stream, buffer).await?;
    };

    let head = std::str::from_utf8(&buffer[..head_end])
        .map_err(|_| "response head is not UTF-8".to_string())?;
    let (status, content_length) = parse_head(head)?;
    while buffer.len() < head_end + content_length {
        read_more(stream, buffer).await?;
    }
    let body = buffer[head_end..head_end + content_length].to_vec();
    buffer.drain(..head_end + content_length);
    Ok((status, body))
}

// The crate enables tokio without `io-util`, so these use readiness and `try_*` calls instead
// of AsyncReadExt and AsyncWriteExt.
async fn write_all(stream: &TcpStream, mut bytes: &[u8]) -> Result<(), String> {
    while !bytes.is_empty() {
        stream
            .writable()
            .await
            .map_err(|error| format!("write failed: {error}"))?;
        match stream.try_write(bytes) {
            Ok(written) => bytes = &bytes[written..],
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(format!("write failed: {error}")),
        }
    }
    Ok(())
}

async fn read_more(stream: &TcpStream, buffer: &mut Vec<u8>) -> Result<(), String> {
    let mut chunk = [0u8; 8192];
    loop {
        stream
            .readable()
            .await
            .map_err(|error| format!("read failed: {error}"))?;
        match stream.try_read(&mut chunk) {
            Ok(0) => return Err("the server closed the connection".to_string()),
            Ok(read) => {
                buffer.extend_from_slice(&chunk[..read]);
                return Ok(());
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(format!("read failed: {error}")),
        }
    }
}

/// Returns the status code and `Content-Length` of a response head.
fn parse_head(head: &str) -> Result<(u16, usize), String> {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("invalid status line '{status_line}'"))?;

    let content_length = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .map(|(_, value)| value.trim().parse::<usize>())
        .ok_or_else(|| format!("HTTP {status} response without Content-Length"))?
        .map_err(|error| format!("invalid Content-Length: {error}"))?;
    Ok((status, content_length))
}

/// Reads `/metrics` and returns the number of jobs in the store, over all statuses.
async fn count_store_jobs(address: SocketAddr) -> Result<u64, String> {
    let stream = connect(address).await?;
    let request = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    let mut buffer = Vec::new();
    let (status, body) =
        tokio::time::timeout(REQUEST_TIMEOUT, exchange(&stream, request, &mut buffer))
            .await
            .map_err(|_| format!("GET /metrics: no response within {REQUEST_TIMEOUT:?}"))??;
    if status != 200 {
        return Err(format!("GET /metrics returned HTTP {status}"));
    }

    let text = String::from_utf8_lossy(&body);
    let mut total = 0;
    for line in text
        .lines()
        .filter(|line| line.starts_with("shopbus_jobs{"))
    {
        let count = line
            .rsplit(' ')
            .next()
            .and_then(|value| value.parse::<u64>().ok())
            .ok_or_else(|| format!("invalid /metrics line '{line}'"))?;
        total += count;
    }
    Ok(total)
}

// ---------------------------------------------------------------------------------------------
// Process figures from /proc

/// Peak and current resident set size, in KiB (`VmHWM` and `VmRSS` of `/proc/PID/status`).
#[derive(Clone, Copy)]
struct Memory {
    peak_kib: u64,
    current_kib: u64,
}

fn read_memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|value| value.parse::<u64>().ok())
    };
    Some(Memory {
        peak_kib: field("VmHWM:")?,
        current_kib: field("VmRSS:")?,
    })
}

/// Returns the user plus system CPU time of a process so far, in clock ticks (fields 14 and 15
/// of `/proc/PID/stat`, counted over all its threads).
fn read_cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces, so count fields after its closing bracket.
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

/// Returns the clock ticks per second of `/proc/PID/stat`, from `getconf CLK_TCK`.
fn clock_ticks_per_second() -> Option<f64> {
    let output = Command::new("getconf").arg("CLK_TCK").output().ok()?;
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

/// Returns the busy CPU time of the whole machine so far, in clock ticks. It is the sum of the
/// `cpu` line of `/proc/stat` without idle and iowait.
fn read_machine_busy_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|value| value.parse().ok())
        .collect::<Option<_>>()?;
    // The fields are user nice system idle iowait irq softirq steal. Guest time is part of user.
    let busy = fields.iter().take(8).sum::<u64>() - fields.get(3)? - fields.get(4)?;
    Some(busy)
}

/// CPU use over a run's window, in percent of one core.
#[derive(Clone, Copy, Default)]
struct CpuUse {
    server: Option<f64>,
    client: Option<f64>,
    /// Every other process on the machine, the kernel's own threads included. A high value
    /// means that the run shared the cores with unrelated work.
    other: Option<f64>,
}

async fn sample_cpu(server_pid: u32, window: Window) -> CpuUse {
    let Some(ticks_per_second) = clock_ticks_per_second() else {
        return CpuUse::default();
    };
    let own_pid = std::process::id();
    let sample = || {
        (
            read_cpu_ticks(server_pid),
            read_cpu_ticks(own_pid),
            read_machine_busy_ticks(),
        )
    };

    tokio::time::sleep_until(window.start.into()).await;
    let before = sample();
    tokio::time::sleep_until(window.end.into()).await;
    let after = sample();

    let seconds = window.end.duration_since(window.start).as_secs_f64();
    let percent = |ticks: u64| ticks as f64 / ticks_per_second / seconds * 100.0;
    let delta = |before: Option<u64>, after: Option<u64>| after?.checked_sub(before?);
    let server = delta(before.0, after.0);
    let client = delta(before.1, after.1);
    let other = delta(before.2, after.2)
        .map(|machine| machine.saturating_sub(server.unwrap_or(0) + client.unwrap_or(0)));
    CpuUse {
        server: server.map(percent),
        client: client.map(percent),
        other: other.map(percent),
    }
}

// ---------------------------------------------------------------------------------------------
// Report

/// CPU use of other processes above which the report calls a run noisy, in percent of a core.
/// Kernel threads that write the bus's store to disk took up to 12 % in bus runs on an otherwise
/// idle machine (the one in docs/benchmarks.md), so the limit sits above that.
const NOISY_OTHER_CPU_PERCENT: f64 = 20.0;

struct Report<'a> {
    settings: &'a RunSettings,
    options: &'a Options,
    body_bytes: usize,
    pool_len: usize,
    results: &'a [RunResult],
    store_jobs: Result<u64, String>,
    bus_memory: Option<Memory>,
    hello_memory: Option<Memory>,
    bus_exit: Option<i32>,
    bus_log: LogSummary,
}

impl Report<'_> {
    fn markdown(&self) -> String {
        let mut text = String::new();
        text.push_str(&format!(
            "\n## Ingest benchmark\n\n{} s measured after {} s of warm-up per run, {}-byte signed `order.created` \
             bodies, one request in flight per connection, load generator with {} tokio worker thread(s) \
             on the same machine, ERPNext stub: {}.\n\n",
            self.settings.duration.as_secs_f64(),
            self.settings.warmup.as_secs_f64(),
            self.body_bytes,
            self.options.client_threads,
            self.options.erpnext.name(),
        ));

        text.push_str("| target | connections | requests/s | p50 ms | p99 ms | errors | server CPU % | client CPU % | other CPU % |\n");
        text.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        for result in self.results {
            text.push_str(&format!(
                "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} |\n",
                result.target.name(),
                result.connections,
                result.requests_per_second(),
                format_ms(result.percentile_ms(50.0)),
                format_ms(result.percentile_ms(99.0)),
                result.error_count(),
                format_percent(result.cpu.server),
                format_percent(result.cpu.client),
                format_percent(result.cpu.other),
            ));
        }

        text.push_str("\n| connections | shopbus / hello-world throughput |\n|---:|---:|\n");
        for &connections in &self.options.connections {
            let rate = |target| {
                self.results
                    .iter()
                    .find(|result| result.target == target && result.connections == connections)
                    .map(RunResult::requests_per_second)
            };
            let ratio = match (rate(Target::Bus), rate(Target::Hello)) {
                (Some(bus), Some(hello)) if hello > 0.0 => format!("{:.1} %", bus / hello * 100.0),
                _ => "-".to_string(),
            };
            text.push_str(&format!("| {connections} | {ratio} |\n"));
        }

        text.push('\n');
        let busiest_other = self
            .results
            .iter()
            .filter_map(|result| result.cpu.other)
            .fold(0.0_f64, f64::max);
        if busiest_other > NOISY_OTHER_CPU_PERCENT {
            text.push_str(&format!(
                "- NOTE: other processes used up to {busiest_other:.0} % of a core during a run, so the \
                 cores were probably shared with unrelated work; rerun on an idle machine\n"
            ));
        }
        text.push_str(&format!(
            "- shopbus peak RSS (VmHWM): {}\n",
            format_memory(self.bus_memory)
        ));
        text.push_str(&format!(
            "- hello-world peak RSS (VmHWM): {}\n",
            format_memory(self.hello_memory)
        ));
        text.push_str(&format!(
            "- webhooks acknowledged with a job id: {}; jobs in the store: {}\n",
            self.acknowledged(),
            match &self.store_jobs {
                Ok(count) => count.to_string(),
                Err(error) => format!("unknown ({error})"),
            }
        ));
        text.push_str(&format!(
            "- pre-built webhooks: {}; shopbus log: {} warning line(s), {} error line(s)\n",
            self.pool_len, self.bus_log.warnings, self.bus_log.errors
        ));
        for line in self
            .bus_log
            .first_errors
            .iter()
            .chain(&self.bus_log.first_warnings)
        {
            text.push_str(&format!("  - `{line}`\n"));
        }
        text.push_str(&format!(
            "- shopbus exit code after SIGTERM: {}\n",
            self.bus_exit
                .map_or("none (killed by a signal)".to_string(), |code| code
                    .to_string())
        ));
        text
    }

    /// Good bus responses of every run, warm-ups included.
    fn acknowledged(&self) -> u64 {
        self.results
            .iter()
            .filter(|result| result.target == Target::Bus)
            .map(|result| result.good_responses)
            .sum()
    }

    /// Returns an error when a check failed: a failed request, a job missing from the store, or
    /// an unclean stop of the bus.
    fn verdict(&self) -> anyhow::Result<()> {
        let mut problems = Vec::new();
        let errors: u64 = self.results.iter().map(RunResult::error_count).sum();
        if errors > 0 {
            problems.push(format!("{errors} request(s) failed (see the runs above)"));
        }
        match &self.store_jobs {
            Ok(count) if *count == self.acknowledged() => {}
            Ok(count) => problems.push(format!(
                "the store holds {count} job(s) but {} webhook(s) were acknowledged",
                self.acknowledged()
            )),
            Err(error) => problems.push(format!("could not count the jobs in the store: {error}")),
        }
        if self.bus_exit != Some(0) {
            problems.push(format!(
                "shopbus did not exit 0 after SIGTERM ({:?}); its last lines:\n{}",
                self.bus_exit,
                self.bus_log.last_lines.join("\n")
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            bail!("{}", problems.join("\n"))
        }
    }
}

fn format_ms(value: Option<f64>) -> String {
    value.map_or("-".to_string(), |ms| format!("{ms:.2}"))
}

fn format_percent(value: Option<f64>) -> String {
    value.map_or("-".to_string(), |percent| format!("{percent:.0}"))
}

fn format_memory(memory: Option<Memory>) -> String {
    memory.map_or("unknown (the process was gone)".to_string(), |memory| {
        format!(
            "{:.1} MiB (current {:.1} MiB)",
            memory.peak_kib as f64 / 1024.0,
            memory.current_kib as f64 / 1024.0
        )
    })
}
