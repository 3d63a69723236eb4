//! Account settings through aws-sdk-ecs: PutAccountSetting, PutAccountSettingDefault,
//! DeleteAccountSetting and ListAccountSettings (effective settings with AWS's defaults, user vs
//! aws_managed, filters, principals, paging), and the containerInsights default of new clusters.

use std::collections::HashSet;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{ClusterSetting, ClusterSettingName, Setting, SettingName, SettingType};

use crate::common::{Berth, code, error, unique};

const ROOT: &str = "arn:aws:iam::000000000000:root";
const ROLE: &str = "arn:aws:iam::000000000000:role/dev";

/// Every setting, in the order ECS lists them, with AWS's default for a new account.
const DEFAULTS: [(&str, &str); 11] = [
    ("serviceLongArnFormat", "enabled"),
    ("taskLongArnFormat", "enabled"),
    ("containerInstanceLongArnFormat", "enabled"),
    ("awsvpcTrunking", "disabled"),
    ("containerInsights", "disabled"),
    ("fargateFIPSMode", "disabled"),
    ("tagResourceAuthorization", "on"),
    ("fargateTaskRetirementWaitPeriod", "7"),
    ("guardDutyActivate", "off"),
    ("defaultLogDriverMode", "non-blocking"),
    ("fargateEventWindows", "disabled"),
];

/// (name, value, principal, type) of a setting.
fn row(s: &Setting) -> (String, String, String, String) {
    (
        s.name().unwrap().as_str().to_owned(),
        s.value().unwrap().to_owned(),
        s.principal_arn().unwrap().to_owned(),
        s.r#type().unwrap().as_str().to_owned(),
    )
}

fn expect(name: &str, value: &str, principal: &str, kind: &str) -> (String, String, String, String) {
    (name.to_owned(), value.to_owned(), principal.to_owned(), kind.to_owned())
}

/// Every setting ListAccountSettings answers, all pages, through the SDK's paginator.
async fn all(ecs: &Client, principal: Option<&str>, effective: bool) -> Vec<(String, String, String, String)> {
    let settings: Vec<Setting> = ecs
        .list_account_settings()
        .set_principal_arn(principal.map(str::to_owned))
        .effective_settings(effective)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    settings.iter().map(row).collect()
}

/// AWS's defaults for `principal`, with `overrides` as `user` settings.
fn effective(principal: &str, overrides: &[(&str, &str)]) -> Vec<(String, String, String, String)> {
    DEFAULTS
        .iter()
        .map(|(name, default)| match overrides.iter().find(|(n, _)| n == name) {
            Some((_, value)) => expect(name, value, principal, "user"),
            None => expect(name, default, principal, "aws_managed"),
        })
        .collect()
}

#[tokio::test]
async fn effective_settings_list_every_setting_with_aws_defaults() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    // Nothing set: only effective settings list anything.
    assert!(all(&ecs, None, false).await.is_empty());
    let listed = all(&ecs, None, true).await;
    assert_eq!(listed, effective(ROOT, &[]));
    // AWS's page is 10 settings; the 11th comes with the token.
    let first = ecs.list_account_settings().effective_settings(true).send().await.unwrap();
    assert_eq!(first.settings().len(), 10);
    let token = first.next_token().unwrap().to_owned();
    let second = ecs.list_account_settings().effective_settings(true).next_token(token).send().await.unwrap();
    assert_eq!(second.settings().len(), 1);
    assert_eq!(second.settings()[0].name(), Some(&SettingName::FargateEventWindows));
    assert_eq!(second.next_token(), None);
    // Walking smaller pages by hand: every setting once, in order.
    for size in 1..=10 {
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = ecs
                .list_account_settings()
                .effective_settings(true)
                .max_results(size)
                .set_next_token(token)
                .send()
                .await
                .unwrap();
            assert!(page.settings().len() <= usize::try_from(size).unwrap());
            seen.extend(page.settings().iter().map(|s| s.name().unwrap().as_str().to_owned()));
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
        }
        let names: Vec<&str> = DEFAULTS.iter().map(|(n, _)| *n).collect();
        assert_eq!(seen, names, "maxResults {size}");
        assert_eq!(seen.iter().collect::<HashSet<_>>().len(), DEFAULTS.len());
    }
    // One setting by name.
    let one = ecs
        .list_account_settings()
        .effective_settings(true)
        .name(SettingName::FargateTaskRetirementWaitPeriod)
        .send()
        .await
        .unwrap();
    assert_eq!(
        one.settings().iter().map(row).collect::<Vec<_>>(),
        [expect("fargateTaskRetirementWaitPeriod", "7", ROOT, "aws_managed")]
    );
    // maxResults is 1 to 10; tokens are berth's own.
    for bad in [0, 11, -5] {
        assert_eq!(code(ecs.list_account_settings().max_results(bad).send().await), "InvalidParameterException");
    }
    assert_eq!(code(ecs.list_account_settings().next_token("garbage").send().await), "InvalidParameterException");
}

