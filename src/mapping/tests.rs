//! Tests of `map_order` as a whole: sample WooCommerce orders, hard rounding cases and validation
//! messages.

use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::test_support::{amount, billing, line, order_with, settings, tax_line};
use super::*;
use crate::woocommerce::order::Order;

const ORDER_01: &str =
    include_str!("../../../shared/fixtures/wc_order_01_docs_variation_shipping.json");
const ORDER_02: &str =
    include_str!("../../../shared/fixtures/wc_order_02_docs_completed_with_refunds.json");
const ORDER_03: &str =
    include_str!("../../../shared/fixtures/wc_order_03_erpnext_test_cod_inr.json");
const ORDER_04: &str =
    include_str!("../../../shared/fixtures/wc_order_04_stripe_flat_rate_usd.json");
const ORDER_05: &str =
    include_str!("../../../shared/fixtures/wc_order_05_prices_include_tax_sek_variation.json");
const ORDER_06: &str =
    include_str!("../../../shared/fixtures/wc_order_06_DERIVED_coupon_fee_two_tax_rates.json");

fn parse(text: &str) -> Order {
    serde_json::from_str(text).expect("fixture must deserialize")
}

/// Σ item amounts + Σ tax rows: ERPNext's grand total with rounded totals disabled.
fn grand_total(plan: &OrderPlan) -> Decimal {
    totals::item_amount_sum(&plan.sales_order.items) + totals::tax_row_sum(&plan.sales_order.taxes)
}

fn item_rows(plan: &OrderPlan) -> Vec<(String, i64, Decimal)> {
    plan.sales_order
        .items
        .iter()
        .map(|item| (item.item_code.clone(), item.qty, item.rate))
        .collect()
}

fn tax_rows(plan: &OrderPlan) -> Vec<(String, String, Decimal)> {
    plan.sales_order
        .taxes
        .iter()
        .map(|row| {
            (
                row.account_head.clone(),
                row.description.clone(),
                row.tax_amount,
            )
        })
        .collect()
}

fn expected_items(rows: &[(&str, i64, &str)]) -> Vec<(String, i64, Decimal)> {
    rows.iter()
        .map(|(code, quantity, rate)| (code.to_string(), *quantity, amount(rate)))
        .collect()
}

fn expected_taxes(rows: &[(&str, &str, &str)]) -> Vec<(String, String, Decimal)> {
    rows.iter()
        .map(|(account, description, value)| {
            (account.to_string(), description.to_string(), amount(value))
        })
        .collect()
}

fn map_error(order: &Order) -> String {
    match map_order(order, &settings()) {
        Ok(plan) => panic!(
            "expected a ValidationError, got a plan for order {}",
            plan.order_id
        ),
        Err(error) => error.0,
    }
}

#[test]
fn coupon_fee_order_maps_exactly() {
    let plan = map_order(&parse(ORDER_06), &settings()).unwrap();

    assert_eq!(
        item_rows(&plan),
        expected_items(&[("EX-MUG", 2, "11.25"), ("EX-TEE-BL-L", 1, "36.00")])
    );
    assert_eq!(
        tax_rows(&plan),
        expected_taxes(&[
            ("Shipping Income - ETL", "Flat rate", "10.00"),
            ("Fee Income - ETL", "Gift wrap", "2.00"),
            ("State Tax - ETL", "State Tax (US-CA-STATE TAX-1)", "4.23"),
            (
                "County Tax - ETL",
                "County Tax (US-CA-COUNTY TAX-2)",
                "0.76"
            ),
        ])
    );
    assert!(
        plan.sales_order
            .taxes
            .iter()
            .all(|row| row.charge_type == "Actual")
    );
    assert_eq!(plan.total, amount("75.49"));
    assert_eq!(grand_total(&plan), amount("75.49"));
    assert_eq!(plan.rounding_residual, Decimal::ZERO);
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
}

