//! The WooCommerce REST v3 order, as it arrives in an `order.*` webhook body.
//!
//! Money stays in the strings WooCommerce sends (`"22.50"`, `"0.28125"`, `""`); the mapping parses
//! each one into a `Decimal` and names the field when it is invalid. Unknown keys are ignored,
//! because extensions add their own.

use serde::{Deserialize, Deserializer};

/// An order as `GET /wp-json/wc/v3/orders/<id>` returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct Order {
    pub id: u64,
    #[serde(default, deserialize_with = "string_or_number")]
    pub number: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub currency: String,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub date_created_gmt: Option<String>,
    #[serde(default, deserialize_with = "empty_as_none")]
    pub date_modified_gmt: Option<String>,
    #[serde(default)]
    pub prices_include_tax: bool,
    #[serde(default)]
    pub customer_id: u64,
    #[serde(default)]
    pub customer_note: String,
    #[serde(default)]
    pub billing: Address,
    #[serde(default)]
    pub shipping: Address,
    #[serde(default)]
    pub discount_total: String,
    #[serde(default)]
    pub shipping_total: String,
    #[serde(default)]
    pub total_tax: String,
    #[serde(default)]
    pub total: String,
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    #[serde(default)]
    pub tax_lines: Vec<TaxLine>,
    #[serde(default)]
    pub shipping_lines: Vec<ShippingLine>,
    #[serde(default)]
    pub fee_lines: Vec<FeeLine>,
    #[serde(default)]
    pub coupon_lines: Vec<CouponLine>,
}

/// A billing or shipping address. WooCommerce sends empty strings, not null, for unset fields;
/// `email` exists on billing only and `phone` on shipping only since WooCommerce 5.6.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Address {
    #[serde(deserialize_with = "null_as_empty")]
    pub first_name: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub last_name: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub company: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub address_1: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub address_2: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub city: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub state: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub postcode: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub country: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub email: String,
    #[serde(deserialize_with = "null_as_empty")]
    pub phone: String,
}

/// A product line. `subtotal` is before coupons, `total` after; both exclude tax, even when the
/// store enters prices with tax. `price` (a float) is never used for money.
#[derive(Debug, Clone, Deserialize)]
pub struct LineItem {
    #[serde(default)]
    pub id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub product_id: u64,
    #[serde(default)]
    pub variation_id: u64,
    pub quantity: i64,
    #[serde(default)]
    pub subtotal: String,
    #[serde(default)]
    pub total: String,
    #[serde(default)]
    pub total_tax: String,
    /// The product's SKU, or the variation's own SKU for a variation; null for a deleted product.
    #[serde(default)]
    pub sku: Option<String>,
}

/// One tax rate's share of the order, rounded by WooCommerce.
#[derive(Debug, Clone, Deserialize)]
pub struct TaxLine {
    #[serde(default)]
    pub id: u64,
    #[serde(default)]
    pub rate_code: String,
    #[serde(default, deserialize_with = "string_or_number")]
    pub rate_id: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub compound: bool,
    #[serde(default)]
    pub tax_total: String,
    #[serde(default)]
    pub shipping_tax_total: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ShippingLine {
    #[serde(default)]
    pub id: u64,
    #[serde(default)]
    pub method_title: String,
    #[serde(default)]
    pub method_id: String,
    #[serde(default)]
    pub total: String,
    #[serde(default)]
    pub total_tax: String,
}

/// A fee line; a negative `total` is a discount.
#[derive(Debug, Clone, Deserialize)]
pub struct FeeLine {
    #[serde(default)]
    pub id: u64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub tax_status: String,
    #[serde(default)]
    pub total: String,
    #[serde(default)]
    pub total_tax: String,
}

/// A coupon. Its discount is already inside the line totals, so the mapping only reports it.
#[derive(Debug, Clone, Deserialize)]
pub struct CouponLine {
    #[serde(default)]
    pub id: u64,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub discount: String,
    #[serde(default)]
    pub discount_tax: String,
}

fn string_or_number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(match value {
        serde_json::Value::String(text) => text,
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    })
}

fn empty_as_none<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    let value: Option<String> = Option::deserialize(deserializer)?;
    Ok(value.filter(|text| !text.is_empty()))
}

fn null_as_empty<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let value: Option<String> = Option::deserialize(deserializer)?;
    Ok(value.unwrap_or_default())
}
