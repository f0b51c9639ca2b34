//! Orders end to end: WooCommerce order webhooks become ERPNext Sales Orders whose grand total
//! equals the order total to the cent, with every SKU's quantity kept.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use rust_decimal::Decimal;
use serde_json::{Value, json};

use crate::support::bus::Bus;
use crate::support::fake_erpnext::FakeErpNext;
use crate::support::orders::{FIXTURE_ORDERS, fixture, line, order_with, skus, with_skus};

const WAIT: Duration = Duration::from_secs(30);

fn decimal(value: &Value) -> Decimal {
    match value {
        Value::String(text) => Decimal::from_str(text).unwrap(),
        Value::Number(number) => Decimal::from_str(&number.to_string()).unwrap(),
        other => panic!("not a number: {other}"),
    }
}

/// The live Sales Order with this `po_no` in the fake ERPNext; fails unless there is exactly one.
fn sales_order(erp: &FakeErpNext, po_no: &str) -> Value {
    let found: Vec<Value> = erp
        .sales_orders()
        .into_iter()
        .filter(|so| so["po_no"] == po_no && so["docstatus"].as_i64() != Some(2))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "expected one live Sales Order with po_no {po_no}, found {found:#?}"
    );
    found.into_iter().next().unwrap()
}

/// Σ qty per item code of a Sales Order.
fn quantities(so: &Value) -> BTreeMap<String, Decimal> {
    let mut totals = BTreeMap::new();
    for item in so["items"].as_array().unwrap() {
        let code = item["item_code"].as_str().unwrap().to_string();
        *totals.entry(code).or_insert(Decimal::ZERO) += decimal(&item["qty"]);
    }
    totals
}

/// Σ quantity per SKU of a WooCommerce order.
fn order_quantities(order: &Value) -> BTreeMap<String, Decimal> {
    let mut totals = BTreeMap::new();
    for line in order["line_items"].as_array().unwrap() {
        let sku = line["sku"].as_str().unwrap().to_string();
        *totals.entry(sku).or_insert(Decimal::ZERO) +=
            Decimal::from(line["quantity"].as_i64().unwrap());
    }
    totals
}

fn add_items(erp: &FakeErpNext, order: &Value) {
    for sku in skus(order) {
        erp.add_item(&sku);
    }
}

/// Sends the order, waits for its job to finish, and checks the Sales Order against it.
fn deliver_and_check(bus: &Bus, erp: &FakeErpNext, order: &Value) -> Value {
    let id = bus.send_order_job("order.created", order);
    let job = bus.wait_for_job(id, &["done", "failed"], WAIT);
    assert_eq!(job["status"], "done", "job {job:#}\nlog:\n{}", bus.logs());

    let po_no = format!("WC-{}", order["id"]);
    let so = sales_order(erp, &po_no);
    assert_eq!(job["erp_name"], so["name"]);
    assert_eq!(
        decimal(&so["grand_total"]),
        decimal(&order["total"]),
        "grand_total of {po_no} must equal the order total; Sales Order {so:#}"
    );
    assert_eq!(
        quantities(&so),
        order_quantities(order),
        "quantities of {po_no}"
    );
    assert_eq!(so["disable_rounded_total"].as_i64(), Some(1));
    so
}

#[test]
fn fixture_orders_map_to_exact_sales_orders() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());

    for name in FIXTURE_ORDERS {
        let order = with_skus(fixture(name));
        add_items(&erp, &order);
        let so = deliver_and_check(&bus, &erp, &order);

        let paid = matches!(
            order["status"].as_str(),
            Some("processing" | "completed" | "on-hold")
        );
        assert_eq!(
            so["docstatus"].as_i64(),
            Some(if paid { 1 } else { 0 }),
            "{name}: docstatus"
        );
        assert_eq!(so["currency"], order["currency"], "{name}: currency");
        let date = order["date_created_gmt"].as_str().unwrap();
        assert_eq!(
            so["transaction_date"].as_str(),
            Some(&date[..10]),
            "{name}: transaction_date"
        );
    }
}

