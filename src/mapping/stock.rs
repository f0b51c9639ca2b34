//! The sellable quantity published to WooCommerce, from ERPNext Bins.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::config::StockFormula;

/// One Bin (item × warehouse) as ERPNext reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct BinLevel {
    pub warehouse: String,
    pub actual_qty: Decimal,
    pub reserved_qty: Decimal,
    pub projected_qty: Decimal,
}

/// Σ of the formula over the Bins, rounded down to a whole number and never below 0.
pub fn sellable_quantity(bins: &[BinLevel], formula: StockFormula) -> i64 {
    let total: Decimal = bins
        .iter()
        .map(|bin| match formula {
            StockFormula::ActualMinusReserved => bin.actual_qty - bin.reserved_qty,
            StockFormula::ActualQty => bin.actual_qty,
            StockFormula::ProjectedQty => bin.projected_qty,
        })
        .sum();
    total
        .floor()
        .max(Decimal::ZERO)
        .to_i64()
        .unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn bin(actual: &str, reserved: &str, projected: &str) -> BinLevel {
        BinLevel {
            warehouse: "Stores - TS".to_string(),
            actual_qty: Decimal::from_str(actual).unwrap(),
            reserved_qty: Decimal::from_str(reserved).unwrap(),
            projected_qty: Decimal::from_str(projected).unwrap(),
        }
    }

    #[test]
    fn actual_minus_reserved_sums_warehouses_and_floors() {
        let bins = [bin("10", "2", "8"), bin("3.5", "0", "3.5")];
        assert_eq!(
            sellable_quantity(&bins, StockFormula::ActualMinusReserved),
            11
        );
        assert_eq!(sellable_quantity(&bins, StockFormula::ActualQty), 13);
        assert_eq!(sellable_quantity(&bins, StockFormula::ProjectedQty), 11);
    }

    #[test]
    fn level_is_never_negative() {
        let bins = [bin("1", "4", "-3")];
        assert_eq!(
            sellable_quantity(&bins, StockFormula::ActualMinusReserved),
            0
        );
        assert_eq!(sellable_quantity(&bins, StockFormula::ProjectedQty), 0);
        assert_eq!(sellable_quantity(&[], StockFormula::ActualQty), 0);
    }
}
