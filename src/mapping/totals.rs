//! Reconciliation of the Sales Order's grand total with the WooCommerce order `total`.
//!
//! With `disable_rounded_total` set and only "Actual" rows, ERPNext's grand total is
//! Σ item amounts + Σ tax rows. WooCommerce rounds each line, fee, shipping and tax figure to
//! cents on its own, so that sum can miss `total` by a few cents. A small difference is booked on
//! the rounding account. A larger one means the order's figures are inconsistent and is rejected.

use rust_decimal::Decimal;

use super::{MappingSettings, ValidationError, money, taxes};
use crate::erpnext::documents::{SalesOrderItem, TaxRow};
use crate::woocommerce::order::Order;

/// Description of the row that books the rounding residual.
pub const ROUNDING_DESCRIPTION: &str = "Rounding difference from WooCommerce";

/// Returns Σ `qty × rate` over the rows, as ERPNext computes the item amounts.
pub fn item_amount_sum(items: &[SalesOrderItem]) -> Decimal {
    items
        .iter()
        .map(|item| Decimal::from(item.qty) * item.rate)
        .sum()
}

/// Returns Σ `tax_amount` over the rows.
pub fn tax_row_sum(rows: &[TaxRow]) -> Decimal {
    rows.iter().map(|row| row.tax_amount).sum()
}

/// The largest residual booked on the rounding account, whatever the number of lines: a larger
/// gap in a long order is far more likely an edited total than rounding.
pub const MAX_RESIDUAL: Decimal = Decimal::from_parts(5, 0, 0, false, 2);

/// Returns the largest residual that WooCommerce's rounding can explain: 0.01 per rounded
/// figure, at most `MAX_RESIDUAL` (0.05).
///
/// Each line item, shipping line, fee line and tax line total is rounded to cents by WooCommerce,
/// so each is at most half a cent away from its exact value. A tax line total may be rounded a
/// second time from per-item taxes that were already rounded. One cent per figure covers both.
pub fn residual_tolerance(order: &Order) -> Decimal {
    let figures = order.line_items.len()
        + order.shipping_lines.len()
        + order.fee_lines.len()
        + order.tax_lines.len();
    (Decimal::from(figures) * Decimal::new(1, 2)).min(MAX_RESIDUAL)
}

/// Books `total − (Σ item amounts + Σ tax rows)` on the rounding account and returns it.
///
/// A zero residual adds nothing. A residual within `residual_tolerance` adds an "Actual" row on
/// `rounding_account` and a note. A larger residual is a `ValidationError` that names both sums.
pub fn book_rounding_residual(
    order: &Order,
    total: Decimal,
    items: &[SalesOrderItem],
    tax_rows: &mut Vec<TaxRow>,
    settings: &MappingSettings,
    notes: &mut Vec<String>,
) -> Result<Decimal, ValidationError> {
    let sum = item_amount_sum(items) + tax_row_sum(tax_rows);
    let residual = total - sum;
    if residual.is_zero() {
        return Ok(Decimal::ZERO);
    }

    let tolerance = residual_tolerance(order);
    if residual.abs() > tolerance {
        return Err(ValidationError(format!(
            "order total {total} does not match the sum of lines, shipping, fees and taxes {sum}. \
             The difference {residual} is more than the {tolerance} that WooCommerce's rounding \
             can explain (0.01 per line item, shipping, fee and tax line, at most {MAX_RESIDUAL}). \
             Recalculate the order in WooCommerce and check its totals."
        )));
    }

    tax_rows.push(taxes::actual_row(
        &settings.rounding_account,
        ROUNDING_DESCRIPTION,
        residual,
    ));
    notes.push(format!(
        "order total {total} differs from the sum of lines, shipping, fees and taxes {sum} by \
         {residual}, booked on {}",
        settings.rounding_account
    ));
    Ok(residual)
}

/// Checks `total = Σ line totals + Σ fee totals + shipping_total + total_tax` and the two sums
/// behind it, and adds a note for each that does not hold.
///
/// The check is informational: `book_rounding_residual` decides whether the order is accepted.
/// It is skipped when `shipping_total` or `total_tax` is missing.
pub fn note_woocommerce_identity(
    order: &Order,
    total: Decimal,
    notes: &mut Vec<String>,
) -> Result<(), ValidationError> {
    let shipping_total = money::parse_optional_amount("shipping_total", &order.shipping_total)?;
    let total_tax = money::parse_optional_amount("total_tax", &order.total_tax)?;
    let (Some(shipping_total), Some(total_tax)) = (shipping_total, total_tax) else {
        return Ok(());
    };

    let sums = WooCommerceSums::of(order)?;

    let expected_total = sums.line_totals + sums.fee_totals + shipping_total + total_tax;
    if expected_total != total {
        notes.push(format!(
            "WooCommerce total {total} differs from line totals + fees + shipping_total + \
             total_tax = {expected_total}"
        ));
    }
    if sums.shipping_lines != shipping_total {
        notes.push(format!(
            "WooCommerce shipping lines add up to {}, but shipping_total is {shipping_total}",
            sums.shipping_lines
        ));
    }
    if sums.tax_lines != total_tax {
        notes.push(format!(
            "WooCommerce tax lines add up to {}, but total_tax is {total_tax}",
            sums.tax_lines
        ));
    }
    Ok(())
}

/// Sums of the order's line, fee, shipping and tax line figures.
struct WooCommerceSums {
    line_totals: Decimal,
    fee_totals: Decimal,
    shipping_lines: Decimal,
    tax_lines: Decimal,
}

impl WooCommerceSums {
    fn of(order: &Order) -> Result<Self, ValidationError> {
        let mut sums = WooCommerceSums {
            line_totals: Decimal::ZERO,
            fee_totals: Decimal::ZERO,
            shipping_lines: Decimal::ZERO,
            tax_lines: Decimal::ZERO,
        };

        for (index, line) in order.line_items.iter().enumerate() {
            sums.line_totals +=
                money::parse_amount(&format!("line_items[{index}].total"), &line.total)?;
        }
        for (index, fee) in order.fee_lines.iter().enumerate() {
            sums.fee_totals +=
                money::parse_amount(&format!("fee_lines[{index}].total"), &fee.total)?;
        }
        for (index, shipping) in order.shipping_lines.iter().enumerate() {
            sums.shipping_lines +=
                money::parse_amount(&format!("shipping_lines[{index}].total"), &shipping.total)?;
        }
        for (index, tax) in order.tax_lines.iter().enumerate() {
            sums.tax_lines += taxes::tax_line_amount(index, tax)?;
        }
        Ok(sums)
    }
}

#[cfg(test)]
mod cap_tests {
    use super::*;

    #[test]
    fn tolerance_is_capped_for_long_orders() {
        let lines: Vec<serde_json::Value> = (0..500)
            .map(|i| serde_json::json!({"quantity": 1, "total": "1.00", "sku": format!("S{i}")}))
            .collect();
        let order: Order =
            serde_json::from_value(serde_json::json!({"id": 1, "line_items": lines})).unwrap();
        assert_eq!(residual_tolerance(&order), MAX_RESIDUAL);

        let short: Order = serde_json::from_value(
            serde_json::json!({"id": 2, "line_items": [{"quantity": 1, "total": "1.00"}]}),
        )
        .unwrap();
        assert_eq!(residual_tolerance(&short), Decimal::new(1, 2));
    }
}
