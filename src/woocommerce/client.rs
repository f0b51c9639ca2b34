//! A blocking client for the WooCommerce REST API v3 (`/wp-json/wc/v3`), shared by the worker
//! threads.
//!
//! Over `https://` it authenticates with HTTP Basic (consumer key as user, secret as password).
//! Over `http://` it signs every request with OAuth 1.0a in the query string (see `oauth`),
//! because WooCommerce checks Basic credentials only on requests that WordPress treats as HTTPS
//! (`is_ssl()`). `WooClient::with_authentication` sets the mode explicitly.
//!
//! Every failure comes back as a `PeerError` with its retry class. A 404 on a single order is
//! `Ok(None)`, because "not there" is a result the caller acts on.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::distr::{Alphanumeric, SampleString};
use serde_json::{Value, json};
use ureq::Agent;

use super::error::{describe, describe_error, parse_json};
use super::oauth::{self, OAuthCredentials, rawurlencode};
use super::rate_limit::RateLimiter;
use crate::peer::{ErrorClass, PeerError, parse_retry_after, strip_html};
use crate::secret::SecretFile;

const API_PATH: &str = "/wp-json/wc/v3";

/// Maximum response body read, so a misbehaving proxy cannot exhaust memory.
const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

/// Maximum items per batch request. WooCommerce rejects more with HTTP 413, because its
/// `woocommerce_rest_batch_items_limit` filter defaults to 100
/// (`WC_REST_Controller::check_batch_limit`).
pub const BATCH_LIMIT: usize = 100;

/// Largest `per_page` the WooCommerce collection endpoints accept.
const PAGE_SIZE: u32 = 100;

/// Maximum pages read by one listing, so a server that always reports one more page cannot keep a
/// worker busy forever.
const MAX_PAGES: u32 = 1000;

const NONCE_CHARS: usize = 32;

/// Authentication mode of the client's requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authentication {
    /// HTTP Basic with the consumer key and secret. WooCommerce accepts it only on requests that
    /// WordPress treats as HTTPS.
    Basic,
    /// OAuth 1.0a one-legged, HMAC-SHA256, in the query string.
    OAuth,
}

impl Authentication {
    /// Chooses Basic for `https://` URLs and OAuth for every other URL.
    pub fn for_url(base_url: &str) -> Authentication {
        if base_url.trim().to_ascii_lowercase().starts_with("https://") {
            Authentication::Basic
        } else {
            Authentication::OAuth
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Get,
    Post,
    Put,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
        }
    }
}

/// A product or a variation (then `parent_id` is the variable product).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProductRef {
    pub id: u64,
    pub parent_id: Option<u64>,
}

/// A new absolute stock level for one product or variation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StockUpdate {
    pub product: ProductRef,
    pub quantity: i64,
}

/// Result of one stock update in a batch: `Err` contains WooCommerce's reason for that element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    pub product: ProductRef,
    pub result: Result<(), String>,
}

/// One page of `GET /orders`, with the totals from `X-WP-Total` and `X-WP-TotalPages`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrdersPage {
    pub orders: Vec<Value>,
    pub total_pages: u32,
    pub total: u64,
}

/// Successful response: the JSON body and the pagination headers, when sent.
struct Answer {
    body: Value,
    total: Option<u64>,
    total_pages: Option<u32>,
}

/// The requests `update_stock` sends: an endpoint and the indexes of the updates for it.
#[derive(Debug, PartialEq, Eq)]
struct BatchPlan {
    path: String,
    indexes: Vec<usize>,
}

pub struct WooClient {
    base_url: String,
    authentication: Authentication,
    agent: Agent,
    consumer_key: SecretFile,
    consumer_secret: SecretFile,
    limiter: RateLimiter,
}

