//! awsQuery: `POST /` with a form body (`Action=GetCallerIdentity&Version=2011-06-15&...`), XML
//! answers (`<ActionResponse><ActionResult>...</ActionResult><ResponseMetadata>`) and XML errors
//! (`<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>`), as STS, IAM, ELBv2 and
//! CloudWatch's query form speak it.
//!
//! The service is the one whose SigV4 signing name is the credential scope's service
//! (`sts`, `iam`, `elasticloadbalancing`, `monitoring`); an unsigned request goes to the one
//! query service that has its action. The form is decoded into JSON with the model's input shape
//! (`Name.member.N` lists, `Name.entry.N.key` maps, `Name.Sub` structures, ISO 8601 timestamps),
//! and the answer encoded into XML with its output shape.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::{Request, StatusCode};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde_json::{Map, Number, Value};

use super::model::{Kind, Model, ShapeRef};
use super::{Endpoint, HttpResponse, Service, error_info, header, invoke, log_error, read_body, respond_bytes};
use crate::error::{ApiError, Code};

/// The `Content-Type` of a query-protocol request.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// Whether `req` carries a form body, as query-protocol requests do.
pub(super) fn is_form<B>(req: &Request<B>) -> bool {
    header(req, CONTENT_TYPE.as_str()).is_some_and(|ct| ct.starts_with(FORM))
}

/// Serves a query-protocol request.
pub(super) async fn serve(endpoint: &Arc<Endpoint>, req: Request<Incoming>, request_id: &str) -> HttpResponse {
    let scope = header(&req, "authorization")
        .and_then(super::sigv4::scope)
        .map(|s| (s.region.to_owned(), s.service.to_owned()));
    let body = match read_body(req).await {
        Ok(body) => body,
        Err(e) => return error_response(None, &e, request_id),
    };
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let action = params.iter().find(|(k, _)| k == "Action").map(|(_, v)| v.clone());
    let Some(action) = action else {
        let e = ApiError::new(Code::MissingAction, "The request has no Action parameter");
        return error_response(None, &e, request_id);
    };
    let service = match &scope {
        Some((_, signing_name)) if !signing_name.is_empty() => endpoint.by_signing_name(signing_name),
        _ => {
            let mut candidates = endpoint.query_services_with(&action);
            match (candidates.next(), candidates.next()) {
                (Some(one), None) => Some(one),
                _ => None,
            }
        }
    };
    let Some(service) = service else {
        let whose = match &scope {
            Some((_, name)) if !name.is_empty() => format!("the service '{name}' of the request's signature"),
            _ => "an unsigned request".to_owned(),
        };
        let e = aws_error!(InvalidAction, "berth has no query-protocol action {action} for {whose}");
        return error_response(None, &e, request_id);
    };
    let model = service.model();
    match call(service, &action, scope.map(|(region, _)| region), &params, request_id).await {
        Ok(xml) => respond_bytes(StatusCode::OK, "text/xml", xml),
        Err(e) => error_response(Some(model), &e, request_id),
    }
}

async fn call(
    service: &Arc<dyn Service>,
    action: &str,
    region: Option<String>,
    params: &[(String, String)],
    request_id: &str,
) -> Result<String, ApiError> {
    let model = service.model();
    let Some(operation) = model.operation(action) else {
        return Err(aws_error!(InvalidAction, "{} has no action {action}", model.metadata().service_id));
    };
    let mut root = Node::default();
    for (key, value) in params {
        if key != "Action" && key != "Version" {
            root.insert(key, value);
        }
    }
    let input = match &operation.input {
        Some(input) => decode(model, &input.shape, &root, "", false)?,
        None if root.children.is_empty() => Value::Object(Map::new()),
        None => {
            let first = root.children.keys().next().cloned().unwrap_or_default();
            return Err(ApiError::new(model.validation().invalid, format!("{action} takes no parameter '{first}'")));
        }
    };
    let output = invoke(service, operation, region, input).await?.into_value()?;
    let mut w = Writer::new(Vec::new());
    let response = format!("{action}Response");
    let ns = model.metadata().xml_namespace.clone().unwrap_or_default();
    write(&mut w, Event::Start(BytesStart::new(response.as_str()).with_attributes([("xmlns", ns.as_str())])))?;
    if let Some(out) = &operation.output {
        let wrapper = out.result_wrapper.clone().unwrap_or_else(|| format!("{action}Result"));
        encode(&mut w, model, &out.shape, &output, &wrapper)?;
    }
    write(&mut w, Event::Start(BytesStart::new("ResponseMetadata")))?;
    text_element(&mut w, "RequestId", request_id)?;
    write(&mut w, Event::End(BytesEnd::new("ResponseMetadata")))?;
    write(&mut w, Event::End(BytesEnd::new(response.as_str())))?;
    String::from_utf8(w.into_inner()).map_err(ApiError::internal)
}

