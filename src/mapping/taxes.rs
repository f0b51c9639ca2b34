//! Sales Taxes and Charges rows for shipping, fees and WooCommerce tax lines.
//!
//! Every row has charge type "Actual", so ERPNext adds the amount as sent and computes nothing.
//! Rows come in this order: shipping lines, fee lines, then tax lines. Rows of amount zero are
//! left out. Coupons get no row because their discount is already inside the line totals.

use rust_decimal::Decimal;

use super::{MappingSettings, ValidationError, money};
use crate::erpnext::documents::TaxRow;
use crate::woocommerce::order::{Order, TaxLine};

/// Builds the "Actual" rows for the order's shipping lines, fee lines and tax lines.
pub fn plan_tax_rows(
    order: &Order,
    settings: &MappingSettings,
) -> Result<Vec<TaxRow>, ValidationError> {
    let mut rows = Vec::new();

    for (index, shipping) in order.shipping_lines.iter().enumerate() {
        let amount =
            money::parse_amount(&format!("shipping_lines[{index}].total"), &shipping.total)?;
        let description = non_empty_or(&shipping.method_title, "Shipping");
        push_unless_zero(&mut rows, &settings.shipping_account, description, amount);
    }

    // A fee's total may be negative: WooCommerce uses negative fees as discounts.
    for (index, fee) in order.fee_lines.iter().enumerate() {
        let amount = money::parse_amount(&format!("fee_lines[{index}].total"), &fee.total)?;
        let description = non_empty_or(&fee.name, "Fee");
        push_unless_zero(&mut rows, &settings.fee_account, description, amount);
    }

    for (index, tax) in order.tax_lines.iter().enumerate() {
        let amount = tax_line_amount(index, tax)?;
        let account = tax_line_account(tax, settings);
        push_unless_zero(&mut rows, account, &tax_line_description(tax), amount);
    }

    Ok(rows)
}

/// Returns a tax line's share of the order: the tax on items and fees plus the tax on shipping.
pub fn tax_line_amount(index: usize, tax: &TaxLine) -> Result<Decimal, ValidationError> {
    let items_and_fees =
        money::parse_amount(&format!("tax_lines[{index}].tax_total"), &tax.tax_total)?;
    let shipping = money::parse_amount(
        &format!("tax_lines[{index}].shipping_tax_total"),
        &tax.shipping_tax_total,
    )?;
    Ok(items_and_fees + shipping)
}

/// Returns the account for a tax line: by rate code, else by label, else the default tax account.
pub fn tax_line_account<'a>(tax: &TaxLine, settings: &'a MappingSettings) -> &'a str {
    settings
        .tax_accounts
        .get(&tax.rate_code)
        .or_else(|| settings.tax_accounts.get(&tax.label))
        .unwrap_or(&settings.tax_account)
}

/// Returns "State Tax (US-CA-STATE TAX-1)", or whichever of label and rate code is set.
fn tax_line_description(tax: &TaxLine) -> String {
    match (tax.label.trim(), tax.rate_code.trim()) {
        ("", "") => "Tax".to_string(),
        (label, "") => label.to_string(),
        ("", rate_code) => rate_code.to_string(),
        (label, rate_code) => format!("{label} ({rate_code})"),
    }
}

fn push_unless_zero(rows: &mut Vec<TaxRow>, account: &str, description: &str, amount: Decimal) {
    if amount.is_zero() {
        return;
    }
    rows.push(actual_row(account, description, amount));
}

/// Builds a Sales Taxes and Charges row of charge type "Actual".
pub fn actual_row(account: &str, description: &str, amount: Decimal) -> TaxRow {
    TaxRow {
        charge_type: "Actual".to_string(),
        account_head: account.to_string(),
        description: description.to_string(),
        tax_amount: amount,
    }
}

fn non_empty_or<'a>(text: &'a str, fallback: &'a str) -> &'a str {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        fallback
    } else {
        trimmed
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::mapping::test_support::{amount, order_with, settings, tax_line};

    fn rows_of(fields: serde_json::Value) -> Vec<(String, String, Decimal)> {
        let rows = plan_tax_rows(&order_with(fields), &settings()).unwrap();
        rows.into_iter()
            .map(|row| (row.account_head, row.description, row.tax_amount))
            .collect()
    }

    #[test]
    fn rows_ordered_shipping_fee_tax() {
        let rows = rows_of(json!({
            "tax_lines": [tax_line("US-TX", "Sales Tax", "1.00", "0.10")],
            "fee_lines": [{"name": "Handling", "total": "1.50"}],
            "shipping_lines": [{"method_title": "Express", "total": "9.00"}]
        }));

        assert_eq!(
            rows,
            vec![
                (
                    "Shipping Income - ETL".to_string(),
                    "Express".to_string(),
                    amount("9.00")
                ),
                (
                    "Fee Income - ETL".to_string(),
                    "Handling".to_string(),
                    amount("1.50")
                ),
                (
                    "VAT - ETL".to_string(),
                    "Sales Tax (US-TX)".to_string(),
                    amount("1.10")
                ),
            ]
        );
    }

    #[test]
    fn zero_rows_left_out() {
        let rows = rows_of(json!({
            "shipping_lines": [{"method_title": "Free shipping", "total": "0.00"}],
            "fee_lines": [{"name": "Nothing", "total": "0"}],
            "tax_lines": [tax_line("US-OR", "No Tax", "0.00", "0.00")]
        }));

        assert!(rows.is_empty(), "{rows:?}");
    }

    #[test]
    fn tax_account_by_rate_code_then_label_then_default() {
        let settings = settings();
        let by_rate_code: TaxLine =
            serde_json::from_value(tax_line("US-CA-STATE TAX-1", "County Tax", "1", "0")).unwrap();
        let by_label: TaxLine =
            serde_json::from_value(tax_line("US-CA-COUNTY TAX-2", "County Tax", "1", "0")).unwrap();
        let by_default: TaxLine =
            serde_json::from_value(tax_line("US-NY", "NY Tax", "1", "0")).unwrap();

        assert_eq!(
            tax_line_account(&by_rate_code, &settings),
            "State Tax - ETL"
        );
        assert_eq!(tax_line_account(&by_label, &settings), "County Tax - ETL");
        assert_eq!(tax_line_account(&by_default, &settings), "VAT - ETL");
    }

    #[test]
    fn descriptions_fall_back_when_names_empty() {
        let rows = rows_of(json!({
            "shipping_lines": [{"method_title": " ", "total": "3.00"}],
            "fee_lines": [{"name": "", "total": "1.00"}],
            "tax_lines": [
                tax_line("", "Label only", "1.00", "0.00"),
                tax_line("CODE-ONLY", "", "1.00", "0.00"),
                tax_line("", "", "1.00", "0.00")
            ]
        }));
        let descriptions: Vec<&str> = rows.iter().map(|row| row.1.as_str()).collect();

        assert_eq!(
            descriptions,
            ["Shipping", "Fee", "Label only", "CODE-ONLY", "Tax"]
        );
    }

    #[test]
    fn invalid_shipping_tax_names_field() {
        let order = order_with(json!({"tax_lines": [tax_line("X", "X", "1.00", "")]}));

        let error = plan_tax_rows(&order, &settings()).unwrap_err();

        assert!(
            error
                .0
                .starts_with("tax_lines[0].shipping_tax_total '' is not a valid amount"),
            "{error}"
        );
    }
}
