//! Sales Order Items from WooCommerce line items.
//!
//! Each line becomes rows of the ERPNext item whose code is the line's SKU, priced from the line's
//! `total`. That total is after coupons and without tax, even in stores that enter prices with tax.
//! ERPNext computes a row's amount as `qty × rate` rounded to cents. When `total / quantity` is not
//! a whole number of cents, the line is split into two rows of the same item so that the amounts
//! still add up to `total` exactly.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::{MappingSettings, ValidationError, money};
use crate::erpnext::documents::SalesOrderItem;
use crate::woocommerce::order::LineItem;

/// Builds the Sales Order Items for all line items, in order, and adds a note for each split line.
pub fn plan_items(
    lines: &[LineItem],
    settings: &MappingSettings,
    delivery_date: &str,
    notes: &mut Vec<String>,
) -> Result<Vec<SalesOrderItem>, ValidationError> {
    if lines.is_empty() {
        return Err(ValidationError(
            "line_items is empty, but an ERPNext Sales Order needs at least one item. \
             Add a product to the order in WooCommerce."
                .to_string(),
        ));
    }

    let mut items = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let sku = line_sku(index, line)?;
        let total = line_total(index, line)?;

        let parts = split_line_total(total, line.quantity);
        if parts.len() > 1 {
            notes.push(split_note(index, line, total, &parts));
        }

        for (quantity, rate) in parts {
            items.push(item_row(&sku, quantity, rate, settings, delivery_date));
        }
    }
    Ok(items)
}

/// Splits a line total into at most two `(quantity, rate)` parts whose amounts add up to `total`.
///
/// With `c` = total in cents and `q` = quantity, the rate is `floor(c / q)` cents for `q - r`
/// units and one cent more for the `r = c mod q` remaining units: 10.00 for 3 units gives
/// 2 × 3.33 and 1 × 3.34. Expects `quantity > 0` and a non-negative total in whole cents, which
/// `plan_items` checks first.
// NOTE: the split works in cents. For a currency without minor units (JPY), ERPNext rounds
// rates to whole units, so a split line there would not add up; such stores are not supported.
pub fn split_line_total(total: Decimal, quantity: i64) -> Vec<(i64, Decimal)> {
    let cents = total * Decimal::ONE_HUNDRED;
    let units = Decimal::from(quantity);

    let base_cents = (cents / units).floor();
    let remainder = (cents - base_cents * units)
        .to_i64()
        .expect("the remainder is below the quantity, which is an i64");

    let base_rate = cents_to_rate(base_cents);
    if remainder == 0 {
        return vec![(quantity, base_rate)];
    }
    vec![
        (quantity - remainder, base_rate),
        (remainder, cents_to_rate(base_cents + Decimal::ONE)),
    ]
}

fn cents_to_rate(cents: Decimal) -> Decimal {
    let mut rate = cents / Decimal::ONE_HUNDRED;
    rate.rescale(2);
    rate
}

fn item_row(
    sku: &str,
    quantity: i64,
    rate: Decimal,
    settings: &MappingSettings,
    delivery_date: &str,
) -> SalesOrderItem {
    // ERPNext re-prices a zero rate from the price list unless price_list_rate is 0 as well.
    let price_list_rate = rate.is_zero().then_some(Decimal::ZERO);

    SalesOrderItem {
        item_code: sku.to_string(),
        qty: quantity,
        rate,
        price_list_rate,
        warehouse: settings.warehouse.clone(),
        delivery_date: delivery_date.to_string(),
    }
}

/// Names a line for messages: `line 1 'Woo Single #1' (product 93)`, numbered from 1.
fn describe_line(index: usize, line: &LineItem) -> String {
    let product = if line.variation_id > 0 {
        format!(
            "product {}, variation {}",
            line.product_id, line.variation_id
        )
    } else {
        format!("product {}", line.product_id)
    };
    format!("line {} '{}' ({product})", index + 1, line.name)
}

