//! Sample orders for the tests: the fixture orders as WooCommerce sent them, and small orders
//! built from a template for the hard money cases.

use serde_json::{Value, json};

/// Reads a fixture file from the shared fixtures folder beside the repository.
pub fn fixture_text(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

pub fn fixture(name: &str) -> Value {
    serde_json::from_str(&fixture_text(name)).unwrap()
}

/// The six fixture orders, by file name.
pub const FIXTURE_ORDERS: [&str; 6] = [
    "wc_order_01_docs_variation_shipping.json",
    "wc_order_02_docs_completed_with_refunds.json",
    "wc_order_03_erpnext_test_cod_inr.json",
    "wc_order_04_stripe_flat_rate_usd.json",
    "wc_order_05_prices_include_tax_sek_variation.json",
    "wc_order_06_DERIVED_coupon_fee_two_tax_rates.json",
];

/// Gives every line without a SKU the SKU `P<product_id>-V<variation_id>`, as a shop must before
/// its orders can reach ERPNext (several documentation samples have no SKUs).
pub fn with_skus(mut order: Value) -> Value {
    for line in order["line_items"].as_array_mut().unwrap() {
        let empty = line["sku"].as_str().is_none_or(str::is_empty);
        if empty {
            line["sku"] = json!(format!("P{}-V{}", line["product_id"], line["variation_id"]));
        }
    }
    order
}

/// The SKUs of an order's lines.
pub fn skus(order: &Value) -> Vec<String> {
    order["line_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["sku"].as_str().unwrap_or("").to_string())
        .collect()
}

/// A line for `order_with`: SKU, quantity and line total (tax-exclusive, after coupons).
pub struct Line {
    pub sku: &'static str,
    pub quantity: i64,
    pub total: &'static str,
    pub total_tax: &'static str,
}

pub fn line(
    sku: &'static str,
    quantity: i64,
    total: &'static str,
    total_tax: &'static str,
) -> Line {
    Line {
        sku,
        quantity,
        total,
        total_tax,
    }
}

/// An order in the shape of a WooCommerce v3 payload with the given lines and totals. The tax
/// lines are `(rate_code, label, tax_total, shipping_tax_total)`.
pub fn order_with(
    id: u64,
    lines: &[Line],
    shipping_total: &str,
    tax_lines: &[(&str, &str, &str, &str)],
    fees: &[(&str, &str, &str)],
    total: &str,
) -> Value {
    let line_items: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(index, line)| {
            json!({
                "id": 1000 + index, "name": format!("Product {}", line.sku), "product_id": 500 + index,
                "variation_id": 0, "quantity": line.quantity, "tax_class": "",
                "subtotal": line.total, "subtotal_tax": line.total_tax,
                "total": line.total, "total_tax": line.total_tax, "taxes": [], "meta_data": [],
                "sku": line.sku, "price": 0.0
            })
        })
        .collect();
    let tax_lines: Vec<Value> = tax_lines
        .iter()
        .enumerate()
        .map(|(index, (code, label, tax, shipping_tax))| {
            json!({"id": 2000 + index, "rate_code": code, "rate_id": 70 + index, "label": label,
                   "compound": false, "tax_total": tax, "shipping_tax_total": shipping_tax,
                   "rate_percent": 0, "meta_data": []})
        })
        .collect();
    let fee_lines: Vec<Value> = fees
        .iter()
        .enumerate()
        .map(|(index, (name, fee_total, fee_tax))| {
            json!({"id": 3000 + index, "name": name, "tax_class": "", "tax_status": "taxable",
                   "amount": fee_total, "total": fee_total, "total_tax": fee_tax, "taxes": [], "meta_data": []})
        })
        .collect();
    let shipping_lines = if shipping_total == "0.00" {
        json!([])
    } else {
        json!([{"id": 4000, "method_title": "Flat rate", "method_id": "flat_rate", "instance_id": "1",
                "total": shipping_total, "total_tax": "0.00", "taxes": [], "meta_data": []}])
    };

    json!({
        "id": id, "parent_id": 0, "number": id.to_string(), "status": "processing", "currency": "EUR",
        "date_created": "2026-11-27T10:00:00", "date_created_gmt": "2026-11-27T09:00:00",
        "date_modified": "2026-11-27T10:00:05", "date_modified_gmt": "2026-11-27T09:00:05",
        "discount_total": "0.00", "discount_tax": "0.00", "shipping_total": shipping_total,
        "shipping_tax": "0.00", "cart_tax": "0.00", "total": total, "total_tax": "0.00",
        "prices_include_tax": false, "customer_id": 0, "customer_ip_address": "192.0.2.10",
        "customer_user_agent": "Mozilla/5.0", "customer_note": "",
        "billing": {"first_name": "Testy", "last_name": "McTestface", "company": "",
                    "address_1": "ul. Przykladowa 1", "address_2": "", "city": "Warszawa", "state": "",
                    "postcode": "00-950", "country": "PL", "email": format!("buyer{id}@example.invalid"),
                    "phone": "+48 600 000 000"},
        "shipping": {"first_name": "", "last_name": "", "company": "", "address_1": "", "address_2": "",
                     "city": "", "state": "", "postcode": "", "country": "", "phone": ""},
        "payment_method": "bacs", "payment_method_title": "Direct bank transfer", "transaction_id": "",
        "meta_data": [{"id": 1, "key": "_wc_order_attribution_session_entry", "value": "https://shop.example.com/"}],
        "line_items": line_items, "tax_lines": tax_lines, "shipping_lines": shipping_lines,
        "fee_lines": fee_lines, "coupon_lines": [], "refunds": []
    })
}
