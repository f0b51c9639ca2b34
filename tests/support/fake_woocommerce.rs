//! A fake WooCommerce REST API v3 site for tests: an in-memory store on loopback that responds the
//! way the WooCommerce controllers do. It sends the JSON shapes of the docs fixtures, errors as
//! `{"code", "message", "data": {"status"}}`, 200 batch responses with per-element errors, 413
//! above 100 batch items, and `X-WP-Total`, `X-WP-TotalPages` and `Link` headers on lists.
//!
//! `FakeWoo::start()` serves plain HTTP, where WooCommerce accepts only OAuth 1.0a one-legged
//! signatures in the query string. It verifies them as `WC_REST_Authentication` does
//! (woocommerce/woocommerce `plugins/woocommerce/includes/class-wc-rest-authentication.php`):
//! the signature, a timestamp within 15 minutes, and a nonce not used before for the key.
//! `FakeWoo::start_basic()` also accepts HTTP Basic over plain HTTP, to test that mode on
//! loopback. Real WooCommerce checks Basic credentials only on requests that WordPress treats as
//! HTTPS.
//!
//! The site's time zone is UTC, so every `date_*` equals its `date_*_gmt`.
//!
//! Tests inject faults (`fail_next`, `set_stock_management`) and inspect what arrived
//! (`requests`, `batch_requests`, `stock_of`, `order`, `notes`).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value, json};
use sha2::Sha256;

pub const CONSUMER_KEY: &str = "ck_fake_0123456789abcdef0123456789abcdef";
pub const CONSUMER_SECRET: &str = "cs_fake_fedcba9876543210fedcba9876543210";

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/");
const API_PREFIX: &str = "/wp-json/wc/v3";

/// How far `oauth_timestamp` may be from the server clock, and how long a nonce is remembered
/// (`check_oauth_timestamp_and_nonce`).
const OAUTH_WINDOW_SECONDS: i64 = 15 * 60;

/// The default of the `woocommerce_rest_batch_items_limit` filter.
const BATCH_LIMIT: usize = 100;

/// First ID handed out to products; the fixture orders use smaller IDs.
const FIRST_PRODUCT_ID: u64 = 5000;

const THREADS: usize = 8;

/// Order statuses that `PUT /orders/<id>` accepts, with the names WooCommerce writes in notes.
const ORDER_STATUSES: [(&str, &str); 9] = [
    ("pending", "Pending payment"),
    ("processing", "Processing"),
    ("on-hold", "On hold"),
    ("completed", "Completed"),
    ("cancelled", "Cancelled"),
    ("refunded", "Refunded"),
    ("failed", "Failed"),
    ("trash", "Trash"),
    ("checkout-draft", "Draft"),
];

/// Characters `rawurlencode` leaves as they are.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One request as it arrived: the path percent-decoded, the query as sent.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Authentication {
    OAuth,
    /// HTTP Basic first, then OAuth, as WooCommerce does when `is_ssl()` is true.
    BasicThenOAuth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Simple,
    Variable,
    Variation,
}

#[derive(Debug, Clone)]
struct Product {
    id: u64,
    sku: String,
    kind: Kind,
    /// The variable product of a variation, otherwise 0.
    parent: u64,
    manage_stock: bool,
    stock: Option<i64>,
}

/// Responses to inject instead of the normal ones.
#[derive(Default)]
struct Faults {
    fail_remaining: usize,
    fail_status: u16,
    fail_retry_after: Option<String>,
}

struct Site {
    url: String,
    authentication: Authentication,
    /// The `woocommerce_manage_stock` option (Settings > Products > Inventory).
    stock_management: bool,
    products: BTreeMap<u64, Product>,
    orders: BTreeMap<u64, Value>,
    /// Notes per order, oldest first.
    notes: BTreeMap<u64, Vec<Value>>,
    webhooks: Vec<Value>,
    next_product_id: u64,
    next_note_id: u64,
    next_webhook_id: u64,
    /// Used nonces by timestamp: WooCommerce stores one nonce per timestamp.
    used_nonces: BTreeMap<i64, String>,
    requests: Vec<RecordedRequest>,
    batch_bodies: Vec<Value>,
    faults: Faults,
    product_template: Value,
    variation_template: Value,
    note_template: Value,
}

pub struct FakeWoo {
    url: String,
    site: Arc<Mutex<Site>>,
    server: Arc<tiny_http::Server>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// A response: status, body, extra headers.
type Answer = (u16, String, Vec<(String, String)>);

/// The parts of a request the routes need.
struct Call<'a> {
    method: &'a str,
    /// Decoded path below `/wp-json/wc/v3`.
    route: &'a str,
    /// Query parameters in request order, decoded as PHP's `$_GET` does.
    query: &'a [(String, String)],
    body: &'a str,
}

impl Call<'_> {
    /// Returns the last value of a query parameter, the one PHP keeps.
    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

impl FakeWoo {
    /// Starts a site on 127.0.0.1 with a free port that requires OAuth 1.0a.
    pub fn start() -> FakeWoo {
        FakeWoo::start_with(Authentication::OAuth)
    }

    /// Starts a site that also accepts HTTP Basic over plain HTTP. Real WooCommerce accepts
    /// Basic only over HTTPS; this variant lets tests drive that mode on loopback.
    pub fn start_basic() -> FakeWoo {
        FakeWoo::start_with(Authentication::BasicThenOAuth)
    }

