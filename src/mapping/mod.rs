//! Pure mapping from a WooCommerce order to the ERPNext documents that represent it.
//!
//! No I/O happens here: an `Order` and the shop's `MappingSettings` go in, an `OrderPlan` (or a
//! `ValidationError` naming the field, the value and the rule) comes out. The delivery stage fills
//! in the names ERPNext assigns (Customer, Address) and performs the requests.

pub mod address;
pub mod country;
pub mod customer;
pub mod intent;
pub mod lines;
pub mod money;
pub mod phone;
pub mod postcode;
pub mod stock;
pub mod taxes;
pub mod totals;

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate, NaiveDateTime};
use rust_decimal::Decimal;

use crate::erpnext::documents::{AddressDoc, CustomerDoc, SalesOrderDoc};
use crate::woocommerce::order::Order;

/// What the shop configured for the documents the bus writes.
#[derive(Debug, Clone, PartialEq)]
pub struct MappingSettings {
    pub company: String,
    pub warehouse: String,
    pub selling_price_list: String,
    pub customer_group: String,
    pub territory: String,
    /// The account for a tax line whose rate code or label is not in `tax_accounts`.
    pub tax_account: String,
    /// WooCommerce tax rate code (e.g. `US-CA-STATE TAX-1`) or label → ERPNext account.
    pub tax_accounts: BTreeMap<String, String>,
    pub shipping_account: String,
    pub fee_account: String,
    pub rounding_account: String,
    /// Prefix of the Sales Order's `po_no`; `po_no` = prefix + WooCommerce order id.
    pub order_prefix: String,
    /// Days added to the order date to get the Sales Order's `delivery_date`.
    pub delivery_lead_days: u32,
    pub submit_sales_orders: SubmitPolicy,
}

/// When a Sales Order is submitted (`docstatus` 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitPolicy {
    /// Submit once the order is paid (`processing`, `on-hold`, `completed`).
    OnPayment,
    /// Keep every Sales Order as a draft for review.
    Never,
}

/// What the delivery stage should do with the Sales Order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderIntent {
    /// Keep (or create) the Sales Order as a draft.
    Draft,
    /// Create or update the Sales Order and submit it.
    Submit,
    /// Cancel the Sales Order (delete a draft).
    Cancel,
}

/// How the Customer is found again: registered customers by their WooCommerce id, guests by
/// billing e-mail.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerPlan {
    /// Link table key: `customer:<woocommerce id>` or `guest:<lower-case e-mail>`.
    pub link_key: String,
    /// The billing e-mail, lower case; the ERPNext lookup key when the link is not known.
    pub email: Option<String>,
    pub doc: CustomerDoc,
}

/// Everything the delivery stage needs to write one order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderPlan {
    pub order_id: u64,
    pub intent: OrderIntent,
    pub customer: CustomerPlan,
    /// The billing address. When the shipping address is the same, this one is also the
    /// shipping address (`is_shipping_address` 1) and `shipping_address` is `None`.
    pub billing_address: AddressDoc,
    pub shipping_address: Option<AddressDoc>,
    /// The Sales Order with `customer`, `customer_address` and `shipping_address_name` left
    /// empty for the delivery stage to fill.
    pub sales_order: SalesOrderDoc,
    /// The order's `total`, which the Sales Order's `grand_total` must equal.
    pub total: Decimal,
    /// The cent(s) WooCommerce's own rounding left, booked on the rounding account (0 if none).
    pub rounding_residual: Decimal,
    /// Facts worth recording in the attempt: lines split, phone numbers dropped, residuals.
    pub notes: Vec<String>,
}

/// A rule the order breaks. The message names the field, the value and the expected format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ValidationError(pub String);

