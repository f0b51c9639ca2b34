//! ERPNext documents the bus writes, as the REST API takes them (`POST /api/resource/<DocType>`).
//!
//! Money is `Decimal` here and goes out as a JSON number: a value with at most two decimals prints
//! the same as a float, and Frappe reads every currency field as a float anyway.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Serialize, Serializer};

/// A Customer. Registered WooCommerce customers and guests both become "Individual" unless the
/// billing address names a company.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerDoc {
    pub customer_name: String,
    pub customer_type: String,
    pub customer_group: String,
    pub territory: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mobile_no: Option<String>,
}

/// An Address, linked to its Customer through the `links` child table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AddressDoc {
    pub address_title: String,
    /// "Billing" or "Shipping".
    pub address_type: String,
    pub address_line1: String,
    pub address_line2: String,
    pub city: String,
    pub state: String,
    pub pincode: String,
    /// The ERPNext Country name ("Poland", "United States"), not the ISO code.
    pub country: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub is_primary_address: u8,
    pub is_shipping_address: u8,
    pub links: Vec<DynamicLink>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DynamicLink {
    pub link_doctype: String,
    pub link_name: String,
}

/// A Sales Order that carries WooCommerce's final amounts, so ERPNext never re-prices it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SalesOrderDoc {
    pub customer: String,
    pub order_type: String,
    pub po_no: String,
    pub company: String,
    pub currency: String,
    /// `YYYY-MM-DD`, the order's `date_created_gmt` day.
    pub transaction_date: String,
    pub delivery_date: String,
    pub selling_price_list: String,
    pub set_warehouse: String,
    pub ignore_pricing_rule: u8,
    pub disable_rounded_total: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shipping_address_name: Option<String>,
    pub items: Vec<SalesOrderItem>,
    pub taxes: Vec<TaxRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SalesOrderItem {
    pub item_code: String,
    pub qty: i64,
    #[serde(serialize_with = "decimal_as_number")]
    pub rate: Decimal,
    /// Sent as 0 with a zero `rate` only: without it ERPNext re-prices a free line from the
    /// price list, even with `ignore_pricing_rule`.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "optional_decimal_as_number"
    )]
    pub price_list_rate: Option<Decimal>,
    pub warehouse: String,
    pub delivery_date: String,
}

/// A Sales Taxes and Charges row of charge type "Actual": a fixed amount on one account.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaxRow {
    pub charge_type: String,
    pub account_head: String,
    pub description: String,
    #[serde(serialize_with = "decimal_as_number")]
    pub tax_amount: Decimal,
}

/// Writes a `Decimal` as a JSON number.
pub fn decimal_as_number<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    match value.normalize().to_f64() {
        Some(number) => serializer.serialize_f64(number),
        None => serializer.serialize_str(&value.to_string()),
    }
}

fn optional_decimal_as_number<S: Serializer>(
    value: &Option<Decimal>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(decimal) => decimal_as_number(decimal, serializer),
        None => serializer.serialize_none(),
    }
}