/// The form's parameters as a tree: `Tags.member.1.Key=k` is `Tags` → `member` → `1` → `Key`.
#[derive(Debug, Default)]
struct Node {
    value: Option<String>,
    children: BTreeMap<String, Node>,
}

impl Node {
    fn insert(&mut self, key: &str, value: &str) {
        let node = key.split('.').fold(self, |node, part| node.children.entry(part.to_owned()).or_default());
        node.value = Some(value.to_owned());
    }

    /// A list's or map's items, in index order (`1`, `2`, ..., `10`).
    fn items(&self, path: &str, invalid: Code) -> Result<Vec<&Node>, ApiError> {
        let mut items = Vec::with_capacity(self.children.len());
        for (index, node) in &self.children {
            let Ok(i) = index.parse::<usize>() else {
                return Err(ApiError::new(invalid, format!("'{path}.{index}' is not a list index")));
            };
            items.push((i, node));
        }
        items.sort_by_key(|(i, _)| *i);
        Ok(items.into_iter().map(|(_, node)| node).collect())
    }
}

/// The wire name of a member: its `locationName`, else its own name.
fn wire_name<'a>(name: &'a str, member: &'a ShapeRef) -> &'a str {
    member.location_name.as_deref().unwrap_or(name)
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") }
}

/// Decodes the parameters under `node` as a value of `shape_name`.
fn decode(model: &Model, shape_name: &str, node: &Node, path: &str, flattened: bool) -> Result<Value, ApiError> {
    let invalid = model.validation().invalid;
    let Some(shape) = model.shape(shape_name) else {
        return Err(ApiError::new(Code::ServerException, format!("model has no shape {shape_name}")));
    };
    let bad = |what: &str| ApiError::new(invalid, format!("Value at '{path}' must be {what}"));
    let scalar = || node.value.as_deref().ok_or_else(|| bad("a single value"));
    Ok(match shape.kind {
        Kind::Structure => {
            let mut map = Map::new();
            for (key, child) in &node.children {
                let Some((name, member)) = shape.members.iter().find(|(name, m)| wire_name(name, m) == key) else {
                    return Err(ApiError::new(invalid, format!("Unknown parameter '{}'", join(path, key))));
                };
                let value = decode(model, &member.shape, child, &join(path, key), member.flattened)?;
                map.insert(name.clone(), value);
            }
            Value::Object(map)
        }
        Kind::List => {
            let Some(member) = &shape.member else { return Err(bad("a list")) };
            let items = if flattened || shape.flattened {
                node.items(path, invalid)?
            } else {
                match node.children.get(member.location_name.as_deref().unwrap_or("member")) {
                    Some(items) => items.items(path, invalid)?,
                    // An empty list goes on the wire as `Name=`.
                    None if node.value.as_deref() == Some("") => Vec::new(),
                    None => return Err(bad("a list of Name.member.N")),
                }
            };
            let values: Result<Vec<Value>, ApiError> = items
                .into_iter()
                .enumerate()
                .map(|(i, item)| decode(model, &member.shape, item, &format!("{path}.member.{}", i + 1), false))
                .collect();
            Value::Array(values?)
        }
        Kind::Map => {
            let (Some(key_ref), Some(value_ref)) = (&shape.key, &shape.value) else { return Err(bad("a map")) };
            let entries = if flattened || shape.flattened {
                node.items(path, invalid)?
            } else {
                match node.children.get("entry") {
                    Some(entries) => entries.items(path, invalid)?,
                    None if node.value.as_deref() == Some("") => Vec::new(),
                    None => return Err(bad("a map of Name.entry.N.key and .value")),
                }
            };
            let mut map = Map::new();
            for entry in entries {
                let key = entry.children.get(key_ref.location_name.as_deref().unwrap_or("key"));
                let value = entry.children.get(value_ref.location_name.as_deref().unwrap_or("value"));
                let (Some(Value::String(key)), Some(value)) =
                    (key.map(|k| decode(model, &key_ref.shape, k, path, false)).transpose()?, value)
                else {
                    return Err(bad("a map whose entries have a key and a value"));
                };
                let value = decode(model, &value_ref.shape, value, &format!("{path}.{key}"), false)?;
                map.insert(key, value);
            }
            Value::Object(map)
        }
        Kind::String | Kind::Blob => Value::String(scalar()?.to_owned()),
        Kind::Boolean => match scalar()? {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("true or false")),
        },
        Kind::Integer | Kind::Long => Value::from(scalar()?.parse::<i64>().map_err(|_| bad("an integer"))?),
        Kind::Double | Kind::Float => {
            let n = scalar()?.parse::<f64>().map_err(|_| bad("a number"))?;
            Value::Number(Number::from_f64(n).ok_or_else(|| bad("a finite number"))?)
        }
        Kind::Timestamp => {
            let s = scalar()?;
            let secs = match DateTime::from_str(s, Format::DateTime) {
                Ok(t) => t.as_secs_f64(),
                Err(_) => s.parse::<f64>().map_err(|_| bad("an ISO 8601 timestamp"))?,
            };
            Value::Number(Number::from_f64(secs).ok_or_else(|| bad("a timestamp"))?)
        }
    })
}