#[test]
fn coupon_fee_order_header_fields() {
    let plan = map_order(&parse(ORDER_06), &settings()).unwrap();
    let order = &plan.sales_order;

    assert_eq!(plan.order_id, 812);
    assert_eq!(plan.intent, OrderIntent::Submit);
    assert_eq!(order.customer, "");
    assert_eq!(order.order_type, "Sales");
    assert_eq!(order.po_no, "WC-812");
    assert_eq!(order.company, "Example Trading Ltd");
    assert_eq!(order.currency, "USD");
    assert_eq!(order.transaction_date, "2025-03-10");
    assert_eq!(order.delivery_date, "2025-03-17");
    assert_eq!(order.selling_price_list, "Standard Selling");
    assert_eq!(order.set_warehouse, "Stores - ETL");
    assert_eq!(order.ignore_pricing_rule, 1);
    assert_eq!(order.disable_rounded_total, 1);
    assert_eq!(order.customer_address, None);
    assert_eq!(order.shipping_address_name, None);
    for item in &order.items {
        assert_eq!(item.warehouse, "Stores - ETL");
        assert_eq!(item.delivery_date, "2025-03-17");
        assert_eq!(item.price_list_rate, None);
    }
}

#[test]
fn coupon_fee_order_customer_address() {
    let plan = map_order(&parse(ORDER_06), &settings()).unwrap();

    assert_eq!(plan.customer.link_key, "guest:buyer@example.invalid");
    assert_eq!(plan.customer.doc.customer_name, "Testy McTestface");
    assert_eq!(plan.customer.doc.customer_type, "Individual");
    assert_eq!(plan.shipping_address, None);
    assert_eq!(plan.billing_address.address_title, "Testy McTestface");
    assert_eq!(plan.billing_address.country, "United States");
    assert_eq!(plan.billing_address.pincode, "94103");
    assert_eq!(plan.billing_address.is_primary_address, 1);
    assert_eq!(plan.billing_address.is_shipping_address, 1);
}

#[test]
fn order_private_data_left_out() {
    let plan = map_order(&parse(ORDER_06), &settings()).unwrap();

    let written = [
        serde_json::to_string(&plan.customer.doc).unwrap(),
        serde_json::to_string(&plan.billing_address).unwrap(),
        serde_json::to_string(&plan.sales_order).unwrap(),
    ]
    .join("\n");

    for private in [
        "Leave at the door",
        "192.0.2.13",
        "bacs",
        "Direct bank transfer",
        "is_vat_exempt",
    ] {
        assert!(
            !written.contains(private),
            "{private:?} was written to ERPNext"
        );
    }
}

#[test]
fn tax_inclusive_order_maps_exactly() {
    let plan = map_order(&parse(ORDER_05), &settings()).unwrap();

    assert_eq!(
        item_rows(&plan),
        expected_items(&[("bm-31", 1, "239.20"), ("o-speed", 1, "543.20")])
    );
    assert_eq!(
        tax_rows(&plan),
        expected_taxes(&[
            ("Shipping Income - ETL", "Drone Shipping", "200.00"),
            ("VAT - ETL", "Moms (SE-MOMS-1)", "195.60"),
        ])
    );
    assert_eq!(plan.sales_order.currency, "SEK");
    assert_eq!(plan.sales_order.transaction_date, "2022-04-25");
    assert_eq!(grand_total(&plan), amount("1178.00"));
    assert_eq!(plan.total, amount("1178.00"));
    assert_eq!(plan.rounding_residual, Decimal::ZERO);
}

#[test]
fn sample_orders_without_sku_rejected() {
    let cases = [
        (ORDER_01, "line 1 'Woo Single #1' (product 93) has no SKU"),
        (ORDER_02, "line 1 'Woo Album #2' (product 87) has no SKU"),
        (ORDER_03, "line 1 'Marvel' (product 56) has no SKU"),
        (
            ORDER_04,
            "line 1 'Rhapsody of Realities- A Topical Compendium volume 5' (product 753) has no SKU",
        ),
    ];
    for (fixture, expected) in cases {
        let message = map_error(&parse(fixture));

        assert!(message.starts_with(expected), "{message}");
        assert!(
            message.contains("matches an ERPNext item code"),
            "{message}"
        );
    }
}

