//! ERPNext Addresses from the order's billing and shipping addresses.
//!
//! The billing address is always required. An entirely empty shipping address means "ship to the
//! billing address", and so does one equal to billing. In both cases the billing Address is also
//! the shipping Address, and no second Address is created. The `links` to the Customer are left
//! empty for the delivery stage to fill.

use super::{ValidationError, country, customer, phone, postcode};
use crate::erpnext::documents::AddressDoc;
use crate::woocommerce::order::{Address, Order};
use postcode::PostcodeError;

/// The order's Addresses: billing, and shipping when it differs from billing.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressPlan {
    pub billing: AddressDoc,
    pub shipping: Option<AddressDoc>,
}

/// One of the order's two addresses. Its label starts every message about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    Billing,
    Shipping,
}

impl AddressKind {
    fn label(self) -> &'static str {
        match self {
            AddressKind::Billing => "billing",
            AddressKind::Shipping => "shipping",
        }
    }

    fn address_type(self) -> &'static str {
        match self {
            AddressKind::Billing => "Billing",
            AddressKind::Shipping => "Shipping",
        }
    }
}

/// Validates both addresses and builds their Address documents.
///
/// The billing Address is titled with the customer name and carries the billing e-mail. A separate
/// shipping Address is titled with the recipient ("first last, company"), because that is the name
/// a parcel goes to. Unusable phone numbers are dropped with a note.
pub fn plan_addresses(
    order: &Order,
    notes: &mut Vec<String>,
) -> Result<AddressPlan, ValidationError> {
    let billing_source = &order.billing;
    validate_address(AddressKind::Billing, billing_source)?;

    let separate_shipping =
        !is_blank(&order.shipping) && !same_address(billing_source, &order.shipping);
    if separate_shipping {
        validate_address(AddressKind::Shipping, &order.shipping)?;
    }

    let mut billing = address_doc(
        AddressKind::Billing,
        billing_source,
        customer::customer_name(billing_source),
        notes,
    )?;
    let email = billing_source.email.trim().to_lowercase();
    billing.email_id = (!email.is_empty()).then_some(email);
    billing.is_primary_address = 1;

    if !separate_shipping {
        billing.is_shipping_address = 1;
        return Ok(AddressPlan {
            billing,
            shipping: None,
        });
    }

    let mut shipping = address_doc(
        AddressKind::Shipping,
        &order.shipping,
        recipient_name(&order.shipping),
        notes,
    )?;
    shipping.is_shipping_address = 1;
    Ok(AddressPlan {
        billing,
        shipping: Some(shipping),
    })
}

/// Checks the fields ERPNext and the carrier need: first name or company, address line 1, city,
/// a known country, and a postcode in the country's format.
pub fn validate_address(kind: AddressKind, address: &Address) -> Result<(), ValidationError> {
    let label = kind.label();

    if address.first_name.trim().is_empty() && address.company.trim().is_empty() {
        return Err(ValidationError(format!(
            "{label} first_name and company are both missing, expected at least one. Add a name \
             or company to the {label} address in WooCommerce."
        )));
    }
    for (field, value) in [("address_1", &address.address_1), ("city", &address.city)] {
        if value.trim().is_empty() {
            return Err(ValidationError(format!(
                "{label} {field} is missing. Add it to the {label} address in WooCommerce."
            )));
        }
    }

    let code = country_code(kind, address)?;
    normalized_postcode(kind, &code, &address.postcode)?;
    Ok(())
}

/// Returns whether every address field is empty. Phone and e-mail do not count as address fields.
pub fn is_blank(address: &Address) -> bool {
    address_fields(address)
        .iter()
        .all(|field| field.trim().is_empty())
}

