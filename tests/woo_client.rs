//! Integration tests: the WooCommerce REST client against the fake WooCommerce, signing with
//! OAuth 1.0a and sending HTTP Basic, plus checks that the fake responds as WooCommerce does.

#[path = "support/mod.rs"]
mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shopbus::peer::ErrorClass;
use shopbus::secret::SecretFile;
use shopbus::woocommerce::Authentication;
use shopbus::woocommerce::client::{ProductRef, StockUpdate, WooClient};

use support::fake_woocommerce::{CONSUMER_KEY, CONSUMER_SECRET, FakeWoo};

const TIMEOUT: Duration = Duration::from_secs(10);
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/");

/// A fake site and a client for it, with the secret files the client reads.
struct Setup {
    woo: FakeWoo,
    client: WooClient,
    dir: tempfile::TempDir,
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    OAuth,
    Basic,
}

const MODES: [Mode; 2] = [Mode::OAuth, Mode::Basic];

fn write_secret(dir: &Path, name: &str, value: &str) -> SecretFile {
    let path = dir.join(name);
    std::fs::write(&path, format!("{value}\n")).unwrap();
    SecretFile::load(&path).unwrap()
}

fn setup_with(mode: Mode, secret: &str, requests_per_second: f64) -> Setup {
    let woo = match mode {
        Mode::OAuth => FakeWoo::start(),
        Mode::Basic => FakeWoo::start_basic(),
    };
    let dir = tempfile::tempdir().unwrap();
    let key = write_secret(dir.path(), "consumer_key", CONSUMER_KEY);
    let secret = write_secret(dir.path(), "consumer_secret", secret);
    let authentication = match mode {
        Mode::OAuth => Authentication::OAuth,
        Mode::Basic => Authentication::Basic,
    };
    let client = WooClient::with_authentication(
        &woo.url(),
        key,
        secret,
        TIMEOUT,
        requests_per_second,
        authentication,
    );
    Setup { woo, client, dir }
}

fn setup(mode: Mode) -> Setup {
    setup_with(mode, CONSUMER_SECRET, 0.0)
}

fn fixture(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}{name}")).unwrap();
    serde_json::from_str(&text).unwrap()
}

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

fn raw_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

// ---------------------------------------------------------------------------------------------
// The client

#[test]
fn find_by_sku_finds_simple_and_variation() {
    for mode in MODES {
        let Setup { woo, client, .. } = setup(mode);
        let mug = woo.add_simple_product("EX-MUG");
        let tee = woo.add_variable_product("EX-TEE");
        let blue = woo.add_variation(tee, "EX-TEE-BL-L");

        assert_eq!(
            client.find_by_sku("EX-MUG").unwrap(),
            Some(ProductRef {
                id: mug,
                parent_id: None
            }),
            "{mode:?}"
        );
        assert_eq!(
            client.find_by_sku("EX-TEE-BL-L").unwrap(),
            Some(ProductRef {
                id: blue,
                parent_id: Some(tee)
            }),
            "{mode:?}"
        );
        assert_eq!(client.find_by_sku("NO-SUCH-SKU").unwrap(), None, "{mode:?}");
    }
}

#[test]
fn find_by_sku_sends_sku_with_reserved_characters() {
    let Setup { woo, client, .. } = setup(Mode::OAuth);
    let id = woo.add_simple_product("TEE BL/L+1&2");

    assert_eq!(
        client.find_by_sku("TEE BL/L+1&2").unwrap(),
        Some(ProductRef {
            id,
            parent_id: None
        })
    );
}

#[test]
fn find_by_sku_rejects_empty_sku() {
    let Setup { woo, client, .. } = setup(Mode::OAuth);

    let error = client.find_by_sku(" ").unwrap_err();

    assert_eq!(error.class, ErrorClass::Permanent);
    assert_eq!(woo.requests().len(), 0);
}