#[test]
fn sample_orders_with_skus_map_exactly() {
    let cases = [
        (ORDER_01, "29.35", 2, 2),
        (ORDER_02, "39.00", 2, 1),
        (ORDER_03, "649.00", 1, 1),
        (ORDER_04, "28.44", 1, 1),
    ];
    for (fixture, total, item_count, tax_count) in cases {
        let mut order = parse(fixture);
        for line in &mut order.line_items {
            if line.sku.as_deref().unwrap_or("").is_empty() {
                line.sku = Some(format!("SKU-{}", line.product_id));
            }
        }

        let plan = map_order(&order, &settings()).unwrap();

        assert_eq!(grand_total(&plan), amount(total), "order {}", order.id);
        assert_eq!(plan.total, amount(total), "order {}", order.id);
        assert_eq!(plan.rounding_residual, Decimal::ZERO, "order {}", order.id);
        assert_eq!(
            plan.sales_order.items.len(),
            item_count,
            "order {}",
            order.id
        );
        assert_eq!(
            plan.sales_order.taxes.len(),
            tax_count,
            "order {}",
            order.id
        );
    }
}

#[test]
fn sample_orders_keep_customer_details() {
    let mut order = parse(ORDER_03);
    order.line_items[0].sku = Some("MARVEL".to_string());
    let plan = map_order(&order, &settings()).unwrap();

    assert_eq!(plan.customer.link_key, "customer:12");
    assert_eq!(plan.customer.doc.customer_name, "Example Co");
    assert_eq!(plan.customer.doc.customer_type, "Company");
    assert_eq!(plan.billing_address.country, "India");

    let mut order = parse(ORDER_04);
    order.line_items[0].sku = Some("RHAPSODY-5".to_string());
    let plan = map_order(&order, &settings()).unwrap();

    let shipping = plan
        .shipping_address
        .expect("shipping has no company, so it differs");
    assert_eq!(shipping.address_title, "Testy McTestface");
    assert_eq!(plan.billing_address.address_title, "Example Co");
    assert_eq!(plan.billing_address.is_shipping_address, 0);
}

/// One hard case: the order's lines and figures, and the rows the Sales Order must get.
struct HardCase {
    name: &'static str,
    order: Value,
    items: &'static [(&'static str, i64, &'static str)],
    taxes: &'static [(&'static str, &'static str, &'static str)],
    residual: &'static str,
}