/// Maps a WooCommerce order to the Customer, Addresses and Sales Order that represent it.
///
/// The Sales Order's grand total (Σ item amounts + Σ "Actual" tax rows, with rounded totals
/// disabled) equals the order's `total` to the cent. A rounding residual that WooCommerce's own
/// rounding explains is booked on the rounding account (see `totals::residual_tolerance`). Fails
/// with the first rule the order breaks.
pub fn map_order(order: &Order, settings: &MappingSettings) -> Result<OrderPlan, ValidationError> {
    let mut notes = Vec::new();

    let currency = validate_currency(&order.currency)?;
    let order_date = parse_order_date(order.date_created_gmt.as_deref())?;
    let delivery_date = delivery_date(order_date, settings.delivery_lead_days)?;

    let addresses = address::plan_addresses(order, &mut notes)?;
    let customer = customer::plan_customer(order, settings)?;

    let items = lines::plan_items(&order.line_items, settings, &delivery_date, &mut notes)?;
    let mut tax_rows = taxes::plan_tax_rows(order, settings)?;

    let total = money::parse_amount("total", &order.total)?;
    totals::note_woocommerce_identity(order, total, &mut notes)?;
    let rounding_residual =
        totals::book_rounding_residual(order, total, &items, &mut tax_rows, settings, &mut notes)?;

    let intent = intent::order_intent(&order.status, settings.submit_sales_orders, &mut notes);

    let sales_order = SalesOrderDoc {
        customer: String::new(),
        order_type: "Sales".to_string(),
        po_no: format!("{}{}", settings.order_prefix, order.id),
        company: settings.company.clone(),
        currency,
        transaction_date: order_date.format("%Y-%m-%d").to_string(),
        delivery_date,
        selling_price_list: settings.selling_price_list.clone(),
        set_warehouse: settings.warehouse.clone(),
        ignore_pricing_rule: 1,
        disable_rounded_total: 1,
        customer_address: None,
        shipping_address_name: None,
        items,
        taxes: tax_rows,
    };

    Ok(OrderPlan {
        order_id: order.id,
        intent,
        customer,
        billing_address: addresses.billing,
        shipping_address: addresses.shipping,
        sales_order,
        total,
        rounding_residual,
        notes,
    })
}

/// Returns the currency code upper-cased after checking it has the ISO 4217 form (three letters).
fn validate_currency(raw: &str) -> Result<String, ValidationError> {
    let currency = raw.trim().to_ascii_uppercase();
    if currency.is_empty() {
        return Err(ValidationError(
            "currency is missing, expected an ISO 4217 code such as USD. Check the order's \
             currency in WooCommerce."
                .to_string(),
        ));
    }

    if currency.len() != 3 || !currency.bytes().all(|byte| byte.is_ascii_uppercase()) {
        return Err(ValidationError(format!(
            "currency '{raw}' is not valid, expected an ISO 4217 code of three letters such as \
             USD. Check the order's currency in WooCommerce."
        )));
    }
    Ok(currency)
}

/// Returns the UTC day of `date_created_gmt`, which must read `YYYY-MM-DDTHH:MM:SS` (the REST
/// API's format, without a time zone suffix).
fn parse_order_date(raw: Option<&str>) -> Result<NaiveDate, ValidationError> {
    let Some(text) = raw else {
        return Err(ValidationError(
            "date_created_gmt is missing, expected YYYY-MM-DDTHH:MM:SS. Resend the order from \
             the WooCommerce REST API v3."
                .to_string(),
        ));
    };

    // chrono alone would also accept unpadded fields such as "2025-3-1T9:05:02".
    let layout_valid = text.len() == 19
        && text.bytes().enumerate().all(|(index, byte)| match index {
            4 | 7 => byte == b'-',
            10 => byte == b'T',
            13 | 16 => byte == b':',
            _ => byte.is_ascii_digit(),
        });
    let parsed = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S");

    match parsed {
        Ok(date_time) if layout_valid => Ok(date_time.date()),
        _ => Err(ValidationError(format!(
            "date_created_gmt '{text}' is not valid, expected YYYY-MM-DDTHH:MM:SS. Resend the \
             order from the WooCommerce REST API v3."
        ))),
    }
}

fn delivery_date(order_date: NaiveDate, lead_days: u32) -> Result<String, ValidationError> {
    let date = order_date
        .checked_add_days(Days::new(u64::from(lead_days)))
        .ok_or_else(|| {
            ValidationError(format!(
                "delivery_lead_days {lead_days} moves the delivery date beyond the supported \
                 calendar. Set a lead time of a few days."
            ))
        })?;
    Ok(date.format("%Y-%m-%d").to_string())
}
