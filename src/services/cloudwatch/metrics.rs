//! PutMetricData and ListMetrics, with CloudWatch's rules for data points.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, Result};
use crate::store::{MetricPoint, Store};

/// ListMetrics' page size (CloudWatch answers up to 500 metrics a call).
const PAGE: usize = 500;

/// How far from now a data point's timestamp may be: two weeks before, two hours after.
const PAST_SECS: f64 = 14.0 * 24.0 * 3600.0;
const FUTURE_SECS: f64 = 2.0 * 3600.0;

/// CloudWatch refuses values whose magnitude is outside this range (zero aside).
const MIN_MAGNITUDE: f64 = 8.515_920e-109;
const MAX_MAGNITUDE: f64 = 1.174_271e108;

#[derive(Deserialize, serde::Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "PascalCase")]
struct Dimension {
    name: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StatisticSet {
    sample_count: f64,
    sum: f64,
    minimum: f64,
    maximum: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Datum {
    metric_name: String,
    #[serde(default)]
    dimensions: Vec<Dimension>,
    timestamp: Option<f64>,
    value: Option<f64>,
    statistic_values: Option<StatisticSet>,
    values: Option<Vec<f64>>,
    counts: Option<Vec<f64>>,
    unit: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct PutMetricDataInput {
    namespace: String,
    #[serde(default)]
    metric_data: Vec<Datum>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DimensionFilter {
    name: String,
    value: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListMetricsInput {
    namespace: Option<String>,
    metric_name: Option<String>,
    #[serde(default)]
    dimensions: Vec<DimensionFilter>,
    next_token: Option<String>,
    recently_active: Option<String>,
}

fn invalid(message: String) -> ApiError {
    aws_error!(InvalidParameterValueException, "{message}")
}

fn check_value(v: f64, at: &str) -> Result<()> {
    let m = v.abs();
    if !v.is_finite() || (m != 0.0 && !(MIN_MAGNITUDE..=MAX_MAGNITUDE).contains(&m)) {
        return Err(invalid(format!("The value {v} for parameter {at} is invalid.")));
    }
    Ok(())
}

/// One datum as the data point it stands for.
fn point(namespace: &str, i: usize, datum: Datum, now: f64) -> Result<MetricPoint> {
    let at = |field: &str| format!("MetricData.member.{}.{field}", i + 1);
    let given = [datum.value.is_some(), datum.statistic_values.is_some(), datum.values.is_some()];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err(aws_error!(
            InvalidParameterCombinationException,
            "The parameters {}, {} and {} are mutually exclusive and you have specified more than one.",
            at("Value"),
            at("StatisticValues"),
            at("Values")
        ));
    }
    let timestamp = datum.timestamp.unwrap_or(now);
    if timestamp < now - PAST_SECS || timestamp > now + FUTURE_SECS {
        return Err(invalid(format!(
            "The parameter {} must specify a time no more than two weeks in the past and no more than two hours in the future.",
            at("Timestamp")
        )));
    }
    let (sample_count, sum, minimum, maximum) = if let Some(s) = datum.statistic_values {
        for v in [s.sum, s.minimum, s.maximum] {
            check_value(v, &at("StatisticValues"))?;
        }
        if s.sample_count <= 0.0 || s.minimum > s.maximum {
            return Err(invalid(format!("The parameter {} is not a consistent statistic set.", at("StatisticValues"))));
        }
        (s.sample_count, s.sum, s.minimum, s.maximum)
    } else if let Some(values) = datum.values {
        let counts = datum.counts.unwrap_or_else(|| vec![1.0; values.len()]);
        if counts.len() != values.len() {
            return Err(invalid(format!(
                "The parameters {} and {} must be of the same size.",
                at("Values"),
                at("Counts")
            )));
        }
        if values.is_empty() {
            return Err(aws_error!(
                MissingRequiredParameterException,
                "The parameter {} must not be empty.",
                at("Values")
            ));
        }
        let (mut n, mut sum, mut min, mut max) = (0.0, 0.0, f64::INFINITY, f64::NEG_INFINITY);
        for (v, c) in values.iter().zip(&counts) {
            check_value(*v, &at("Values"))?;
            n += c;
            sum += v * c;
            min = min.min(*v);
            max = max.max(*v);
        }
        (n, sum, min, max)
    } else {
        let Some(v) = datum.value else {
            return Err(aws_error!(
                MissingRequiredParameterException,
                "The parameter {} is required: give Value, Values or StatisticValues.",
                at("Value")
            ));
        };
        check_value(v, &at("Value"))?;
        (1.0, v, v, v)
    };
    let mut dimensions = datum.dimensions;
    dimensions.sort();
    if dimensions.windows(2).any(|w| w[0].name == w[1].name) {
        return Err(invalid(format!("The parameter {} has a dimension name more than once.", at("Dimensions"))));
    }
    Ok(MetricPoint {
        namespace: namespace.to_owned(),
        name: datum.metric_name,
        dimensions: serde_json::to_string(&dimensions).map_err(ApiError::internal)?,
        timestamp,
        unit: datum.unit,
        sample_count,
        sum,
        minimum,
        maximum,
    })
}

pub(super) async fn put_metric_data(store: &Store, region: &str, input: PutMetricDataInput) -> Result<Value> {
    if input.namespace.starts_with("AWS/") {
        return Err(invalid(
            "The value AWS/ for parameter Namespace is invalid: it is reserved for AWS's own metrics.".into(),
        ));
    }
    let now = crate::domain::now();
    let points: Vec<MetricPoint> = input
        .metric_data
        .into_iter()
        .enumerate()
        .map(|(i, datum)| point(&input.namespace, i, datum, now))
        .collect::<Result<_>>()?;
    store.put_metric_data(region, &points, (now * 1000.0) as i64).await?;
    Ok(json!({}))
}

pub(super) async fn list_metrics(store: &Store, region: &str, input: ListMetricsInput) -> Result<Value> {
    let offset = match &input.next_token {
        Some(token) => {
            token.parse::<usize>().map_err(|_| aws_error!(InvalidNextToken, "The next token is not valid."))?
        }
        None => 0,
    };
    // RecentlyActive=PT3H: only metrics that received a data point in the past three hours.
    let since_ms = input.recently_active.as_ref().map(|_| ((crate::domain::now() - 3.0 * 3600.0) * 1000.0) as i64);
    let rows = store.list_metrics(region, input.namespace.as_deref(), input.metric_name.as_deref()).await?;
    let mut metrics = Vec::new();
    for row in rows {
        if since_ms.is_some_and(|since| row.last_received_ms < since) {
            continue;
        }
        let dimensions: Vec<Dimension> = serde_json::from_str(&row.dimensions).map_err(ApiError::internal)?;
        let matches = input
            .dimensions
            .iter()
            .all(|f| dimensions.iter().any(|d| d.name == f.name && f.value.as_ref().is_none_or(|v| *v == d.value)));
        if matches {
            metrics.push(json!({"Namespace": row.namespace, "MetricName": row.name, "Dimensions": dimensions}));
        }
    }
    let next_token = (metrics.len() > offset + PAGE).then(|| (offset + PAGE).to_string());
    let page: Vec<Value> = metrics.into_iter().skip(offset).take(PAGE).collect();
    Ok(json!({"Metrics": page, "NextToken": next_token}))
}