#[test]
fn order_06_has_the_documented_rows() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());
    let order = fixture("wc_order_06_DERIVED_coupon_fee_two_tax_rates.json");
    add_items(&erp, &order);
    let so = deliver_and_check(&bus, &erp, &order);

    let taxes: Vec<(String, Decimal)> = so["taxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["account_head"].as_str().unwrap().to_string(),
                decimal(&row["tax_amount"]),
            )
        })
        .collect();
    let amounts: Vec<Decimal> = taxes.iter().map(|(_, amount)| *amount).collect();
    assert!(
        amounts.contains(&Decimal::from_str("10.00").unwrap()),
        "shipping row: {taxes:?}"
    );
    assert!(
        amounts.contains(&Decimal::from_str("2.00").unwrap()),
        "fee row: {taxes:?}"
    );
    assert!(
        amounts.contains(&Decimal::from_str("4.23").unwrap()),
        "state tax row: {taxes:?}"
    );
    assert!(
        amounts.contains(&Decimal::from_str("0.76").unwrap()),
        "county tax row: {taxes:?}"
    );
    assert_eq!(
        decimal(&so["grand_total"]),
        Decimal::from_str("75.49").unwrap()
    );
}

#[test]
fn fixture_lines_without_sku_fail_at_validate() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());
    let order = fixture("wc_order_01_docs_variation_shipping.json");

    let id = bus.send_order_job("order.created", &order);
    let job = bus.wait_for_job(id, &["done", "failed"], WAIT);
    assert_eq!(job["status"], "failed");
    assert_eq!(job["attempts"], 1, "a validation error must not be retried");
    let error = job["last_error"].as_str().unwrap();
    assert!(error.starts_with("validate: "), "{error}");
    assert!(error.contains("SKU"), "{error}");
    assert!(
        error.contains("Woo Single #1"),
        "the reason names the line: {error}"
    );

    let stages: Vec<&str> = job["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["stage"].as_str().unwrap())
        .collect();
    assert!(stages.contains(&"validate"), "{stages:?}");
    assert_eq!(
        erp.count_requests("POST", "/api/resource/Sales"),
        0,
        "nothing may reach ERPNext"
    );
}