#[test]
fn stock_updates_batch_by_parent_at_most_100() {
    for mode in MODES {
        let Setup { woo, client, .. } = setup(mode);
        let mut updates = Vec::new();
        let mut expected = Vec::new();
        for index in 0..150 {
            let sku = format!("S-{index}");
            updates.push(simple(woo.add_simple_product(&sku), index));
            expected.push((sku, index));
        }
        for (parent_sku, count) in [("V-A", 60), ("V-B", 40)] {
            let parent = woo.add_variable_product(parent_sku);
            for index in 0..count {
                let sku = format!("{parent_sku}-{index}");
                let quantity = 1000 + index;
                updates.push(variation(woo.add_variation(parent, &sku), parent, quantity));
                expected.push((sku, quantity));
            }
        }
        assert_eq!(updates.len(), 250);

        let outcomes = client.update_stock(&updates).unwrap();

        assert_eq!(outcomes.len(), 250, "{mode:?}");
        for (outcome, update) in outcomes.iter().zip(&updates) {
            assert_eq!(outcome.product, update.product, "{mode:?}");
            assert_eq!(outcome.result, Ok(()), "{mode:?} {:?}", update.product);
        }
        for (sku, quantity) in &expected {
            assert_eq!(woo.stock_of(sku), Some(*quantity), "{mode:?} {sku}");
        }

        let batches = woo.batch_requests();
        let sizes: Vec<(String, usize)> = batches
            .iter()
            .map(|body| {
                let path = body["__path"].as_str().unwrap().to_string();
                (path, body["update"].as_array().unwrap().len())
            })
            .collect();
        let parents: Vec<u64> = updates
            .iter()
            .filter_map(|update| update.product.parent_id)
            .collect();
        let (parent_a, parent_b) = (parents[0], parents[parents.len() - 1]);
        assert_eq!(
            sizes,
            [
                ("/wp-json/wc/v3/products/batch".to_string(), 100),
                ("/wp-json/wc/v3/products/batch".to_string(), 50),
                (
                    format!("/wp-json/wc/v3/products/{parent_a}/variations/batch"),
                    60
                ),
                (
                    format!("/wp-json/wc/v3/products/{parent_b}/variations/batch"),
                    40
                ),
            ],
            "{mode:?}"
        );
        for body in &batches {
            for item in body["update"].as_array().unwrap() {
                assert_eq!(item["manage_stock"], true, "{mode:?}");
                assert!(item["stock_quantity"].is_i64(), "{mode:?}");
            }
        }
    }
}

#[test]
fn stock_update_with_no_updates_sends_nothing() {
    let Setup { woo, client, .. } = setup(Mode::OAuth);

    assert_eq!(client.update_stock(&[]).unwrap(), Vec::new());
    assert_eq!(woo.requests().len(), 0);
}

#[test]
fn batch_with_invalid_id_reports_that_element() {
    let Setup { woo, client, .. } = setup(Mode::OAuth);
    let first = woo.add_simple_product("OK-1");
    let second = woo.add_simple_product("OK-2");
    let tee = woo.add_variable_product("TEE");
    let blue = woo.add_variation(tee, "TEE-BL");
    let updates = [
        simple(first, 7),
        simple(999_999, 3),
        simple(second, 0),
        variation(blue, tee, 4),
        variation(first, tee, 5),
    ];

    let outcomes = client.update_stock(&updates).unwrap();

    assert_eq!(outcomes[0].result, Ok(()));
    assert_eq!(
        outcomes[1].result,
        Err("WooCommerce 400 woocommerce_rest_product_invalid_id: Invalid ID.".to_string())
    );
    assert_eq!(outcomes[2].result, Ok(()));
    assert_eq!(outcomes[3].result, Ok(()));
    assert_eq!(
        outcomes[4].result,
        Err(
            "WooCommerce 400 woocommerce_rest_product_variation_invalid_id: Invalid ID."
                .to_string()
        )
    );
    assert_eq!(woo.stock_of("OK-1"), Some(7));
    assert_eq!(woo.stock_of("OK-2"), Some(0));
    assert_eq!(woo.stock_of("TEE-BL"), Some(4));
}

#[test]
fn variation_sent_as_simple_product_is_rejected() {
    let Setup { woo, client, .. } = setup(Mode::OAuth);
    let tee = woo.add_variable_product("TEE");
    let blue = woo.add_variation(tee, "TEE-BL");

    let outcomes = client.update_stock(&[simple(blue, 4)]).unwrap();

    assert_eq!(
        outcomes[0].result,
        Err(
            "WooCommerce 404 woocommerce_rest_invalid_product_id: To manipulate product \
             variations you should use the /products/<product_id>/variations/<id> endpoint."
                .to_string()
        )
    );
    assert_eq!(woo.stock_of("TEE-BL"), None);
}

