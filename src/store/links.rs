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
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::Customer => "customer",
            LinkKind::Address => "address",
            LinkKind::SalesOrder => "sales_order",
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