#[test]
fn invalid_postcode_fails_with_reason() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());
    let mut order = order_with(
        7001,
        &[line("PC-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    order["billing"]["postcode"] = json!("1234");
    erp.add_item("PC-1");

    let id = bus.send_order_job("order.created", &order);
    let job = bus.wait_for_job(id, &["done", "failed"], WAIT);
    assert_eq!(job["status"], "failed");
    let error = job["last_error"].as_str().unwrap();
    assert!(error.starts_with("validate: "), "{error}");
    assert!(error.contains("'1234'"), "{error}");
    assert!(error.contains("PL"), "{error}");
    assert!(error.contains("NN-NNN"), "{error}");
    assert!(
        !bus.logs().contains("'1234'"),
        "the journal gets no address values:\n{}",
        bus.logs()
    );
}

/// One row of the hard-case table: an order and what its Sales Order must look like.
struct Case {
    name: &'static str,
    order: Value,
    /// Items that need an Item Price in ERPNext (to show a free line is not re-priced).
    priced: &'static [(&'static str, &'static str)],
    rows: Option<usize>,
}

fn hard_cases() -> Vec<Case> {
    let forty: Vec<_> = (0..40)
        .map(|i| line(FORTY_SKUS[i], (i as i64 % 3) + 1, FORTY_TOTALS[i], "0.00"))
        .collect();
    let forty_total: Decimal = FORTY_TOTALS
        .iter()
        .map(|t| Decimal::from_str(t).unwrap())
        .sum();
    let forty_total = Box::leak(forty_total.to_string().into_boxed_str());

    vec![
        Case {
            name: "3 x 10.00/3 splits into 2 x 3.33 + 1 x 3.34",
            order: order_with(
                8001,
                &[line("THIRDS", 3, "10.00", "0.00")],
                "0.00",
                &[],
                &[],
                "10.00",
            ),
            priced: &[],
            rows: Some(2),
        },
        Case {
            name: "10 % coupon on odd prices",
            order: order_with(
                8002,
                &[
                    line("ODD-999", 3, "26.97", "0.00"),
                    line("ODD-199", 7, "12.54", "0.00"),
                ],
                "4.99",
                &[],
                &[],
                "44.50",
            ),
            priced: &[],
            rows: None,
        },
        Case {
            name: "fee line",
            order: order_with(
                8003,
                &[line("FEE-1", 1, "20.00", "0.00")],
                "0.00",
                &[],
                &[("Gift wrap", "2.50", "0.00")],
                "22.50",
            ),
            priced: &[],
            rows: None,
        },
        Case {
            name: "negative fee as a discount",
            order: order_with(
                8004,
                &[line("NEG-1", 2, "50.00", "0.00")],
                "0.00",
                &[],
                &[("Loyalty discount", "-5.00", "0.00")],
                "45.00",
            ),
            priced: &[],
            rows: None,
        },
        Case {
            name: "two tax rates with shipping tax",
            order: order_with(
                8005,
                &[line("TAX-2", 2, "22.50", "1.63")],
                "10.00",
                &[
                    ("PL-VAT-1", "VAT 23%", "1.35", "0.60"),
                    ("PL-VAT-2", "VAT 7%", "0.28", "0.00"),
                ],
                &[],
                "34.73",
            ),
            priced: &[],
            rows: None,
        },
        Case {
            name: "zero tax",
            order: order_with(
                8006,
                &[line("ZERO-TAX", 1, "9.99", "0.00")],
                "0.00",
                &[],
                &[],
                "9.99",
            ),
            priced: &[],
            rows: None,
        },
        Case {
            name: "prices including tax",
            order: {
                let mut order = order_with(
                    8007,
                    &[line("GROSS-1", 1, "239.20", "59.80")],
                    "0.00",
                    &[("SE-MOMS-1", "Moms", "59.80", "0.00")],
                    &[],
                    "299.00",
                );
                order["prices_include_tax"] = json!(true);
                order["currency"] = json!("SEK");
                order
            },
            priced: &[],
            rows: None,
        },
        Case {
            name: "100 % coupon with total 0.00",
            order: order_with(
                8008,
                &[line("FREE-1", 1, "0.00", "0.00")],
                "0.00",
                &[],
                &[],
                "0.00",
            ),
            priced: &[("FREE-1", "11.25")],
            rows: Some(1),
        },
        Case {
            name: "40 lines",
            order: order_with(8009, &forty, "0.00", &[], &[], forty_total),
            priced: &[],
            rows: None,
        },
        Case {
            name: "residual cent of WooCommerce rounding",
            order: order_with(
                8010,
                &[line("RESID-1", 3, "30.00", "2.10")],
                "0.00",
                &[("PL-VAT-1", "VAT 23%", "2.09", "0.00")],
                &[],
                "32.10",
            ),
            priced: &[],
            rows: None,
        },
    ]
}

const FORTY_SKUS: [&str; 40] = [
    "L-01", "L-02", "L-03", "L-04", "L-05", "L-06", "L-07", "L-08", "L-09", "L-10", "L-11", "L-12",
    "L-13", "L-14", "L-15", "L-16", "L-17", "L-18", "L-19", "L-20", "L-21", "L-22", "L-23", "L-24",
    "L-25", "L-26", "L-27", "L-28", "L-29", "L-30", "L-31", "L-32", "L-33", "L-34", "L-35", "L-36",
    "L-37", "L-38", "L-39", "L-40",
];

const FORTY_TOTALS: [&str; 40] = [
    "1.99", "4.01", "10.00", "3.33", "7.77", "12.50", "0.99", "20.00", "5.55", "9.98", "14.29",
    "2.22", "8.88", "6.67", "11.11", "3.01", "4.44", "19.99", "25.00", "1.00", "2.03", "13.13",
    "7.01", "8.10", "16.66", "9.09", "5.00", "4.99", "3.98", "22.22", "1.11", "6.06", "10.01",
    "12.12", "2.99", "17.17", "4.04", "8.01", "30.00", "0.50",
];

#[test]
fn hard_money_cases_have_exact_totals() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());

    for case in hard_cases() {
        for sku in skus(&case.order) {
            erp.add_item(&sku);
        }
        for (sku, price) in case.priced {
            erp.add_item_with_price(sku, Decimal::from_str(price).unwrap());
        }

        let so = deliver_and_check(&bus, &erp, &case.order);
        if let Some(rows) = case.rows {
            assert_eq!(
                so["items"].as_array().unwrap().len(),
                rows,
                "{}: item rows {so:#}",
                case.name
            );
        }
    }
}

