//! Custom attributes on container instances: PutAttributes, DeleteAttributes, ListAttributes.
//! They show in DescribeContainerInstances and count in placement and in the query language.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, clusters, paging};
use crate::error::Result;
use crate::store::{AttributeFilter, AttributeRow, NamedRow};

/// AWS's limit of custom attributes per resource.
pub const MAX_ATTRIBUTES: usize = 10;

#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Attribute {
    name: String,
    value: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
}

fn valid_attribute_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'/' | b'\\' | b'.'))
}

fn valid_attribute_value(value: &str) -> bool {
    (1..=128).contains(&value.len())
        && value.trim() == value
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@' | b'/' | b'\\' | b':' | b' '))
}

/// The ARN of the registered container instance `target` (an id or an ARN) names in `cluster`.
async fn container_instance(ctx: &Ctx<'_>, cluster: &NamedRow, target: &str) -> Result<Option<String>> {
    super::container_instances::ensure_instances(ctx, cluster).await?;
    let found = super::container_instances::find(ctx, cluster, target).await?;
    Ok(found.filter(|row| row.status != "INACTIVE").map(|row| row.arn))
}

/// Checks attributes and resolves their targets.
async fn rows(
    ctx: &Ctx<'_>,
    cluster: &NamedRow,
    attributes: Vec<Attribute>,
    with_values: bool,
) -> Result<Vec<AttributeRow>> {
    let mut out = Vec::with_capacity(attributes.len());
    for a in attributes {
        if !valid_attribute_name(&a.name) {
            return Err(aws_error!(
                InvalidParameterException,
                "Attribute name '{}' is invalid: up to 128 letters, numbers, hyphens, underscores, slashes, back slashes or periods.",
                a.name
            ));
        }
        if with_values
            && let Some(value) = &a.value
            && !valid_attribute_value(value)
        {
            return Err(aws_error!(
                InvalidParameterException,
                "Attribute value '{value}' is invalid: up to 128 letters, numbers, hyphens, underscores, periods, at signs, slashes, back slashes, colons or spaces, without leading or trailing spaces."
            ));
        }
        let target_type = a.target_type.unwrap_or_else(|| "container-instance".to_owned());
        let Some(target) = a.target_id.filter(|t| !t.is_empty()) else {
            return Err(aws_error!(InvalidParameterException, "Attribute '{}' needs a targetId.", a.name));
        };
        let Some(target_id) = container_instance(ctx, cluster, &target).await? else {
            return Err(aws_error!(TargetNotFoundException, "Could not find {target}."));
        };
        out.push(AttributeRow { cluster: cluster.name.clone(), target_type, target_id, name: a.name, value: a.value });
    }
    Ok(out)
}

fn attribute_json(a: &AttributeRow) -> Value {
    json!({"name": a.name, "value": a.value, "targetType": a.target_type, "targetId": a.target_id})
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct AttributesInput {
    cluster: Option<String>,
    attributes: Vec<Attribute>,
}

pub(super) async fn put_attributes(ctx: &Ctx<'_>, input: AttributesInput) -> Result<Value> {
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    if input.attributes.len() > MAX_ATTRIBUTES {
        return Err(aws_error!(
            InvalidParameterException,
            "You can specify up to {MAX_ATTRIBUTES} attributes in a single call; got {}.",
            input.attributes.len()
        ));
    }
    let rows = rows(ctx, &cluster, input.attributes, true).await?;
    for target in rows.iter().map(|r| &r.target_id) {
        let existing = ctx
            .store
            .list_attributes(
                ctx.region(),
                AttributeFilter { cluster: &cluster.name, target_type: "container-instance", name: None, value: None },
                None,
                1000,
            )
            .await?
            .into_iter()
            .filter(|e| &e.target_id == target)
            .map(|e| e.name)
            .chain(rows.iter().filter(|r| &r.target_id == target).map(|r| r.name.clone()))
            .collect::<std::collections::BTreeSet<_>>();
        if existing.len() > MAX_ATTRIBUTES {
            return Err(aws_error!(
                AttributeLimitExceededException,
                "You can apply up to {MAX_ATTRIBUTES} custom attributes per resource; {target} would have {}.",
                existing.len()
            ));
        }
    }
    ctx.store.put_attributes(ctx.region(), &rows).await?;
    Ok(json!({"attributes": rows.iter().map(attribute_json).collect::<Vec<_>>()}))
}

pub(super) async fn delete_attributes(ctx: &Ctx<'_>, input: AttributesInput) -> Result<Value> {
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    let rows = rows(ctx, &cluster, input.attributes, false).await?;
    ctx.store.delete_attributes(ctx.region(), &rows).await?;
    Ok(json!({"attributes": rows.iter().map(attribute_json).collect::<Vec<_>>()}))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListAttributesInput {
    cluster: Option<String>,
    target_type: String,
    attribute_name: Option<String>,
    attribute_value: Option<String>,
    next_token: Option<String>,
    max_results: Option<i64>,
}

pub(super) async fn list_attributes(ctx: &Ctx<'_>, input: ListAttributesInput) -> Result<Value> {
    const LIST: &str = "ListAttributes";
    let cluster = clusters::active_cluster(ctx, input.cluster.as_deref()).await?;
    if input.attribute_value.is_some() && input.attribute_name.is_none() {
        return Err(aws_error!(InvalidParameterException, "attributeValue can only be given with attributeName."));
    }
    let size = paging::page_size(input.max_results, 100, 100)?;
    let after = paging::decode(LIST, input.next_token.as_deref())?;
    let after = match after.as_deref() {
        Some([name, target]) => Some((name.as_str(), target.as_str())),
        Some(_) => return Err(aws_error!(InvalidParameterException, "Invalid nextToken.")),
        None => None,
    };
    let mut rows = ctx
        .store
        .list_attributes(
            ctx.region(),
            AttributeFilter {
                cluster: &cluster.name,
                target_type: &input.target_type,
                name: input.attribute_name.as_deref(),
                value: input.attribute_value.as_deref(),
            },
            after,
            size + 1,
        )
        .await?;
    let next = paging::next_token(LIST, &mut rows, size, |r| vec![r.name.clone(), r.target_id.clone()]);
    Ok(json!({"attributes": rows.iter().map(attribute_json).collect::<Vec<_>>(), "nextToken": next}))
}