fn line_sku(index: usize, line: &LineItem) -> Result<String, ValidationError> {
    let sku = line.sku.as_deref().unwrap_or("").trim();
    if !sku.is_empty() {
        return Ok(sku.to_string());
    }

    let owner = if line.variation_id > 0 {
        "variation"
    } else {
        "product"
    };
    Err(ValidationError(format!(
        "{} has no SKU. Give the {owner} a SKU in WooCommerce that matches an ERPNext item code.",
        describe_line(index, line)
    )))
}

fn line_total(index: usize, line: &LineItem) -> Result<Decimal, ValidationError> {
    if line.quantity <= 0 {
        return Err(ValidationError(format!(
            "{} has quantity {}, expected 1 or more. Correct the quantity in WooCommerce.",
            describe_line(index, line),
            line.quantity
        )));
    }

    let total = money::parse_amount(&format!("line_items[{index}].total"), &line.total)?;
    if total.is_sign_negative() {
        return Err(ValidationError(format!(
            "{} has a negative total {total}, expected 0 or more. Give discounts as a coupon or \
             a negative fee in WooCommerce.",
            describe_line(index, line)
        )));
    }
    Ok(total)
}

fn split_note(index: usize, line: &LineItem, total: Decimal, parts: &[(i64, Decimal)]) -> String {
    let rows: Vec<String> = parts
        .iter()
        .map(|(quantity, rate)| format!("{quantity} × {rate}"))
        .collect();
    format!(
        "{}: total {total} for {} units is not a whole number of cents per unit, so it is sent as \
         {}",
        describe_line(index, line),
        line.quantity,
        rows.join(" + ")
    )
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    fn amount(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn parts(total: &str, quantity: i64) -> Vec<(i64, String)> {
        split_line_total(amount(total), quantity)
            .into_iter()
            .map(|(units, rate)| (units, rate.to_string()))
            .collect()
    }

    #[test]
    fn split_keeps_exact_rate_in_one_row() {
        assert_eq!(parts("22.50", 2), vec![(2, "11.25".to_string())]);
        assert_eq!(parts("36.00", 1), vec![(1, "36.00".to_string())]);
        assert_eq!(parts("0.00", 4), vec![(4, "0.00".to_string())]);
    }

    #[test]
    fn split_spreads_remaining_cents() {
        assert_eq!(
            parts("10.00", 3),
            vec![(2, "3.33".to_string()), (1, "3.34".to_string())]
        );
        assert_eq!(
            parts("12.54", 7),
            vec![(6, "1.79".to_string()), (1, "1.80".to_string())]
        );
        assert_eq!(
            parts("0.01", 3),
            vec![(2, "0.00".to_string()), (1, "0.01".to_string())]
        );
        assert_eq!(
            parts("0.05", 3),
            vec![(1, "0.01".to_string()), (2, "0.02".to_string())]
        );
    }

    #[test]
    fn split_amounts_add_up_to_total() {
        for quantity in 1..=60 {
            for cents in [1, 99, 100, 1001, 2697, 99_999, 1_234_567] {
                let total = Decimal::new(cents, 2);
                let split = split_line_total(total, quantity);

                let units: i64 = split.iter().map(|(units, _)| units).sum();
                let sum: Decimal = split
                    .iter()
                    .map(|(units, rate)| Decimal::from(*units) * rate)
                    .sum();

                assert_eq!(units, quantity, "{total} / {quantity}");
                assert_eq!(sum, total, "{total} / {quantity}");
                assert!(split.len() <= 2, "{total} / {quantity}");
            }
        }
    }

    #[test]
    fn describe_line_names_variation() {
        let line: LineItem = serde_json::from_value(serde_json::json!({
            "name": "Tee - Blue, L", "product_id": 22, "variation_id": 23, "quantity": 1
        }))
        .unwrap();

        assert_eq!(
            describe_line(1, &line),
            "line 2 'Tee - Blue, L' (product 22, variation 23)"
        );
    }
}