fn hard_cases() -> Vec<HardCase> {
    vec![
        HardCase {
            name: "3 units for 10.00",
            order: json!({"line_items": [line("A", 3, "10.00")], "total": "10.00"}),
            items: &[("A", 2, "3.33"), ("A", 1, "3.34")],
            taxes: &[],
            residual: "0",
        },
        HardCase {
            name: "10 % coupon on 3 × 9.99",
            order: json!({
                "line_items": [{"name": "B", "product_id": 2, "quantity": 3, "subtotal": "29.97",
                                "total": "26.97", "sku": "B"}],
                "coupon_lines": [{"code": "save10", "discount": "3.00"}],
                "discount_total": "3.00",
                "total": "26.97"
            }),
            items: &[("B", 3, "8.99")],
            taxes: &[],
            residual: "0",
        },
        HardCase {
            name: "10 % coupon on 7 × 1.99",
            order: json!({
                "line_items": [{"name": "C", "product_id": 3, "quantity": 7, "subtotal": "13.93",
                                "total": "12.54", "sku": "C"}],
                "coupon_lines": [{"code": "save10", "discount": "1.39"}],
                "total": "12.54"
            }),
            items: &[("C", 6, "1.79"), ("C", 1, "1.80")],
            taxes: &[],
            residual: "0",
        },
        HardCase {
            name: "fee line",
            order: json!({
                "line_items": [line("A", 1, "20.00")],
                "fee_lines": [{"name": "Gift wrap", "total": "2.50"}],
                "total": "22.50"
            }),
            items: &[("A", 1, "20.00")],
            taxes: &[("Fee Income - ETL", "Gift wrap", "2.50")],
            residual: "0",
        },
        HardCase {
            name: "negative fee",
            order: json!({
                "line_items": [line("A", 1, "50.00")],
                "fee_lines": [{"name": "Loyalty discount", "total": "-5.00"}],
                "total": "45.00"
            }),
            items: &[("A", 1, "50.00")],
            taxes: &[("Fee Income - ETL", "Loyalty discount", "-5.00")],
            residual: "0",
        },
        HardCase {
            name: "two tax rates with shipping tax",
            order: json!({
                "line_items": [line("A", 2, "50.00")],
                "shipping_lines": [{"method_title": "Flat rate", "total": "10.00"}],
                "tax_lines": [
                    tax_line("US-CA-STATE TAX-1", "State Tax", "3.00", "0.60"),
                    tax_line("US-CA-COUNTY TAX-2", "County Tax", "0.63", "0.00")
                ],
                "shipping_total": "10.00",
                "total_tax": "4.23",
                "total": "64.23"
            }),
            items: &[("A", 2, "25.00")],
            taxes: &[
                ("Shipping Income - ETL", "Flat rate", "10.00"),
                ("State Tax - ETL", "State Tax (US-CA-STATE TAX-1)", "3.60"),
                (
                    "County Tax - ETL",
                    "County Tax (US-CA-COUNTY TAX-2)",
                    "0.63",
                ),
            ],
            residual: "0",
        },
        HardCase {
            name: "zero tax",
            order: json!({
                "line_items": [line("A", 1, "12.00")],
                "tax_lines": [tax_line("US-OR-ZERO", "No Tax", "0.00", "0.00")],
                "total": "12.00"
            }),
            items: &[("A", 1, "12.00")],
            taxes: &[],
            residual: "0",
        },
        HardCase {
            name: "prices entered with tax",
            order: json!({
                "prices_include_tax": true,
                "currency": "SEK",
                "line_items": [{"name": "Gross 299", "product_id": 5, "quantity": 1,
                                "subtotal": "239.20", "total": "239.20", "total_tax": "59.80",
                                "sku": "G"}],
                "tax_lines": [tax_line("SE-MOMS-1", "Moms", "59.80", "0.00")],
                "total_tax": "59.80",
                "total": "299.00"
            }),
            items: &[("G", 1, "239.20")],
            taxes: &[("VAT - ETL", "Moms (SE-MOMS-1)", "59.80")],
            residual: "0",
        },
        HardCase {
            name: "100 % coupon",
            order: json!({
                "line_items": [{"name": "Free", "product_id": 6, "quantity": 2,
                                "subtotal": "20.00", "total": "0.00", "sku": "F"}],
                "coupon_lines": [{"code": "free", "discount": "20.00"}],
                "total": "0.00"
            }),
            items: &[("F", 2, "0.00")],
            taxes: &[],
            residual: "0",
        },
        HardCase {
            name: "tax lines one cent below total_tax",
            order: json!({
                "line_items": [line("A", 1, "10.00")],
                "tax_lines": [tax_line("US-TX", "Sales Tax", "0.82", "0.00")],
                "total_tax": "0.83",
                "total": "10.83"
            }),
            items: &[("A", 1, "10.00")],
            taxes: &[
                ("VAT - ETL", "Sales Tax (US-TX)", "0.82"),
                (
                    "Rounding - ETL",
                    "Rounding difference from WooCommerce",
                    "0.01",
                ),
            ],
            residual: "0.01",
        },
        HardCase {
            name: "tax lines one cent above total_tax",
            order: json!({
                "line_items": [line("A", 3, "10.00")],
                "tax_lines": [tax_line("US-TX", "Sales Tax", "0.84", "0.00")],
                "total_tax": "0.83",
                "total": "10.83"
            }),
            items: &[("A", 2, "3.33"), ("A", 1, "3.34")],
            taxes: &[
                ("VAT - ETL", "Sales Tax (US-TX)", "0.84"),
                (
                    "Rounding - ETL",
                    "Rounding difference from WooCommerce",
                    "-0.01",
                ),
            ],
            residual: "-0.01",
        },
    ]
}

#[test]
fn hard_cases_map_exactly() {
    for case in hard_cases() {
        let order = order_with(case.order.clone());

        let plan = match map_order(&order, &settings()) {
            Ok(plan) => plan,
            Err(error) => panic!("{}: {error}", case.name),
        };

        assert_eq!(
            item_rows(&plan),
            expected_items(case.items),
            "{}",
            case.name
        );
        assert_eq!(tax_rows(&plan), expected_taxes(case.taxes), "{}", case.name);
        assert_eq!(
            plan.rounding_residual,
            amount(case.residual),
            "{}",
            case.name
        );
        assert_eq!(grand_total(&plan), plan.total, "{}", case.name);
    }
}

