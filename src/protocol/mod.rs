//! The wire, and nothing else: every AWS service berth serves answers on the one endpoint, and
//! this layer turns each HTTP request into `(service, operation, input)` and the answer (or error)
//! back into the request's own wire format.
//!
//! - [`json`]: awsJson 1.0 / 1.1, `POST /` routed by the `X-Amz-Target` prefix (ECS, Logs, ...).
//! - [`query`]: awsQuery, a form body with `Action=`; XML answers and errors (STS, and
//!   CloudWatch's query form). Services that share the form are told apart by the SigV4
//!   credential scope's service name ([`sigv4`]).
//! - [`cbor`]: Smithy RPCv2 CBOR, `POST /service/<Service>/operation/<Op>` (CloudWatch).
//!
//! Whatever the wire, the input becomes a JSON value checked against the service's model
//! ([`model`]) before a handler sees it, and handlers answer JSON values that the wire encodes
//! with the model's output shape. One error type ([`ApiError`]) renders into each protocol's error
//! shape. The layer knows HTTP and the protocols' rules; it knows no service's rules, and never
//! imports from the services above it: they register themselves as [`Service`]s. Two berth
//! endpoints sit beside them: `GET /_berth/health` and `POST /_berth/reset` ([`Admin`]).

pub mod cbor;
pub mod json;
pub mod model;
pub mod query;
pub mod sigv4;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use tracing::Instrument;

use crate::error::{ApiError, Code};
use model::{Model, Operation};

/// The largest request body berth reads. The largest AWS accepts is a PutLogEvents batch: 1 MiB
/// of messages (counted before JSON escapes them, up to six bytes per character) in up to
/// 10,000 events; ECS's own limits are far below it. Anything bigger is a client mistake.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The response type of every endpoint.
pub type HttpResponse = Response<Full<Bytes>>;

/// A boxed future, as [`Service::call`] returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One call of an operation, decoded and checked against the model.
#[derive(Debug)]
pub struct Call {
    /// The model's operation name, e.g. `CreateCluster`.
    pub operation: String,
    /// The region of the request's SigV4 credential scope, if it has one.
    pub region: Option<String>,
    /// The input, as a JSON object without null members.
    pub input: Value,
}

/// What an operation answers.
#[derive(Debug)]
pub enum Output {
    /// A JSON value; the protocol layer drops its null members and encodes it.
    Value(Value),
    /// A JSON object already written, without null members. DescribeTasks passes its stored
    /// documents through this way: parsing and re-writing a hundred of them was most of its cost.
    Text(String),
}

impl From<Value> for Output {
    fn from(value: Value) -> Self {
        Self::Value(value)
    }
}

/// One AWS service on the endpoint: its model (which routes it) and its operations.
pub trait Service: Send + Sync + 'static {
    /// The service's model, from `api-models/`.
    fn model(&self) -> &'static Model;

    /// Runs one operation. The input passed the model check; an operation berth has not built
    /// answers an error that names it.
    fn call(&self, call: Call) -> BoxFuture<'_, Result<Output, ApiError>>;
}

/// berth's own endpoints, beside the AWS services.
pub trait Admin: Send + Sync + 'static {
    /// The body of `GET /_berth/health`.
    fn health(&self) -> Value;

    /// The body of `GET /_berth/controllers`: what each background controller has done.
    fn controllers(&self) -> Value;

    /// Deletes all state (`POST /_berth/reset`).
    fn reset(&self) -> BoxFuture<'_, Result<(), ApiError>>;
}

/// Every service on the endpoint, and the tables that route requests to them.
pub struct Endpoint {
    services: Vec<Arc<dyn Service>>,
    admin: Arc<dyn Admin>,
    /// JSON `X-Amz-Target` prefix, and RPCv2 CBOR service name, to the service.
    by_target: HashMap<String, usize>,
    /// SigV4 signing name of a query-protocol service to the service.
    by_signing_name: HashMap<String, usize>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint").field("services", &self.services.len()).finish_non_exhaustive()
    }
}