fn write(w: &mut Writer<Vec<u8>>, event: Event<'_>) -> Result<(), ApiError> {
    w.write_event(event).map_err(ApiError::internal)
}

fn text_element(w: &mut Writer<Vec<u8>>, tag: &str, text: &str) -> Result<(), ApiError> {
    write(w, Event::Start(BytesStart::new(tag)))?;
    write(w, Event::Text(BytesText::new(text)))?;
    write(w, Event::End(BytesEnd::new(tag)))
}

/// Writes `value`, of `shape_name`, as the element `tag`.
fn encode(w: &mut Writer<Vec<u8>>, model: &Model, shape_name: &str, value: &Value, tag: &str) -> Result<(), ApiError> {
    let Some(shape) = model.shape(shape_name) else {
        return Err(ApiError::new(Code::ServerException, format!("model has no shape {shape_name}")));
    };
    match (shape.kind, value) {
        (Kind::Structure, Value::Object(map)) => {
            write(w, Event::Start(BytesStart::new(tag)))?;
            for (name, member) in &shape.members {
                let Some(v) = map.get(name) else { continue };
                let member_tag = wire_name(name, member);
                let flat = member.flattened || model.shape(&member.shape).is_some_and(|s| s.flattened);
                match (flat, v) {
                    (true, Value::Array(items)) => {
                        let item_shape = model.shape(&member.shape).and_then(|s| s.member.as_ref());
                        for item in items {
                            let shape = item_shape.map_or(member.shape.as_str(), |m| m.shape.as_str());
                            encode(w, model, shape, item, member_tag)?;
                        }
                    }
                    _ => encode(w, model, &member.shape, v, member_tag)?,
                }
            }
            write(w, Event::End(BytesEnd::new(tag)))
        }
        (Kind::List, Value::Array(items)) => {
            write(w, Event::Start(BytesStart::new(tag)))?;
            if let Some(member) = &shape.member {
                let item_tag = member.location_name.as_deref().unwrap_or("member");
                for item in items {
                    encode(w, model, &member.shape, item, item_tag)?;
                }
            }
            write(w, Event::End(BytesEnd::new(tag)))
        }
        (Kind::Map, Value::Object(map)) => {
            write(w, Event::Start(BytesStart::new(tag)))?;
            if let (Some(key_ref), Some(value_ref)) = (&shape.key, &shape.value) {
                for (k, v) in map {
                    write(w, Event::Start(BytesStart::new("entry")))?;
                    text_element(w, key_ref.location_name.as_deref().unwrap_or("key"), k)?;
                    encode(w, model, &value_ref.shape, v, value_ref.location_name.as_deref().unwrap_or("value"))?;
                    write(w, Event::End(BytesEnd::new("entry")))?;
                }
            }
            write(w, Event::End(BytesEnd::new(tag)))
        }
        (Kind::Timestamp, Value::Number(n)) => {
            let at = DateTime::from_secs_f64(n.as_f64().unwrap_or_default());
            text_element(w, tag, &at.fmt(Format::DateTime).map_err(ApiError::internal)?)
        }
        (_, Value::String(s)) => text_element(w, tag, s),
        (_, Value::Bool(b)) => text_element(w, tag, if *b { "true" } else { "false" }),
        (_, Value::Number(n)) => text_element(w, tag, &n.to_string()),
        (_, other) => {
            Err(ApiError::new(Code::ServerException, format!("{shape_name} cannot be written as XML: {other}")))
        }
    }
}

