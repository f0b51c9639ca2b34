//! `kill -9` while webhooks arrive: every webhook answered 200 is delivered exactly once after
//! the restart.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::support::bus::{Bus, WOO_SECRET};
use crate::support::fake_erpnext::FakeErpNext;
use crate::support::orders::{line, order_with};
use crate::support::woo;

const ORDERS: u64 = 300;
const SENDERS: u64 = 4;
const FIRST_ID: u64 = 20_000;

#[test]
fn kill_9_during_ingest_loses_and_duplicates_nothing() {
    let erp = FakeErpNext::start();
    erp.add_item("CRASH-1");
    erp.set_latency(Duration::from_millis(5));
    let mut bus = Bus::start(&erp.url());

    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let sent = Arc::new(AtomicUsize::new(0));
    let url = bus.url.clone();

    let senders: Vec<_> = (0..SENDERS)
        .map(|sender| {
            let acknowledged = acknowledged.clone();
            let sent = sent.clone();
            let url = url.clone();
            std::thread::spawn(move || {
                for index in 0..ORDERS / SENDERS {
                    let id = FIRST_ID + sender * (ORDERS / SENDERS) + index;
                    let body = serde_json::to_vec(&order(id)).unwrap();
                    let answered = std::panic::catch_unwind(|| {
                        woo::deliver(&url, "order.created", &body, WOO_SECRET)
                    });
                    sent.fetch_add(1, Ordering::SeqCst);
                    if let Ok((200, _)) = answered {
                        acknowledged.lock().unwrap().insert(id);
                    }
                }
            })
        })
        .collect();

    while sent.load(Ordering::SeqCst) < 120 {
        std::thread::sleep(Duration::from_millis(2));
    }
    bus.kill9();
    for sender in senders {
        let _ = sender.join();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() >= 100,
        "only {} webhooks were acknowledged before the kill",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() < ORDERS as usize,
        "the kill came after every webhook was answered"
    );

    bus.spawn();
    let jobs = bus.wait_until_idle(Duration::from_secs(120));

    let stored: BTreeSet<u64> = jobs
        .iter()
        .filter_map(|job| job["entity"].as_str()?.strip_prefix("order:")?.parse().ok())
        .collect();
    let lost: Vec<&u64> = acknowledged.difference(&stored).collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");

    let mut per_po: BTreeMap<String, usize> = BTreeMap::new();
    for so in erp.sales_orders() {
        *per_po
            .entry(so["po_no"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    for id in &acknowledged {
        let count = per_po.get(&format!("WC-{id}")).copied().unwrap_or(0);
        assert_eq!(count, 1, "order {id} has {count} Sales Orders");
    }
    let duplicated: Vec<_> = per_po.iter().filter(|(_, count)| **count > 1).collect();
    assert!(
        duplicated.is_empty(),
        "duplicated Sales Orders: {duplicated:?}"
    );

    let failed: Vec<_> = jobs.iter().filter(|job| job["status"] != "done").collect();
    assert!(failed.is_empty(), "jobs not done: {failed:#?}");
}

fn order(id: u64) -> serde_json::Value {
    order_with(
        id,
        &[line("CRASH-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    )
}