impl Endpoint {
    /// The endpoint of `services`, routed by what their models say of the wire.
    #[must_use]
    pub fn new(services: Vec<Arc<dyn Service>>, admin: Arc<dyn Admin>) -> Self {
        let mut by_target = HashMap::new();
        let mut by_signing_name = HashMap::new();
        for (i, service) in services.iter().enumerate() {
            let metadata = service.model().metadata();
            if let Some(prefix) = &metadata.target_prefix {
                by_target.insert(prefix.clone(), i);
            }
            if metadata.speaks("query") {
                by_signing_name.insert(metadata.signing_name().to_owned(), i);
            }
        }
        Self { services, admin, by_target, by_signing_name }
    }

    /// The service whose JSON target prefix or CBOR service name is `name`.
    fn by_target(&self, name: &str) -> Option<&Arc<dyn Service>> {
        self.by_target.get(name).map(|&i| &self.services[i])
    }

    /// The query-protocol service that signs as `signing_name`.
    fn by_signing_name(&self, signing_name: &str) -> Option<&Arc<dyn Service>> {
        self.by_signing_name.get(signing_name).map(|&i| &self.services[i])
    }

    /// The query-protocol services that have an operation `action`.
    fn query_services_with(&self, action: &str) -> impl Iterator<Item = &Arc<dyn Service>> {
        self.by_signing_name.values().map(|&i| &self.services[i]).filter(move |s| s.model().operation(action).is_some())
    }
}

/// Serves one HTTP request. Never fails: every error becomes an AWS-shaped response.
pub async fn serve(endpoint: Arc<Endpoint>, req: Request<Incoming>) -> Result<HttpResponse, Infallible> {
    let request_id = uuid::Uuid::new_v4().to_string();
    let target = header(&req, "x-amz-target").unwrap_or_default().to_owned();
    let span = tracing::info_span!("request", id = %request_id, method = %req.method(), path = %req.uri().path(), target = %target);
    let started = std::time::Instant::now();
    let mut response = route(&endpoint, req, &target, &request_id).instrument(span.clone()).await;
    span.in_scope(|| {
        tracing::debug!(status = response.status().as_u16(), elapsed_us = started.elapsed().as_micros(), "done");
    });
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-amzn-requestid", v);
    }
    Ok(response)
}

async fn route(endpoint: &Arc<Endpoint>, req: Request<Incoming>, target: &str, request_id: &str) -> HttpResponse {
    let path = req.uri().path().to_owned();
    match (req.method(), path.as_str()) {
        (&Method::GET, "/_berth/health") => respond(StatusCode::OK, "application/json", &endpoint.admin.health()),
        (&Method::GET, "/_berth/controllers") => {
            respond(StatusCode::OK, "application/json", &endpoint.admin.controllers())
        }
        // Spawned like an operation: a client hanging up must not cut it off half-way.
        (&Method::POST, "/_berth/reset") => match tokio::spawn({
            let admin = endpoint.admin.clone();
            async move { admin.reset().await }
        })
        .await
        .map_err(ApiError::internal)
        .and_then(|reset| reset)
        {
            Ok(()) => respond(StatusCode::OK, "application/json", &json!({"reset": true})),
            Err(e) => json::error_response(None, &e),
        },
        (&Method::POST, "/") if target.is_empty() && query::is_form(&req) => {
            query::serve(endpoint, req, request_id).await
        }
        (&Method::POST, "/") => json::serve(endpoint, req, target).await,
        (_, "/") => json::error_response(
            None,
            &ApiError::new(Code::UnknownOperationException, "The AWS JSON protocol takes POST / only"),
        ),
        (&Method::POST, p) if p.starts_with("/service/") => cbor::serve(endpoint, req, &path).await,
        _ => {
            let body = json!({"__type": "NotFound", "message": "berth serves AWS at POST / (JSON and query protocols), POST /service/<Service>/operation/<Operation> (RPCv2 CBOR), and its own endpoints under /_berth/"});
            respond(StatusCode::NOT_FOUND, "application/json", &body)
        }
    }
}

/// Runs one operation of `service`: checks the input against the model, runs the handler as a
/// task of its own, and (in debug builds) checks the answer against the model.
async fn invoke(
    service: &Arc<dyn Service>,
    operation: &Operation,
    region: Option<String>,
    mut input: Value,
) -> Result<Output, ApiError> {
    let model = service.model();
    model.check_input(operation, &input)?;
    // The protocols treat a null member as an absent one: handlers never see them, and
    // responses never carry them (`"nextToken": null` is not something AWS sends).
    strip_nulls(&mut input);
    // The operation runs as a task of its own, so a client that hangs up cannot cancel it
    // half-way: what berth begins it finishes, and its connections to the store are never left
    // in the middle of a transaction.
    let call = tokio::spawn({
        let service = service.clone();
        let call = Call { operation: operation.name.clone(), region, input };
        async move { service.call(call).await }.in_current_span()
    });
    let output = call.await.map_err(ApiError::internal)??;
    if cfg!(debug_assertions) {
        check_answer(model, operation, &output)?;
    }
    Ok(output)
}

