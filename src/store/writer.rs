//! The ingest writer: one thread that owns a connection and commits every job waiting for it in
//! one transaction (group commit), then tells each waiting request its job id. A request is
//! answered only after the commit that holds its job, so a 200 means the job is on disk.

use std::path::Path;
use std::sync::mpsc;
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::{Enqueued, NewJob, StoreError, enqueue_batch, now_millis};

/// Most jobs committed in one transaction; more wait for the next one.
const MAX_BATCH: usize = 512;

struct WriteRequest {
    job: NewJob,
    reply: oneshot::Sender<Result<Enqueued, String>>,
}

/// The sending side of the writer; cheap to clone into every request handler.
#[derive(Clone)]
pub struct Writer {
    sender: mpsc::Sender<WriteRequest>,
}

impl Writer {
    /// Opens the writer's connection and starts its thread. The thread ends once every
    /// `Writer` clone is dropped.
    pub fn start(path: &Path) -> Result<(Writer, JoinHandle<()>), StoreError> {
        let connection = super::open(path)?;
        let (sender, receiver) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("store-writer".to_string())
            .spawn(move || run(connection, receiver))
            .map_err(StoreError::Thread)?;
        Ok((Writer { sender }, handle))
    }

    /// Stores the job and waits for the commit that holds it.
    pub async fn enqueue(&self, job: NewJob) -> Result<Enqueued, String> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(WriteRequest { job, reply })
            .map_err(|_| StoreError::WriterGone.to_string())?;
        answer
            .await
            .unwrap_or_else(|_| Err(StoreError::WriterGone.to_string()))
    }
}

fn run(mut connection: Connection, receiver: mpsc::Receiver<WriteRequest>) {
    log::debug!("store: writer started");

    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(request) => batch.push(request),
                Err(_) => break,
            }
        }
        commit_batch(&mut connection, batch);
    }

    log::debug!("store: writer stopped");
}

fn commit_batch(connection: &mut Connection, batch: Vec<WriteRequest>) {
    let jobs: Vec<&NewJob> = batch.iter().map(|request| &request.job).collect();

    match enqueue_batch(connection, &jobs, now_millis()) {
        Ok(results) => {
            for (request, result) in batch.into_iter().zip(results) {
                let _ = request.reply.send(Ok(result));
            }
        }
        Err(error) => {
            log::error!(
                "store: commit of {} webhook job(s) failed: {error}",
                jobs.len()
            );
            for request in batch {
                let _ = request.reply.send(Err(error.to_string()));
            }
        }
    }
}