#[test]
fn free_line_sends_price_list_rate_zero() {
    let order = order_with(json!({"line_items": [line("F", 2, "0.00")], "total": "0.00"}));

    let plan = map_order(&order, &settings()).unwrap();
    let item = &plan.sales_order.items[0];

    assert_eq!(item.rate, Decimal::ZERO);
    assert_eq!(item.price_list_rate, Some(Decimal::ZERO));
    let written = serde_json::to_value(item).unwrap();
    assert_eq!(written["price_list_rate"], json!(0.0));
    assert_eq!(written["rate"], json!(0.0));
}

#[test]
fn paid_line_omits_price_list_rate() {
    let order = order_with(json!({"line_items": [line("A", 1, "5.00")], "total": "5.00"}));

    let plan = map_order(&order, &settings()).unwrap();
    let written = serde_json::to_value(&plan.sales_order.items[0]).unwrap();

    assert!(written.get("price_list_rate").is_none(), "{written}");
}

#[test]
fn forty_lines_add_up_exactly() {
    let mut lines = Vec::new();
    let mut total = Decimal::ZERO;
    for index in 0..40_i64 {
        let line_total = Decimal::new(1000 + index * 37, 2);
        total += line_total;
        lines.push(line(
            &format!("SKU-{index}"),
            index % 7 + 1,
            &line_total.to_string(),
        ));
    }
    let order = order_with(json!({"line_items": lines, "total": total.to_string()}));

    let plan = map_order(&order, &settings()).unwrap();

    let units: i64 = plan.sales_order.items.iter().map(|item| item.qty).sum();
    let expected_units: i64 = (0..40).map(|index| index % 7 + 1).sum();
    assert_eq!(units, expected_units);
    assert_eq!(grand_total(&plan), total);
    assert_eq!(plan.rounding_residual, Decimal::ZERO);
    assert!(plan.sales_order.items.len() > 40, "some lines must split");
}

#[test]
fn split_line_adds_note() {
    let order = order_with(json!({"line_items": [line("A", 3, "10.00")], "total": "10.00"}));

    let plan = map_order(&order, &settings()).unwrap();

    assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
    assert!(plan.notes[0].starts_with("line 1 'Product A' (product 10): total 10.00 for 3 units"));
    assert!(
        plan.notes[0].ends_with("2 × 3.33 + 1 × 3.34"),
        "{:?}",
        plan.notes
    );
}

