//! WooCommerce error bodies turned into one readable reason.
//!
//! The WordPress REST API returns errors as `{"code": "...", "message": "...", "data":
//! {"status": N}}`. Batch responses carry the same object per failed element under `"error"`.
//! Messages may contain HTML or entities (`&lt;product_id&gt;`), which are stripped.

use serde_json::Value;

use crate::peer::strip_html;

/// Maximum characters of a non-JSON body kept in a message.
const SNIPPET_CHARS: usize = 200;

/// Builds "WooCommerce 404 woocommerce_rest_shop_order_invalid_id: Invalid ID." from a status and
/// the response body.
pub fn describe(status: u16, body: &str) -> String {
    match parse_json(body) {
        Some(document) if document.get("code").is_some() || document.get("message").is_some() => {
            describe_error(status, &document)
        }
        _ => {
            let snippet: String = strip_html(body).chars().take(SNIPPET_CHARS).collect();
            if snippet.is_empty() {
                format!("WooCommerce answered HTTP {status} with an empty body")
            } else {
                format!("WooCommerce answered HTTP {status}: {snippet}")
            }
        }
    }
}

/// Describes one `{"code", "message", "data": {"status"}}` object; `status` is used when the
/// object has no `data.status` of its own.
pub fn describe_error(status: u16, error: &Value) -> String {
    let status = error
        .pointer("/data/status")
        .and_then(Value::as_u64)
        .unwrap_or(u64::from(status));
    let code = error.get("code").and_then(Value::as_str).unwrap_or("");
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .map(strip_html)
        .unwrap_or_default();

    match (code.is_empty(), message.is_empty()) {
        (false, false) => format!("WooCommerce {status} {code}: {message}"),
        (false, true) => format!("WooCommerce {status} {code}"),
        (true, false) => format!("WooCommerce {status}: {message}"),
        (true, true) => format!("WooCommerce answered HTTP {status}"),
    }
}

/// Parses a JSON body, also when PHP printed notices or warnings in front of it (a site with
/// `WP_DEBUG_DISPLAY` on does that).
pub fn parse_json(body: &str) -> Option<Value> {
    if let Ok(document) = serde_json::from_str(body) {
        return Some(document);
    }
    let start = body.find(['{', '['])?;
    serde_json::from_str(&body[start..]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures")
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn not_found_names_code_and_message() {
        assert_eq!(
            describe(404, &fixture("wc_error_not_found_404.json")),
            "WooCommerce 404 woocommerce_rest_shop_order_invalid_id: Invalid ID."
        );
    }

    #[test]
    fn batch_too_large_is_readable() {
        assert_eq!(
            describe(413, &fixture("wc_error_batch_too_large_413.json")),
            "WooCommerce 413 woocommerce_rest_request_entity_too_large: \
             Unable to accept more than 100 items for this request."
        );
    }

    #[test]
    fn docs_examples_are_readable() {
        let examples: Vec<Value> =
            serde_json::from_str(&fixture("wc_error_docs_examples.json")).unwrap();
        assert_eq!(
            describe_error(404, &examples[0]),
            "WooCommerce 404 rest_no_route: No route was found matching the URL and request method"
        );
        assert_eq!(
            describe_error(404, &examples[1]),
            "WooCommerce 404 woocommerce_rest_term_invalid: Resource doesn't exist."
        );
    }

    #[test]
    fn html_and_entities_are_stripped() {
        let body = r#"{"code":"woocommerce_rest_invalid_product_id","message":"To manipulate product variations you should use the /products/&lt;product_id&gt;/variations/&lt;id&gt; endpoint.","data":{"status":404}}"#;
        assert_eq!(
            describe(404, body),
            "WooCommerce 404 woocommerce_rest_invalid_product_id: To manipulate product \
             variations you should use the /products/<product_id>/variations/<id> endpoint."
        );

        let critical = r#"{"code":"internal_server_error","message":"<p>There has been a critical error on this website.</p><p><a href=\"https://wordpress.org/documentation/article/faq-troubleshooting/\">Learn more about troubleshooting WordPress.</a></p>","data":{"status":500},"additional_errors":[]}"#;
        assert_eq!(
            describe(500, critical),
            "WooCommerce 500 internal_server_error: There has been a critical error on this \
             website.Learn more about troubleshooting WordPress."
        );
    }

    #[test]
    fn element_error_uses_its_own_status() {
        let error = serde_json::json!({
            "code": "woocommerce_rest_product_invalid_id",
            "message": "Invalid ID.",
            "data": {"status": 400}
        });
        assert_eq!(
            describe_error(200, &error),
            "WooCommerce 400 woocommerce_rest_product_invalid_id: Invalid ID."
        );
    }

    #[test]
    fn non_json_bodies_are_summarised() {
        assert_eq!(
            describe(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"),
            "WooCommerce answered HTTP 502: 502 Bad Gateway"
        );
        assert_eq!(
            describe(503, ""),
            "WooCommerce answered HTTP 503 with an empty body"
        );
        let long = "x".repeat(1000);
        assert_eq!(
            describe(500, &long).len(),
            "WooCommerce answered HTTP 500: ".len() + 200
        );
    }

    #[test]
    fn php_notice_before_json_is_skipped() {
        let body = "<br />\n<b>Notice</b>:  Undefined index: foo in <b>/var/www/x.php</b><br />\n\
                    {\"code\":\"rest_invalid_param\",\"message\":\"Invalid parameter(s): per_page\",\"data\":{\"status\":400}}";
        assert_eq!(
            describe(400, body),
            "WooCommerce 400 rest_invalid_param: Invalid parameter(s): per_page"
        );
    }
}