#[test]
fn stock_management_off_is_reported_per_element() {
    let Setup { woo, client, .. } = setup(Mode::OAuth);
    let mug = woo.add_simple_product("EX-MUG");
    woo.set_stock_management(false);

    let outcomes = client.update_stock(&[simple(mug, 9)]).unwrap();

    let message = outcomes[0].result.clone().unwrap_err();
    assert!(message.contains("without a stock quantity"), "{message}");
    assert!(message.contains("Inventory"), "{message}");
}

#[test]
fn order_notes_are_added_and_listed() {
    for mode in MODES {
        let Setup { woo, client, .. } = setup(mode);
        let id = woo.add_order(fixture("wc_order_01_docs_variation_shipping.json"));

        let first = client
            .add_order_note(id, "Sales Order SO-1 created")
            .unwrap();
        let second = client
            .add_order_note(id, "Sales Order SO-1 submitted")
            .unwrap();
        let notes = client.order_notes(id).unwrap();

        let note_shape = fixture("wc_order_note_docs.json");
        let keys = |value: &Value| {
            let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
            keys.sort();
            keys
        };
        assert_eq!(keys(&first), keys(&note_shape), "{mode:?}");
        assert_eq!(first["note"], "Sales Order SO-1 created", "{mode:?}");
        assert_eq!(first["customer_note"], false, "{mode:?}");
        assert_eq!(first["author"], "system", "{mode:?}");

        let texts: Vec<&str> = notes.iter().map(|n| n["note"].as_str().unwrap()).collect();
        assert_eq!(
            texts,
            ["Sales Order SO-1 submitted", "Sales Order SO-1 created"],
            "{mode:?}"
        );
        assert_eq!(notes[0]["id"], second["id"], "{mode:?}");

        let posted: Vec<Value> = woo
            .requests()
            .iter()
            .filter(|r| r.method == "POST")
            .map(|r| serde_json::from_str(&r.body).unwrap())
            .collect();
        assert_eq!(
            posted[0],
            json!({"note": "Sales Order SO-1 created", "customer_note": false}),
            "{mode:?}"
        );
    }
}

#[test]
fn order_notes_of_unknown_order_is_404() {
    let Setup {
        woo: _woo, client, ..
    } = setup(Mode::OAuth);

    let error = client.order_notes(4242).unwrap_err();

    assert_eq!(error.http_status, Some(404));
    assert_eq!(error.class, ErrorClass::Permanent);
    assert_eq!(
        error.message,
        "WooCommerce 404 woocommerce_rest_shop_order_invalid_id: Invalid order ID."
    );
}

#[test]
fn set_order_status_saves_status() {
    let Setup { woo, client, .. } = setup(Mode::OAuth);
    let id = woo.add_order(fixture("wc_order_01_docs_variation_shipping.json"));

    let saved = client.set_order_status(id, "completed").unwrap();

    assert_eq!(saved["id"], id);
    assert_eq!(saved["status"], "completed");
    assert_eq!(woo.order(id)["status"], "completed");
    let notes = woo.notes(id);
    assert_eq!(
        notes.last().unwrap()["note"],
        "Order status changed from Processing to Completed."
    );
    let put = woo
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert_eq!(put.path, format!("/wp-json/wc/v3/orders/{id}"));
    assert_eq!(
        serde_json::from_str::<Value>(&put.body).unwrap(),
        json!({"status": "completed"})
    );
}

#[test]
fn set_order_status_rejects_unknown_status() {
    let Setup { woo, client, .. } = setup(Mode::OAuth);
    let id = woo.add_order(fixture("wc_order_01_docs_variation_shipping.json"));

    let error = client.set_order_status(id, "shipped").unwrap_err();

    assert_eq!(error.http_status, Some(400));
    assert_eq!(error.class, ErrorClass::Permanent);
    assert!(
        error
            .message
            .starts_with("WooCommerce 400 rest_invalid_param"),
        "{}",
        error.message
    );
}

#[test]
fn get_order_returns_order_or_none() {
    for mode in MODES {
        let Setup { woo, client, .. } = setup(mode);
        let order = fixture("wc_order_04_stripe_flat_rate_usd.json");
        let id = woo.add_order(order.clone());

        assert_eq!(client.get_order(id).unwrap(), Some(order), "{mode:?}");
        assert_eq!(client.get_order(id + 100_000).unwrap(), None, "{mode:?}");
    }
}