/// The query protocol's answer for `e`, as `model`'s service renders it.
fn error_response(model: Option<&Model>, e: &ApiError, request_id: &str) -> HttpResponse {
    let info = error_info(model, e);
    log_error(e, info.status);
    let ns = model.and_then(|m| m.metadata().xml_namespace.clone()).unwrap_or_default();
    let xml = (|| {
        let mut w = Writer::new(Vec::new());
        write(&mut w, Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        write(&mut w, Event::Start(BytesStart::new("ErrorResponse").with_attributes([("xmlns", ns.as_str())])))?;
        write(&mut w, Event::Start(BytesStart::new("Error")))?;
        text_element(&mut w, "Type", info.fault)?;
        text_element(&mut w, "Code", &info.query_code)?;
        text_element(&mut w, "Message", &e.message)?;
        write(&mut w, Event::End(BytesEnd::new("Error")))?;
        text_element(&mut w, "RequestId", request_id)?;
        write(&mut w, Event::End(BytesEnd::new("ErrorResponse")))?;
        Ok::<_, ApiError>(w.into_inner())
    })()
    .unwrap_or_default();
    let status = StatusCode::from_u16(info.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    respond_bytes(status, "text/xml", xml)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(pairs: &[(&str, &str)]) -> Node {
        let mut root = Node::default();
        for (k, v) in pairs {
            root.insert(k, v);
        }
        root
    }

    #[test]
    fn a_form_decodes_with_the_model() {
        let model = crate::services::cloudwatch::model();
        let params = tree(&[
            ("Namespace", "App"),
            ("MetricData.member.1.MetricName", "Latency"),
            ("MetricData.member.1.Value", "1.5"),
            ("MetricData.member.1.Timestamp", "2026-01-02T03:04:05Z"),
            ("MetricData.member.1.Dimensions.member.2.Name", "b"),
            ("MetricData.member.1.Dimensions.member.2.Value", "2"),
            ("MetricData.member.1.Dimensions.member.10.Name", "c"),
            ("MetricData.member.1.Dimensions.member.10.Value", "3"),
            ("MetricData.member.1.Dimensions.member.1.Name", "a"),
            ("MetricData.member.1.Dimensions.member.1.Value", "1"),
        ]);
        let input = decode(model, "PutMetricDataInput", &params, "", false).unwrap();
        let datum = &input["MetricData"][0];
        assert_eq!(datum["Value"], 1.5);
        assert_eq!(datum["Timestamp"], 1_767_323_045.0);
        let names: Vec<&str> =
            datum["Dimensions"].as_array().unwrap().iter().map(|d| d["Name"].as_str().unwrap()).collect();
        assert_eq!(names, ["a", "b", "c"]);
    }

    #[test]
    fn a_form_that_breaks_the_model_is_refused() {
        let model = crate::services::cloudwatch::model();
        for pairs in [
            &[("Namespace", "App"), ("Bogus", "1")][..],
            &[("MetricData.member.1.Value", "fast")][..],
            &[("MetricData.member.x.Value", "1")][..],
            &[("MetricData.member.1.Timestamp", "yesterday")][..],
        ] {
            let e = decode(model, "PutMetricDataInput", &tree(pairs), "", false).unwrap_err();
            assert_eq!(e.code, Code::InvalidParameterValueException, "{pairs:?}: {e}");
        }
    }

    #[test]
    fn an_answer_encodes_with_the_model() {
        let model = crate::services::cloudwatch::model();
        let output = serde_json::json!({"Metrics": [{"Namespace": "App", "MetricName": "Latency",
            "Dimensions": [{"Name": "a", "Value": "<1>"}]}], "NextToken": "t"});
        let mut w = Writer::new(Vec::new());
        encode(&mut w, model, "ListMetricsOutput", &output, "ListMetricsResult").unwrap();
        let xml = String::from_utf8(w.into_inner()).unwrap();
        assert_eq!(
            xml,
            "<ListMetricsResult><Metrics><member><Dimensions><member><Name>a</Name><Value>&lt;1&gt;</Value></member>\
             </Dimensions><MetricName>Latency</MetricName><Namespace>App</Namespace></member></Metrics>\
             <NextToken>t</NextToken></ListMetricsResult>"
        );
    }
}
