//! Smithy RPCv2 CBOR: `POST /service/<ServiceName>/operation/<Operation>` with
//! `smithy-protocol: rpc-v2-cbor`, a CBOR body in and out, errors as a CBOR map with `__type` and
//! `message`. botocore 1.43 speaks it to CloudWatch before its JSON and query forms. The service
//! name is the model's target prefix (`GraniteServiceVersion20100801`).
//!
//! The body is decoded into the same JSON value the JSON protocol would carry (blobs as base64
//! text, timestamps as epoch seconds), so one model check and one handler serve every wire; the
//! answer is encoded back with the output shape, which says where a number is a timestamp
//! (CBOR tag 1) and a text a blob (a byte string).

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ciborium::Value as Cbor;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, StatusCode};
use serde_json::{Map, Number, Value};

use super::model::{Kind, Model};
use super::{
    Endpoint, HttpResponse, Service, error_headers, error_info, header, invoke, log_error, read_body, respond_bytes,
};
use crate::error::{ApiError, Code};

const CBOR: &str = "application/cbor";

/// Serves an RPCv2 CBOR request at `path`.
pub(super) async fn serve(endpoint: &Arc<Endpoint>, req: Request<Incoming>, path: &str) -> HttpResponse {
    let mut parts = path.trim_start_matches('/').split('/');
    let (Some("service"), Some(name), Some("operation"), Some(op_name), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        let e =
            aws_error!(UnknownOperationException, "RPCv2 CBOR requests go to /service/<Service>/operation/<Operation>");
        return error_response(None, &e);
    };
    let Some(service) = endpoint.by_target(name).filter(|s| s.model().metadata().speaks("smithy-rpc-v2-cbor")) else {
        let e = aws_error!(UnknownOperationException, "berth serves no RPCv2 CBOR service '{name}'");
        return error_response(None, &e);
    };
    let model = service.model();
    match call(service, req, op_name).await {
        Ok(body) => with_protocol(respond_bytes(StatusCode::OK, CBOR, body)),
        Err(e) => error_response(Some(model), &e),
    }
}

async fn call(service: &Arc<dyn Service>, req: Request<Incoming>, op_name: &str) -> Result<Vec<u8>, ApiError> {
    let model = service.model();
    let Some(operation) = model.operation(op_name) else {
        return Err(aws_error!(
            UnknownOperationException,
            "{} has no operation '{op_name}'",
            model.metadata().service_id
        ));
    };
    if header(&req, "smithy-protocol") != Some("rpc-v2-cbor") {
        return Err(aws_error!(
            SerializationException,
            "An RPCv2 CBOR request carries the header smithy-protocol: rpc-v2-cbor"
        ));
    }
    if let Some(ct) = header(&req, CONTENT_TYPE.as_str())
        && !ct.starts_with(CBOR)
    {
        return Err(aws_error!(SerializationException, "Content-Type '{ct}' is not supported: use {CBOR}"));
    }
    let region = header(&req, "authorization").and_then(super::sigv4::region).map(str::to_owned);
    let body = read_body(req).await?;
    let input = if body.is_empty() {
        Value::Object(Map::new())
    } else {
        let cbor: Cbor = ciborium::de::from_reader(&body[..])
            .map_err(|e| aws_error!(SerializationException, "The request body is not valid CBOR: {e}"))?;
        to_json(cbor)?
    };
    let output = invoke(service, operation, region, input).await?.into_value()?;
    let encoded = match &operation.output {
        Some(out) => to_cbor(model, &out.shape, &output)?,
        None => Cbor::Map(Vec::new()),
    };
    let mut bytes = Vec::new();
    ciborium::ser::into_writer(&encoded, &mut bytes).map_err(ApiError::internal)?;
    Ok(bytes)
}

/// A decoded CBOR item as the JSON value the JSON protocol would carry.
fn to_json(cbor: Cbor) -> Result<Value, ApiError> {
    let bad = |what: &str| aws_error!(SerializationException, "The request body has {what}, which no AWS shape takes");
    Ok(match cbor {
        Cbor::Null => Value::Null,
        Cbor::Bool(b) => Value::Bool(b),
        Cbor::Integer(i) => {
            let i = i128::from(i);
            match i64::try_from(i) {
                Ok(i) => Value::from(i),
                Err(_) => return Err(bad("an integer beyond 64 bits")),
            }
        }
        Cbor::Float(f) => match Number::from_f64(f) {
            Some(n) => Value::Number(n),
            // The JSON protocols spell the values JSON has no number for.
            None if f.is_nan() => Value::from("NaN"),
            None if f > 0.0 => Value::from("Infinity"),
            None => Value::from("-Infinity"),
        },
        Cbor::Text(s) => Value::String(s),
        Cbor::Bytes(b) => Value::String(BASE64.encode(b)),
        // Tag 1 is an epoch-seconds timestamp; other tags carry their item.
        Cbor::Tag(_, item) => to_json(*item)?,
        Cbor::Array(items) => Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?),
        Cbor::Map(entries) => {
            let mut map = Map::new();
            for (k, v) in entries {
                let Cbor::Text(k) = k else { return Err(bad("a map key that is not text")) };
                map.insert(k, to_json(v)?);
            }
            Value::Object(map)
        }
        _ => return Err(bad("an unknown CBOR item")),
    })
}