#[test]
fn orders_modified_after_pages_oldest_first() {
    let Setup { woo, client, .. } = setup(Mode::OAuth);
    let template = fixture("wc_order_01_docs_variation_shipping.json");
    let start = chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
        .unwrap()
        .and_hms_opt(12, 0, 0)
        .unwrap();
    // 5 orders at or before the cutoff, then 250 after it, added newest first.
    for index in (0..255u64).rev() {
        let mut order = template.clone();
        order["id"] = json!(10_000 + index);
        let id = woo.add_order(order);
        let modified = start + chrono::Duration::minutes(index as i64);
        woo.set_order_modified(id, &modified.format("%Y-%m-%dT%H:%M:%S").to_string());
    }
    let cutoff = "2026-03-01T12:04:00Z";

    let first = client.orders_modified_after(cutoff, 1).unwrap();
    let last = client.orders_modified_after(cutoff, 3).unwrap();
    let beyond = client.orders_modified_after(cutoff, 4).unwrap();

    assert_eq!(first.total, 250);
    assert_eq!(first.total_pages, 3);
    assert_eq!(first.orders.len(), 100);
    assert_eq!(first.orders[0]["id"], 10_005);
    assert_eq!(first.orders[99]["id"], 10_104);
    assert_eq!(last.orders.len(), 50);
    assert_eq!(last.orders[49]["id"], 10_254);
    assert!(beyond.orders.is_empty());

    let request = woo
        .requests()
        .into_iter()
        .find(|r| r.path == "/wp-json/wc/v3/orders")
        .unwrap();
    for expected in [
        "modified_after=2026-03-01T12%3A04%3A00",
        "dates_are_gmt=true",
        "orderby=modified",
        "order=asc",
        "per_page=100",
        "page=1",
    ] {
        assert!(request.query.contains(expected), "{}", request.query);
    }
}

#[test]
fn orders_modified_after_rejects_invalid_time() {
    let Setup { woo, client, .. } = setup(Mode::OAuth);

    let error = client.orders_modified_after("last tuesday", 1).unwrap_err();

    assert_eq!(error.class, ErrorClass::Permanent);
    assert_eq!(woo.requests().len(), 0);
}

#[test]
fn webhooks_reads_every_page() {
    let Setup { woo, client, .. } = setup(Mode::Basic);
    for index in 0..130 {
        let url = format!("https://bus.example.com/webhooks/woocommerce?n={index}");
        woo.add_webhook("order.updated", &url, "active");
    }

    let webhooks = client.webhooks().unwrap();

    assert_eq!(webhooks.len(), 130);
    assert_eq!(woo.count_requests("GET", "/wp-json/wc/v3/webhooks"), 2);
    assert!(webhooks.iter().all(|w| w["topic"] == "order.updated"));
}

#[test]
fn server_503_with_retry_after_is_transient() {
    let Setup { woo, client, .. } = setup(Mode::OAuth);
    let id = woo.add_order(fixture("wc_order_01_docs_variation_shipping.json"));
    woo.fail_next(1, 503, Some("120"));

    let error = client.get_order(id).unwrap_err();

    assert_eq!(error.class, ErrorClass::Transient);
    assert_eq!(error.http_status, Some(503));
    assert_eq!(error.retry_after, Some(Duration::from_secs(120)));
    assert!(
        error.message.contains("Briefly unavailable"),
        "{}",
        error.message
    );
    assert!(client.get_order(id).unwrap().is_some());
}

#[test]
fn server_500_json_error_is_transient() {
    let Setup { woo, client, .. } = setup(Mode::OAuth);
    woo.fail_next(1, 500, None);

    let error = client.webhooks().unwrap_err();

    assert_eq!(error.class, ErrorClass::Transient);
    assert_eq!(
        error.message,
        "WooCommerce 500 internal_server_error: There has been a critical error on this website."
    );
}

#[test]
fn unreachable_server_is_transient() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let client = WooClient::new(
        &format!("http://127.0.0.1:{port}"),
        write_secret(dir.path(), "key", CONSUMER_KEY),
        write_secret(dir.path(), "secret", CONSUMER_SECRET),
        Duration::from_secs(2),
        0.0,
    );

    let error = client.get_order(1).unwrap_err();

    assert_eq!(error.class, ErrorClass::Transient);
    assert_eq!(error.http_status, None);
    assert!(
        error
            .message
            .contains("could not reach WooCommerce for GET /wp-json/wc/v3/orders/1"),
        "{}",
        error.message
    );
}

