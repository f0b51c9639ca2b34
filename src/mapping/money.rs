//! Parsing of WooCommerce money strings into `Decimal`.
//!
//! WooCommerce formats every total with `wc_format_decimal` ("22.50", "-2.00", "0"), so a valid
//! amount is an optional minus sign, digits and an optional fraction. ERPNext keeps currency
//! amounts in cents (currency precision 2 by default), so an amount with a non-zero third decimal
//! is rejected instead of being rounded. Trailing zeros ("10.500" from a 3-decimal store) pass.

use std::str::FromStr;

use rust_decimal::Decimal;

use super::ValidationError;

/// Parses a required amount. `field` is the JSON path shown in the error, e.g.
/// `line_items[0].total`.
pub fn parse_amount(field: &str, text: &str) -> Result<Decimal, ValidationError> {
    let trimmed = text.trim();
    if !is_decimal_literal(trimmed) {
        return Err(invalid_amount(field, text));
    }

    let mut value = Decimal::from_str(trimmed).map_err(|_| invalid_amount(field, text))?;
    if value.round_dp(2) != value {
        return Err(ValidationError(format!(
            "{field} '{text}' has more than 2 decimal places; shopbus maps amounts with at most \
             2 decimals (WooCommerce's default). For a currency with 3 decimals such as KWD this \
             order cannot be mapped; otherwise set the number of decimals to 2 in the \
             WooCommerce currency options."
        )));
    }

    // "-0.00" parses as a negative zero, which would print with its sign.
    if value.is_zero() {
        value.set_sign_positive(true);
    }
    Ok(value)
}

/// Parses an amount that WooCommerce may leave out (`""`), returning `None` for it.
pub fn parse_optional_amount(field: &str, text: &str) -> Result<Option<Decimal>, ValidationError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    parse_amount(field, text).map(Some)
}

fn is_decimal_literal(text: &str) -> bool {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (unsigned, None),
    };

    let is_digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    is_digits(whole) && fraction.is_none_or(is_digits)
}

fn invalid_amount(field: &str, text: &str) -> ValidationError {
    ValidationError(format!(
        "{field} '{text}' is not a valid amount, expected a decimal number such as 12.50. \
         Check the plugin or import that wrote this order in WooCommerce."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn parse_amount_accepts_woocommerce_formats() {
        let cases = [
            ("22.50", "22.50"),
            ("-2.00", "-2.00"),
            ("0", "0"),
            ("10.500", "10.5"),
            (" 7.10 ", "7.10"),
            ("1178.00", "1178"),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse_amount("total", text).unwrap(),
                amount(expected),
                "{text:?}"
            );
        }
    }

    #[test]
    fn parse_amount_rejects_malformed_text() {
        for text in [
            "", "abc", "1,00", "1e5", "+1.00", "1.", ".5", "--1", "1_000", "1.2.3",
        ] {
            let error = parse_amount("line_items[0].total", text).unwrap_err();
            assert!(
                error.0.starts_with(&format!(
                    "line_items[0].total '{text}' is not a valid amount"
                )),
                "{text:?}: {error}"
            );
        }
    }

    #[test]
    fn parse_amount_rejects_fractions_of_a_cent() {
        let error = parse_amount("tax_lines[0].tax_total", "0.28125").unwrap_err();

        assert!(
            error.0.contains("tax_lines[0].tax_total '0.28125'"),
            "{error}"
        );
        assert!(error.0.contains("more than 2 decimal places"), "{error}");
    }

    #[test]
    fn parse_amount_drops_sign_of_zero() {
        let zero = parse_amount("total", "-0.00").unwrap();

        assert_eq!(zero.to_string(), "0.00");
    }

    #[test]
    fn parse_optional_amount_maps_empty_to_none() {
        assert_eq!(parse_optional_amount("shipping_total", "").unwrap(), None);
        assert_eq!(
            parse_optional_amount("shipping_total", "10.00").unwrap(),
            Some(amount("10.00"))
        );
        assert!(parse_optional_amount("shipping_total", "ten").is_err());
    }
}