#[tokio::test]
async fn put_list_and_delete() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let out = ecs.put_account_setting().name(SettingName::ContainerInsights).value("enabled").send().await.unwrap();
    assert_eq!(row(out.setting().unwrap()), expect("containerInsights", "enabled", ROOT, "user"));
    let out =
        ecs.put_account_setting_default().name(SettingName::AwsvpcTrunking).value("enabled").send().await.unwrap();
    assert_eq!(row(out.setting().unwrap()), expect("awsvpcTrunking", "enabled", ROOT, "user"));
    // Putting again replaces the value.
    ecs.put_account_setting().name(SettingName::ContainerInsights).value("enhanced").send().await.unwrap();

    // Without effectiveSettings: what was set, in ECS's order of settings.
    assert_eq!(
        all(&ecs, None, false).await,
        [expect("awsvpcTrunking", "enabled", ROOT, "user"), expect("containerInsights", "enhanced", ROOT, "user")]
    );
    assert_eq!(all(&ecs, Some(ROOT), false).await.len(), 2);
    // With: the set ones as user, the rest aws_managed.
    assert_eq!(
        all(&ecs, None, true).await,
        effective(ROOT, &[("awsvpcTrunking", "enabled"), ("containerInsights", "enhanced")])
    );
    // Filters: by name, and by name and value.
    let by_name = ecs.list_account_settings().name(SettingName::ContainerInsights).send().await.unwrap();
    assert_eq!(by_name.settings().len(), 1);
    assert_eq!(by_name.settings()[0].value(), Some("enhanced"));
    let unset = ecs.list_account_settings().name(SettingName::TaskLongArnFormat).send().await.unwrap();
    assert!(unset.settings().is_empty());
    let matching =
        ecs.list_account_settings().name(SettingName::ContainerInsights).value("enhanced").send().await.unwrap();
    assert_eq!(matching.settings().len(), 1);
    let other_value =
        ecs.list_account_settings().name(SettingName::ContainerInsights).value("enabled").send().await.unwrap();
    assert!(other_value.settings().is_empty());
    let default_value = ecs
        .list_account_settings()
        .effective_settings(true)
        .name(SettingName::TaskLongArnFormat)
        .value("enabled")
        .send()
        .await
        .unwrap();
    assert_eq!(default_value.settings().len(), 1);
    assert_eq!(default_value.settings()[0].r#type(), Some(&SettingType::AwsManaged));
    // A value filter needs a name.
    let (code_, message) = error(ecs.list_account_settings().value("enabled").send().await);
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("name"), "{message}");

    // Delete answers the setting it removed; AWS's default is back.
    let out = ecs.delete_account_setting().name(SettingName::ContainerInsights).send().await.unwrap();
    let deleted = out.setting().unwrap();
    assert_eq!(deleted.name(), Some(&SettingName::ContainerInsights));
    assert_eq!(deleted.value(), Some("enhanced"));
    assert_eq!(deleted.principal_arn(), Some(ROOT));
    assert_eq!(all(&ecs, None, false).await, [expect("awsvpcTrunking", "enabled", ROOT, "user")]);
    assert_eq!(all(&ecs, None, true).await, effective(ROOT, &[("awsvpcTrunking", "enabled")]));
    // Deleting what is not set is not an error.
    ecs.delete_account_setting().name(SettingName::ContainerInsights).send().await.unwrap();
    ecs.delete_account_setting().name(SettingName::AwsvpcTrunking).principal_arn(ROOT).send().await.unwrap();
    assert!(all(&ecs, None, false).await.is_empty());
}

