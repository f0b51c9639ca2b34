//! Webhook signatures: base64 (standard alphabet, padded) of HMAC-SHA256 over the raw body bytes.
//! WooCommerce sends it in `X-WC-Webhook-Signature`, Frappe in `X-Frappe-Webhook-Signature`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Returns the index of the first secret whose signature matches, comparing in constant time.
/// A header that is not valid base64 of 32 bytes matches nothing.
pub fn verify(body: &[u8], header: &str, secrets: &[Secret], html_decode: bool) -> Option<usize> {
    let expected = STANDARD.decode(header.trim()).ok()?;
    if expected.len() != 32 {
        return None;
    }

    secrets.iter().position(|secret| {
        let key = if html_decode {
            decode_html_entities(secret.expose())
        } else {
            secret.expose().to_string()
        };
        let Ok(mut mac) = HmacSha256::new_from_slice(key.as_bytes()) else {
            return false;
        };
        mac.update(body);
        mac.verify_slice(&expected).is_ok()
    })
}

/// Computes the header value for `body`, as the sender does.
pub fn sign(body: &[u8], secret: &str) -> String {
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Undoes the HTML escaping WordPress applies to a stored webhook secret
/// (`wp_specialchars_decode($secret, ENT_QUOTES)`), so a secret copied as `s3cr&amp;t` signs as
/// `s3cr&t`, like WooCommerce does.
pub fn decode_html_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER_BODY: &[u8] =
        include_bytes!("../../../shared/fixtures/wc_webhook_order_created_body.json");
    const INVOICE_BODY: &[u8] =
        include_bytes!("../../../shared/fixtures/frappe_webhook_sales_invoice_on_submit_body.json");
    const SLE_BODY: &[u8] = include_bytes!(
        "../../../shared/fixtures/frappe_webhook_stock_ledger_entry_on_submit_body.json"
    );

    fn secrets(values: &[&str]) -> Vec<Secret> {
        values.iter().map(|value| Secret::new(*value)).collect()
    }

    #[test]
    fn woocommerce_vectors_verify() {
        let key = secrets(&["wc_test_secret_0123456789"]);
        let cases: [(&[u8], &str); 2] = [
            (
                b"{\"id\":727}",
                "C121z+q6uoaJwq5ZUqHXtYAkJXNCaxop5HCRnkM+m48=",
            ),
            (ORDER_BODY, "gZa94NL/VM90YF24etlwhZj8I7n5CC08GlHIhvf/RmU="),
        ];
        for (body, header) in cases {
            assert_eq!(verify(body, header, &key, true), Some(0));
            assert_eq!(sign(body, "wc_test_secret_0123456789"), header);
        }
    }

    #[test]
    fn woocommerce_secret_is_html_decoded() {
        let header = "9HsCMVoLkGanHcTx5rky9jxHKcOAo/FbSBG2W6AEhQQ=";
        assert_eq!(
            verify(b"{\"id\":1}", header, &secrets(&["s3cr&t"]), true),
            Some(0)
        );
        assert_eq!(
            verify(b"{\"id\":1}", header, &secrets(&["s3cr&amp;t"]), true),
            Some(0)
        );
    }

    #[test]
    fn frappe_vectors_verify() {
        let key = secrets(&["frappe_test_secret_0123456789"]);
        let cases: [(&[u8], &str); 3] = [
            (
                b"{\"name\": \"SAL-ORD-2025-00042\", \"docstatus\": 1}",
                "++XQEx7xTWjIEbPXf7QWjX5Fxbp6Ccc3SkD21F0azKc=",
            ),
            (INVOICE_BODY, "uHhGyP1QY4YfZjYFMg9J1d5NHjLxlqOt1tdEJ5O6WLc="),
            (SLE_BODY, "eyK5TceFRR1JgyHA2DOe17aRmDN4SoKdI5IvHBCCvmQ="),
        ];
        for (body, header) in cases {
            assert_eq!(verify(body, header, &key, false), Some(0));
        }
    }

    #[test]
    fn any_secret_of_a_rotation_verifies() {
        let header = sign(b"{\"id\":5}", "new");
        let keys = secrets(&["old", "new"]);
        assert_eq!(verify(b"{\"id\":5}", &header, &keys, true), Some(1));
    }

    #[test]
    fn wrong_secret_body_or_header_fails() {
        let header = sign(b"{\"id\":5}", "right");
        assert_eq!(
            verify(b"{\"id\":5}", &header, &secrets(&["wrong"]), true),
            None
        );
        assert_eq!(
            verify(b"{\"id\":6}", &header, &secrets(&["right"]), true),
            None
        );
        assert_eq!(
            verify(b"{\"id\":5}", "not base64!", &secrets(&["right"]), true),
            None
        );
        assert_eq!(verify(b"{\"id\":5}", "", &secrets(&["right"]), true), None);
        let short = STANDARD.encode([0u8; 16]);
        assert_eq!(
            verify(b"{\"id\":5}", &short, &secrets(&["right"]), true),
            None
        );
    }
}