    fn start_with(authentication: Authentication) -> FakeWoo {
        let server =
            Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind fake WooCommerce"));
        let url = format!(
            "http://{}",
            server.server_addr().to_ip().expect("ip address")
        );
        let site = Arc::new(Mutex::new(Site {
            url: url.clone(),
            authentication,
            stock_management: true,
            products: BTreeMap::new(),
            orders: BTreeMap::new(),
            notes: BTreeMap::new(),
            webhooks: Vec::new(),
            next_product_id: FIRST_PRODUCT_ID,
            next_note_id: 9000,
            next_webhook_id: 1,
            used_nonces: BTreeMap::new(),
            requests: Vec::new(),
            batch_bodies: Vec::new(),
            faults: Faults::default(),
            product_template: fixture("wc_product_docs_simple.json"),
            variation_template: fixture("wc_product_variation_docs.json"),
            note_template: fixture("wc_order_note_docs.json"),
        }));
        let stop = Arc::new(AtomicBool::new(false));

        let threads = (0..THREADS)
            .map(|_| {
                let server = server.clone();
                let site = site.clone();
                let stop = stop.clone();
                std::thread::spawn(move || serve(&server, &site, &stop))
            })
            .collect();
        FakeWoo {
            url,
            site,
            server,
            stop,
            threads,
        }
    }

    /// Returns the site's home URL, such as `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    fn site(&self) -> MutexGuard<'_, Site> {
        self.site.lock().unwrap()
    }

    /// Adds a published simple product without stock management; returns its ID.
    pub fn add_simple_product(&self, sku: &str) -> u64 {
        self.site().add_product(sku, Kind::Simple, 0)
    }

    /// Adds a variable product; returns its ID.
    pub fn add_variable_product(&self, sku: &str) -> u64 {
        self.site().add_product(sku, Kind::Variable, 0)
    }

    /// Adds a variation of the variable product `parent`; returns its ID.
    pub fn add_variation(&self, parent: u64, sku: &str) -> u64 {
        let mut site = self.site();
        let parent_kind = site.products.get(&parent).map(|product| product.kind);
        assert_eq!(
            parent_kind,
            Some(Kind::Variable),
            "parent {parent} must be a variable product"
        );
        site.add_product(sku, Kind::Variation, parent)
    }

    /// Returns the stock quantity of the product or variation with this SKU; `None` when there is
    /// no such product or it does not manage stock.
    pub fn stock_of(&self, sku: &str) -> Option<i64> {
        self.site()
            .products
            .values()
            .find(|product| product.sku == sku)
            .and_then(|product| product.stock)
    }

    /// Sets the stock of the product or variation with this SKU, as a sale in the store does.
    pub fn set_stock(&self, sku: &str, quantity: i64) {
        if let Some(product) = self
            .site()
            .products
            .values_mut()
            .find(|product| product.sku == sku)
        {
            product.stock = Some(quantity);
        }
    }

    /// Turns the store-wide `woocommerce_manage_stock` option on or off. With it off,
    /// `/products/batch` keeps the stock as it is and still returns 200, as WooCommerce does.
    /// Variations are updated either way.
    pub fn set_stock_management(&self, enabled: bool) {
        self.site().stock_management = enabled;
    }

    /// Stores an order as `GET /orders/<id>` returns it (a fixture, for example); returns its ID.
    pub fn add_order(&self, order: Value) -> u64 {
        let id = order["id"]
            .as_u64()
            .expect("order must have a numeric \"id\"");
        self.site().orders.insert(id, order);
        id
    }

    /// Sets when the order was last modified, as `YYYY-MM-DDTHH:MM:SS` UTC.
    pub fn set_order_modified(&self, id: u64, gmt: &str) {
        let mut site = self.site();
        let order = site.orders.get_mut(&id).expect("order to modify");
        order["date_modified"] = json!(gmt);
        order["date_modified_gmt"] = json!(gmt);
    }

    /// Returns the stored order, or `Value::Null` when there is none.
    pub fn order(&self, id: u64) -> Value {
        self.site().orders.get(&id).cloned().unwrap_or(Value::Null)
    }

    /// Returns the notes of an order, oldest first (the API lists them newest first).
    pub fn notes(&self, id: u64) -> Vec<Value> {
        self.site().notes.get(&id).cloned().unwrap_or_default()
    }

    /// Adds a webhook; returns its ID.
    pub fn add_webhook(&self, topic: &str, delivery_url: &str, status: &str) -> u64 {
        let mut site = self.site();
        let id = site.next_webhook_id;
        site.next_webhook_id += 1;
        let (resource, event) = topic.split_once('.').unwrap_or((topic, ""));
        let now = now_gmt();
        let webhook = json!({
            "id": id,
            "name": format!("{topic} to {delivery_url}"),
            "status": status,
            "topic": topic,
            "resource": resource,
            "event": event,
            "hooks": webhook_hooks(topic),
            "delivery_url": delivery_url,
            "date_created": now,
            "date_created_gmt": now,
            "date_modified": now,
            "date_modified_gmt": now,
            "_links": {
                "self": [{"href": format!("{}{API_PREFIX}/webhooks/{id}", site.url)}],
                "collection": [{"href": format!("{}{API_PREFIX}/webhooks", site.url)}],
            },
        });
        site.webhooks.push(webhook);
        id
    }

    /// Makes the next `count` requests fail with `status` and the body WordPress or its proxy
    /// sends for it.
    pub fn fail_next(&self, count: usize, status: u16, retry_after: Option<&str>) {
        let mut site = self.site();
        site.faults.fail_remaining = count;
        site.faults.fail_status = status;
        site.faults.fail_retry_after = retry_after.map(str::to_string);
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.site().requests.clone()
    }

    /// Requests with this method whose decoded path starts with `path_prefix`.
    pub fn count_requests(&self, method: &str, path_prefix: &str) -> usize {
        self.site()
            .requests
            .iter()
            .filter(|r| r.method == method && r.path.starts_with(path_prefix))
            .count()
    }

    /// Returns the JSON bodies of every authenticated batch request, in arrival order, with the
    /// request path under `"__path"`. Bodies rejected with 413 are included.
    pub fn batch_requests(&self) -> Vec<Value> {
        self.site().batch_bodies.clone()
    }

    /// A URL for `path_and_query` (below the site root) signed with OAuth 1.0a as a client must
    /// sign it, for tests that send raw requests.
    pub fn signed_url(
        &self,
        method: &str,
        path_and_query: &str,
        timestamp: i64,
        nonce: &str,
    ) -> String {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let mut params = php_query(query);
        params.push(("oauth_consumer_key".into(), CONSUMER_KEY.into()));
        params.push(("oauth_nonce".into(), nonce.into()));
        params.push(("oauth_signature_method".into(), "HMAC-SHA256".into()));
        params.push(("oauth_timestamp".into(), timestamp.to_string()));
        let signature = oauth_signature(
            method,
            &format!("{}{path}", self.url),
            &params,
            CONSUMER_SECRET,
        );
        params.push(("oauth_signature".into(), signature));
        let pairs: Vec<String> = params
            .iter()
            .map(|(name, value)| format!("{}={}", rawurlencode(name), rawurlencode(value)))
            .collect();
        format!("{}{path}?{}", self.url, pairs.join("&"))
    }
}