#[test]
fn wrong_secret_is_auth_error_until_reloaded() {
    for mode in MODES {
        let Setup { woo, client, dir } = setup_with(mode, "cs_wrong", 0.0);
        let id = woo.add_order(fixture("wc_order_01_docs_variation_shipping.json"));

        let error = client.get_order(id).unwrap_err();

        assert_eq!(error.class, ErrorClass::Auth, "{mode:?}");
        assert_eq!(error.http_status, Some(401), "{mode:?}");
        let expected_reason = match mode {
            Mode::OAuth => "Invalid signature - provided signature does not match.",
            Mode::Basic => "Consumer secret is invalid.",
        };
        assert_eq!(
            error.message,
            format!("WooCommerce 401 woocommerce_rest_authentication_error: {expected_reason}"),
            "{mode:?}"
        );

        std::fs::write(dir.path().join("consumer_secret"), CONSUMER_SECRET).unwrap();
        client.reload_credentials();
        assert!(client.get_order(id).unwrap().is_some(), "{mode:?}");
    }
}

#[test]
fn requests_carry_user_agent_and_credentials() {
    for mode in MODES {
        let Setup { woo, client, .. } = setup(mode);
        client.webhooks().unwrap();

        let request = woo.requests().pop().unwrap();
        let header = |name: &str| {
            request
                .headers
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        };
        assert_eq!(
            header("user-agent"),
            Some(format!("shopbus/{}", env!("CARGO_PKG_VERSION"))),
            "{mode:?}"
        );
        match mode {
            Mode::OAuth => {
                assert_eq!(header("authorization"), None);
                for name in [
                    "oauth_consumer_key=",
                    "oauth_nonce=",
                    "oauth_signature_method=HMAC-SHA256",
                    "oauth_timestamp=",
                    "oauth_signature=",
                ] {
                    assert!(request.query.contains(name), "{}", request.query);
                }
                assert!(
                    !request.query.contains("oauth_version"),
                    "{}",
                    request.query
                );
                assert!(
                    !request.query.contains(CONSUMER_SECRET),
                    "{}",
                    request.query
                );
            }
            Mode::Basic => {
                assert!(header("authorization").unwrap().starts_with("Basic "));
                assert!(!request.query.contains("oauth_"), "{}", request.query);
            }
        }
    }
}

#[test]
fn rate_limit_spaces_requests() {
    let Setup { woo, client, .. } = setup_with(Mode::OAuth, CONSUMER_SECRET, 20.0);
    let id = woo.add_order(fixture("wc_order_01_docs_variation_shipping.json"));
    let requests = 6;

    let started = Instant::now();
    for _ in 0..requests {
        client.get_order(id).unwrap();
    }
    let elapsed = started.elapsed();

    // 6 requests at 20 per second need at least 5 intervals of 50 ms.
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
}

#[test]
fn rate_limit_is_shared_by_threads() {
    let Setup { woo, client, .. } = setup_with(Mode::OAuth, CONSUMER_SECRET, 20.0);
    let id = woo.add_order(fixture("wc_order_01_docs_variation_shipping.json"));

    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                for _ in 0..2 {
                    client.get_order(id).unwrap();
                }
            });
        }
    });
    let elapsed = started.elapsed();

    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
}

// ---------------------------------------------------------------------------------------------
// The fake behaves as WooCommerce

#[test]
fn fake_accepts_signed_request() {
    let woo = FakeWoo::start();
    let url = woo.signed_url(
        "GET",
        "/wp-json/wc/v3/webhooks?per_page=5",
        now(),
        "fresh-nonce",
    );

    let response = raw_agent().get(&url).call().unwrap();

    assert_eq!(response.status().as_u16(), 200);
}

#[test]
fn fake_rejects_bad_signature() {
    let woo = FakeWoo::start();
    let url = woo.signed_url(
        "GET",
        "/wp-json/wc/v3/webhooks?per_page=5",
        now(),
        "nonce-1",
    );
    let tampered = url.replace("per_page=5", "per_page=6");

    let mut response = raw_agent().get(&tampered).call().unwrap();

    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.body_mut().read_json().unwrap();
    assert_eq!(body["code"], "woocommerce_rest_authentication_error");
    assert_eq!(
        body["message"],
        "Invalid signature - provided signature does not match."
    );
}