#[test]
fn thirds_split_into_two_rows_of_one_item() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());
    erp.add_item("THIRDS");
    let order = order_with(
        8101,
        &[line("THIRDS", 3, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let so = deliver_and_check(&bus, &erp, &order);

    let mut rows: Vec<(Decimal, Decimal)> = so["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (decimal(&item["qty"]), decimal(&item["rate"])))
        .collect();
    rows.sort();
    let expected = vec![
        (Decimal::from(1), Decimal::from_str("3.34").unwrap()),
        (Decimal::from(2), Decimal::from_str("3.33").unwrap()),
    ];
    assert_eq!(rows, expected);
}

#[test]
fn guest_ordering_twice_is_one_customer() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());
    erp.add_item("GUEST-1");

    let first = order_with(
        8201,
        &[line("GUEST-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let mut second = order_with(
        8202,
        &[line("GUEST-1", 2, "20.00", "0.00")],
        "0.00",
        &[],
        &[],
        "20.00",
    );
    second["billing"]["email"] = json!("BUYER8201@Example.invalid");
    second["billing"]["first_name"] = json!("Testy-Renamed");

    let first_so = deliver_and_check(&bus, &erp, &first);
    let second_so = deliver_and_check(&bus, &erp, &second);

    assert_eq!(
        erp.customers().len(),
        1,
        "customers: {:#?}",
        erp.customers()
    );
    assert_eq!(first_so["customer"], second_so["customer"]);
    assert_eq!(
        erp.customers()[0]["customer_name"],
        "Testy McTestface",
        "a repeat order never renames the Customer"
    );
}

#[test]
fn registered_customer_is_found_by_id() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());
    erp.add_item("REG-1");

    let mut first = order_with(
        8301,
        &[line("REG-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    first["customer_id"] = json!(26);
    let mut second = order_with(
        8302,
        &[line("REG-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    second["customer_id"] = json!(26);
    second["billing"]["email"] = json!("changed-address@example.invalid");

    let first_so = deliver_and_check(&bus, &erp, &first);
    let second_so = deliver_and_check(&bus, &erp, &second);
    assert_eq!(erp.customers().len(), 1);
    assert_eq!(first_so["customer"], second_so["customer"]);
}

#[test]
fn same_name_different_guests_get_suffixed_customers() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());
    erp.add_item("SAME-1");

    let first = order_with(
        8401,
        &[line("SAME-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let second = order_with(
        8402,
        &[line("SAME-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let first_so = deliver_and_check(&bus, &erp, &first);
    let second_so = deliver_and_check(&bus, &erp, &second);

    assert_eq!(first_so["customer"], "Testy McTestface");
    assert_eq!(second_so["customer"], "Testy McTestface - 1");
    assert_eq!(erp.customers().len(), 2);
}

#[test]
fn separate_shipping_address_is_a_second_address() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());
    erp.add_item("SHIP-1");

    let mut order = order_with(
        8501,
        &[line("SHIP-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    order["shipping"] = json!({"first_name": "Gift", "last_name": "Receiver", "company": "", "address_1": "Hauptstr. 5",
        "address_2": "", "city": "Berlin", "state": "", "postcode": "10115", "country": "DE", "phone": ""});
    let so = deliver_and_check(&bus, &erp, &order);

    assert_eq!(erp.addresses().len(), 2, "{:#?}", erp.addresses());
    assert_ne!(so["customer_address"], so["shipping_address_name"]);
    let countries: Vec<String> = erp
        .addresses()
        .iter()
        .map(|a| a["country"].as_str().unwrap().to_string())
        .collect();
    assert!(countries.contains(&"Germany".to_string()), "{countries:?}");
    assert!(countries.contains(&"Poland".to_string()), "{countries:?}");
}

#[test]
fn personal_data_beyond_invoicing_stays_in_the_bus() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());
    erp.add_item("PII-1");
    let mut order = order_with(
        8601,
        &[line("PII-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    order["customer_note"] = json!("ring twice");
    deliver_and_check(&bus, &erp, &order);

    for request in erp.requests() {
        let body = request.body.clone();
        assert!(
            !body.contains("192.0.2.10"),
            "IP address sent to ERPNext: {body}"
        );
        assert!(
            !body.contains("Mozilla"),
            "user agent sent to ERPNext: {body}"
        );
        assert!(
            !body.contains("_wc_order_attribution"),
            "order meta data sent to ERPNext: {body}"
        );
        assert!(
            !body.contains("bacs"),
            "payment data sent to ERPNext: {body}"
        );
    }
}

fn pending(mut order: Value) -> Value {
    order["status"] = json!("pending");
    order
}

fn modified(mut order: Value, at: &str) -> Value {
    order["date_modified_gmt"] = json!(at);
    order
}

#[test]
fn updated_draft_changes_only_when_lines_change() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());
    erp.add_item("UPD-1");
    erp.add_item("UPD-2");

    let created = pending(order_with(
        8701,
        &[line("UPD-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    ));
    let first = deliver_and_check(&bus, &erp, &created);
    assert_eq!(
        first["docstatus"].as_i64(),
        Some(0),
        "an unpaid order stays a draft"
    );

    let same = modified(created.clone(), "2026-11-27T09:10:00");
    let id = bus.send_order_job("order.updated", &same);
    bus.wait_for_job(id, &["done"], WAIT);
    assert_eq!(
        erp.count_requests("PUT", "/api/resource/Sales Order"),
        0,
        "an unchanged order must not be written"
    );

    let changed = modified(
        pending(order_with(
            8701,
            &[
                line("UPD-1", 1, "10.00", "0.00"),
                line("UPD-2", 2, "5.00", "0.00"),
            ],
            "0.00",
            &[],
            &[],
            "15.00",
        )),
        "2026-11-27T09:20:00",
    );
    let id = bus.send_order_job("order.updated", &changed);
    bus.wait_for_job(id, &["done"], WAIT);
    let so = sales_order(&erp, "WC-8701");
    assert_eq!(so["name"], first["name"], "the draft is updated in place");
    assert_eq!(decimal(&so["grand_total"]), Decimal::from(15));

    let mut cancelled = modified(changed.clone(), "2026-11-27T09:30:00");
    cancelled["status"] = json!("cancelled");
    let id = bus.send_order_job("order.updated", &cancelled);
    bus.wait_for_job(id, &["done"], WAIT);
    let live: Vec<Value> = erp
        .sales_orders()
        .into_iter()
        .filter(|so| so["po_no"] == "WC-8701")
        .collect();
    assert!(
        live.is_empty(),
        "the draft of a cancelled order is deleted: {live:#?}"
    );
}

#[test]
fn submitted_order_change_is_amended() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());
    erp.add_item("AMD-1");

    let created = order_with(
        8801,
        &[line("AMD-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let first = deliver_and_check(&bus, &erp, &created);
    assert_eq!(first["docstatus"].as_i64(), Some(1));

    let changed = modified(
        order_with(
            8801,
            &[line("AMD-1", 2, "20.00", "0.00")],
            "0.00",
            &[],
            &[],
            "20.00",
        ),
        "2026-11-27T09:20:00",
    );
    let id = bus.send_order_job("order.updated", &changed);
    let job = bus.wait_for_job(id, &["done", "failed"], WAIT);
    assert_eq!(job["status"], "done", "{job:#}");

    let so = sales_order(&erp, "WC-8801");
    assert_eq!(so["amended_from"], first["name"]);
    assert_eq!(decimal(&so["grand_total"]), Decimal::from(20));
    assert_eq!(so["docstatus"].as_i64(), Some(1));
}

#[test]
fn billed_order_change_fails_for_an_operator() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());
    erp.add_item("BIL-1");

    let created = order_with(
        8901,
        &[line("BIL-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let first = deliver_and_check(&bus, &erp, &created);
    erp.bill_sales_order(first["name"].as_str().unwrap());

    let changed = modified(
        order_with(
            8901,
            &[line("BIL-1", 3, "30.00", "0.00")],
            "0.00",
            &[],
            &[],
            "30.00",
        ),
        "2026-11-27T09:20:00",
    );
    let id = bus.send_order_job("order.updated", &changed);
    let job = bus.wait_for_job(id, &["done", "failed"], WAIT);
    assert_eq!(job["status"], "failed");
    let error = job["last_error"].as_str().unwrap();
    assert!(error.contains(first["name"].as_str().unwrap()), "{error}");
    assert!(error.contains("billed"), "{error}");
    assert!(
        error.contains("replay"),
        "the reason says what to do: {error}"
    );
    assert_eq!(
        decimal(&sales_order(&erp, "WC-8901")["grand_total"]),
        Decimal::from(10)
    );
}

#[test]
fn older_snapshot_is_superseded() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());
    erp.add_item("SUP-1");

    let newer = modified(
        order_with(
            9001,
            &[line("SUP-1", 2, "20.00", "0.00")],
            "0.00",
            &[],
            &[],
            "20.00",
        ),
        "2026-11-27T10:00:00",
    );
    deliver_and_check(&bus, &erp, &newer);

    let older = modified(
        order_with(
            9001,
            &[line("SUP-1", 1, "10.00", "0.00")],
            "0.00",
            &[],
            &[],
            "10.00",
        ),
        "2026-11-27T09:30:00",
    );
    let id = bus.send_order_job("order.updated", &older);
    let job = bus.wait_for_job(id, &["done", "cancelled", "failed"], WAIT);
    assert_eq!(job["status"], "cancelled");
    assert!(
        job["last_error"].as_str().unwrap().contains("superseded"),
        "{job:#}"
    );
    assert_eq!(
        decimal(&sales_order(&erp, "WC-9001")["grand_total"]),
        Decimal::from(20)
    );
}

#[test]
fn amendment_with_unknown_item_keeps_sales_order() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());
    erp.add_item("KEEP-1");

    let created = order_with(
        9901,
        &[line("KEEP-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let first = deliver_and_check(&bus, &erp, &created);

    let changed = modified(
        order_with(
            9901,
            &[
                line("KEEP-1", 1, "10.00", "0.00"),
                line("NEW-SKU", 1, "5.00", "0.00"),
            ],
            "0.00",
            &[],
            &[],
            "15.00",
        ),
        "2026-11-27T09:20:00",
    );
    let id = bus.send_order_job("order.updated", &changed);
    let job = bus.wait_for_job(id, &["done", "failed"], WAIT);
    assert_eq!(job["status"], "failed");
    assert!(
        job["last_error"].as_str().unwrap().contains("NEW-SKU"),
        "{job:#}"
    );
    let live = sales_order(&erp, "WC-9901");
    assert_eq!(
        live["name"], first["name"],
        "the submitted Sales Order stays live"
    );
    assert_eq!(live["docstatus"].as_i64(), Some(1));

    erp.add_item("NEW-SKU");
    assert!(
        bus.cli(&["jobs", "replay", &id.to_string()])
            .status
            .success()
    );
    let job = bus.wait_for_job(id, &["done", "failed"], WAIT);
    assert_eq!(job["status"], "done", "{job:#}");
    let amended = sales_order(&erp, "WC-9901");
    assert_eq!(amended["amended_from"], first["name"]);
    assert_eq!(decimal(&amended["grand_total"]), Decimal::from(15));
}

#[test]
fn replayed_old_job_after_cancel_is_superseded() {
    let erp = FakeErpNext::start();
    let bus = Bus::start(&erp.url());

    let created = order_with(
        9902,
        &[line("LATE-1", 1, "10.00", "0.00")],
        "0.00",
        &[],
        &[],
        "10.00",
    );
    let created_job = bus.send_order_job("order.created", &created);
    assert_eq!(
        bus.wait_for_job(created_job, &["done", "failed"], WAIT)["status"],
        "failed"
    );

    let mut cancelled = modified(created.clone(), "2026-11-27T09:30:00");
    cancelled["status"] = json!("cancelled");
    let cancelled_job = bus.send_order_job("order.updated", &cancelled);
    assert_eq!(
        bus.wait_for_job(cancelled_job, &["done", "failed"], WAIT)["status"],
        "done"
    );

    erp.add_item("LATE-1");
    assert!(
        bus.cli(&["jobs", "replay", &created_job.to_string()])
            .status
            .success()
    );
    let job = bus.wait_for_job(created_job, &["done", "failed", "cancelled"], WAIT);
    assert_eq!(job["status"], "cancelled", "{job:#}");
    assert!(job["last_error"].as_str().unwrap().contains("superseded"));
    assert!(
        erp.sales_orders().iter().all(|so| so["po_no"] != "WC-9902"),
        "{:#?}",
        erp.sales_orders()
    );
}

#[test]
fn concurrent_orders_of_one_customer_make_one_customer() {
    let erp = FakeErpNext::start();
    erp.set_latency(Duration::from_millis(100));
    erp.add_item("RACE-1");
    let bus = Bus::start(&erp.url());

    let ids: Vec<i64> = (0..6)
        .map(|index| {
            let mut order = order_with(
                9910 + index,
                &[line("RACE-1", 1, "10.00", "0.00")],
                "0.00",
                &[],
                &[],
                "10.00",
            );
            order["billing"]["email"] = json!("race@example.invalid");
            bus.send_order_job("order.created", &order)
        })
        .collect();
    for id in ids {
        assert_eq!(
            bus.wait_for_job(id, &["done", "failed"], WAIT)["status"],
            "done"
        );
    }
    assert_eq!(erp.customers().len(), 1, "{:#?}", erp.customers());
    assert_eq!(erp.addresses().len(), 1, "{:#?}", erp.addresses());
}