impl WooClient {
    /// Creates a client for the store at `base_url`, authenticating as the URL scheme requires.
    /// With OAuth, `base_url` must be the WordPress home URL (Settings > General > Site Address),
    /// because WooCommerce rebuilds the signed URL from it.
    ///
    /// `requests_per_second` limits the requests of all threads together; zero or less means
    /// unlimited.
    pub fn new(
        base_url: &str,
        consumer_key: SecretFile,
        consumer_secret: SecretFile,
        timeout: Duration,
        requests_per_second: f64,
    ) -> WooClient {
        WooClient::with_authentication(
            base_url,
            consumer_key,
            consumer_secret,
            timeout,
            requests_per_second,
            Authentication::for_url(base_url),
        )
    }

    /// Creates a client with an explicit authentication mode instead of one chosen by the URL
    /// scheme: for example Basic over plain HTTP to a site behind a TLS proxy that WordPress
    /// trusts, or in tests.
    pub fn with_authentication(
        base_url: &str,
        consumer_key: SecretFile,
        consumer_secret: SecretFile,
        timeout: Duration,
        requests_per_second: f64,
        authentication: Authentication,
    ) -> WooClient {
        let base_url = base_url.trim().trim_end_matches('/').to_string();
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .user_agent(concat!("shopbus/", env!("CARGO_PKG_VERSION")))
            .build();
        WooClient {
            base_url,
            authentication,
            agent: Agent::new_with_config(config),
            consumer_key,
            consumer_secret,
            limiter: RateLimiter::new(requests_per_second),
        }
    }

    /// Re-reads the consumer key and secret files (after a 401 or 403, or on SIGHUP).
    pub fn reload_credentials(&self) {
        for file in [&self.consumer_key, &self.consumer_secret] {
            if let Err(error) = file.reload() {
                log::error!(
                    "woocommerce: could not re-read {}: {error}",
                    file.path().display()
                );
            }
        }
    }

    /// Finds the product or variation whose SKU is exactly `sku` (`GET /products?sku=`).
    ///
    /// WooCommerce v3 searches variations too when `sku` is given, and returns a variation with
    /// `type` "variation" and `parent_id` set to its variable product
    /// (`WC_REST_Products_Controller::prepare_objects_query` and
    /// `WC_REST_Products_V2_Controller::get_product_data`).
    pub fn find_by_sku(&self, sku: &str) -> Result<Option<ProductRef>, PeerError> {
        if sku.trim().is_empty() {
            return Err(PeerError::permanent(
                "cannot look up a WooCommerce product by an empty SKU",
            ));
        }
        let query = [
            ("sku", sku.to_string()),
            ("per_page", PAGE_SIZE.to_string()),
        ];
        let answer = self.request(Method::Get, "/products", &query, None)?;
        let products = into_list(answer.body, "GET /products")?;

        // WooCommerce splits `sku` at commas and matches each part, so keep exact matches only.
        Ok(products
            .iter()
            .filter(|product| product.get("sku").and_then(Value::as_str) == Some(sku))
            .find_map(product_ref))
    }

    /// Sets the stock of every product and variation in `updates` with batch requests.
    ///
    /// Simple products go to `POST /products/batch` and variations to
    /// `POST /products/<parent>/variations/batch`, at most `BATCH_LIMIT` items a request. The
    /// outcomes are in the order of `updates`. WooCommerce returns 200 for a batch even when
    /// some elements failed, so each element is checked, including that the stock it reports is
    /// the one sent. A request that fails as a whole ends the call with its error. Sending the
    /// updates again is safe, because each one sets an absolute quantity.
    pub fn update_stock(&self, updates: &[StockUpdate]) -> Result<Vec<BatchOutcome>, PeerError> {
        let mut results: Vec<Option<Result<(), String>>> = vec![None; updates.len()];

        for plan in plan_batches(updates) {
            let items: Vec<Value> = plan
                .indexes
                .iter()
                .map(|&index| {
                    json!({
                        "id": updates[index].product.id,
                        "manage_stock": true,
                        "stock_quantity": updates[index].quantity,
                    })
                })
                .collect();
            let body = json!({ "update": items });
            let answer = self.request(Method::Post, &plan.path, &[], Some(&body))?;
            let elements = answer
                .body
                .get("update")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();

            for (position, &index) in plan.indexes.iter().enumerate() {
                let update = &updates[index];
                let element = find_element(&elements, position, update.product.id);
                results[index] = Some(element_outcome(element, update));
            }
        }

        Ok(updates
            .iter()
            .zip(results)
            .map(|(update, result)| BatchOutcome {
                product: update.product,
                result: result.unwrap_or_else(|| Err("no batch request was sent".to_string())),
            })
            .collect())
    }

