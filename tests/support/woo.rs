//! A WooCommerce webhook sender: the headers, ping and signature of `WC_Webhook::deliver()`.

use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

fn agent() -> &'static ureq::Agent {
    static AGENT: OnceLock<ureq::Agent> = OnceLock::new();
    AGENT.get_or_init(|| {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build();
        ureq::Agent::new_with_config(config)
    })
}

/// base64(HMAC-SHA256(secret, body)), as WooCommerce computes `X-WC-Webhook-Signature`.
pub fn sign(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Posts a signed webhook with every X-WC-Webhook-* header; returns status and body text.
pub fn deliver(bus_url: &str, topic: &str, body: &[u8], secret: &str) -> (u16, String) {
    let signature = sign(body, secret);
    post(bus_url, body, &headers(topic, Some(&signature)))
}

/// The headers WooCommerce sends, with the signature when given.
pub fn headers(topic: &str, signature: Option<&str>) -> Vec<(String, String)> {
    let (resource, event) = topic.split_once('.').unwrap_or((topic, ""));
    let mut headers = vec![
        (
            "User-Agent".to_string(),
            "WooCommerce/9.8.5 Hookshot (WordPress/6.8.1)".to_string(),
        ),
        ("Content-Type".to_string(), "application/json".to_string()),
        (
            "X-WC-Webhook-Source".to_string(),
            "https://shop.example.com/".to_string(),
        ),
        ("X-WC-Webhook-Topic".to_string(), topic.to_string()),
        ("X-WC-Webhook-Resource".to_string(), resource.to_string()),
        ("X-WC-Webhook-Event".to_string(), event.to_string()),
        ("X-WC-Webhook-ID".to_string(), "142".to_string()),
        (
            "X-WC-Webhook-Delivery-ID".to_string(),
            "2f5e0c6d4e1b4b6f8a7d9c3e1f2a4b6c".to_string(),
        ),
    ];
    if let Some(signature) = signature {
        headers.push(("X-WC-Webhook-Signature".to_string(), signature.to_string()));
    }
    headers
}

/// Posts `body` to the WooCommerce route with exactly these headers.
pub fn post(bus_url: &str, body: &[u8], headers: &[(String, String)]) -> (u16, String) {
    post_to(bus_url, "/webhooks/woocommerce", body, headers)
}

/// Posts `body` to a route of the bus with exactly these headers.
pub fn post_to(
    bus_url: &str,
    route: &str,
    body: &[u8],
    headers: &[(String, String)],
) -> (u16, String) {
    let mut request = agent().post(format!("{bus_url}{route}"));
    for (name, value) in headers {
        request = request.header(name, value);
    }
    let mut response = request.send(body).expect("bus reachable");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, text)
}

/// The ping WooCommerce sends when a webhook is created: form-encoded, unsigned, no X-WC headers.
pub fn ping(bus_url: &str) -> (u16, String) {
    let headers = vec![
        (
            "User-Agent".to_string(),
            "WooCommerce/9.8.5 Hookshot (WordPress/6.8.1)".to_string(),
        ),
        (
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        ),
    ];
    post(bus_url, b"webhook_id=142", &headers)
}
