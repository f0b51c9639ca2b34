//! Pure mapping from a WooCommerce order to the ERPNext documents that represent it.
//!
//! No I/O happens here: an `Order` and the shop's `MappingSettings` go in, an `OrderPlan` (or a
//! `ValidationError` naming the field, the value and the rule) comes out. The delivery stage fills
//! in the names ERPNext assigns (Customer, Address) and performs the requests.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

use crate::erpnext::documents::{AddressDoc, CustomerDoc, SalesOrderDoc};

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

/// Placeholder until the mapping lands.
pub fn map_order(
    _order: &crate::woocommerce::order::Order,
    _settings: &MappingSettings,
) -> Result<OrderPlan, ValidationError> {
    Err(ValidationError("mapping not implemented".to_string()))
}