impl Output {
    /// The answer as a JSON value without null members.
    ///
    /// # Errors
    /// `ServerException` if a text answer is not JSON (a bug of berth).
    pub fn into_value(self) -> Result<Value, ApiError> {
        match self {
            Output::Value(mut value) => {
                strip_nulls(&mut value);
                Ok(value)
            }
            Output::Text(text) => serde_json::from_str(&text).map_err(ApiError::internal),
        }
    }
}

/// Debug builds (the tests) check every answer against the model: a handler that answers what
/// the model does not allow, or a text answer with a null member, is a bug of berth.
fn check_answer(model: &Model, operation: &Operation, output: &Output) -> Result<(), ApiError> {
    let value = match output {
        Output::Value(value) => {
            let mut value = value.clone();
            strip_nulls(&mut value);
            value
        }
        Output::Text(text) => {
            let value: Value = serde_json::from_str(text).map_err(ApiError::internal)?;
            let mut stripped = value.clone();
            strip_nulls(&mut stripped);
            if stripped != value {
                return Err(ApiError::new(Code::ServerException, "a text answer has a null member"));
            }
            value
        }
    };
    model.check_output(operation, &value).map_err(ApiError::internal)
}

/// Removes every null object member, at any depth: the protocols treat a null member as an
/// absent one, and answers never carry one.
pub fn strip_nulls(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, ApiError> {
    if let Some(len) = header(&req, "content-length").and_then(|v| v.parse::<usize>().ok())
        && len > MAX_BODY_BYTES
    {
        return Err(too_large());
    }
    match Limited::new(req.into_body(), MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) => Err(aws_error!(SerializationException, "Could not read the request body: {e}")),
    }
}

fn too_large() -> ApiError {
    aws_error!(ClientException, "The request body is larger than berth's limit of {MAX_BODY_BYTES} bytes")
}

fn header<'a, B>(req: &'a Request<B>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

fn respond(status: StatusCode, content_type: &'static str, body: &Value) -> HttpResponse {
    respond_bytes(status, content_type, body.to_string())
}

fn respond_bytes(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> HttpResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// Logs an error on its way out: faults of berth at error level, the client's at debug.
fn log_error(e: &ApiError, status: u16) {
    if status >= 500 {
        tracing::error!(error = %e, "server error");
    } else {
        tracing::debug!(code = %e.code, message = %e.message, "client error");
    }
}

/// How `e` renders for `model` (or, before a service is known, by its code alone).
fn error_info(model: Option<&Model>, e: &ApiError) -> model::ErrorInfo {
    match model {
        Some(model) => model.error_info(e.code),
        None => model::ErrorInfo {
            status: e.code.status(),
            query_code: e.code.as_str().to_owned(),
            fault: if e.code.is_fault() { "Receiver" } else { "Sender" },
        },
    }
}

/// The headers every JSON-shaped (JSON or CBOR) error carries: the code, and for a service that
/// moved off the query protocol, its query code in `x-amzn-query-error`.
fn error_headers(response: &mut HttpResponse, model: Option<&Model>, e: &ApiError, info: &model::ErrorInfo) {
    response.headers_mut().insert("x-amzn-errortype", HeaderValue::from_static(e.code.as_str()));
    if model.is_some_and(|m| m.metadata().aws_query_compatible.is_some())
        && let Ok(v) = HeaderValue::from_str(&format!("{};{}", info.query_code, info.fault))
    {
        response.headers_mut().insert("x-amzn-query-error", v);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn nulls_are_absent_members() {
        let mut v = serde_json::json!({"a": null, "b": [{"c": null, "d": 1}], "e": {"f": null}});
        super::strip_nulls(&mut v);
        assert_eq!(v, serde_json::json!({"b": [{"d": 1}], "e": {}}));
    }
}
