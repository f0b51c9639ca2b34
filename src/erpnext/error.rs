//! Frappe error bodies turned into one readable reason.
//!
//! A Frappe v1 error body carries `exc_type` (the exception class, always present) and
//! `_server_messages`: a JSON string holding a list of JSON strings, each a message dict, so it
//! is decoded twice. Some paths send `_error_message` or `exception` instead.

use serde_json::Value;

use crate::peer::strip_html;

/// Builds "ERPNext 404 DoesNotExistError: Item NO-SUCH-ITEM not found" from a status and body.
pub fn describe(status: u16, body: &str) -> String {
    let Ok(document) = serde_json::from_str::<Value>(body) else {
        let snippet: String = strip_html(body).chars().take(200).collect();
        return if snippet.is_empty() {
            format!("ERPNext answered HTTP {status} with an empty body")
        } else {
            format!("ERPNext answered HTTP {status}: {snippet}")
        };
    };

    let exc_type = document
        .get("exc_type")
        .and_then(Value::as_str)
        .unwrap_or("");
    let messages = messages(&document);

    match (exc_type.is_empty(), messages.is_empty()) {
        (false, false) => format!("ERPNext {status} {exc_type}: {}", messages.join("; ")),
        (false, true) => format!("ERPNext {status} {exc_type}"),
        (true, false) => format!("ERPNext {status}: {}", messages.join("; ")),
        (true, true) => format!("ERPNext answered HTTP {status}"),
    }
}

/// The messages of an error body, plain text, in order.
pub fn messages(document: &Value) -> Vec<String> {
    let mut found = server_messages(document);

    if found.is_empty()
        && let Some(text) = document.get("_error_message").and_then(Value::as_str)
    {
        found.push(strip_html(text));
    }
    if found.is_empty()
        && let Some(text) = document.get("exception").and_then(Value::as_str)
    {
        let last = text.rsplit(": ").next().unwrap_or(text);
        found.push(strip_html(last));
    }
    if found.is_empty()
        && let Some(text) = document.get("message").and_then(Value::as_str)
    {
        found.push(strip_html(text));
    }

    found.retain(|message| !message.is_empty());
    found
}

fn server_messages(document: &Value) -> Vec<String> {
    let Some(outer) = document.get("_server_messages").and_then(Value::as_str) else {
        return Vec::new();
    };
    let Ok(list) = serde_json::from_str::<Vec<Value>>(outer) else {
        return vec![strip_html(outer)];
    };

    list.iter()
        .filter_map(|entry| {
            let inner = match entry {
                Value::String(text) => {
                    serde_json::from_str::<Value>(text).unwrap_or(Value::String(text.clone()))
                }
                other => other.clone(),
            };
            match inner {
                Value::Object(map) => map.get("message").and_then(Value::as_str).map(strip_html),
                Value::String(text) => Some(strip_html(&text)),
                _ => None,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = "../../../shared/fixtures/erpnext-live/rest";

    fn live(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src/erpnext")
            .join(LIVE)
            .join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn unknown_item_names_the_item() {
        let reason = describe(404, &live("32_error_sales_order_unknown_item_404.json"));
        assert!(
            reason.starts_with("ERPNext 404 DoesNotExistError: "),
            "{reason}"
        );
        assert!(reason.contains("NO-SUCH-ITEM"), "{reason}");
    }

    #[test]
    fn missing_delivery_date_is_readable() {
        let reason = describe(417, &live("42_error_mandatory_missing_417.json"));
        assert!(reason.contains("ValidationError"), "{reason}");
        assert!(reason.contains("Delivery Date"), "{reason}");
        assert!(!reason.contains('<'), "{reason}");
    }

    #[test]
    fn auth_and_permission_bodies() {
        let reason = describe(401, &live("35_error_bad_api_secret_401.json"));
        assert!(reason.contains("AuthenticationError"), "{reason}");
        let reason = describe(403, &live("33_error_permission_noperm_user_403.json"));
        assert!(reason.contains("PermissionError"), "{reason}");
    }

    #[test]
    fn maintenance_and_non_json() {
        let reason = describe(503, &live("54_error_maintenance_mode_503.json"));
        assert!(reason.contains("503"), "{reason}");
        let reason = describe(502, "<html><body><h1>502 Bad Gateway</h1></body></html>");
        assert_eq!(reason, "ERPNext answered HTTP 502: 502 Bad Gateway");
    }
}