#[test]
fn rounding_residual_adds_notes() {
    let order = order_with(json!({
        "line_items": [line("A", 1, "10.00")],
        "tax_lines": [tax_line("US-TX", "Sales Tax", "0.82", "0.00")],
        "total_tax": "0.83",
        "total": "10.83"
    }));

    let plan = map_order(&order, &settings()).unwrap();

    assert!(
        plan.notes
            .iter()
            .any(|note| note.contains("by 0.01, booked on Rounding - ETL")),
        "{:?}",
        plan.notes
    );
    assert!(
        plan.notes
            .iter()
            .any(|note| note.contains("tax lines add up to 0.82, but total_tax is 0.83")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn woocommerce_identity_mismatch_only_noted() {
    let order = order_with(json!({
        "line_items": [line("A", 1, "10.00")],
        "tax_lines": [tax_line("US-TX", "Sales Tax", "0.83", "0.00")],
        "total_tax": "0.82",
        "total": "10.83"
    }));

    let plan = map_order(&order, &settings()).unwrap();

    assert_eq!(plan.rounding_residual, Decimal::ZERO);
    assert!(
        plan.notes.iter().any(|note| note
            .contains("WooCommerce total 10.83 differs from line totals + fees + shipping_total + total_tax = 10.82")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn residual_beyond_tolerance_rejected() {
    let order = order_with(json!({"line_items": [line("A", 1, "70.00")], "total": "75.49"}));

    let message = map_error(&order);

    assert!(
        message.starts_with("order total 75.49 does not match"),
        "{message}"
    );
    assert!(message.contains("fees and taxes 70.00"), "{message}");
    assert!(
        message.contains("difference 5.49 is more than the 0.01"),
        "{message}"
    );
}

#[test]
fn residual_tolerance_counts_every_figure() {
    // Two lines, one shipping line and one tax line allow 0.04, so 0.05 is too much.
    let base = json!({
        "line_items": [line("A", 1, "10.00"), line("B", 1, "10.00")],
        "shipping_lines": [{"method_title": "Flat rate", "total": "5.00"}],
        "tax_lines": [tax_line("US-TX", "Sales Tax", "1.00", "0.00")]
    });
    let with_total = |total: &str| {
        let mut fields = base.clone();
        fields["total"] = json!(total);
        order_with(fields)
    };

    let plan = map_order(&with_total("26.04"), &settings()).unwrap();
    assert_eq!(plan.rounding_residual, amount("0.04"));

    let message = map_error(&with_total("26.05"));
    assert!(message.contains("more than the 0.04"), "{message}");
}

#[test]
fn validation_messages_name_field_and_value() {
    let without_sku = json!([{"name": "Mystery", "product_id": 7, "quantity": 1, "total": "5.00",
                               "sku": null}]);
    let billing_without = |field: &str| {
        let mut address = billing();
        address[field] = json!("");
        address
    };
    let one_line = json!([line("A", 1, "5.00")]);

    let cases = [
        (
            json!({"line_items": without_sku}),
            "line 1 'Mystery' (product 7) has no SKU",
        ),
        (
            json!({"line_items": [line("A", 0, "0.00")]}),
            "line 1 'Product A' (product 10) has quantity 0",
        ),
        (
            json!({"line_items": [line("A", 1, "12,50")]}),
            "line_items[0].total '12,50' is not a valid amount",
        ),
        (
            json!({"line_items": [line("A", 1, "-1.00")]}),
            "line 1 'Product A' (product 10) has a negative total -1.00",
        ),
        (json!({"line_items": []}), "line_items is empty"),
        (
            json!({"line_items": one_line, "total": "abc"}),
            "total 'abc' is not a valid amount",
        ),
        (
            json!({"line_items": one_line, "shipping_lines": [{"method_title": "Post", "total": "ten"}]}),
            "shipping_lines[0].total 'ten' is not a valid amount",
        ),
        (
            json!({"line_items": one_line, "tax_lines": [tax_line("X", "X", "0.28125", "0.00")]}),
            "tax_lines[0].tax_total '0.28125' has more than 2 decimal places",
        ),
        (
            json!({"billing": billing_without("address_1")}),
            "billing address_1 is missing",
        ),
        (
            json!({"billing": billing_without("city")}),
            "billing city is missing",
        ),
        (
            json!({"billing": billing_without("country")}),
            "billing country is missing",
        ),
        (
            json!({"billing": {"first_name": "", "company": "", "address_1": "1 Main St", "city": "X", "country": "US", "postcode": "94103"}}),
            "billing first_name and company are both missing",
        ),
        (
            json!({"billing": {"first_name": "A", "address_1": "1 Main St", "city": "X", "country": "XX", "email": "a@b.de"}}),
            "billing country 'XX' is not an ISO 3166-1 alpha-2 country code",
        ),
        (
            json!({"billing": {"first_name": "A", "address_1": "Hauptstr. 1", "city": "Berlin", "country": "DE", "email": "a@b.de"}}),
            "billing postcode is missing, but addresses in DE need one, expected NNNNN",
        ),
        (
            json!({"billing": {"first_name": "A", "address_1": "1 Main St", "city": "X", "country": "US", "postcode": "94103"}}),
            "billing email is missing",
        ),
        (json!({"currency": ""}), "currency is missing"),
        (json!({"currency": "US"}), "currency 'US' is not valid"),
        (
            json!({"date_created_gmt": null}),
            "date_created_gmt is missing",
        ),
        (
            json!({"date_created_gmt": "2025-03-10 14:15:02"}),
            "date_created_gmt '2025-03-10 14:15:02' is not valid",
        ),
        (
            json!({"date_created_gmt": "2025-03-10T14:15:02Z"}),
            "date_created_gmt '2025-03-10T14:15:02Z' is not valid",
        ),
        (
            json!({"date_created_gmt": "2025-02-30T14:15:02"}),
            "date_created_gmt '2025-02-30T14:15:02' is not valid",
        ),
        (
            json!({"date_created_gmt": "2025-3-10T14:15:02"}),
            "date_created_gmt '2025-3-10T14:15:02' is not valid",
        ),
    ];
    for (fields, expected) in cases {
        let mut fields = fields;
        if fields.get("line_items").is_none() {
            fields["line_items"] = json!([line("A", 1, "5.00")]);
            fields["total"] = json!("5.00");
        }

        let message = map_error(&order_with(fields.clone()));

        assert!(
            message.starts_with(expected),
            "{fields}\nexpected: {expected}\nmessage: {message}"
        );
    }
}

/// A shipping address in `country` with `postcode`, different from the billing address.
fn shipping_in(country: &str, postcode: &str) -> Order {
    order_with(json!({
        "line_items": [line("A", 1, "5.00")],
        "total": "5.00",
        "shipping": {"first_name": "Recipient", "address_1": "2 Other Street", "city": "Town",
                     "country": country, "postcode": postcode}
    }))
}

#[test]
fn shipping_postcodes_checked_per_country() {
    let cases = [
        ("PL", "00-950", "1234", "NN-NNN"),
        ("DE", "10115", "1011", "NNNNN"),
        ("AT", "1010", "10100", "NNNN"),
        ("FR", "75001", "750", "NNNNN"),
        ("NL", "1012 AB", "1012", "NNNN AA"),
        ("GB", "SW1A 1AA", "SW1A", "a UK postcode such as SW1A 1AA"),
        ("IE", "A65 F4E2", "A65", "an Eircode such as A65 F4E2"),
        ("US", "94103-1234", "9410", "NNNNN or NNNNN-NNNN"),
        ("CZ", "110 00", "1100", "NNN NN"),
        ("ES", "28013", "2801", "NNNNN"),
        ("IT", "00184", "0018", "NNNNN"),
    ];
    for (country, valid, invalid, expected) in cases {
        let plan = map_order(&shipping_in(country, valid), &settings())
            .unwrap_or_else(|error| panic!("{country} {valid}: {error}"));
        let shipping = plan
            .shipping_address
            .expect("shipping differs from billing");
        assert_eq!(shipping.pincode, valid, "{country}");

        let message = map_error(&shipping_in(country, invalid));
        let prefix = format!(
            "shipping postcode '{invalid}' is not valid for {country}, expected {expected}"
        );
        assert!(message.starts_with(&prefix), "{message}");
    }
}

#[test]
fn shipping_postcode_normalised_into_pincode() {
    let cases = [
        ("GB", "sw1a1aa", "SW1A 1AA"),
        ("NL", "1012ab", "1012 AB"),
        ("IE", "a65f4e2", "A65 F4E2"),
    ];
    for (country, raw, expected) in cases {
        let plan = map_order(&shipping_in(country, raw), &settings()).unwrap();

        assert_eq!(
            plan.shipping_address.unwrap().pincode,
            expected,
            "{country} {raw}"
        );
    }
}

#[test]
fn irish_address_without_eircode_accepted() {
    let plan = map_order(&shipping_in("IE", ""), &settings()).unwrap();

    assert_eq!(plan.shipping_address.unwrap().pincode, "");
}

#[test]
fn unusable_phone_dropped_with_note() {
    let mut address = billing();
    address["phone"] = json!("n/a");
    let order = order_with(json!({
        "billing": address, "line_items": [line("A", 1, "5.00")], "total": "5.00"
    }));

    let plan = map_order(&order, &settings()).unwrap();

    assert_eq!(plan.customer.doc.mobile_no, None);
    assert_eq!(plan.billing_address.phone, None);
    assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
    assert!(
        plan.notes[0].starts_with("billing phone 'n/a' was dropped"),
        "{:?}",
        plan.notes
    );
}

#[test]
fn messy_phone_cleaned_without_note() {
    let mut address = billing();
    address["phone"] = json!("0170/1234567");
    let order = order_with(json!({
        "billing": address, "line_items": [line("A", 1, "5.00")], "total": "5.00"
    }));

    let plan = map_order(&order, &settings()).unwrap();

    assert_eq!(plan.customer.doc.mobile_no.as_deref(), Some("0170 1234567"));
    assert_eq!(plan.billing_address.phone.as_deref(), Some("0170 1234567"));
    assert!(plan.notes.is_empty(), "{:?}", plan.notes);
}

#[test]
fn refunded_order_submitted_with_note() {
    let order = order_with(json!({
        "status": "refunded", "line_items": [line("A", 1, "5.00")], "total": "5.00"
    }));

    let plan = map_order(&order, &settings()).unwrap();

    assert_eq!(plan.intent, OrderIntent::Submit);
    assert!(
        plan.notes
            .iter()
            .any(|note| note.contains("Refunds are not synchronised"))
    );
}