    /// Fetches `GET /orders/<id>`; `None` when WooCommerce returns 404.
    pub fn get_order(&self, id: u64) -> Result<Option<Value>, PeerError> {
        match self.request(Method::Get, &format!("/orders/{id}"), &[], None) {
            Ok(answer) => Ok(Some(answer.body)),
            Err(error) if error.http_status == Some(404) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Sets the order status with `PUT /orders/<id>` and returns the saved order.
    pub fn set_order_status(&self, id: u64, status: &str) -> Result<Value, PeerError> {
        let body = json!({ "status": status });
        let answer = self.request(Method::Put, &format!("/orders/{id}"), &[], Some(&body))?;
        Ok(answer.body)
    }

    /// Fetches every note of an order (`GET /orders/<id>/notes`), newest first as WooCommerce
    /// lists them.
    pub fn order_notes(&self, id: u64) -> Result<Vec<Value>, PeerError> {
        self.get_all(&format!("/orders/{id}/notes"), &[])
    }

    /// Adds a private note (`customer_note` false) with `POST /orders/<id>/notes` and returns the
    /// created note.
    pub fn add_order_note(&self, id: u64, note: &str) -> Result<Value, PeerError> {
        let body = json!({ "note": note, "customer_note": false });
        let path = format!("/orders/{id}/notes");
        let answer = self.request(Method::Post, &path, &[], Some(&body))?;
        Ok(answer.body)
    }

    /// Fetches one page of the orders modified after `after`, oldest change first:
    /// `GET /orders?modified_after=..&dates_are_gmt=true&orderby=modified&order=asc&per_page=100`.
    ///
    /// `after` is an RFC 3339 time (`2026-01-02T03:04:05Z`) or a time without offset, read as
    /// UTC. It is sent as UTC without an offset: WordPress (`WP_Date_Query::build_mysql_datetime`)
    /// converts a time with an offset into the site's time zone before comparing it with the GMT
    /// column, which would shift the window on sites outside UTC. The comparison is strict, so an
    /// order modified exactly at `after` is not listed.
    pub fn orders_modified_after(&self, after: &str, page: u32) -> Result<OrdersPage, PeerError> {
        let after = utc_without_offset(after)?;
        let query = [
            ("modified_after", after),
            ("dates_are_gmt", "true".to_string()),
            ("orderby", "modified".to_string()),
            ("order", "asc".to_string()),
            ("per_page", PAGE_SIZE.to_string()),
            ("page", page.to_string()),
        ];
        let answer = self.request(Method::Get, "/orders", &query, None)?;
        let (total, total_pages) = (answer.total, answer.total_pages);
        let orders = into_list(answer.body, "GET /orders")?;

        // WooCommerce always sends both headers. Without them, treat this page as the last one.
        Ok(OrdersPage {
            total: total.unwrap_or(orders.len() as u64),
            total_pages: total_pages.unwrap_or(page),
            orders,
        })
    }

    /// Fetches every webhook of the store (`GET /webhooks`).
    pub fn webhooks(&self) -> Result<Vec<Value>, PeerError> {
        self.get_all("/webhooks", &[])
    }

    /// Reads every page of a collection, following `X-WP-TotalPages`.
    fn get_all(&self, path: &str, query: &[(&str, String)]) -> Result<Vec<Value>, PeerError> {
        let target = format!("GET {API_PATH}{path}");
        let mut items = Vec::new();

        for page in 1..=MAX_PAGES {
            let mut page_query = query.to_vec();
            page_query.push(("per_page", PAGE_SIZE.to_string()));
            page_query.push(("page", page.to_string()));

            let answer = self.request(Method::Get, path, &page_query, None)?;
            let total_pages = answer.total_pages.unwrap_or(page);
            let batch = into_list(answer.body, &target)?;
            let empty = batch.is_empty();
            items.extend(batch);

            if page >= total_pages || empty {
                return Ok(items);
            }
        }
        Err(PeerError::transient(format!(
            "WooCommerce reported more than {MAX_PAGES} pages for {target}"
        )))
    }

    /// Sends one request after waiting for its rate-limit slot, signed or with Basic credentials.
    fn request(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Answer, PeerError> {
        let url = format!("{}{API_PATH}{path}", self.base_url);
        let target = format!("{} {API_PATH}{path}", method.as_str());
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(name, value)| (name.to_string(), value.clone()))
            .collect();

        // Sign after the wait, because the timestamp must be within 15 minutes of the server's.
        self.limiter.wait();
        let key = self.consumer_key.first();
        let secret = self.consumer_secret.first();
        let (params, authorization) = match self.authentication {
            Authentication::Basic => {
                let credentials = STANDARD.encode(format!("{}:{}", key.expose(), secret.expose()));
                (query, Some(format!("Basic {credentials}")))
            }
            Authentication::OAuth => {
                let nonce = Alphanumeric.sample_string(&mut rand::rng(), NONCE_CHARS);
                let credentials = OAuthCredentials {
                    consumer_key: key.expose(),
                    consumer_secret: secret.expose(),
                    timestamp: unix_time(),
                    nonce: &nonce,
                };
                let signed = oauth::sign_query(method.as_str(), &url, query, &credentials);
                (signed, None)
            }
        };
        let full_url = with_query(&url, &params);

        let result = match method {
            Method::Get => with_headers(self.agent.get(&full_url), authorization).call(),
            Method::Post => with_headers(self.agent.post(&full_url), authorization)
                .send_json(body.unwrap_or(&Value::Null)),
            Method::Put => with_headers(self.agent.put(&full_url), authorization)
                .send_json(body.unwrap_or(&Value::Null)),
        };
        finish(&target, result)
    }
}

fn with_headers<B>(
    request: ureq::RequestBuilder<B>,
    authorization: Option<String>,
) -> ureq::RequestBuilder<B> {
    let request = request.header("Accept", "application/json");
    match authorization {
        Some(value) => request.header("Authorization", value),
        None => request,
    }
}

/// Turns the transport result into the JSON body and pagination headers, or a classified error.
fn finish(
    target: &str,
    result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Answer, PeerError> {
    let mut response = result.map_err(|error| transport_error(target, error))?;
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let retry_after =
        header("retry-after").and_then(|value| parse_retry_after(&value, SystemTime::now()));
    let total = header("x-wp-total").and_then(|value| value.trim().parse().ok());
    let total_pages = header("x-wp-totalpages").and_then(|value| value.trim().parse().ok());
    let location = header("location");

    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_string()
        .map_err(|error| transport_error(target, error))?;

    if (200..300).contains(&status) {
        return match parse_json(&body) {
            Some(body) => Ok(Answer {
                body,
                total,
                total_pages,
            }),
            None => {
                let snippet: String = strip_html(&body).chars().take(200).collect();
                Err(PeerError::transient(format!(
                    "WooCommerce returned HTTP {status} without a JSON body for {target}; \
                     check that /wp-json reaches WordPress: {snippet}"
                )))
            }
        };
    }

    // The Location of a redirect can echo the signed query, whose OAuth parameters include the
    // consumer key, so only its scheme, host and path are shown.
    let location = location.map(|url| url.split(['?', '#']).next().unwrap_or_default().to_string());
    let message = match location {
        Some(location) if (300..400).contains(&status) => format!(
            "WooCommerce redirected {target} (HTTP {status}) to {location}; \
             set the WooCommerce base URL to the redirect target"
        ),
        _ => describe(status, &body),
    };
    Err(PeerError {
        class: ErrorClass::of_status(status),
        http_status: Some(status),
        message,
        retry_after,
    })
}

fn transport_error(target: &str, error: ureq::Error) -> PeerError {
    let message = match &error {
        ureq::Error::Timeout(_) => format!("WooCommerce request {target} timed out ({error})"),
        _ => format!("could not reach WooCommerce for {target}: {error}"),
    };
    PeerError::transient(message)
}

fn into_list(body: Value, target: &str) -> Result<Vec<Value>, PeerError> {
    match body {
        Value::Array(items) => Ok(items),
        other => Err(PeerError::transient(format!(
            "WooCommerce returned a JSON {} instead of a list for {target}",
            json_kind(&other)
        ))),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Appends `params` to `url`, each name and value percent-encoded as `rawurlencode` does, so a
/// `+` in a value cannot turn into a space on the PHP side.
fn with_query(url: &str, params: &[(String, String)]) -> String {
    if params.is_empty() {
        return url.to_string();
    }
    let pairs: Vec<String> = params
        .iter()
        .map(|(name, value)| format!("{}={}", rawurlencode(name), rawurlencode(value)))
        .collect();
    format!("{url}?{}", pairs.join("&"))
}

fn unix_time() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

/// Rewrites an RFC 3339 time, or one without offset taken as UTC, as `YYYY-MM-DDTHH:MM:SS` UTC.
fn utc_without_offset(time: &str) -> Result<String, PeerError> {
    const FORMAT: &str = "%Y-%m-%dT%H:%M:%S";
    let time = time.trim();
    let utc = if let Ok(parsed) = chrono::DateTime::parse_from_rfc3339(time) {
        parsed.naive_utc()
    } else if let Ok(parsed) = chrono::NaiveDateTime::parse_from_str(time, "%Y-%m-%dT%H:%M:%S%.f") {
        parsed
    } else {
        return Err(PeerError::permanent(format!(
            "invalid modified_after time {time:?}: expected RFC 3339 such as 2026-01-02T03:04:05Z"
        )));
    };
    Ok(utc.format(FORMAT).to_string())
}

/// Builds a `ProductRef` from a product as `GET /products` returns it.
///
/// `type` decides whether it is a variation. `parent_id` alone does not, because older stores
/// keep a parent on the simple children of grouped products.
fn product_ref(product: &Value) -> Option<ProductRef> {
    let id = product.get("id")?.as_u64()?;
    let parent = product
        .get("parent_id")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let is_variation = match product.get("type").and_then(Value::as_str) {
        Some(kind) => kind == "variation",
        None => parent != 0,
    };
    Some(ProductRef {
        id,
        parent_id: (is_variation && parent != 0).then_some(parent),
    })
}

/// Groups updates by parent (simple products first) and splits each group into batches of at
/// most `BATCH_LIMIT`.
fn plan_batches(updates: &[StockUpdate]) -> Vec<BatchPlan> {
    let mut groups: BTreeMap<Option<u64>, Vec<usize>> = BTreeMap::new();
    for (index, update) in updates.iter().enumerate() {
        groups
            .entry(update.product.parent_id)
            .or_default()
            .push(index);
    }

    let mut plans = Vec::new();
    for (parent, indexes) in groups {
        let path = match parent {
            None => "/products/batch".to_string(),
            Some(parent) => format!("/products/{parent}/variations/batch"),
        };
        for chunk in indexes.chunks(BATCH_LIMIT) {
            plans.push(BatchPlan {
                path: path.clone(),
                indexes: chunk.to_vec(),
            });
        }
    }
    plans
}

/// Finds the response element for the update sent at `position`. WooCommerce keeps the request
/// order, so the element at that position is used when its id matches, else the first with that id.
fn find_element(elements: &[Value], position: usize, id: u64) -> Option<&Value> {
    let has_id = |element: &&Value| element.get("id").and_then(Value::as_u64) == Some(id);
    elements
        .get(position)
        .filter(has_id)
        .or_else(|| elements.iter().find(has_id))
}

/// Checks one response element: an `error` object, or the saved product with the stock sent.
fn element_outcome(element: Option<&Value>, update: &StockUpdate) -> Result<(), String> {
    let id = update.product.id;
    let Some(element) = element else {
        return Err(format!(
            "WooCommerce returned no result for product {id} in the batch response"
        ));
    };
    if let Some(error) = element.get("error") {
        return Err(describe_error(200, error));
    }

    match element.get("stock_quantity") {
        // Absent when a plugin trims the response, so there is nothing to compare.
        None => Ok(()),
        Some(Value::Number(number)) if number.as_f64() == Some(update.quantity as f64) => Ok(()),
        Some(Value::Null) => Err(format!(
            "WooCommerce saved product {id} without a stock quantity; turn on stock management \
             in WooCommerce > Settings > Products > Inventory"
        )),
        Some(other) => Err(format!(
            "WooCommerce kept stock_quantity {other} for product {id} instead of {}; check that \
             stock management is on in WooCommerce > Settings > Products > Inventory",
            update.quantity
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn simple(id: u64, quantity: i64) -> StockUpdate {
        StockUpdate {
            product: ProductRef {
                id,
                parent_id: None,
            },
            quantity,
        }
    }

    fn variation(id: u64, parent: u64, quantity: i64) -> StockUpdate {
        StockUpdate {
            product: ProductRef {
                id,
                parent_id: Some(parent),
            },
            quantity,
        }
    }

    #[test]
    fn client_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<WooClient>();
    }

    #[test]
    fn batches_group_by_parent_max_100() {
        let mut updates: Vec<StockUpdate> = (0..150).map(|i| simple(1000 + i, 1)).collect();
        updates.extend((0..120).map(|i| variation(5000 + i, 77, 2)));
        updates.push(variation(9000, 12, 3));
        updates.push(simple(1, 4));

        let plans = plan_batches(&updates);

        let summary: Vec<(&str, usize)> = plans
            .iter()
            .map(|plan| (plan.path.as_str(), plan.indexes.len()))
            .collect();
        assert_eq!(
            summary,
            [
                ("/products/batch", 100),
                ("/products/batch", 51),
                ("/products/12/variations/batch", 1),
                ("/products/77/variations/batch", 100),
                ("/products/77/variations/batch", 20),
            ]
        );
        let mut covered: Vec<usize> = plans.iter().flat_map(|plan| plan.indexes.clone()).collect();
        covered.sort();
        assert_eq!(covered, (0..updates.len()).collect::<Vec<_>>());
    }

    #[test]
    fn no_updates_plan_no_batches() {
        assert!(plan_batches(&[]).is_empty());
    }

    #[test]
    fn element_error_becomes_outcome_message() {
        let elements = vec![
            json!({"id": 10, "stock_quantity": 5}),
            json!({"id": 11, "error": {"code": "woocommerce_rest_product_invalid_id",
                "message": "Invalid ID.", "data": {"status": 400}}}),
        ];
        let update = simple(11, 5);

        let outcome = element_outcome(find_element(&elements, 1, 11), &update);

        assert_eq!(
            outcome,
            Err("WooCommerce 400 woocommerce_rest_product_invalid_id: Invalid ID.".to_string())
        );
    }

    #[test]
    fn element_is_found_by_id_when_order_differs() {
        let elements = vec![
            json!({"id": 11, "stock_quantity": 7}),
            json!({"id": 10, "stock_quantity": 5}),
        ];
        assert_eq!(
            element_outcome(find_element(&elements, 0, 10), &simple(10, 5)),
            Ok(())
        );
        assert_eq!(
            element_outcome(find_element(&elements, 0, 12), &simple(12, 5)),
            Err("WooCommerce returned no result for product 12 in the batch response".to_string())
        );
    }

    #[test]
    fn element_with_other_stock_is_an_error() {
        let kept = json!({"id": 10, "manage_stock": false, "stock_quantity": 3});
        let outcome = element_outcome(Some(&kept), &simple(10, 5));
        assert!(
            outcome
                .as_ref()
                .is_err_and(|message| message.contains("kept stock_quantity 3")),
            "{outcome:?}"
        );

        let unmanaged = json!({"id": 10, "stock_quantity": null});
        let outcome = element_outcome(Some(&unmanaged), &simple(10, 5));
        assert!(
            outcome
                .as_ref()
                .is_err_and(|message| message.contains("without a stock quantity")),
            "{outcome:?}"
        );

        let decimal = json!({"id": 10, "stock_quantity": 5.0});
        assert_eq!(element_outcome(Some(&decimal), &simple(10, 5)), Ok(()));
    }

    #[test]
    fn product_ref_uses_type_for_variations() {
        let variation = json!({"id": 23, "type": "variation", "parent_id": 22});
        assert_eq!(
            product_ref(&variation),
            Some(ProductRef {
                id: 23,
                parent_id: Some(22)
            })
        );
        let grouped_child = json!({"id": 31, "type": "simple", "parent_id": 30});
        assert_eq!(
            product_ref(&grouped_child),
            Some(ProductRef {
                id: 31,
                parent_id: None
            })
        );
        let untyped = json!({"id": 40, "parent_id": 39});
        assert_eq!(product_ref(&untyped).unwrap().parent_id, Some(39));
        assert_eq!(product_ref(&json!({"sku": "X"})), None);
    }

    #[test]
    fn query_values_are_rawurlencoded() {
        let params = vec![
            ("sku".to_string(), "TEE BL/L+1".to_string()),
            ("oauth_signature".to_string(), "a+b/c=".to_string()),
        ];
        assert_eq!(
            with_query("http://shop.test/wp-json/wc/v3/products", &params),
            "http://shop.test/wp-json/wc/v3/products?sku=TEE%20BL%2FL%2B1&oauth_signature=a%2Bb%2Fc%3D"
        );
        assert_eq!(with_query("http://shop.test/x", &[]), "http://shop.test/x");
    }

    #[test]
    fn modified_after_is_sent_as_utc_without_offset() {
        let cases = [
            ("2026-01-02T03:04:05Z", "2026-01-02T03:04:05"),
            ("2026-01-02T05:04:05+02:00", "2026-01-02T03:04:05"),
            ("2026-01-02T03:04:05.250Z", "2026-01-02T03:04:05"),
            ("2026-01-02T03:04:05", "2026-01-02T03:04:05"),
        ];
        for (input, expected) in cases {
            assert_eq!(utc_without_offset(input).unwrap(), expected, "{input}");
        }
        let error = utc_without_offset("yesterday").unwrap_err();
        assert_eq!(error.class, ErrorClass::Permanent);
        assert!(error.message.contains("\"yesterday\""), "{}", error.message);
    }

    #[test]
    fn https_uses_basic_and_http_uses_oauth() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "x\n").unwrap();
        let file = SecretFile::load(&path).unwrap();
        let client = |url: &str| {
            WooClient::new(url, file.clone(), file.clone(), Duration::from_secs(1), 0.0)
        };

        assert_eq!(
            client("https://shop.example.com/").authentication,
            Authentication::Basic
        );
        assert_eq!(
            client("HTTPS://shop.example.com").authentication,
            Authentication::Basic
        );
        assert_eq!(
            client("http://127.0.0.1:8080").authentication,
            Authentication::OAuth
        );
        assert_eq!(
            client("https://shop.example.com/").base_url,
            "https://shop.example.com"
        );
    }
}