impl Drop for FakeWoo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for _ in 0..self.threads.len() {
            self.server.unblock();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Site {
    fn add_product(&mut self, sku: &str, kind: Kind, parent: u64) -> u64 {
        let id = self.next_product_id;
        self.next_product_id += 1;
        self.products.insert(
            id,
            Product {
                id,
                sku: sku.to_string(),
                kind,
                parent,
                manage_stock: false,
                stock: None,
            },
        );
        id
    }

    fn link(&self, route: &str) -> Value {
        json!([{ "href": format!("{}{API_PREFIX}{route}", self.url) }])
    }

    /// A product as the products endpoints return it (`WC_REST_Products_V2_Controller`); for a
    /// variation that is `type` "variation" with `parent_id` set.
    fn product_json(&self, product: &Product) -> Value {
        let mut value = self.product_template.clone();
        let slug = product.sku.to_lowercase();
        let kind = match product.kind {
            Kind::Simple => "simple",
            Kind::Variable => "variable",
            Kind::Variation => "variation",
        };
        let children: Vec<u64> = self
            .products
            .values()
            .filter(|child| child.parent == product.id && child.kind == Kind::Variation)
            .map(|child| child.id)
            .collect();

        value["id"] = json!(product.id);
        value["name"] = json!(format!("Product {}", product.sku));
        value["slug"] = json!(slug);
        value["permalink"] = json!(format!("{}/product/{slug}/", self.url));
        value["type"] = json!(kind);
        value["sku"] = json!(product.sku);
        value["parent_id"] = json!(product.parent);
        value["manage_stock"] = json!(product.manage_stock && self.stock_management);
        value["stock_quantity"] = json!(product.stock);
        value["stock_status"] = json!(stock_status(product));
        value["variations"] = json!(children);
        value["_links"] = json!({
            "self": self.link(&format!("/products/{}", product.id)),
            "collection": self.link("/products"),
        });
        if product.parent != 0 {
            value["_links"]["up"] = self.link(&format!("/products/{}", product.parent));
        }
        value
    }

    /// A variation as `/products/<parent>/variations` returns it
    /// (`WC_REST_Product_Variations_Controller`), which has no `parent_id`.
    fn variation_json(&self, variation: &Product) -> Value {
        let mut value = self.variation_template.clone();
        let parent = variation.parent;
        value["id"] = json!(variation.id);
        value["permalink"] = json!(format!(
            "{}/product/{}/?variation={}",
            self.url, parent, variation.id
        ));
        value["sku"] = json!(variation.sku);
        value["manage_stock"] = json!(variation.manage_stock);
        value["stock_quantity"] = json!(variation.stock);
        value["stock_status"] = json!(stock_status(variation));
        value["_links"] = json!({
            "self": self.link(&format!("/products/{parent}/variations/{}", variation.id)),
            "collection": self.link(&format!("/products/{parent}/variations")),
            "up": self.link(&format!("/products/{parent}")),
        });
        value
    }

    fn add_note(&mut self, order_id: u64, note: &str, customer_note: bool, author: &str) -> Value {
        let id = self.next_note_id;
        self.next_note_id += 1;
        let now = now_gmt();
        let mut value = self.note_template.clone();
        value["id"] = json!(id);
        value["author"] = json!(author);
        value["date_created"] = json!(now);
        value["date_created_gmt"] = json!(now);
        value["note"] = json!(note);
        value["customer_note"] = json!(customer_note);
        value["_links"] = json!({
            "self": self.link(&format!("/orders/{order_id}/notes/{id}")),
            "collection": self.link(&format!("/orders/{order_id}/notes")),
            "up": self.link(&format!("/orders/{order_id}")),
        });
        self.notes.entry(order_id).or_default().push(value.clone());
        value
    }
}

fn serve(server: &tiny_http::Server, site: &Mutex<Site>, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let Ok(mut request) = server.recv() else {
            return;
        };
        let mut body = String::new();
        let _ = request.as_reader().read_to_string(&mut body);

        let (status, text, headers) = handle(site, &request, &body);

        let mut response = tiny_http::Response::from_string(text).with_status_code(status);
        let has_content_type = headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("content-type"));
        if !has_content_type {
            response.add_header(
                tiny_http::Header::from_bytes("Content-Type", "application/json; charset=UTF-8")
                    .unwrap(),
            );
        }
        for (name, value) in headers {
            response.add_header(
                tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).unwrap(),
            );
        }
        let _ = request.respond(response);
    }
}