/// Returns whether two addresses are the same place and recipient, ignoring case, whitespace, phone and
/// e-mail.
pub fn same_address(left: &Address, right: &Address) -> bool {
    let simplify = |text: &str| -> String {
        text.chars()
            .filter(|character| !character.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };

    address_fields(left)
        .iter()
        .zip(address_fields(right).iter())
        .all(|(a, b)| simplify(a) == simplify(b))
}

fn address_fields(address: &Address) -> [&str; 9] {
    [
        &address.first_name,
        &address.last_name,
        &address.company,
        &address.address_1,
        &address.address_2,
        &address.city,
        &address.state,
        &address.postcode,
        &address.country,
    ]
}

/// Returns "first last, company", or whichever part is set.
fn recipient_name(address: &Address) -> String {
    let person = customer::person_name(address);
    let company = address.company.trim();
    match (person.is_empty(), company.is_empty()) {
        (false, false) => format!("{person}, {company}"),
        (true, _) => company.to_string(),
        (false, true) => person,
    }
}

fn address_doc(
    kind: AddressKind,
    address: &Address,
    title: String,
    notes: &mut Vec<String>,
) -> Result<AddressDoc, ValidationError> {
    let code = country_code(kind, address)?;
    let country = country::country_name(&code).unwrap_or_default().to_string();
    let pincode = normalized_postcode(kind, &code, &address.postcode)?;
    let phone_label = format!("{} phone", kind.label());

    Ok(AddressDoc {
        address_title: title,
        address_type: kind.address_type().to_string(),
        address_line1: address.address_1.trim().to_string(),
        address_line2: address.address_2.trim().to_string(),
        city: address.city.trim().to_string(),
        state: address.state.trim().to_string(),
        pincode,
        country,
        email_id: None,
        phone: phone::normalize_phone_with_note(&phone_label, &address.phone, notes),
        is_primary_address: 0,
        is_shipping_address: 0,
        links: Vec::new(),
    })
}

/// Returns the upper-case ISO code after checking that ERPNext has a Country for it.
fn country_code(kind: AddressKind, address: &Address) -> Result<String, ValidationError> {
    let label = kind.label();
    let code = address.country.trim().to_ascii_uppercase();

    if code.is_empty() {
        return Err(ValidationError(format!(
            "{label} country is missing. Add it to the {label} address in WooCommerce."
        )));
    }
    if country::country_name(&code).is_none() {
        return Err(ValidationError(format!(
            "{label} country '{}' is not an ISO 3166-1 alpha-2 country code. Correct the {label} \
             address in WooCommerce.",
            address.country
        )));
    }
    Ok(code)
}

fn normalized_postcode(
    kind: AddressKind,
    code: &str,
    raw: &str,
) -> Result<String, ValidationError> {
    let label = kind.label();
    postcode::normalize_postcode(code, raw).map_err(|error| match error {
        PostcodeError::Invalid { expected } => ValidationError(format!(
            "{label} postcode '{raw}' is not valid for {code}, expected {expected}. Correct the \
             {label} address in WooCommerce."
        )),
        PostcodeError::Missing { expected } => ValidationError(format!(
            "{label} postcode is missing, but addresses in {code} need one, expected {expected}. \
             Add it to the {label} address in WooCommerce."
        )),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::mapping::test_support::{billing, order_with};

    fn plan_with_shipping(shipping: serde_json::Value) -> (AddressPlan, Vec<String>) {
        let order = order_with(json!({"shipping": shipping}));
        let mut notes = Vec::new();
        let plan = plan_addresses(&order, &mut notes).unwrap();
        (plan, notes)
    }

    #[test]
    fn empty_shipping_gives_one_address() {
        let (plan, _) = plan_with_shipping(json!({
            "first_name": "", "last_name": "", "company": "", "address_1": "", "address_2": "",
            "city": "", "state": "", "postcode": "", "country": "", "phone": ""
        }));

        assert_eq!(plan.shipping, None);
        assert_eq!(plan.billing.address_type, "Billing");
        assert_eq!(plan.billing.is_primary_address, 1);
        assert_eq!(plan.billing.is_shipping_address, 1);
    }

    #[test]
    fn shipping_with_only_phone_counts_as_empty() {
        let (plan, _) = plan_with_shipping(json!({"phone": "+1 555 123 4567"}));

        assert_eq!(plan.shipping, None);
        assert_eq!(plan.billing.is_shipping_address, 1);
    }

    #[test]
    fn identical_shipping_gives_one_address() {
        let mut shipping = billing();
        shipping["first_name"] = json!("  TESTY ");
        shipping["address_1"] = json!("1 example  street");
        shipping["email"] = json!("");
        shipping["phone"] = json!("");

        let (plan, _) = plan_with_shipping(shipping);

        assert_eq!(plan.shipping, None);
        assert_eq!(plan.billing.is_shipping_address, 1);
    }

    #[test]
    fn different_shipping_gives_two_addresses() {
        let mut shipping = billing();
        shipping["address_1"] = json!("2 Other Street");
        shipping["company"] = json!("Example Co");
        shipping["phone"] = json!("(555) 555-5555");

        let (plan, _) = plan_with_shipping(shipping);
        let shipping = plan.shipping.expect("a second address");

        assert_eq!(plan.billing.is_primary_address, 1);
        assert_eq!(plan.billing.is_shipping_address, 0);
        assert_eq!(shipping.address_type, "Shipping");
        assert_eq!(shipping.address_title, "Testy McTestface, Example Co");
        assert_eq!(shipping.address_line1, "2 Other Street");
        assert_eq!(shipping.is_primary_address, 0);
        assert_eq!(shipping.is_shipping_address, 1);
        assert_eq!(shipping.email_id, None);
        assert_eq!(shipping.phone.as_deref(), Some("(555) 555-5555"));
        assert!(shipping.links.is_empty());
    }

    #[test]
    fn billing_address_fields_mapped() {
        let mut address = billing();
        address["email"] = json!(" Buyer@Example.INVALID ");
        address["address_2"] = json!(" Suite 4 ");
        let order = order_with(json!({"billing": address}));
        let mut notes = Vec::new();

        let plan = plan_addresses(&order, &mut notes).unwrap();
        let billing = plan.billing;

        assert_eq!(billing.address_title, "Testy McTestface");
        assert_eq!(billing.address_line1, "1 Example Street");
        assert_eq!(billing.address_line2, "Suite 4");
        assert_eq!(billing.city, "San Francisco");
        assert_eq!(billing.state, "CA");
        assert_eq!(billing.pincode, "94103");
        assert_eq!(billing.country, "United States");
        assert_eq!(billing.email_id.as_deref(), Some("buyer@example.invalid"));
        assert_eq!(billing.phone.as_deref(), Some("+00 000 000 000"));
        assert!(billing.links.is_empty());
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn lower_case_country_code_accepted() {
        let mut address = billing();
        address["country"] = json!("gb");
        address["postcode"] = json!("ec1a1bb");
        let order = order_with(json!({"billing": address}));
        let mut notes = Vec::new();

        let plan = plan_addresses(&order, &mut notes).unwrap();

        assert_eq!(plan.billing.country, "United Kingdom");
        assert_eq!(plan.billing.pincode, "EC1A 1BB");
    }

    #[test]
    fn incomplete_shipping_rejected() {
        let order = order_with(json!({
            "shipping": {"first_name": "Recipient", "address_1": "2 Other Street", "country": "US",
                         "postcode": "94103"}
        }));
        let mut notes = Vec::new();

        let error = plan_addresses(&order, &mut notes).unwrap_err();

        assert!(error.0.starts_with("shipping city is missing"), "{error}");
    }
}
