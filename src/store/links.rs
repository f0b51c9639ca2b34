//! The link table: WooCommerce ids and keys ↔ the ERPNext names created for them.

use rusqlite::{Connection, OptionalExtension, params};

use super::StoreError;

/// What a link maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkKind {
    /// `customer:<id>` or `guest:<e-mail>` → Customer name.
    Customer,
    /// Customer name + address hash → Address name.
    Address,
    /// WooCommerce order id → Sales Order name.
    SalesOrder,
    /// WooCommerce product (`<id>`) or variation (`<parent id>/<id>`) → ERPNext item code (SKU).
    Product,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Customer => "customer",
            LinkKind::Address => "address",
            LinkKind::SalesOrder => "sales_order",
            LinkKind::Product => "product",
        }
    }
}

/// One link row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub erp_name: String,
    /// For Sales Orders: the `date_modified_gmt` of the newest order snapshot written.
    pub woo_modified: Option<String>,
}

pub fn get_link(
    connection: &Connection,
    kind: LinkKind,
    woo_key: &str,
) -> Result<Option<Link>, StoreError> {
    let link = connection
        .query_row(
            "SELECT erp_name, woo_modified FROM links WHERE kind = ?1 AND woo_key = ?2",
            params![kind.as_str(), woo_key],
            |row| {
                Ok(Link {
                    erp_name: row.get(0)?,
                    woo_modified: row.get(1)?,
                })
            },
        )
        .optional()?;
    Ok(link)
}

pub fn put_link(
    connection: &Connection,
    kind: LinkKind,
    woo_key: &str,
    link: &Link,
    now: i64,
) -> Result<(), StoreError> {
    connection.execute(
        "INSERT INTO links (kind, woo_key, erp_name, woo_modified, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (kind, woo_key) DO UPDATE SET
             erp_name = excluded.erp_name,
             woo_modified = excluded.woo_modified,
             updated_at = excluded.updated_at",
        params![
            kind.as_str(),
            woo_key,
            link.erp_name,
            link.woo_modified,
            now
        ],
    )?;
    Ok(())
}

pub fn delete_link(
    connection: &Connection,
    kind: LinkKind,
    woo_key: &str,
) -> Result<(), StoreError> {
    connection.execute(
        "DELETE FROM links WHERE kind = ?1 AND woo_key = ?2",
        params![kind.as_str(), woo_key],
    )?;
    Ok(())
}

/// The WooCommerce key linked to an ERPNext name (the reverse lookup), the newest if several.
pub fn find_link_by_name(
    connection: &Connection,
    kind: LinkKind,
    erp_name: &str,
) -> Result<Option<String>, StoreError> {
    let key = connection
        .query_row(
            "SELECT woo_key FROM links WHERE kind = ?1 AND erp_name = ?2 ORDER BY updated_at DESC LIMIT 1",
            params![kind.as_str(), erp_name],
            |row| row.get(0),
        )
        .optional()?;
    Ok(key)
}

/// Every link of one kind, as (WooCommerce key, ERPNext name).
pub fn links_of_kind(
    connection: &Connection,
    kind: LinkKind,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut statement = connection
        .prepare("SELECT woo_key, erp_name FROM links WHERE kind = ?1 ORDER BY erp_name")?;
    let rows = statement.query_map(params![kind.as_str()], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Removes every link of `kind` to `erp_name`.
pub fn delete_links_to(
    connection: &Connection,
    kind: LinkKind,
    erp_name: &str,
) -> Result<(), StoreError> {
    connection.execute(
        "DELETE FROM links WHERE kind = ?1 AND erp_name = ?2",
        params![kind.as_str(), erp_name],
    )?;
    Ok(())
}