fn handle(site: &Mutex<Site>, request: &tiny_http::Request, body: &str) -> Answer {
    let url = request.url().to_string();
    let (raw_path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let path = percent_decode_str(raw_path).decode_utf8_lossy().to_string();
    let method = request.method().as_str().to_uppercase();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|h| {
            (
                h.field.as_str().as_str().to_lowercase(),
                h.value.as_str().to_string(),
            )
        })
        .collect();

    let mut site = site.lock().unwrap();
    site.requests.push(RecordedRequest {
        method: method.clone(),
        path: path.clone(),
        query: query.to_string(),
        headers: headers.clone(),
        body: body.to_string(),
    });

    if site.faults.fail_remaining > 0 {
        site.faults.fail_remaining -= 1;
        return injected_failure(&site.faults);
    }

    let Some(route) = path.strip_prefix(API_PREFIX) else {
        return no_route();
    };
    let params = php_query(query);
    let authorization = headers
        .iter()
        .find(|(name, _)| name == "authorization")
        .map(|(_, value)| value.as_str());
    match authenticate(&mut site, &method, raw_path, &params, authorization) {
        Ok(true) => {}
        Ok(false) => return not_logged_in(&method, route),
        Err(answer) => return answer,
    }

    let call = Call {
        method: &method,
        route,
        query: &params,
        body,
    };
    route_call(&mut site, &call)
}

fn route_call(site: &mut Site, call: &Call<'_>) -> Answer {
    let segments: Vec<&str> = call.route.trim_matches('/').split('/').collect();
    let editable = matches!(call.method, "POST" | "PUT" | "PATCH");

    match (call.method, segments.as_slice()) {
        ("GET", ["products"]) => list_products(site, call),
        ("GET", ["products", id]) => match id.parse() {
            Ok(id) => get_product(site, id),
            Err(_) => no_route(),
        },
        ("GET", ["products", parent, "variations"]) => match parent.parse() {
            Ok(parent) => list_variations(site, call, parent),
            Err(_) => no_route(),
        },
        (_, ["products", "batch"]) if editable => batch(site, call, None),
        (_, ["products", parent, "variations", "batch"]) if editable => match parent.parse() {
            Ok(parent) => batch(site, call, Some(parent)),
            Err(_) => no_route(),
        },
        ("GET", ["orders"]) => list_orders(site, call),
        ("GET", ["orders", id]) => match id.parse::<u64>() {
            Ok(id) => match site.orders.get(&id) {
                Some(order) => (200, order.to_string(), Vec::new()),
                None => error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID."),
            },
            Err(_) => no_route(),
        },
        (_, ["orders", id]) if editable => match id.parse() {
            Ok(id) => update_order(site, call, id),
            Err(_) => no_route(),
        },
        ("GET", ["orders", id, "notes"]) => match id.parse() {
            Ok(id) => list_notes(site, call, id),
            Err(_) => no_route(),
        },
        ("POST", ["orders", id, "notes"]) => match id.parse() {
            Ok(id) => create_note(site, call, id),
            Err(_) => no_route(),
        },
        ("GET", ["webhooks"]) => {
            let mut webhooks = site.webhooks.clone();
            webhooks.reverse();
            paginate(site, call, "/webhooks", webhooks)
        }
        _ => no_route(),
    }
}

// ---------------------------------------------------------------------------------------------
// Authentication

/// Authenticates as `WC_REST_Authentication::authenticate` does: HTTP Basic first when the site
/// counts as HTTPS, then OAuth 1.0a. `Ok(false)` means no credentials were sent.
fn authenticate(
    site: &mut Site,
    method: &str,
    raw_path: &str,
    params: &[(String, String)],
    authorization: Option<&str>,
) -> Result<bool, Answer> {
    if site.authentication == Authentication::BasicThenOAuth
        && let Some((key, secret)) = basic_credentials(params, authorization)
        && key == CONSUMER_KEY
    {
        if secret == CONSUMER_SECRET {
            return Ok(true);
        }
        return Err(auth_error("Consumer secret is invalid."));
    }
    check_oauth(site, method, raw_path, params)
}

/// `consumer_key` and `consumer_secret` query parameters, else the Basic header.
fn basic_credentials(
    params: &[(String, String)],
    authorization: Option<&str>,
) -> Option<(String, String)> {
    let param = |name: &str| {
        params
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .filter(|value| !value.is_empty())
    };
    if let (Some(key), Some(secret)) = (param("consumer_key"), param("consumer_secret")) {
        return Some((key, secret));
    }
    let encoded = authorization?.strip_prefix("Basic ")?;
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (key, secret) = text.split_once(':')?;
    (!key.is_empty() && !secret.is_empty()).then(|| (key.to_string(), secret.to_string()))
}