/// `value`, of `shape_name`, as CBOR.
fn to_cbor(model: &Model, shape_name: &str, value: &Value) -> Result<Cbor, ApiError> {
    let Some(shape) = model.shape(shape_name) else {
        return Err(ApiError::new(Code::ServerException, format!("model has no shape {shape_name}")));
    };
    Ok(match (shape.kind, value) {
        (Kind::Structure, Value::Object(map)) => {
            let mut entries = Vec::with_capacity(map.len());
            for (name, v) in map {
                let encoded = match shape.members.get(name) {
                    Some(member) => to_cbor(model, &member.shape, v)?,
                    // A document's members have no shapes of their own.
                    None => untyped(v),
                };
                entries.push((Cbor::Text(name.clone()), encoded));
            }
            Cbor::Map(entries)
        }
        (Kind::List, Value::Array(items)) => {
            let member = shape.member.as_ref().map(|m| m.shape.as_str());
            let items: Result<Vec<Cbor>, ApiError> = items
                .iter()
                .map(|item| member.map_or_else(|| Ok(untyped(item)), |m| to_cbor(model, m, item)))
                .collect();
            Cbor::Array(items?)
        }
        (Kind::Map, Value::Object(map)) => {
            let value_shape = shape.value.as_ref().map(|v| v.shape.as_str());
            let mut entries = Vec::with_capacity(map.len());
            for (k, v) in map {
                let encoded = value_shape.map_or_else(|| Ok(untyped(v)), |s| to_cbor(model, s, v))?;
                entries.push((Cbor::Text(k.clone()), encoded));
            }
            Cbor::Map(entries)
        }
        (Kind::Timestamp, Value::Number(n)) => Cbor::Tag(1, Box::new(Cbor::Float(n.as_f64().unwrap_or_default()))),
        (Kind::Blob, Value::String(s)) => Cbor::Bytes(BASE64.decode(s).map_err(ApiError::internal)?),
        (Kind::Integer | Kind::Long, Value::Number(n)) if n.is_i64() => {
            Cbor::Integer(n.as_i64().unwrap_or_default().into())
        }
        (Kind::Double | Kind::Float, Value::Number(n)) => Cbor::Float(n.as_f64().unwrap_or_default()),
        (Kind::Double | Kind::Float, Value::String(s)) => match s.as_str() {
            "NaN" => Cbor::Float(f64::NAN),
            "Infinity" => Cbor::Float(f64::INFINITY),
            "-Infinity" => Cbor::Float(f64::NEG_INFINITY),
            _ => return Err(ApiError::new(Code::ServerException, format!("{shape_name} is not a number: {s}"))),
        },
        (_, other) => untyped(other),
    })
}

/// A JSON value as CBOR without a shape to say more.
fn untyped(value: &Value) -> Cbor {
    match value {
        Value::Null => Cbor::Null,
        Value::Bool(b) => Cbor::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Cbor::Integer(i.into()),
            None => Cbor::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => Cbor::Text(s.clone()),
        Value::Array(items) => Cbor::Array(items.iter().map(untyped).collect()),
        Value::Object(map) => Cbor::Map(map.iter().map(|(k, v)| (Cbor::Text(k.clone()), untyped(v))).collect()),
    }
}

fn with_protocol(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert("smithy-protocol", HeaderValue::from_static("rpc-v2-cbor"));
    response
}

/// The RPCv2 CBOR answer for `e`, as `model`'s service renders it.
fn error_response(model: Option<&Model>, e: &ApiError) -> HttpResponse {
    let info = error_info(model, e);
    log_error(e, info.status);
    let mut entries = vec![
        (Cbor::Text("__type".into()), Cbor::Text(e.code.as_str().into())),
        (Cbor::Text("message".into()), Cbor::Text(e.message.clone())),
    ];
    entries.extend(e.members.iter().map(|(k, v)| (Cbor::Text(k.clone()), untyped(v))));
    let mut bytes = Vec::new();
    if let Err(err) = ciborium::ser::into_writer(&Cbor::Map(entries), &mut bytes) {
        tracing::error!(error = %err, "cannot write a CBOR error");
    }
    let status = StatusCode::from_u16(info.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = with_protocol(respond_bytes(status, CBOR, bytes));
    error_headers(&mut response, model, e, &info);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbor_round_trips_through_the_model() {
        let model = crate::services::cloudwatch::model();
        let output = serde_json::json!({"Metrics": [{"Namespace": "App", "MetricName": "Latency",
            "Dimensions": [{"Name": "a", "Value": "1"}]}]});
        let cbor = to_cbor(model, "ListMetricsOutput", &output).unwrap();
        assert_eq!(to_json(cbor).unwrap(), output);
        let stats = serde_json::json!({"Label": "L", "Datapoints": [{"Timestamp": 1_767_323_045.5, "Sum": 2.0}]});
        let Cbor::Map(entries) = to_cbor(model, "GetMetricStatisticsOutput", &stats).unwrap() else { panic!() };
        let Cbor::Array(points) = &entries[1].1 else { panic!("{entries:?}") };
        let Cbor::Map(point) = &points[0] else { panic!() };
        assert_eq!(point[0].1, Cbor::Tag(1, Box::new(Cbor::Float(1_767_323_045.5))));
        assert_eq!(to_json(Cbor::Bytes(b"hi".to_vec())).unwrap(), "aGk=");
        assert_eq!(to_json(Cbor::Float(f64::NAN)).unwrap(), "NaN");
        assert!(to_json(Cbor::Map(vec![(Cbor::Integer(1.into()), Cbor::Null)])).is_err());
    }
}