#[tokio::test]
async fn principals_fall_back_to_the_root_then_to_aws() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let out = ecs
        .put_account_setting()
        .name(SettingName::AwsvpcTrunking)
        .value("enabled")
        .principal_arn(ROLE)
        .send()
        .await
        .unwrap();
    assert_eq!(row(out.setting().unwrap()), expect("awsvpcTrunking", "enabled", ROLE, "user"));
    // The role's own setting is the role's only.
    assert_eq!(all(&ecs, Some(ROLE), false).await, [expect("awsvpcTrunking", "enabled", ROLE, "user")]);
    assert!(all(&ecs, None, false).await.is_empty());
    assert_eq!(all(&ecs, Some(ROLE), true).await, effective(ROLE, &[("awsvpcTrunking", "enabled")]));
    assert_eq!(all(&ecs, None, true).await, effective(ROOT, &[]));
    // An account default (the root's setting) applies to the role where it has none of its own.
    ecs.put_account_setting_default().name(SettingName::ContainerInsights).value("enabled").send().await.unwrap();
    ecs.put_account_setting_default().name(SettingName::AwsvpcTrunking).value("disabled").send().await.unwrap();
    assert_eq!(
        all(&ecs, Some(ROLE), true).await,
        effective(ROLE, &[("awsvpcTrunking", "enabled"), ("containerInsights", "enabled")])
    );
    assert_eq!(all(&ecs, Some(ROLE), false).await.len(), 1);
    // Without its own, the role sees the root's.
    ecs.delete_account_setting().name(SettingName::AwsvpcTrunking).principal_arn(ROLE).send().await.unwrap();
    assert_eq!(
        all(&ecs, Some(ROLE), true).await,
        effective(ROLE, &[("awsvpcTrunking", "disabled"), ("containerInsights", "enabled")])
    );
    assert!(all(&ecs, Some(ROLE), false).await.is_empty());
    // The Fargate retirement wait is the root's alone.
    let (code_, message) = error(
        ecs.put_account_setting()
            .name(SettingName::FargateTaskRetirementWaitPeriod)
            .value("14")
            .principal_arn(ROLE)
            .send()
            .await,
    );
    assert_eq!(code_, "InvalidParameterException");
    assert!(message.contains("root"), "{message}");
    let out = ecs
        .put_account_setting()
        .name(SettingName::FargateTaskRetirementWaitPeriod)
        .value("14")
        .principal_arn(ROOT)
        .send()
        .await
        .unwrap();
    assert_eq!(out.setting().unwrap().value(), Some("14"));
}