/// `perform_oauth_authentication`: required parameters, consumer key, signature, then timestamp
/// and nonce, each with WooCommerce's error message.
fn check_oauth(
    site: &mut Site,
    method: &str,
    raw_path: &str,
    params: &[(String, String)],
) -> Result<bool, Answer> {
    let mut values: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, value) in params {
        values.insert(name, value);
    }

    let required = [
        "oauth_consumer_key",
        "oauth_timestamp",
        "oauth_nonce",
        "oauth_signature",
        "oauth_signature_method",
    ];
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|name| values.get(name).is_none_or(|value| value.is_empty()))
        .collect();
    if missing.len() == required.len() {
        return Ok(false);
    }
    if !missing.is_empty() {
        let noun = if missing.len() == 1 {
            "parameter"
        } else {
            "parameters"
        };
        return Err(error(
            401,
            "woocommerce_rest_authentication_missing_parameter",
            &format!("Missing OAuth {noun} {}", missing.join(", ")),
        ));
    }

    if values["oauth_consumer_key"] != CONSUMER_KEY {
        return Err(auth_error("Consumer key is invalid."));
    }

    // NOTE: WooCommerce also accepts HMAC-SHA1; the fake has no SHA-1 and rejects it.
    if values["oauth_signature_method"] != "HMAC-SHA256" {
        return Err(auth_error(
            "Invalid signature - signature method is invalid.",
        ));
    }
    let signed: Vec<(String, String)> = values
        .iter()
        .filter(|(name, _)| **name != "oauth_signature")
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
    let expected = oauth_signature(
        method,
        &format!("{}{raw_path}", site.url),
        &signed,
        CONSUMER_SECRET,
    );
    let provided = values["oauth_signature"].replace(' ', "+");
    let provided = percent_decode_str(&provided).decode_utf8_lossy();
    if expected != provided {
        return Err(auth_error(
            "Invalid signature - provided signature does not match.",
        ));
    }

    let now = chrono::Utc::now().timestamp();
    let timestamp: i64 = values["oauth_timestamp"].parse().unwrap_or(i64::MIN);
    if timestamp < now - OAUTH_WINDOW_SECONDS || timestamp > now + OAUTH_WINDOW_SECONDS {
        return Err(auth_error("Invalid timestamp."));
    }
    let nonce = values["oauth_nonce"];
    if site.used_nonces.values().any(|used| used == nonce) {
        return Err(auth_error("Invalid nonce - nonce has already been used."));
    }
    site.used_nonces.insert(timestamp, nonce.to_string());
    site.used_nonces
        .retain(|&used_at, _| used_at >= now - OAUTH_WINDOW_SECONDS);
    Ok(true)
}

