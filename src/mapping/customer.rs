//! The ERPNext Customer for an order, and the key that finds it again.
//!
//! Only billing data needed for invoicing goes into the Customer: name, company, e-mail and phone.
//! The order's IP address, user agent, meta data, payment data and customer note are never read
//! here.

use super::{CustomerPlan, MappingSettings, ValidationError, phone};
use crate::erpnext::documents::CustomerDoc;
use crate::woocommerce::order::{Address, Order};

/// Builds the Customer from the billing address.
///
/// A registered customer (`customer_id` > 0) gets the link key `customer:<id>`. A guest gets
/// `guest:<lower-case e-mail>`, so a guest order without a billing e-mail is rejected. The phone
/// is cleaned by `phone::normalize_phone` and left out when unusable.
pub fn plan_customer(
    order: &Order,
    settings: &MappingSettings,
) -> Result<CustomerPlan, ValidationError> {
    let billing = &order.billing;
    let email = normalize_email(&billing.email)?;
    let link_key = link_key(order.customer_id, email.as_deref())?;

    let customer_type = if billing.company.trim().is_empty() {
        "Individual"
    } else {
        "Company"
    };

    let doc = CustomerDoc {
        customer_name: customer_name(billing),
        customer_type: customer_type.to_string(),
        customer_group: settings.customer_group.clone(),
        territory: settings.territory.clone(),
        email_id: email.clone(),
        mobile_no: phone::normalize_phone(&billing.phone),
    };
    Ok(CustomerPlan {
        link_key,
        email,
        doc,
    })
}

/// Returns the billing company when set, else "first last", trimmed.
pub fn customer_name(billing: &Address) -> String {
    let company = billing.company.trim();
    if !company.is_empty() {
        return company.to_string();
    }
    person_name(billing)
}

/// Returns "first last" with empty parts left out.
pub fn person_name(address: &Address) -> String {
    [address.first_name.trim(), address.last_name.trim()]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn link_key(customer_id: u64, email: Option<&str>) -> Result<String, ValidationError> {
    if customer_id > 0 {
        return Ok(format!("customer:{customer_id}"));
    }

    match email {
        Some(email) => Ok(format!("guest:{email}")),
        None => Err(ValidationError(
            "billing email is missing, but a guest order (customer_id 0) needs it to identify \
             the customer. Add the e-mail to the order's billing address in WooCommerce."
                .to_string(),
        )),
    }
}

/// Returns the e-mail trimmed and lower-cased, or `None` when empty.
fn normalize_email(raw: &str) -> Result<Option<String>, ValidationError> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Ok(None);
    }

    if !is_valid_email(&email) {
        return Err(ValidationError(format!(
            "billing email '{raw}' is not a valid e-mail address. Correct the order's billing \
             address in WooCommerce."
        )));
    }
    Ok(Some(email))
}

/// Checks an e-mail address with the rule of Frappe's `validate_email_address` (`frappe/utils/__init__.py`), which
/// ERPNext runs on the Customer's e-mail. The local part is dot-separated atoms of letters, digits
/// and ``!#$%&'*+/=?^_`{|}~-``. The domain has two or more labels of letters, digits and inner
/// hyphens. `email` must already be lower case.
fn is_valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };

    let is_atom_character = |character: char| {
        character.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(character)
    };
    let local_valid = local
        .split('.')
        .all(|atom| !atom.is_empty() && atom.chars().all(is_atom_character));

    let labels: Vec<&str> = domain.split('.').collect();
    let domain_valid = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|character| character.is_ascii_alphanumeric() || character == '-')
        });

    local_valid && domain_valid
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::test_support::settings;

    fn order(customer_id: u64, billing: serde_json::Value) -> Order {
        serde_json::from_value(serde_json::json!({
            "id": 1, "customer_id": customer_id, "billing": billing
        }))
        .unwrap()
    }

    #[test]
    fn registered_customer_keyed_by_id() {
        let order = order(
            26,
            serde_json::json!({
                "first_name": "João", "last_name": "Silva", "email": "Joao.Silva@Example.com"
            }),
        );

        let plan = plan_customer(&order, &settings()).unwrap();

        assert_eq!(plan.link_key, "customer:26");
        assert_eq!(plan.email.as_deref(), Some("joao.silva@example.com"));
        assert_eq!(plan.doc.customer_name, "João Silva");
        assert_eq!(plan.doc.customer_type, "Individual");
        assert_eq!(plan.doc.customer_group, "Individual");
        assert_eq!(plan.doc.territory, "All Territories");
    }

    #[test]
    fn registered_customer_without_email_accepted() {
        let order = order(26, serde_json::json!({"first_name": "João"}));

        let plan = plan_customer(&order, &settings()).unwrap();

        assert_eq!(plan.link_key, "customer:26");
        assert_eq!(plan.email, None);
        assert_eq!(plan.doc.email_id, None);
    }

    #[test]
    fn guest_keyed_by_case_folded_email() {
        let order = order(
            0,
            serde_json::json!({
                "first_name": "Testy", "last_name": "McTestface", "email": "  Buyer@Example.INVALID "
            }),
        );

        let plan = plan_customer(&order, &settings()).unwrap();

        assert_eq!(plan.link_key, "guest:buyer@example.invalid");
        assert_eq!(plan.email.as_deref(), Some("buyer@example.invalid"));
        assert_eq!(plan.doc.email_id.as_deref(), Some("buyer@example.invalid"));
    }

    #[test]
    fn guest_without_email_rejected() {
        let order = order(0, serde_json::json!({"first_name": "Testy", "email": " "}));

        let error = plan_customer(&order, &settings()).unwrap_err();

        assert!(error.0.starts_with("billing email is missing"), "{error}");
        assert!(error.0.contains("guest order (customer_id 0)"), "{error}");
    }

    #[test]
    fn company_becomes_customer_name() {
        let order = order(
            12,
            serde_json::json!({
                "first_name": "Testy", "last_name": "McTestface", "company": " Example Co ",
                "phone": "+00 000 000 000"
            }),
        );

        let plan = plan_customer(&order, &settings()).unwrap();

        assert_eq!(plan.doc.customer_name, "Example Co");
        assert_eq!(plan.doc.customer_type, "Company");
        assert_eq!(plan.doc.mobile_no.as_deref(), Some("+00 000 000 000"));
    }

    #[test]
    fn unusable_phone_left_out() {
        let order = order(
            12,
            serde_json::json!({"first_name": "Testy", "phone": "n/a"}),
        );

        let plan = plan_customer(&order, &settings()).unwrap();

        assert_eq!(plan.doc.mobile_no, None);
    }

    #[test]
    fn email_validation_follows_frappe() {
        for email in [
            "buyer@example.invalid",
            "a.b+c@mail.example.co.uk",
            "x_y@a-b.de",
        ] {
            assert!(is_valid_email(email), "{email}");
        }
        for email in [
            "buyer",
            "buyer@localhost",
            "a..b@example.com",
            "a@-example.com",
            "a b@x.de",
            "a@b@c.de",
        ] {
            assert!(!is_valid_email(email), "{email}");
        }
    }

    #[test]
    fn invalid_email_rejected() {
        let order = order(
            26,
            serde_json::json!({"first_name": "Testy", "email": "buyer(at)example.com"}),
        );

        let error = plan_customer(&order, &settings()).unwrap_err();

        assert!(
            error
                .0
                .starts_with("billing email 'buyer(at)example.com' is not a valid"),
            "{error}"
        );
    }
}
