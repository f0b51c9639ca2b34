//! A blocking client for the Frappe REST API (`/api/resource`, `/api/method`), authenticated with
//! `Authorization: token <api_key>:<api_secret>`.
//!
//! Every failure comes back as a `PeerError` with its retry class. A 404 on a single document is
//! `Ok(None)`, because "not there" is an answer the delivery stage acts on.

use std::time::{Duration, SystemTime};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde_json::Value;
use ureq::Agent;

use super::error::describe;
use crate::peer::{ErrorClass, PeerError, parse_retry_after};
use crate::secret::SecretFile;

/// Characters left as they are in a path segment; everything else is percent-encoded.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Largest response body read, so a misbehaving proxy cannot exhaust memory.
const MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;

pub struct ErpNextClient {
    base_url: String,
    agent: Agent,
    api_key: SecretFile,
    api_secret: SecretFile,
}

impl ErpNextClient {
    pub fn new(
        base_url: &str,
        api_key: SecretFile,
        api_secret: SecretFile,
        timeout: Duration,
    ) -> ErpNextClient {
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .max_redirects(0)
            .user_agent(concat!("shopbus/", env!("CARGO_PKG_VERSION")))
            .build();
        ErpNextClient {
            base_url: base_url.trim_end_matches('/').to_string(),
            agent: Agent::new_with_config(config),
            api_key,
            api_secret,
        }
    }

    /// Re-reads the API key and secret files (after a 401 or 403, or on SIGHUP).
    pub fn reload_credentials(&self) {
        for file in [&self.api_key, &self.api_secret] {
            if let Err(error) = file.reload() {
                log::error!(
                    "erpnext: could not re-read {}: {error}",
                    file.path().display()
                );
            }
        }
    }

    /// `GET /api/resource/<doctype>` with `fields` and `filters` (JSON), every matching row.
    pub fn list(
        &self,
        doctype: &str,
        fields: &[&str],
        filters: &Value,
    ) -> Result<Vec<Value>, PeerError> {
        self.list_page(doctype, fields, filters, 0)
    }

    /// Like `list`, with at most `limit` rows (0 = all).
    pub fn list_page(
        &self,
        doctype: &str,
        fields: &[&str],
        filters: &Value,
        limit: usize,
    ) -> Result<Vec<Value>, PeerError> {
        let url = format!("{}/api/resource/{}", self.base_url, segment(doctype));
        let fields = serde_json::to_string(fields).unwrap_or_default();
        let filters = filters.to_string();
        let request = self
            .agent
            .get(&url)
            .header("Authorization", self.authorization())
            .header("Accept", "application/json")
            .query("fields", &fields)
            .query("filters", &filters)
            .query("limit_page_length", limit.to_string());
        let document = self.finish("GET", &url, request.call())?;
        Ok(field(document, "data")
            .and_then(|data| data.as_array().cloned())
            .unwrap_or_default())
    }

    /// `GET /api/resource/<doctype>/<name>`; `None` when ERPNext answers 404.
    pub fn get(&self, doctype: &str, name: &str) -> Result<Option<Value>, PeerError> {
        let url = self.document_url(doctype, name);
        let request = self
            .agent
            .get(&url)
            .header("Authorization", self.authorization())
            .header("Accept", "application/json");
        match self.finish("GET", &url, request.call()) {
            Ok(document) => Ok(field(document, "data")),
            Err(error) if error.http_status == Some(404) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// `POST /api/resource/<doctype>`; the inserted document.
    pub fn insert(&self, doctype: &str, document: &impl Serialize) -> Result<Value, PeerError> {
        let url = format!("{}/api/resource/{}", self.base_url, segment(doctype));
        let request = self
            .agent
            .post(&url)
            .header("Authorization", self.authorization())
            .header("Accept", "application/json");
        let answer = self.finish("POST", &url, request.send_json(document))?;
        field(answer, "data").ok_or_else(|| {
            PeerError::transient(format!("ERPNext returned no \"data\" for POST {url}"))
        })
    }

    /// `PUT /api/resource/<doctype>/<name>` with the changed fields; the saved document.
    pub fn update(
        &self,
        doctype: &str,
        name: &str,
        changes: &impl Serialize,
    ) -> Result<Value, PeerError> {
        let url = self.document_url(doctype, name);
        let request = self
            .agent
            .put(&url)
            .header("Authorization", self.authorization())
            .header("Accept", "application/json");
        let answer = self.finish("PUT", &url, request.send_json(changes))?;
        field(answer, "data").ok_or_else(|| {
            PeerError::transient(format!("ERPNext returned no \"data\" for PUT {url}"))
        })
    }

    /// `DELETE /api/resource/<doctype>/<name>` (a draft only).
    pub fn delete(&self, doctype: &str, name: &str) -> Result<(), PeerError> {
        let url = self.document_url(doctype, name);
        let request = self
            .agent
            .delete(&url)
            .header("Authorization", self.authorization())
            .header("Accept", "application/json");
        self.finish("DELETE", &url, request.call()).map(|_| ())
    }

    /// `POST /api/method/<method>` with a JSON body; the `message` of the answer.
    pub fn call(&self, method: &str, arguments: &Value) -> Result<Value, PeerError> {
        let url = format!("{}/api/method/{method}", self.base_url);
        let request = self
            .agent
            .post(&url)
            .header("Authorization", self.authorization())
            .header("Accept", "application/json");
        let answer = self.finish("POST", &url, request.send_json(arguments))?;
        Ok(field(answer, "message").unwrap_or(Value::Null))
    }

    /// `GET /api/method/<method>`; the `message` of the answer.
    pub fn call_get(&self, method: &str) -> Result<Value, PeerError> {
        let url = format!("{}/api/method/{method}", self.base_url);
        let request = self
            .agent
            .get(&url)
            .header("Authorization", self.authorization())
            .header("Accept", "application/json");
        let answer = self.finish("GET", &url, request.call())?;
        Ok(field(answer, "message").unwrap_or(Value::Null))
    }

    fn document_url(&self, doctype: &str, name: &str) -> String {
        format!(
            "{}/api/resource/{}/{}",
            self.base_url,
            segment(doctype),
            segment(name)
        )
    }

    fn authorization(&self) -> String {
        format!(
            "token {}:{}",
            self.api_key.first().expose(),
            self.api_secret.first().expose()
        )
    }

    /// Turns the transport result into the JSON body, or a classified error.
    fn finish(
        &self,
        method: &str,
        url: &str,
        result: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Value, PeerError> {
        let mut response = result.map_err(|error| transport_error(method, url, error))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| parse_retry_after(value, SystemTime::now()));
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_string()
            .map_err(|error| transport_error(method, url, error))?;

        if (200..300).contains(&status) {
            return serde_json::from_str(&body).map_err(|error| {
                PeerError::transient(format!(
                    "ERPNext returned invalid JSON for {method} {url}: {error}"
                ))
            });
        }

        Err(PeerError {
            class: ErrorClass::of_status(status),
            http_status: Some(status),
            message: describe(status, &body),
            retry_after,
        })
    }
}

fn transport_error(method: &str, url: &str, error: ureq::Error) -> PeerError {
    let message = match &error {
        ureq::Error::Timeout(_) => {
            format!("ERPNext did not answer {method} {url} in time ({error})")
        }
        _ => format!("could not reach ERPNext for {method} {url}: {error}"),
    };
    PeerError::transient(message)
}

fn segment(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

fn field(mut document: Value, name: &str) -> Option<Value> {
    document.get_mut(name).map(Value::take)
}