/// `check_oauth_signature`: sort by raw name (`strcmp`), `rawurlencode` name and value, join with
/// `=`, `rawurlencode` the pair, join pairs with `%26`; HMAC-SHA256 keyed `secret&`, base64.
pub fn oauth_signature(
    method: &str,
    url: &str,
    params: &[(String, String)],
    consumer_secret: &str,
) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|left, right| left.0.as_bytes().cmp(right.0.as_bytes()));
    let pairs: Vec<String> = sorted
        .iter()
        .map(|(name, value)| {
            rawurlencode(&format!("{}={}", rawurlencode(name), rawurlencode(value)))
        })
        .collect();
    let base = format!(
        "{}&{}&{}",
        method.to_uppercase(),
        rawurlencode(url),
        pairs.join("%26")
    );
    let mut mac =
        Hmac::<Sha256>::new_from_slice(format!("{consumer_secret}&").as_bytes()).expect("HMAC key");
    mac.update(base.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn rawurlencode(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// Decodes a query string as PHP fills `$_GET`: `+` is a space, then percent-decoding.
fn php_query(query: &str) -> Vec<(String, String)> {
    let decode = |text: &str| {
        percent_decode_str(&text.replace('+', " "))
            .decode_utf8_lossy()
            .to_string()
    };
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// Builds the permission error an endpoint returns when no credentials were sent
/// (`rest_authorization_required_code()` is 401 for a visitor).
fn not_logged_in(method: &str, route: &str) -> Answer {
    let (code, message) = match method {
        "GET" => (
            "woocommerce_rest_cannot_view",
            "Sorry, you cannot list resources.",
        ),
        _ if route.ends_with("/batch") => (
            "woocommerce_rest_cannot_batch",
            "Sorry, you are not allowed to batch manipulate this resource.",
        ),
        "POST" => (
            "woocommerce_rest_cannot_create",
            "Sorry, you are not allowed to create resources.",
        ),
        _ => (
            "woocommerce_rest_cannot_edit",
            "Sorry, you are not allowed to edit this resource.",
        ),
    };
    error(401, code, message)
}

// ---------------------------------------------------------------------------------------------
// Products

fn list_products(site: &Site, call: &Call<'_>) -> Answer {
    let sku = call.param("sku").map(str::trim).unwrap_or("");
    let products: Vec<Value> = if sku.is_empty() {
        site.products
            .values()
            .rev()
            .filter(|product| product.kind != Kind::Variation)
            .map(|product| site.product_json(product))
            .collect()
    } else {
        // `sku` is split at commas, and the whole string is tried too; variations are included.
        let mut skus: Vec<&str> = sku.split(',').collect();
        if skus.len() > 1 {
            skus.push(sku);
        }
        site.products
            .values()
            .rev()
            .filter(|product| skus.contains(&product.sku.as_str()))
            .map(|product| site.product_json(product))
            .collect()
    };
    paginate(site, call, "/products", products)
}

fn get_product(site: &Site, id: u64) -> Answer {
    match site.products.get(&id) {
        Some(product) => (200, site.product_json(product).to_string(), Vec::new()),
        None => error(404, "woocommerce_rest_product_invalid_id", "Invalid ID."),
    }
}

fn list_variations(site: &Site, call: &Call<'_>, parent: u64) -> Answer {
    let sku = call.param("sku").map(str::trim).unwrap_or("");
    let variations: Vec<Value> = site
        .products
        .values()
        .rev()
        .filter(|product| product.kind == Kind::Variation && product.parent == parent)
        .filter(|product| sku.is_empty() || product.sku == sku)
        .map(|product| site.variation_json(product))
        .collect();
    let route = format!("/products/{parent}/variations");
    paginate(site, call, &route, variations)
}

/// `WC_REST_Controller::batch_items` for `/products/batch` (`parent` None) or
/// `/products/<parent>/variations/batch`. Only `update` is applied.
fn batch(site: &mut Site, call: &Call<'_>, parent: Option<u64>) -> Answer {
    let body = match parse_body(call.body) {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let mut recorded = body.clone();
    if let Some(map) = recorded.as_object_mut() {
        map.insert(
            "__path".into(),
            json!(format!("{API_PREFIX}{}", call.route)),
        );
    }
    site.batch_bodies.push(recorded);

    let list = |name: &str| {
        body.get(name)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (create, update, delete) = (list("create"), list("update"), list("delete"));
    if create.len() + update.len() + delete.len() > BATCH_LIMIT {
        let text = std::fs::read_to_string(format!("{FIXTURES}wc_error_batch_too_large_413.json"))
            .expect("413 fixture");
        return (413, text, Vec::new());
    }

    let mut response = Map::new();
    let unsupported = |id: Value| {
        element_error(
            id,
            501,
            "fake_woocommerce_unsupported",
            "The fake WooCommerce applies batch updates only.",
        )
    };
    if !create.is_empty() {
        let elements = create.iter().map(|_| unsupported(json!(0))).collect();
        response.insert("create".into(), Value::Array(elements));
    }
    if !update.is_empty() {
        let elements = update
            .iter()
            .map(|item| match parent {
                None => update_product(site, item),
                Some(parent) => update_variation(site, item, parent),
            })
            .collect();
        response.insert("update".into(), Value::Array(elements));
    }
    if !delete.is_empty() {
        let elements = delete.iter().map(|id| unsupported(id.clone())).collect();
        response.insert("delete".into(), Value::Array(elements));
    }

    // PHP encodes an empty array as `[]`, not `{}`.
    let text = if response.is_empty() {
        "[]".to_string()
    } else {
        Value::Object(response).to_string()
    };
    (200, text, Vec::new())
}

/// Applies one `update` element of `/products/batch` (`WC_REST_CRUD_Controller::update_item` and
/// `WC_REST_Products_V2_Controller::prepare_object_for_database`).
fn update_product(site: &mut Site, item: &Value) -> Value {
    let sent_id = item.get("id").cloned().unwrap_or(Value::Null);
    let id = sent_id.as_u64().unwrap_or(0);
    let Some(product) = site.products.get(&id).cloned() else {
        return element_error(
            sent_id,
            400,
            "woocommerce_rest_product_invalid_id",
            "Invalid ID.",
        );
    };
    if product.kind == Kind::Variation {
        return element_error(
            sent_id,
            404,
            "woocommerce_rest_invalid_product_id",
            "To manipulate product variations you should use the \
             /products/&lt;product_id&gt;/variations/&lt;id&gt; endpoint.",
        );
    }

    let mut product = product;
    if site.stock_management {
        apply_stock(&mut product, item);
    }
    site.products.insert(id, product.clone());
    site.product_json(&product)
}

/// Applies one `update` element of `/products/<parent>/variations/batch`
/// (`WC_REST_Product_Variations_Controller::prepare_object_for_database`). That method does not
/// read the store-wide stock option, and it sets the variation's parent from `product_id`.
fn update_variation(site: &mut Site, item: &Value, parent: u64) -> Value {
    let sent_id = item.get("id").cloned().unwrap_or(Value::Null);
    let id = sent_id.as_u64().unwrap_or(0);
    // NOTE: WooCommerce finds any product by this ID here; for a simple product it would update
    // that product. The fake rejects every ID that is not a variation.
    let Some(variation) = site
        .products
        .get(&id)
        .filter(|product| product.kind == Kind::Variation)
        .cloned()
    else {
        return element_error(
            sent_id,
            400,
            "woocommerce_rest_product_variation_invalid_id",
            "Invalid ID.",
        );
    };

    // This assumes the batch hands the URL's product ID to each element as `product_id`.
    let mut variation = variation;
    variation.parent = parent;
    apply_stock(&mut variation, item);
    site.products.insert(id, variation.clone());
    site.variation_json(&variation)
}

/// Applies `manage_stock` and `stock_quantity`; without stock management the quantity is cleared.
fn apply_stock(product: &mut Product, item: &Value) {
    if let Some(manage) = item.get("manage_stock") {
        product.manage_stock = php_bool(manage);
    }
    if !product.manage_stock {
        product.stock = None;
        return;
    }
    if let Some(quantity) = item.get("stock_quantity").and_then(stock_amount) {
        product.stock = Some(quantity);
    }
}

/// `wc_stock_amount`: the integer part of a number or numeric string.
fn stock_amount(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|float| float.trunc() as i64)),
        Value::String(text) => text
            .trim()
            .parse::<f64>()
            .ok()
            .map(|float| float.trunc() as i64),
        _ => None,
    }
}

/// `wc_string_to_bool`: true, 1, "yes", "true" and "1" are true.
fn php_bool(value: &Value) -> bool {
    match value {
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => matches!(text.to_lowercase().as_str(), "yes" | "true" | "1"),
        _ => false,
    }
}

fn stock_status(product: &Product) -> &'static str {
    match product.stock {
        Some(quantity) if product.manage_stock && quantity <= 0 => "outofstock",
        _ => "instock",
    }
}

// ---------------------------------------------------------------------------------------------
// Orders and notes

fn list_orders(site: &Site, call: &Call<'_>) -> Answer {
    let dates_are_gmt = call
        .param("dates_are_gmt")
        .is_some_and(|value| php_bool(&Value::String(value.to_string())));
    let (modified, created) = if dates_are_gmt {
        ("date_modified_gmt", "date_created_gmt")
    } else {
        ("date_modified", "date_created")
    };

    let mut bounds = Vec::new();
    for name in ["modified_after", "modified_before", "after", "before"] {
        if let Some(text) = call.param(name) {
            match utc_time(text) {
                Some(time) => bounds.push((name, time)),
                None => return invalid_param(name, "Invalid date."),
            }
        }
    }
    let orderby = call.param("orderby").unwrap_or("date");
    if !["date", "modified", "id", "include", "title", "slug"].contains(&orderby) {
        return invalid_param(
            "orderby",
            "orderby is not one of date, id, include, title, slug, and modified.",
        );
    }
    let order = call.param("order").unwrap_or("desc");
    if order != "asc" && order != "desc" {
        return invalid_param("order", "order is not one of asc and desc.");
    }
    let statuses: Vec<&str> = call
        .param("status")
        .map(|text| text.split(',').collect())
        .unwrap_or_default();

    let field = |order: &Value, name: &str| order[name].as_str().unwrap_or("").to_string();
    let mut orders: Vec<Value> = site
        .orders
        .values()
        .filter(|order| {
            bounds.iter().all(|(name, time)| {
                let value = match *name {
                    "modified_after" | "modified_before" => field(order, modified),
                    _ => field(order, created),
                };
                // WP_Date_Query compares with > and < unless "inclusive" is set.
                match *name {
                    "modified_after" | "after" => value.as_str() > time.as_str(),
                    _ => value.as_str() < time.as_str(),
                }
            })
        })
        .filter(|order| {
            statuses.is_empty()
                || statuses.contains(&"any")
                || statuses.contains(&order["status"].as_str().unwrap_or(""))
        })
        .cloned()
        .collect();

    // WooCommerce adds the ID to date orderings so that pages are stable.
    let key = |order: &Value| {
        let id = order["id"].as_u64().unwrap_or(0);
        match orderby {
            "modified" => (field(order, modified), id),
            "date" => (field(order, created), id),
            _ => (String::new(), id),
        }
    };
    orders.sort_by_key(key);
    if order == "desc" {
        orders.reverse();
    }
    paginate(site, call, "/orders", orders)
}

fn update_order(site: &mut Site, call: &Call<'_>, id: u64) -> Answer {
    if !site.orders.contains_key(&id) {
        return error(400, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.");
    }
    let body = match parse_body(call.body) {
        Ok(body) => body,
        Err(answer) => return answer,
    };

    // NOTE: only `status` is applied; other fields of the body are ignored.
    if let Some(status) = body.get("status") {
        let status = status.as_str().unwrap_or("");
        let Some(&(_, new_name)) = ORDER_STATUSES.iter().find(|(slug, _)| *slug == status) else {
            let slugs: Vec<&str> = ORDER_STATUSES.iter().map(|(slug, _)| *slug).collect();
            return invalid_param(
                "status",
                &format!("status is not one of {}.", slugs.join(", ")),
            );
        };
        let old = site.orders[&id]["status"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if old != status {
            let old_name = ORDER_STATUSES
                .iter()
                .find(|(slug, _)| *slug == old)
                .map_or(old.as_str(), |(_, name)| name);
            let text = format!("Order status changed from {old_name} to {new_name}.");
            site.add_note(id, &text, false, "system");

            let now = now_gmt();
            let order = site.orders.get_mut(&id).expect("order checked above");
            order["status"] = json!(status);
            order["date_modified"] = json!(now);
            order["date_modified_gmt"] = json!(now);
        }
    }
    (200, site.orders[&id].to_string(), Vec::new())
}

fn list_notes(site: &Site, call: &Call<'_>, id: u64) -> Answer {
    if !site.orders.contains_key(&id) {
        return error(
            404,
            "woocommerce_rest_shop_order_invalid_id",
            "Invalid order ID.",
        );
    }
    let kind = call.param("type").unwrap_or("any");
    let notes: Vec<Value> = site
        .notes
        .get(&id)
        .map(|notes| notes.iter().rev().cloned().collect())
        .unwrap_or_default();
    let notes: Vec<Value> = notes
        .into_iter()
        .filter(|note| match kind {
            "customer" => note["customer_note"] == true,
            "internal" => note["customer_note"] != true,
            _ => true,
        })
        .collect();
    // The notes endpoint lists every note in one response, without pagination headers.
    (200, Value::Array(notes).to_string(), Vec::new())
}

fn create_note(site: &mut Site, call: &Call<'_>, id: u64) -> Answer {
    if !site.orders.contains_key(&id) {
        return error(
            404,
            "woocommerce_rest_shop_order_invalid_id",
            "Invalid order ID.",
        );
    }
    let body = match parse_body(call.body) {
        Ok(body) => body,
        Err(answer) => return answer,
    };
    let note = body["note"].as_str().unwrap_or("");
    if note.is_empty() {
        return error(
            400,
            "woocommerce_rest_missing_note",
            "Order note is required.",
        );
    }
    let customer_note = php_bool(&body["customer_note"]);
    let author = if php_bool(&body["added_by_user"]) {
        "admin"
    } else {
        "system"
    };
    let created = site.add_note(id, note, customer_note, author);
    (201, created.to_string(), Vec::new())
}

// ---------------------------------------------------------------------------------------------
// Shared pieces

/// Returns one page of `items` with `X-WP-Total`, `X-WP-TotalPages` and `Link` headers
/// (`WC_REST_CRUD_Controller::get_items`). `per_page` defaults to 10 and may be 1 to 100.
fn paginate(site: &Site, call: &Call<'_>, route: &str, items: Vec<Value>) -> Answer {
    let per_page = match call.param("per_page").map(str::parse::<usize>) {
        None => 10,
        Some(Ok(value)) if (1..=100).contains(&value) => value,
        Some(_) => {
            return invalid_param(
                "per_page",
                "per_page must be between 1 (inclusive) and 100 (inclusive)",
            );
        }
    };
    let page = match call.param("page").map(str::parse::<usize>) {
        None => 1,
        Some(Ok(value)) if value >= 1 => value,
        Some(_) => return invalid_param("page", "page must be greater than or equal to 1"),
    };

    let total = items.len();
    let total_pages = total.div_ceil(per_page);
    let slice: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .collect();

    let mut headers = vec![
        ("X-WP-Total".to_string(), total.to_string()),
        ("X-WP-TotalPages".to_string(), total_pages.to_string()),
    ];
    // The links repeat every query parameter of the request, oauth_* included, as
    // add_query_arg($request->get_query_params(), ...) does.
    let link = |target: usize| {
        let mut pairs: Vec<String> = call
            .query
            .iter()
            .filter(|(name, _)| name != "page")
            .map(|(name, value)| format!("{}={}", rawurlencode(name), rawurlencode(value)))
            .collect();
        pairs.push(format!("page={target}"));
        format!("<{}{API_PREFIX}{route}?{}>", site.url, pairs.join("&"))
    };
    if page > 1 {
        let previous = (page - 1).min(total_pages.max(1));
        headers.push((
            "Link".to_string(),
            format!("{}; rel=\"prev\"", link(previous)),
        ));
    }
    if total_pages > page {
        headers.push((
            "Link".to_string(),
            format!("{}; rel=\"next\"", link(page + 1)),
        ));
    }
    (200, Value::Array(slice).to_string(), headers)
}

fn parse_body(body: &str) -> Result<Value, Answer> {
    serde_json::from_str(body).map_err(|parse_error| {
        let body = json!({
            "code": "rest_invalid_json",
            "message": "Invalid JSON body passed.",
            "data": {"status": 400, "json_error_code": 4, "json_error_message": parse_error.to_string()},
        });
        (400, body.to_string(), Vec::new())
    })
}

fn error(status: u16, code: &str, message: &str) -> Answer {
    let body = json!({"code": code, "message": message, "data": {"status": status}});
    (status, body.to_string(), Vec::new())
}

fn auth_error(message: &str) -> Answer {
    error(401, "woocommerce_rest_authentication_error", message)
}

fn element_error(id: Value, status: u16, code: &str, message: &str) -> Value {
    json!({"id": id, "error": {"code": code, "message": message, "data": {"status": status}}})
}

/// Builds the error for a parameter that failed WordPress's schema validation.
fn invalid_param(name: &str, reason: &str) -> Answer {
    let body = json!({
        "code": "rest_invalid_param",
        "message": format!("Invalid parameter(s): {name}"),
        "data": {"status": 400, "params": {name: reason}},
    });
    (400, body.to_string(), Vec::new())
}

fn no_route() -> Answer {
    let examples = fixture("wc_error_docs_examples.json");
    (404, examples[0].to_string(), Vec::new())
}

fn injected_failure(faults: &Faults) -> Answer {
    let mut headers = Vec::new();
    if let Some(value) = &faults.fail_retry_after {
        headers.push(("Retry-After".to_string(), value.clone()));
    }
    let html = (
        "Content-Type".to_string(),
        "text/html; charset=utf-8".to_string(),
    );
    let (status, body) = match faults.fail_status {
        503 => {
            headers.push(html);
            (503, "<!DOCTYPE html><html><head><title>Maintenance</title></head><body>Briefly unavailable for scheduled maintenance. Check back in a minute.</body></html>".to_string())
        }
        429 => {
            headers.push(html);
            (429, "<html><head><title>429 Too Many Requests</title></head><body><h1>429 Too Many Requests</h1></body></html>".to_string())
        }
        502 => {
            headers.push(html);
            (502, "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>".to_string())
        }
        500 => {
            let body = json!({
                "code": "internal_server_error",
                "message": "<p>There has been a critical error on this website.</p>",
                "data": {"status": 500},
                "additional_errors": [],
            });
            (500, body.to_string())
        }
        401 => {
            let (_, body, _) = auth_error("Consumer secret is invalid.");
            (401, body)
        }
        status => {
            let (_, body, _) = error(status, "fake_injected_failure", "Injected failure.");
            (status, body)
        }
    };
    (status, body, headers)
}

/// Converts a REST `date-time` value to `YYYY-MM-DDTHH:MM:SS` in the site's time zone (UTC);
/// `None` when WordPress would reject it.
fn utc_time(text: &str) -> Option<String> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(time.naive_utc().format("%Y-%m-%dT%H:%M:%S").to_string());
    }
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .ok()
        .map(|time| time.format("%Y-%m-%dT%H:%M:%S").to_string())
}

fn now_gmt() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()
}

fn webhook_hooks(topic: &str) -> Vec<&'static str> {
    match topic {
        "order.created" => vec!["woocommerce_new_order"],
        "order.updated" => vec![
            "woocommerce_update_order",
            "woocommerce_order_refunded",
            "woocommerce_delete_order_refund",
        ],
        "order.deleted" => vec!["wp_trash_post", "woocommerce_trash_order"],
        "product.updated" => vec![
            "woocommerce_update_product",
            "woocommerce_update_product_variation",
        ],
        _ => Vec::new(),
    }
}

fn fixture(name: &str) -> Value {
    let path = format!("{FIXTURES}{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}
