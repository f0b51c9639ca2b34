//! What the delivery stage does with the Sales Order, decided by the WooCommerce order status.

use super::{OrderIntent, SubmitPolicy};

/// Maps the order status to an intent and adds a note where the mapping loses information.
///
/// - `cancelled` cancels the Sales Order.
/// - `processing`, `on-hold` and `completed` submit it under `SubmitPolicy::OnPayment` and keep
///   it a draft under `SubmitPolicy::Never`.
/// - `refunded` is treated like `completed`, because the order was submitted before its refund.
///   Refunds themselves are not synchronised, which the note records.
/// - Every other status (`pending`, `failed`, `trash`, plugin statuses) keeps a draft.
///
/// A `wc-` prefix, as stored in the WooCommerce database, is ignored.
pub fn order_intent(status: &str, policy: SubmitPolicy, notes: &mut Vec<String>) -> OrderIntent {
    let status = status.trim();
    let status = status.strip_prefix("wc-").unwrap_or(status);

    let paid = match status {
        "cancelled" => return OrderIntent::Cancel,
        "processing" | "on-hold" | "completed" => true,
        "refunded" => {
            notes.push(
                "order status is refunded, so the Sales Order is handled like a completed order. \
                 Refunds are not synchronised to ERPNext"
                    .to_string(),
            );
            true
        }
        _ => false,
    };

    if paid && policy == SubmitPolicy::OnPayment {
        OrderIntent::Submit
    } else {
        OrderIntent::Draft
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intent_follows_status_and_policy() {
        let cases = [
            ("cancelled", SubmitPolicy::OnPayment, OrderIntent::Cancel),
            ("cancelled", SubmitPolicy::Never, OrderIntent::Cancel),
            ("processing", SubmitPolicy::OnPayment, OrderIntent::Submit),
            ("on-hold", SubmitPolicy::OnPayment, OrderIntent::Submit),
            ("completed", SubmitPolicy::OnPayment, OrderIntent::Submit),
            ("wc-completed", SubmitPolicy::OnPayment, OrderIntent::Submit),
            ("refunded", SubmitPolicy::OnPayment, OrderIntent::Submit),
            ("processing", SubmitPolicy::Never, OrderIntent::Draft),
            ("completed", SubmitPolicy::Never, OrderIntent::Draft),
            ("refunded", SubmitPolicy::Never, OrderIntent::Draft),
            ("pending", SubmitPolicy::OnPayment, OrderIntent::Draft),
            ("failed", SubmitPolicy::OnPayment, OrderIntent::Draft),
            ("trash", SubmitPolicy::OnPayment, OrderIntent::Draft),
            (
                "awaiting-shipment",
                SubmitPolicy::OnPayment,
                OrderIntent::Draft,
            ),
            ("", SubmitPolicy::OnPayment, OrderIntent::Draft),
        ];
        for (status, policy, expected) in cases {
            let mut notes = Vec::new();
            assert_eq!(
                order_intent(status, policy, &mut notes),
                expected,
                "{status:?} {policy:?}"
            );
        }
    }

    #[test]
    fn refunded_adds_note() {
        let mut notes = Vec::new();

        order_intent("refunded", SubmitPolicy::OnPayment, &mut notes);

        assert_eq!(notes.len(), 1);
        assert!(
            notes[0].contains("Refunds are not synchronised"),
            "{notes:?}"
        );
    }

    #[test]
    fn paid_status_adds_no_note() {
        let mut notes = Vec::new();

        order_intent("completed", SubmitPolicy::OnPayment, &mut notes);

        assert!(notes.is_empty(), "{notes:?}");
    }
}