#[test]
fn fake_rejects_old_timestamp() {
    let woo = FakeWoo::start();
    let url = woo.signed_url("GET", "/wp-json/wc/v3/webhooks", now() - 16 * 60, "nonce-2");

    let mut response = raw_agent().get(&url).call().unwrap();

    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.body_mut().read_json().unwrap();
    assert_eq!(body["code"], "woocommerce_rest_authentication_error");
    assert_eq!(body["message"], "Invalid timestamp.");
}

#[test]
fn fake_rejects_reused_nonce() {
    let woo = FakeWoo::start();
    let url = woo.signed_url("GET", "/wp-json/wc/v3/webhooks", now(), "nonce-3");

    let first = raw_agent().get(&url).call().unwrap();
    let mut second = raw_agent().get(&url).call().unwrap();

    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(second.status().as_u16(), 401);
    let body: Value = second.body_mut().read_json().unwrap();
    assert_eq!(
        body["message"],
        "Invalid nonce - nonce has already been used."
    );
}

#[test]
fn fake_rejects_unsigned_request() {
    let woo = FakeWoo::start();

    let mut response = raw_agent()
        .get(format!("{}/wp-json/wc/v3/orders", woo.url()))
        .call()
        .unwrap();

    assert_eq!(response.status().as_u16(), 401);
    let body: Value = response.body_mut().read_json().unwrap();
    assert_eq!(body["code"], "woocommerce_rest_cannot_view");
}

#[test]
fn fake_oauth_site_ignores_basic_credentials() {
    let woo = FakeWoo::start();
    let credentials = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("{CONSUMER_KEY}:{CONSUMER_SECRET}"),
    );

    let response = raw_agent()
        .get(format!("{}/wp-json/wc/v3/orders", woo.url()))
        .header("Authorization", format!("Basic {credentials}"))
        .call()
        .unwrap();

    assert_eq!(response.status().as_u16(), 401);
}

#[test]
fn fake_batch_over_100_items_is_413() {
    let woo = FakeWoo::start();
    let items: Vec<Value> = (0..101)
        .map(|id| json!({"id": id, "stock_quantity": 1}))
        .collect();
    let url = woo.signed_url("POST", "/wp-json/wc/v3/products/batch", now(), "nonce-4");

    let mut response = raw_agent()
        .post(&url)
        .send_json(json!({"update": items}))
        .unwrap();

    assert_eq!(response.status().as_u16(), 413);
    let body: Value = response.body_mut().read_json().unwrap();
    assert_eq!(body, fixture("wc_error_batch_too_large_413.json"));
}

#[test]
fn fake_lists_carry_pagination_headers() {
    let woo = FakeWoo::start();
    for index in 0..25 {
        woo.add_webhook(
            "order.created",
            &format!("https://bus.example/{index}"),
            "active",
        );
    }
    let url = woo.signed_url("GET", "/wp-json/wc/v3/webhooks?page=2", now(), "nonce-5");

    let mut response = raw_agent().get(&url).call().unwrap();

    assert_eq!(response.status().as_u16(), 200);
    let header = |name: &str| -> Vec<String> {
        response
            .headers()
            .get_all(name)
            .iter()
            .map(|value| value.to_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(header("x-wp-total"), ["25"]);
    assert_eq!(header("x-wp-totalpages"), ["3"]);
    let links = header("link");
    assert_eq!(links.len(), 2, "{links:?}");
    assert!(links[0].ends_with("page=1>; rel=\"prev\""), "{links:?}");
    assert!(links[1].ends_with("page=3>; rel=\"next\""), "{links:?}");
    let body: Value = response.body_mut().read_json().unwrap();
    assert_eq!(body.as_array().unwrap().len(), 10);
}

#[test]
fn fake_lists_variation_among_products_by_sku() {
    let woo = FakeWoo::start();
    let tee = woo.add_variable_product("TEE");
    let blue = woo.add_variation(tee, "TEE-BL");
    let url = woo.signed_url(
        "GET",
        "/wp-json/wc/v3/products?sku=TEE-BL",
        now(),
        "nonce-6",
    );

    let mut response = raw_agent().get(&url).call().unwrap();

    let body: Value = response.body_mut().read_json().unwrap();
    assert_eq!(body[0]["id"], blue);
    assert_eq!(body[0]["type"], "variation");
    assert_eq!(body[0]["parent_id"], tee);
}
