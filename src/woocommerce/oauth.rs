//! OAuth 1.0a one-legged signing, the only authentication WooCommerce accepts over plain HTTP.
//!
//! This follows `WC_REST_Authentication::check_oauth_signature` in woocommerce/woocommerce
//! `plugins/woocommerce/includes/class-wc-rest-authentication.php` (read at commit 170a893915f9),
//! which departs from RFC 5849 in several places:
//! - The signed parameters are every query parameter of the request plus the `oauth_*` ones,
//!   except `oauth_signature`. A JSON body is not signed (only `$_GET` and `$_POST` are read).
//! - Parameters are sorted by their decoded names in byte order (`uksort` with `strcmp`). Then the
//!   name and the value are each percent-encoded (`rawurlencode`), joined with `=`, and the pair is
//!   percent-encoded again. Pairs are joined with `%26`.
//! - The base string is `METHOD&rawurlencode(URL without query)&pairs`, where WooCommerce rebuilds
//!   the URL from the WordPress home URL and the request path.
//! - The HMAC key is the consumer secret followed by `&`, with no percent-encoding.
//! - `oauth_version` is neither required nor sent.
//!
//! The same file rejects a timestamp more than 15 minutes away from the server clock and a nonce
//! already stored for the key. It stores one nonce per timestamp, so nonces must be random.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;

/// Characters `rawurlencode` leaves as they are (RFC 3986 unreserved); the rest are encoded.
pub(crate) const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

pub(crate) const SIGNATURE_METHOD: &str = "HMAC-SHA256";

/// Percent-encodes `text` as PHP's `rawurlencode` does.
pub(crate) fn rawurlencode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// Builds the string WooCommerce signs for a request to `url` (no query) with `params` (decoded
/// names and values, `oauth_signature` excluded).
pub(crate) fn base_string(method: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|left, right| left.0.as_bytes().cmp(right.0.as_bytes()));

    let pairs: Vec<String> = sorted
        .iter()
        .map(|(name, value)| {
            let pair = format!("{}={}", rawurlencode(name), rawurlencode(value));
            rawurlencode(&pair)
        })
        .collect();

    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        rawurlencode(url),
        pairs.join("%26")
    )
}

/// Computes `oauth_signature`: base64 of HMAC-SHA256 over the base string, keyed `secret&`.
pub(crate) fn signature(
    method: &str,
    url: &str,
    params: &[(String, String)],
    consumer_secret: &str,
) -> String {
    let key = format!("{consumer_secret}&");
    let mut mac =
        Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(base_string(method, url, params).as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The credentials and the per-request values of one signature.
pub(crate) struct OAuthCredentials<'a> {
    pub consumer_key: &'a str,
    pub consumer_secret: &'a str,
    /// Unix time in seconds.
    pub timestamp: u64,
    pub nonce: &'a str,
}

/// Appends the `oauth_*` parameters and the signature to the request's own query parameters.
pub(crate) fn sign_query(
    method: &str,
    url: &str,
    query: Vec<(String, String)>,
    credentials: &OAuthCredentials<'_>,
) -> Vec<(String, String)> {
    let mut params = query;
    params.push((
        "oauth_consumer_key".to_string(),
        credentials.consumer_key.to_string(),
    ));
    params.push(("oauth_nonce".to_string(), credentials.nonce.to_string()));
    params.push((
        "oauth_signature_method".to_string(),
        SIGNATURE_METHOD.to_string(),
    ));
    params.push((
        "oauth_timestamp".to_string(),
        credentials.timestamp.to_string(),
    ));

    let signature = signature(method, url, &params, credentials.consumer_secret);
    params.push(("oauth_signature".to_string(), signature));
    params
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    // The expected values were computed with python3 (hmac, hashlib, base64 and
    // urllib.parse.quote with safe="-_.~"), following check_oauth_signature step by step:
    // sort by raw name, rawurlencode name and value, rawurlencode "name=value", join with "%26",
    // key = secret + "&".
    #[test]
    fn signature_matches_independent_vector() {
        let params = pairs(&[
            ("sku", "TEE BL/L+1"),
            ("per_page", "100"),
            ("oauth_consumer_key", "ck_test_0123"),
            ("oauth_nonce", "n0nce42"),
            ("oauth_signature_method", "HMAC-SHA256"),
            ("oauth_timestamp", "1767225600"),
        ]);
        let url = "http://127.0.0.1:8080/wp-json/wc/v3/products";

        assert_eq!(
            base_string("GET", url, &params),
            "GET&http%3A%2F%2F127.0.0.1%3A8080%2Fwp-json%2Fwc%2Fv3%2Fproducts&\
             oauth_consumer_key%3Dck_test_0123%26oauth_nonce%3Dn0nce42%26\
             oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1767225600%26\
             per_page%3D100%26sku%3DTEE%2520BL%252FL%252B1"
        );
        assert_eq!(
            signature("GET", url, &params, "cs_test_s3cr&t"),
            "f39KoJjD1N5THZzSwe2JYWZMM80YPGCm3NWqYPvm25w="
        );
    }

    #[test]
    fn signature_uppercases_method_and_signs_no_body() {
        let params = pairs(&[
            ("oauth_consumer_key", "ck_test_0123"),
            ("oauth_nonce", "abc"),
            ("oauth_signature_method", "HMAC-SHA256"),
            ("oauth_timestamp", "1767225600"),
        ]);
        let url = "http://127.0.0.1:8080/wp-json/wc/v3/products/batch";
        assert_eq!(
            signature("post", url, &params, "cs_test_secret"),
            "hGcbqlpQMq4OA8E0a7rCDF+aXrUgethMPLio3nLd7ls="
        );
    }

    #[test]
    fn sign_query_adds_oauth_parameters_without_version() {
        let credentials = OAuthCredentials {
            consumer_key: "ck_test_0123",
            consumer_secret: "cs_test_s3cr&t",
            timestamp: 1_767_225_600,
            nonce: "n0nce42",
        };
        let url = "http://127.0.0.1:8080/wp-json/wc/v3/products";
        let query = pairs(&[("sku", "TEE BL/L+1"), ("per_page", "100")]);

        let signed = sign_query("GET", url, query, &credentials);

        let names: Vec<&str> = signed.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            [
                "sku",
                "per_page",
                "oauth_consumer_key",
                "oauth_nonce",
                "oauth_signature_method",
                "oauth_timestamp",
                "oauth_signature"
            ]
        );
        assert_eq!(
            signed.last().unwrap().1,
            "f39KoJjD1N5THZzSwe2JYWZMM80YPGCm3NWqYPvm25w="
        );
    }
}
