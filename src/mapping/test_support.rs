//! Shared test helpers: shop settings and orders built from small JSON fragments.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{MappingSettings, SubmitPolicy};
use crate::woocommerce::order::Order;

/// Settings of an example shop. The state tax is mapped by rate code, the county tax by label,
/// and every other rate falls back to "VAT - ETL".
pub fn settings() -> MappingSettings {
    let tax_accounts = [
        ("US-CA-STATE TAX-1", "State Tax - ETL"),
        ("County Tax", "County Tax - ETL"),
    ]
    .into_iter()
    .map(|(key, account)| (key.to_string(), account.to_string()))
    .collect();

    MappingSettings {
        company: "Example Trading Ltd".to_string(),
        warehouse: "Stores - ETL".to_string(),
        selling_price_list: "Standard Selling".to_string(),
        customer_group: "Individual".to_string(),
        territory: "All Territories".to_string(),
        tax_account: "VAT - ETL".to_string(),
        tax_accounts,
        shipping_account: "Shipping Income - ETL".to_string(),
        fee_account: "Fee Income - ETL".to_string(),
        rounding_account: "Rounding - ETL".to_string(),
        order_prefix: "WC-".to_string(),
        delivery_lead_days: 7,
        submit_sales_orders: SubmitPolicy::OnPayment,
    }
}

/// A valid guest order in the United States with no lines. `overrides` replaces top-level keys.
pub fn order_with(overrides: Value) -> Order {
    let mut base = json!({
        "id": 900,
        "status": "processing",
        "currency": "USD",
        "date_created_gmt": "2025-03-10T14:15:02",
        "prices_include_tax": false,
        "customer_id": 0,
        "billing": billing(),
        "shipping": {},
        "shipping_total": "0.00",
        "total_tax": "0.00",
        "total": "0.00",
        "line_items": [],
        "tax_lines": [],
        "shipping_lines": [],
        "fee_lines": [],
        "coupon_lines": []
    });

    let Value::Object(fields) = overrides else {
        panic!("overrides must be a JSON object, got {overrides}");
    };
    for (key, value) in fields {
        base[key] = value;
    }
    serde_json::from_value(base).expect("test order must deserialize")
}

/// A complete billing address in San Francisco.
pub fn billing() -> Value {
    json!({
        "first_name": "Testy",
        "last_name": "McTestface",
        "company": "",
        "address_1": "1 Example Street",
        "address_2": "",
        "city": "San Francisco",
        "state": "CA",
        "postcode": "94103",
        "country": "US",
        "email": "buyer@example.invalid",
        "phone": "+00 000 000 000"
    })
}

/// A line item of `quantity` units with the given tax-exclusive total.
pub fn line(sku: &str, quantity: i64, total: &str) -> Value {
    json!({
        "id": 1,
        "name": format!("Product {sku}"),
        "product_id": 10,
        "variation_id": 0,
        "quantity": quantity,
        "subtotal": total,
        "total": total,
        "total_tax": "0.00",
        "sku": sku
    })
}

/// A tax line with its item/fee tax and shipping tax.
pub fn tax_line(rate_code: &str, label: &str, tax_total: &str, shipping_tax_total: &str) -> Value {
    json!({
        "id": 1,
        "rate_code": rate_code,
        "rate_id": 1,
        "label": label,
        "compound": false,
        "tax_total": tax_total,
        "shipping_tax_total": shipping_tax_total
    })
}

pub fn amount(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}
