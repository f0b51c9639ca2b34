//! The command line: clap definitions (the source of `--help`) and the operator commands.
//!
//! Exit codes: 0 success, 1 runtime failure, 2 invalid usage or configuration.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use serde_json::{Value, json};

use crate::config::{Config, ConfigError};
use crate::store::{self, AttemptRecord, Job, JobId, JobStatus, Skipped};

/// Durable data bus between a WooCommerce store and ERPNext.
#[derive(Debug, Parser)]
#[command(name = "shopbus", version, about)]
pub struct Cli {
    /// Configuration file (TOML).
    #[arg(
        long,
        global = true,
        env = "SHOPBUS_CONFIG",
        default_value = "shopbus.toml"
    )]
    pub config: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the webhook listener and the delivery workers until SIGTERM or SIGINT.
    Serve,
    /// Validate the configuration and the secret files; name each problem with its key.
    CheckConfig,
    /// List, inspect, replay and cancel jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Enqueue every WooCommerce order modified since a time that the bus has no job for.
    Reconcile(ReconcileArgs),
    /// Check both peers: reachable, credentials accepted, webhooks and ERPNext documents in place.
    Doctor,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Start of the window, RFC 3339 (e.g. 2026-11-27T00:00:00Z); default: the stored watermark.
    #[arg(long)]
    pub since: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first.
    List(ListArgs),
    /// Show one job and every attempt of it.
    Show(ShowArgs),
    /// Requeue failed, cancelled or done jobs; their history is kept.
    Replay(ReplayArgs),
    /// Cancel queued or failed jobs.
    Cancel(CancelArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only jobs with this status: queued, running, done, failed or cancelled.
    #[arg(long, value_parser = parse_status)]
    pub status: Option<JobStatus>,
    /// Number of jobs to print at most.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print one JSON array instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The job id.
    pub id: i64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ReplayArgs {
    /// Job ids to requeue.
    #[arg(group = "which")]
    pub ids: Vec<i64>,
    /// Requeue every failed job.
    #[arg(long, group = "which")]
    pub failed: bool,
}

#[derive(Debug, Args)]
pub struct CancelArgs {
    /// Job ids to cancel.
    #[arg(required = true)]
    pub ids: Vec<i64>,
}

fn parse_status(text: &str) -> Result<JobStatus, String> {
    text.parse()
}

/// A failure with its exit code: 1 at run time, 2 for usage or configuration.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    fn runtime(message: impl std::fmt::Display) -> Failure {
        Failure {
            code: 1,
            message: message.to_string(),
        }
    }

    fn config(error: ConfigError) -> Failure {
        Failure {
            code: 2,
            message: error.to_string(),
        }
    }
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> ExitCode {
    let result = match &cli.command {
        Command::Serve => serve(&cli.config),
        Command::CheckConfig => check_config(&cli.config),
        Command::Jobs(command) => jobs(&cli.config, command),
        Command::Reconcile(args) => reconcile(&cli.config, args),
        Command::Doctor => doctor(&cli.config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("shopbus: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn serve(path: &Path) -> Result<(), Failure> {
    let config = Config::load(path).map_err(Failure::config)?;
    crate::serve::run(&config).map_err(|error| {
        log::error!("serve: {error:#}");
        Failure::runtime(format!("{error:#}"))
    })
}

fn check_config(path: &Path) -> Result<(), Failure> {
    let config = Config::load(path).map_err(Failure::config)?;
    println!(
        "{}: valid (listen {}, store {}, ERPNext {}, WooCommerce {})",
        path.display(),
        config.server.listen,
        config.store.path.display(),
        config.erpnext.url,
        config.woocommerce.url
    );
    Ok(())
}

fn reconcile(path: &Path, args: &ReconcileArgs) -> Result<(), Failure> {
    use std::io::{IsTerminal, Write};

    // Only the WooCommerce keys and the store are needed, not the ERPNext secrets.
    let config = Config::load_without_secrets(path).map_err(Failure::config)?;
    let woo = crate::serve::woo_client(&config)
        .map_err(|error| Failure::runtime(format!("{error:#}")))?
        .ok_or_else(|| Failure {
            code: 2,
            message:
                "reconcile needs woocommerce.consumer_key_file and woocommerce.consumer_secret_file"
                    .to_string(),
        })?;
    let mut connection = store::open_existing(&config.store.path).map_err(Failure::runtime)?;

    let terminal = std::io::stderr().is_terminal();
    let mut progress = |step: &crate::reconcile::Progress| {
        if terminal {
            let mut stderr = std::io::stderr();
            let _ = write!(
                stderr,
                "\rreconcile: {} request(s), {} order(s) seen, {} enqueued ",
                step.requests, step.seen, step.enqueued
            );
            let _ = stderr.flush();
        }
    };
    let report =
        crate::reconcile::run_pass(&mut connection, &woo, args.since.as_deref(), &mut progress)
            .map_err(|error| match error {
                crate::reconcile::ReconcileError::Time(_) => Failure {
                    code: 2,
                    message: error.to_string(),
                },
                other => Failure::runtime(other),
            })?;
    if terminal {
        eprintln!();
    }

    let ids: Vec<String> = report.enqueued.iter().map(u64::to_string).collect();
    println!(
        "reconciled orders modified since {}: {} seen, {} enqueued{}; watermark {}",
        report.since,
        report.seen,
        ids.len(),
        if ids.is_empty() {
            String::new()
        } else {
            format!(" (orders {})", ids.join(", "))
        },
        report.watermark
    );
    Ok(())
}

fn doctor(path: &Path) -> Result<(), Failure> {
    let config = Config::load(path).map_err(Failure::config)?;
    let checks = crate::doctor::run(&config);
    for check in &checks {
        println!("{check}");
    }
    let failed = checks
        .iter()
        .filter(|c| c.verdict == crate::doctor::Verdict::Fail)
        .count();
    if failed > 0 {
        return Err(Failure::runtime(format!("{failed} check(s) failed")));
    }
    Ok(())
}

fn jobs(path: &Path, command: &JobsCommand) -> Result<(), Failure> {
    // Operators run these commands outside the service, where the secret files (systemd
    // credentials) cannot be read, so only the store path is needed.
    let config = Config::load_without_secrets(path).map_err(Failure::config)?;
    let mut connection = store::open_existing(&config.store.path).map_err(Failure::runtime)?;

    match command {
        JobsCommand::List(args) => list(&connection, args),
        JobsCommand::Show(args) => show(&connection, args),
        JobsCommand::Replay(args) => replay(&mut connection, args),
        JobsCommand::Cancel(args) => cancel(&mut connection, args),
    }
}

fn list(connection: &rusqlite::Connection, args: &ListArgs) -> Result<(), Failure> {
    let jobs = store::list(connection, args.status, args.limit).map_err(Failure::runtime)?;

    if args.json {
        let array: Vec<Value> = jobs.iter().map(job_json).collect();
        println!("{}", Value::Array(array));
        return Ok(());
    }

    println!(
        "{:>6}  {:<9}  {:>3}  {:<14}  {:<12}  {:<20}  {:<20}  LAST ERROR",
        "ID", "STATUS", "TRY", "TOPIC", "ENTITY", "RECEIVED", "ERP NAME"
    );
    for job in &jobs {
        println!(
            "{:>6}  {:<9}  {:>3}  {:<14}  {:<12}  {:<20}  {:<20}  {}",
            job.id,
            job.status,
            job.attempts,
            job.topic,
            job.entity,
            rfc3339(job.received_at),
            job.erp_name.as_deref().unwrap_or("-"),
            shorten(job.last_error.as_deref().unwrap_or(""), 100)
        );
    }
    Ok(())
}

fn show(connection: &rusqlite::Connection, args: &ShowArgs) -> Result<(), Failure> {
    let job = store::get(connection, JobId(args.id)).map_err(Failure::runtime)?;
    let history = store::history(connection, job.id).map_err(Failure::runtime)?;

    let waiting_for = match job.entity.strip_prefix("sku:") {
        Some(sku) if job.status == JobStatus::Queued => {
            store::pending_order_jobs_with_sku(connection, sku).map_err(Failure::runtime)?
        }
        _ => Vec::new(),
    };

    if args.json {
        let mut object = job_json(&job);
        object["waiting_for"] = Value::Array(waiting_for.iter().map(|id| json!(id.0)).collect());
        object["history"] = Value::Array(history.iter().map(attempt_json).collect());
        println!("{object}");
        return Ok(());
    }

    println!(
        "job {} ({} {}, {})",
        job.id, job.source, job.topic, job.entity
    );
    println!("  status:       {}", job.status);
    println!("  attempts:     {}", job.attempts);
    println!("  received:     {}", rfc3339(job.received_at));
    if job.status == JobStatus::Queued {
        println!("  next attempt: {}", rfc3339(job.next_attempt_at));
    }
    if !waiting_for.is_empty() {
        let ids: Vec<String> = waiting_for.iter().map(JobId::to_string).collect();
        println!(
            "  waits for:    order job(s) {} with this SKU; the level is published once they are done",
            ids.join(", ")
        );
    }
    if let Some(finished) = job.finished_at {
        println!("  finished:     {}", rfc3339(finished));
    }
    println!("  ERPNext name: {}", job.erp_name.as_deref().unwrap_or("-"));
    if let Some(error) = &job.last_error {
        println!("  last error:   {error}");
    }
    if job.payload_purged {
        println!("  payload:      erased after store.payload_retention");
    }
    println!("history:");
    for record in &history {
        let status = record
            .http_status
            .map(|s| format!(" HTTP {s}"))
            .unwrap_or_default();
        println!(
            "  #{:<2} {}  {:<8}  {:<9}{status}  {}",
            record.attempt,
            rfc3339(record.finished_at),
            record.stage,
            record.outcome,
            record.message
        );
    }
    Ok(())
}

fn replay(connection: &mut rusqlite::Connection, args: &ReplayArgs) -> Result<(), Failure> {
    let ids: Vec<JobId> = if args.failed {
        store::failed_ids(connection).map_err(Failure::runtime)?
    } else {
        args.ids.iter().map(|id| JobId(*id)).collect()
    };

    let (replayed, skipped) =
        store::replay(connection, &ids, store::now_millis()).map_err(Failure::runtime)?;
    report(
        "requeued",
        &replayed,
        &skipped,
        "queued and running jobs cannot be replayed",
    )
}

fn cancel(connection: &mut rusqlite::Connection, args: &CancelArgs) -> Result<(), Failure> {
    let ids: Vec<JobId> = args.ids.iter().map(|id| JobId(*id)).collect();
    let (cancelled, skipped) =
        store::cancel(connection, &ids, store::now_millis()).map_err(Failure::runtime)?;
    report(
        "cancelled",
        &cancelled,
        &skipped,
        "only queued or failed jobs can be cancelled",
    )
}

/// Prints what a bulk command changed and what it left, and fails when it left anything.
fn report(verb: &str, changed: &[JobId], skipped: &[Skipped], rule: &str) -> Result<(), Failure> {
    let list: Vec<String> = changed.iter().map(JobId::to_string).collect();
    println!(
        "{verb} {} job(s){}",
        changed.len(),
        if list.is_empty() {
            String::new()
        } else {
            format!(": {}", list.join(", "))
        }
    );

    if skipped.is_empty() {
        return Ok(());
    }
    let reasons: Vec<String> = skipped.iter().map(Skipped::to_string).collect();
    Err(Failure::runtime(format!(
        "{} job(s) left as they were ({rule}): {}",
        skipped.len(),
        reasons.join("; ")
    )))
}

/// The job object of `--json` output.
pub fn job_json(job: &Job) -> Value {
    json!({
        "id": job.id.0,
        "source": job.source.as_str(),
        "topic": job.topic,
        "entity": job.entity,
        "status": job.status.as_str(),
        "attempts": job.attempts,
        "received_at": rfc3339(job.received_at),
        "next_attempt_at": if job.status == JobStatus::Queued { Value::String(rfc3339(job.next_attempt_at)) } else { Value::Null },
        "finished_at": job.finished_at.map(rfc3339),
        "last_error": job.last_error,
        "erp_name": job.erp_name,
        "woo_id": job.woo_id,
        "delivery_id": job.delivery_id,
        "payload_erased": job.payload_purged,
    })
}

fn attempt_json(record: &AttemptRecord) -> Value {
    json!({
        "attempt": record.attempt,
        "stage": record.stage.as_str(),
        "outcome": record.outcome,
        "http_status": record.http_status,
        "message": record.message,
        "started_at": rfc3339(record.started_at),
        "finished_at": rfc3339(record.finished_at),
    })
}

/// Formats Unix milliseconds as RFC 3339 UTC with seconds, e.g. `2026-12-04T20:30:00Z`.
pub fn rfc3339(millis: i64) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .map(|time| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| millis.to_string())
}

fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_string();
    }
    let cut: String = text.chars().take(max_chars - 1).collect();
    format!("{cut}…")
}