#[tokio::test]
async fn invalid_values_are_refused() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let refused = [
        (SettingName::ContainerInsights, "on"),
        (SettingName::ContainerInsights, "ENABLED"),
        (SettingName::ServiceLongArnFormat, "enhanced"),
        (SettingName::TagResourceAuthorization, "enabled"),
        (SettingName::FargateTaskRetirementWaitPeriod, "3"),
        (SettingName::DefaultLogDriverMode, "nonblocking"),
        (SettingName::AwsvpcTrunking, ""),
    ];
    for (name, value) in &refused {
        let (code_, message) = error(ecs.put_account_setting().name(name.clone()).value(*value).send().await);
        assert_eq!(code_, "InvalidParameterException", "{name:?}={value}");
        assert!(message.contains(name.as_str()), "{message}");
        assert_eq!(
            code(ecs.put_account_setting_default().name(name.clone()).value(*value).send().await),
            "InvalidParameterException",
            "{name:?}={value}"
        );
    }
    // guardDutyActivate is read-only: GuardDuty sets it.
    for value in ["on", "off"] {
        let (code_, message) =
            error(ecs.put_account_setting().name(SettingName::GuardDutyActivate).value(value).send().await);
        assert_eq!(code_, "InvalidParameterException");
        assert!(message.contains("guardDutyActivate"), "{message}");
        assert_eq!(
            code(ecs.put_account_setting_default().name(SettingName::GuardDutyActivate).value(value).send().await),
            "InvalidParameterException"
        );
    }
    // Every value AWS accepts is accepted.
    let accepted = [
        (SettingName::ContainerInsights, "enhanced"),
        (SettingName::TagResourceAuthorization, "off"),
        (SettingName::FargateTaskRetirementWaitPeriod, "0"),
        (SettingName::DefaultLogDriverMode, "blocking"),
        (SettingName::FargateFipsMode, "enabled"),
        (SettingName::FargateEventWindows, "enabled"),
    ];
    for (name, value) in &accepted {
        ecs.put_account_setting_default().name(name.clone()).value(*value).send().await.unwrap();
    }
    // Unknown names and missing members are the model's.
    let raw = berth.call("PutAccountSetting", r#"{"name": "dualStackIPv6", "value": "enabled"}"#).await;
    let message = raw.assert_error(400, "InvalidParameterException");
    assert!(message.contains("enum"), "{message}");
    berth
        .call("PutAccountSetting", r#"{"name": "containerInsights"}"#)
        .await
        .assert_error(400, "InvalidParameterException");
    berth
        .call("PutAccountSettingDefault", r#"{"value": "enabled"}"#)
        .await
        .assert_error(400, "InvalidParameterException");
    berth.call("DeleteAccountSetting", "{}").await.assert_error(400, "InvalidParameterException");
    // Only the accepted values were stored.
    assert_eq!(all(&ecs, None, false).await.len(), accepted.len());
}

#[tokio::test]
async fn container_insights_default_applies_to_new_clusters() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    let insights = |c: &aws_sdk_ecs::types::Cluster| {
        let s = c.settings().iter().find(|s| s.name() == Some(&ClusterSettingName::ContainerInsights)).unwrap();
        s.value().unwrap().to_owned()
    };
    let before = ecs.create_cluster().cluster_name(unique("before")).send().await.unwrap();
    assert_eq!(insights(before.cluster().unwrap()), "disabled");

    ecs.put_account_setting_default().name(SettingName::ContainerInsights).value("enabled").send().await.unwrap();
    let after = ecs.create_cluster().cluster_name(unique("after")).send().await.unwrap();
    assert_eq!(insights(after.cluster().unwrap()), "enabled");
    // Existing clusters keep theirs; a cluster's own setting wins over the default.
    let described = ecs
        .describe_clusters()
        .clusters(before.cluster().unwrap().cluster_arn().unwrap())
        .include(aws_sdk_ecs::types::ClusterField::Settings)
        .send()
        .await
        .unwrap();
    assert_eq!(insights(&described.clusters()[0]), "disabled");
    let own = ecs
        .create_cluster()
        .cluster_name(unique("own"))
        .settings(ClusterSetting::builder().name(ClusterSettingName::ContainerInsights).value("disabled").build())
        .send()
        .await
        .unwrap();
    assert_eq!(insights(own.cluster().unwrap()), "disabled");
    // A role's setting is not the account default berth's clusters follow.
    ecs.put_account_setting()
        .name(SettingName::ContainerInsights)
        .value("disabled")
        .principal_arn(ROLE)
        .send()
        .await
        .unwrap();
    let unaffected = ecs.create_cluster().cluster_name(unique("still")).send().await.unwrap();
    assert_eq!(insights(unaffected.cluster().unwrap()), "enabled");

    ecs.put_account_setting().name(SettingName::ContainerInsights).value("enhanced").send().await.unwrap();
    let enhanced = ecs.create_cluster().cluster_name(unique("enh")).send().await.unwrap();
    assert_eq!(insights(enhanced.cluster().unwrap()), "enhanced");
    ecs.delete_account_setting().name(SettingName::ContainerInsights).send().await.unwrap();
    let reset = ecs.create_cluster().cluster_name(unique("reset")).send().await.unwrap();
    assert_eq!(insights(reset.cluster().unwrap()), "disabled");
}

#[tokio::test]
async fn settings_are_per_region() {
    let berth = Berth::start().await;
    let east = berth.client();
    let west = berth.client_in("eu-west-1");
    west.put_account_setting_default().name(SettingName::ContainerInsights).value("enabled").send().await.unwrap();
    assert_eq!(all(&west, None, false).await, [expect("containerInsights", "enabled", ROOT, "user")]);
    assert!(all(&east, None, false).await.is_empty());
    let cluster = east.create_cluster().cluster_name(unique("east")).send().await.unwrap();
    assert_eq!(cluster.cluster().unwrap().settings()[0].value(), Some("disabled"));
    let cluster = west.create_cluster().cluster_name(unique("west")).send().await.unwrap();
    assert_eq!(cluster.cluster().unwrap().settings()[0].value(), Some("enabled"));
}

#[tokio::test]
async fn long_arn_formats_cannot_be_disabled() {
    let berth = Berth::start().await;
    let ecs = berth.client();
    for name in
        [SettingName::ServiceLongArnFormat, SettingName::TaskLongArnFormat, SettingName::ContainerInstanceLongArnFormat]
    {
        let (code_, message) =
            error(ecs.put_account_setting_default().name(name.clone()).value("disabled").send().await);
        assert_eq!(code_, "InvalidParameterException");
        assert_eq!(message, "You can no longer disable Long Arn settings.");
        ecs.put_account_setting().name(name).value("enabled").send().await.unwrap();
    }
}
