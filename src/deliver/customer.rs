//! Finds or creates the Customer and its Addresses, so that a repeat order, a retry or a replay
//! never creates a second one: first the link table, then ERPNext by a stable key, then insert.

use std::collections::HashSet;
use std::sync::{Condvar, LazyLock, Mutex};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::context::{JobContext, JobError};
use crate::erpnext::documents::{AddressDoc, DynamicLink};
use crate::mapping::CustomerPlan;
use crate::peer::PeerError;
use crate::store::{self, Link, LinkKind, Stage, now_millis};

/// Customer link keys whose Customer a worker is finding or creating right now.
static CUSTOMERS_IN_PROGRESS: LazyLock<(Mutex<HashSet<String>>, Condvar)> =
    LazyLock::new(|| (Mutex::new(HashSet::new()), Condvar::new()));

/// Holds a customer link key for one worker until dropped.
pub struct CustomerGuard {
    key: String,
}

/// Waits until no other worker of this process works on the customer `key`, then holds it.
pub fn lock_customer(key: &str) -> CustomerGuard {
    let (keys, released) = &*CUSTOMERS_IN_PROGRESS;
    let mut held = keys.lock().unwrap_or_else(|poison| poison.into_inner());
    while held.contains(key) {
        held = released
            .wait(held)
            .unwrap_or_else(|poison| poison.into_inner());
    }
    held.insert(key.to_string());
    CustomerGuard {
        key: key.to_string(),
    }
}

impl Drop for CustomerGuard {
    fn drop(&mut self) {
        let (keys, released) = &*CUSTOMERS_IN_PROGRESS;
        keys.lock()
            .unwrap_or_else(|poison| poison.into_inner())
            .remove(&self.key);
        released.notify_all();
    }
}

/// The way the Customer was found.
pub enum Found {
    Linked,
    ByEmail,
    Created,
}

/// Returns the Customer's ERPNext name and how it was found.
pub fn ensure_customer(
    context: &mut JobContext<'_>,
    plan: &CustomerPlan,
) -> Result<(String, Found), JobError> {
    if let Some(name) = linked_document(context, LinkKind::Customer, &plan.link_key, "Customer")? {
        return Ok((name, Found::Linked));
    }

    if let Some(email) = &plan.email {
        let filters = json!([["email_id", "=", email]]);
        let rows = context
            .erp()?
            .list("Customer", &["name"], &filters)
            .map_err(|error| JobError::at(Stage::Deliver, error))?;
        if let Some(name) = first_name(&rows) {
            remember(context, LinkKind::Customer, &plan.link_key, &name)?;
            return Ok((name, Found::ByEmail));
        }
    }

    let created = context
        .erp()?
        .insert("Customer", &plan.doc)
        .map_err(|error| JobError::at(Stage::Deliver, error))?;
    let name = document_name(&created, "Customer")?;
    remember(context, LinkKind::Customer, &plan.link_key, &name)?;
    log::info!(
        "deliver: created a Customer job={} entity={}",
        context.lease.job.id,
        context.lease.job.entity
    );
    Ok((name, Found::Created))
}

/// Returns the ERPNext name of the address, linked to `customer`, creating it when needed.
pub fn ensure_address(
    context: &mut JobContext<'_>,
    address: &AddressDoc,
    customer: &str,
) -> Result<String, JobError> {
    let key = address_key(address, customer);
    if let Some(name) = linked_document(context, LinkKind::Address, &key, "Address")? {
        return Ok(name);
    }

    let filters = json!([
        ["address_type", "=", address.address_type],
        ["address_line1", "=", address.address_line1],
        ["city", "=", address.city],
        ["pincode", "=", address.pincode],
        ["country", "=", address.country],
        ["Dynamic Link", "link_name", "=", customer],
    ]);
    let rows = context
        .erp()?
        .list("Address", &["name"], &filters)
        .map_err(|error| JobError::at(Stage::Deliver, error))?;
    if let Some(name) = first_name(&rows) {
        remember(context, LinkKind::Address, &key, &name)?;
        return Ok(name);
    }

    let mut document = address.clone();
    document.links = vec![DynamicLink {
        link_doctype: "Customer".to_string(),
        link_name: customer.to_string(),
    }];
    let created = context
        .erp()?
        .insert("Address", &document)
        .map_err(|error| JobError::at(Stage::Deliver, error))?;
    let name = document_name(&created, "Address")?;
    remember(context, LinkKind::Address, &key, &name)?;
    Ok(name)
}

/// The name of a linked document that still exists in ERPNext. A link to a deleted document
/// is dropped, so the caller looks it up or creates it again.
fn linked_document(
    context: &mut JobContext<'_>,
    kind: LinkKind,
    key: &str,
    doctype: &str,
) -> Result<Option<String>, JobError> {
    let Some(link) = store::get_link(context.connection, kind, key)? else {
        return Ok(None);
    };

    let found = context
        .erp()?
        .get(doctype, &link.erp_name)
        .map_err(|error| JobError::at(Stage::Deliver, error))?;
    if found.is_some() {
        return Ok(Some(link.erp_name));
    }

    log::warn!(
        "deliver: linked {doctype} {:?} no longer exists in ERPNext job={} entity={}; looking it up again",
        link.erp_name,
        context.lease.job.id,
        context.lease.job.entity
    );
    store::delete_link(context.connection, kind, key)?;
    Ok(None)
}

fn remember(
    context: &JobContext<'_>,
    kind: LinkKind,
    key: &str,
    name: &str,
) -> Result<(), JobError> {
    let link = Link {
        erp_name: name.to_string(),
        woo_modified: None,
    };
    store::put_link(context.connection, kind, key, &link, now_millis())?;
    Ok(())
}

/// Builds the link key of an address: the customer plus a hash of the fields that identify the place.
fn address_key(address: &AddressDoc, customer: &str) -> String {
    let fields = [
        customer,
        &address.address_type,
        &address.address_line1,
        &address.address_line2,
        &address.city,
        &address.state,
        &address.pincode,
        &address.country,
    ];
    let digest = Sha256::digest(fields.join("\u{1f}").as_bytes());
    let hex: String = digest
        .iter()
        .take(12)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("{customer}|{hex}")
}

fn first_name(rows: &[Value]) -> Option<String> {
    rows.first()
        .and_then(|row| row.get("name"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// Returns the `name` of a document ERPNext returned.
pub fn document_name(document: &Value, doctype: &str) -> Result<String, JobError> {
    document
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            JobError::at(
                Stage::Deliver,
                PeerError::transient(format!("ERPNext returned a {doctype} without a name")),
            )
        })
}
