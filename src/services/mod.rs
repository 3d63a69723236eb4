//! The AWS services on berth's endpoint, one folder each. A service registers itself here with
//! one line: the protocol layer routes to it by what its model (`api-models/<service>.json`)
//! says of the wire. A service may call another's small pub API, never its handlers; `paging`
//! is the maxResults / nextToken paging they share.

pub mod cloudwatch;
pub mod ecs;
pub mod logs;
pub mod paging;
pub mod secretsmanager;
pub mod sts;

use std::sync::Arc;

use crate::protocol::Service;
use crate::protocol::model::Model;
use crate::store::Store;

/// A request's input (JSON without null members) as an operation's input type.
///
/// # Errors
/// `SerializationException` naming what does not fit.
pub(crate) fn parse<T: serde::de::DeserializeOwned>(input: serde_json::Value) -> crate::error::Result<T> {
    serde_json::from_value(input).map_err(|e| aws_error!(SerializationException, "Could not read the request: {e}"))
}

/// Every service berth serves, ECS first.
#[must_use]
pub fn all(ecs: Arc<ecs::Api>, store: &Store, account: &str, region: &str) -> Vec<Arc<dyn Service>> {
    vec![
        ecs,
        Arc::new(sts::Sts::new(account.to_owned())),
        Arc::new(logs::Logs::new(store.clone(), account.to_owned(), region.to_owned())),
        Arc::new(cloudwatch::CloudWatch::new(store.clone(), region.to_owned())),
        Arc::new(secretsmanager::SecretsManager::new(store.clone(), account.to_owned(), region.to_owned())),
    ]
}

/// The model of every service, for the checks that must cover them all.
#[must_use]
pub fn all_models() -> Vec<&'static Model> {
    vec![ecs::model(), sts::model(), logs::model(), cloudwatch::model(), secretsmanager::model()]
}
