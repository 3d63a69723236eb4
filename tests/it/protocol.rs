//! The AWS JSON 1.1 front end, over raw HTTP: errors, limits, request ids, regions, and bad
//! input of every kind on every operation (never a 500, a panic or a hang).

use serde_json::{Value, json};

use crate::common::Berth;

#[tokio::test]
async fn health_and_request_ids() {
    let berth = Berth::start().await;
    let health = berth.raw("GET", "/_berth/health", &[], b"").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ready");
    let ok = berth.call("ListClusters", "{}").await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("content-type"), Some("application/x-amz-json-1.1"));
    let id = ok.header("x-amzn-requestid").unwrap();
    assert_eq!(id.len(), 36);
    let err = berth.call("DescribeClusters", "{").await;
    assert!(err.header("x-amzn-requestid").is_some_and(|other| other != id));
}

#[tokio::test]
async fn malformed_bodies_are_serialization_errors() {
    let berth = Berth::start().await;
    for body in ["{", "not json", "[]", "\"text\"", "42", "{\"clusterName\": }"] {
        berth.call("CreateCluster", body).await.assert_error(400, "SerializationException");
    }
    let message =
        berth.call("CreateCluster", r#"{"clusterName": 7}"#).await.assert_error(400, "SerializationException");
    assert!(message.contains("clusterName"), "{message}");
    let message = berth
        .call("CreateCluster", r#"{"clusterName": "a", "surprise": true}"#)
        .await
        .assert_error(400, "SerializationException");
    assert!(message.contains("surprise"), "{message}");
    let message = berth
        .call(
            "RegisterTaskDefinition",
            r#"{"family": "f", "containerDefinitions": [{"name": "a", "memory": 99999999999}]}"#,
        )
        .await
        .assert_error(400, "SerializationException");
    assert!(message.contains("containerDefinitions[0].memory"), "{message}");
    // An empty body is an empty request, as the SDKs send for operations without input.
    assert_eq!(berth.call("ListClusters", "").await.status, 200);
}

#[tokio::test]
async fn constraint_violations_are_invalid_parameter_errors() {
    let berth = Berth::start().await;
    let message = berth.call("DescribeTaskDefinition", "{}").await.assert_error(400, "InvalidParameterException");
    assert!(message.contains("taskDefinition"), "{message}");
    let message = berth
        .call("ListTaskDefinitions", r#"{"status": "SLEEPING"}"#)
        .await
        .assert_error(400, "InvalidParameterException");
    assert!(message.contains("ACTIVE, INACTIVE, DELETE_IN_PROGRESS"), "{message}");
}

#[tokio::test]
async fn targets_methods_and_sizes() {
    let berth = Berth::start().await;
    let no_target = berth.raw("POST", "/", &[("Content-Type", "application/x-amz-json-1.1")], b"{}").await;
    no_target.assert_error(400, "UnknownOperationException");
    let wrong_service = berth
        .raw(
            "POST",
            "/",
            &[("X-Amz-Target", "DynamoDB_20120810.ListTables"), ("Content-Type", "application/x-amz-json-1.1")],
            b"{}",
        )
        .await;
    wrong_service.assert_error(400, "UnknownOperationException");
    let message = berth.call("LaunchRockets", "{}").await.assert_error(400, "UnknownOperationException");
    assert!(message.contains("LaunchRockets"));
    let express = r#"{"serviceArn": "arn:aws:ecs:us-east-1:000000000000:service/default/x"}"#;
    let message =
        berth.call("DescribeExpressGatewayService", express).await.assert_error(400, "UnsupportedFeatureException");
    assert!(message.contains("DescribeExpressGatewayService is not implemented by berth yet"), "{message}");
    berth.raw("GET", "/", &[], b"").await.assert_error(400, "UnknownOperationException");
    assert_eq!(berth.raw("GET", "/elsewhere", &[], b"").await.status, 404);
    let wrong_type = berth
        .raw(
            "POST",
            "/",
            &[("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters"), ("Content-Type", "text/plain")],
            b"{}",
        )
        .await;
    wrong_type.assert_error(400, "SerializationException");
    // A body over the limit is refused without reading it all.
    let huge = format!(r#"{{"clusterName": "{}"}}"#, "x".repeat(berth::protocol::MAX_BODY_BYTES + 1));
    let message = berth.call("CreateCluster", &huge).await.assert_error(400, "ClientException");
    assert!(message.contains("limit"), "{message}");
    // And the server is still fine.
    assert_eq!(berth.call("ListClusters", "{}").await.status, 200);
}

#[tokio::test]
async fn region_comes_from_the_signature() {
    let berth = Berth::start().await;
    let auth =
        "AWS4-HMAC-SHA256 Credential=AKID/20260101/ap-southeast-2/ecs/aws4_request, SignedHeaders=host, Signature=00";
    let created = berth
        .raw(
            "POST",
            "/",
            &[
                ("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.CreateCluster"),
                ("Content-Type", "application/x-amz-json-1.1"),
                ("Authorization", auth),
            ],
            br#"{"clusterName": "syd"}"#,
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.json()["cluster"]["clusterArn"], "arn:aws:ecs:ap-southeast-2:000000000000:cluster/syd");
    // Without a signature the default region applies, where the cluster does not exist.
    let described = berth.call("DescribeClusters", r#"{"clusters": ["syd"]}"#).await.json();
    assert_eq!(described["failures"][0]["reason"], "MISSING");
}

#[tokio::test]
async fn null_members_are_absent_members() {
    let berth = Berth::start().await;
    let created = berth.call("CreateCluster", r#"{"clusterName": "n", "tags": null, "settings": null}"#).await;
    assert_eq!(created.status, 200, "{}", created.body);
    // No null ever goes out either: a last page has no nextToken member at all.
    let listed = berth.call("ListClusters", "{}").await.json();
    assert!(listed.get("nextToken").is_none(), "{listed}");
    let body = r#"{"family": "n", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64, "cpu": null}]}"#;
    let registered = berth.call("RegisterTaskDefinition", body).await.json();
    assert_eq!(registered["taskDefinition"]["containerDefinitions"][0]["cpu"], 0);
}

#[tokio::test]
async fn timestamps_are_epoch_seconds() {
    let berth = Berth::start().await;
    let body = json!({"family": "t", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}]});
    let registered = berth.call("RegisterTaskDefinition", &body.to_string()).await.json();
    let at = registered["taskDefinition"]["registeredAt"].as_f64().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!((now - at).abs() < 60.0, "{at} vs {now}");
}

#[tokio::test]
async fn reset_wipes_everything() {
    let berth = Berth::start().await;
    berth.call("CreateCluster", r#"{"clusterName": "gone"}"#).await;
    let body = json!({"family": "gone", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}]});
    berth.call("RegisterTaskDefinition", &body.to_string()).await;
    assert_eq!(berth.raw("POST", "/_berth/reset", &[], b"").await.status, 200);
    assert_eq!(berth.call("ListClusters", "{}").await.json()["clusterArns"], json!([]));
    assert_eq!(berth.call("ListTaskDefinitionFamilies", "{}").await.json()["families"], json!([]));
    // Revision numbers start over too.
    let again = berth.call("RegisterTaskDefinition", &body.to_string()).await.json();
    assert_eq!(again["taskDefinition"]["revision"], 1);
}

/// Reset clears every table of the schema, whichever service filled it: a cluster created again
/// under an old name brings nothing back.
#[tokio::test]
async fn reset_leaves_every_table_empty() {
    let berth = Berth::start().await;
    let ok = |response: crate::common::Response| {
        assert_eq!(response.status, 200, "{}", response.body);
        response.json()
    };
    // One of every resource berth stores; the check below proves every table got a row.
    ok(berth.call("CreateCluster", r#"{"clusterName": "again", "tags": [{"key": "k", "value": "v"}]}"#).await);
    let family = json!({"family": "again", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
        "cpu": "256", "memory": "512",
        "containerDefinitions": [{"name": "a", "image": crate::common::BUSYBOX, "command": ["sleep", "600"],
            "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/again",
                "awslogs-stream-prefix": "p", "awslogs-create-group": "true"}}}]});
    ok(berth.call("RegisterTaskDefinition", &family.to_string()).await);
    let daemon = json!({"family": "d", "containerDefinitions": [{"name": "a", "image": "i", "memory": 64}]});
    ok(berth.call("RegisterDaemonTaskDefinition", &daemon.to_string()).await);
    let provider = json!({"name": "asg", "autoScalingGroupProvider": {
        "autoScalingGroupArn": "arn:aws:autoscaling:us-east-1:000000000000:autoScalingGroup:1:autoScalingGroupName/asg"}});
    ok(berth.call("CreateCapacityProvider", &provider.to_string()).await);
    let managed = json!({"name": "mi", "cluster": "again", "managedInstancesProvider": {
        "infrastructureRoleArn": "arn:aws:iam::000000000000:role/r",
        "instanceLaunchTemplate": {"ec2InstanceProfileArn": "arn:aws:iam::000000000000:instance-profile/p",
            "networkConfiguration": {"subnets": ["subnet-1"]}}}});
    ok(berth.call("CreateCapacityProvider", &managed.to_string()).await);
    let daemon = json!({"clusterArn": "again", "daemonName": "d", "daemonTaskDefinitionArn": "d:1",
        "capacityProviderArns": ["mi"]});
    ok(berth.call("CreateDaemon", &daemon.to_string()).await);
    ok(berth.call("PutAccountSetting", r#"{"name": "containerInsights", "value": "enabled"}"#).await);
    let instance = ok(berth.call("RegisterContainerInstance", r#"{"cluster": "again"}"#).await);
    let instance = instance["containerInstance"]["containerInstanceArn"].as_str().unwrap().to_owned();
    let attribute = json!({"cluster": "again", "attributes": [{"name": "a", "value": "b", "targetId": instance}]});
    ok(berth.call("PutAttributes", &attribute.to_string()).await);
    let network = json!({"awsvpcConfiguration": {"subnets": ["subnet-1"]}});
    let service = json!({"cluster": "again", "serviceName": "kept", "taskDefinition": "again", "desiredCount": 1,
        "launchType": "FARGATE", "networkConfiguration": network});
    ok(berth.call("CreateService", &service.to_string()).await);
    let run = json!({"cluster": "again", "taskDefinition": "again", "launchType": "FARGATE",
        "networkConfiguration": network, "clientToken": "once"});
    let standalone = ok(berth.call("RunTask", &run.to_string()).await);
    let standalone = standalone["tasks"][0]["taskArn"].as_str().unwrap().to_owned();
    let listed = r#"{"cluster": "again", "serviceName": "kept"}"#;
    let service_task = crate::fixtures::until("the service's task", crate::fixtures::secs(30), || async {
        let tasks = berth.call("ListTasks", listed).await.json();
        match tasks["taskArns"][0].as_str() {
            Some(arn) => Ok(arn.to_owned()),
            None => Err(tasks),
        }
    })
    .await;
    // Its awslogs container is being shipped once it runs.
    let described = json!({"cluster": "again", "tasks": [standalone]}).to_string();
    crate::fixtures::until("the standalone task to run", crate::fixtures::secs(60), || async {
        let tasks = berth.call("DescribeTasks", &described).await.json();
        if tasks["tasks"][0]["lastStatus"] == "RUNNING" { Ok(()) } else { Err(tasks) }
    })
    .await;
    let protect = json!({"cluster": "again", "tasks": [service_task], "protectionEnabled": true});
    let protected = ok(berth.call("UpdateTaskProtection", &protect.to_string()).await);
    assert_eq!(protected["failures"], json!([]), "{protected}");
    let logs = [("X-Amz-Target", "Logs_20140328.CreateLogGroup"), ("Content-Type", "application/x-amz-json-1.1")];
    assert_eq!(berth.raw("POST", "/", &logs, br#"{"logGroupName": "g"}"#).await.status, 200);
    let berth_ref = &berth;
    let logs_call = move |op: &'static str, body: String| {
        let target = format!("Logs_20140328.{op}");
        async move {
            let headers = [("X-Amz-Target", target.as_str()), ("Content-Type", "application/x-amz-json-1.1")];
            let response = berth_ref.raw("POST", "/", &headers, body.as_bytes()).await;
            assert_eq!(response.status, 200, "{op}: {}", response.body);
        }
    };
    logs_call("CreateLogStream", json!({"logGroupName": "g", "logStreamName": "s"}).to_string()).await;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let events = json!({"logGroupName": "g", "logStreamName": "s", "logEvents": [{"timestamp": now, "message": "m"}]});
    logs_call("PutLogEvents", events.to_string()).await;
    let filter = json!({"logGroupName": "g", "filterName": "f", "filterPattern": "m",
        "metricTransformations": [{"metricName": "m", "metricNamespace": "n", "metricValue": "1"}]});
    logs_call("PutMetricFilter", filter.to_string()).await;
    let cw = [
        ("X-Amz-Target", "GraniteServiceVersion20100801.PutMetricData"),
        ("Content-Type", "application/x-amz-json-1.0"),
    ];
    let metric = br#"{"Namespace": "App", "MetricData": [{"MetricName": "m", "Value": 1}]}"#;
    assert_eq!(berth.raw("POST", "/", &cw, metric).await.status, 200);
    let sm = [("X-Amz-Target", "secretsmanager.CreateSecret"), ("Content-Type", "application/x-amz-json-1.1")];
    let secret = br#"{"Name": "again", "SecretString": "v1", "Tags": [{"Key": "k", "Value": "v"}]}"#;
    assert_eq!(berth.raw("POST", "/", &sm, secret).await.status, 200);

    let db = berth.data_dir().join(berth::store::DB_FILE);
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&db).read_only(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT IN ('_sqlx_migrations', 'meta')",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(tables.len() > 10, "the schema's tables: {tables:?}");
    let count = |table: &str| {
        let pool = pool.clone();
        let sql = format!("SELECT COUNT(*) FROM \"{table}\"");
        async move { sqlx::query_scalar::<_, i64>(&sql).fetch_one(&pool).await.unwrap() }
    };
    for table in &tables {
        assert!(count(table).await > 0, "table {table} is empty before the reset: this test must create its resource");
    }

    assert_eq!(berth.raw("POST", "/_berth/reset", &[], b"").await.status, 200);

    for table in &tables {
        let rows = count(table).await;
        assert_eq!(rows, 0, "table {table} keeps {rows} rows after a reset");
    }
    // Tasks that were starting leave no container behind either.
    crate::fixtures::gone(&service_task).await;
    crate::fixtures::gone(&standalone).await;
    ok(berth.call("CreateCluster", r#"{"clusterName": "again"}"#).await);
    let services = ok(berth.call("ListServices", r#"{"cluster": "again"}"#).await);
    assert_eq!(services["serviceArns"], json!([]), "{services}");
    let tasks = ok(berth.call("ListTasks", r#"{"cluster": "again"}"#).await);
    assert_eq!(tasks["taskArns"], json!([]), "{tasks}");
}

/// Every operation of the model, fed junk: only 200 or 400 may come back.
#[tokio::test]
async fn no_input_crashes_any_operation() {
    let berth = Berth::start().await;
    let model: Value = serde_json::from_str(include_str!("../../api-models/ecs.json")).unwrap();
    let junk = [
        "{}",
        "[]",
        "null",
        r#"{"cluster": 1}"#,
        r#"{"cluster": "", "clusters": [""], "taskDefinition": "", "family": ""}"#,
        r#"{"cluster": "arn:aws:ecs:us-east-1:000000000000:cluster/", "resourceArn": "arn:", "maxResults": -1}"#,
        r#"{"nextToken": "%%%", "maxResults": 1000000}"#,
        r#"{"containerDefinitions": [{}], "family": "x"}"#,
        r#"{"tags": [{"key": ""}], "resourceArn": "arn:aws:ecs:us-east-1:000000000000:cluster/none"}"#,
        r#"{"name": "", "value": "", "principalArn": ""}"#,
        "\u{0}\u{1}binary",
    ];
    for op in model["operations"].as_object().unwrap().keys() {
        for body in junk {
            let response = berth.call(op, body).await;
            assert!(
                response.status == 200 || response.status == 400,
                "{op} with {body}: {} {}",
                response.status,
                response.body
            );
            if response.status == 400 {
                let error = response.json();
                assert!(error["__type"].is_string() && error["message"].is_string(), "{op}: {}", response.body);
            }
        }
    }
    assert_eq!(berth.raw("GET", "/_berth/health", &[], b"").await.status, 200);
}

#[tokio::test]
async fn sts_get_caller_identity_answers_at_the_same_endpoint() {
    let berth = Berth::start_with(&[("BERTH_ACCOUNT_ID", "123456789012")]).await;
    let form = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")];
    let who = berth.raw("POST", "/", &form, b"Action=GetCallerIdentity&Version=2011-06-15").await;
    assert_eq!(who.status, 200, "{}", who.body);
    assert_eq!(who.header("content-type"), Some("text/xml"));
    assert!(who.body.contains("<Account>123456789012</Account>"), "{}", who.body);
    assert!(who.body.contains("<Arn>arn:aws:iam::123456789012:root</Arn>"), "{}", who.body);
    // A request missing a required member fails validation, in the query protocol's shape.
    let invalid = berth.raw("POST", "/", &form, b"Action=AssumeRole&Version=2011-06-15").await;
    assert_eq!(invalid.status, 400);
    assert!(invalid.body.contains("<Code>ValidationError</Code>"), "{}", invalid.body);
    assert!(invalid.body.contains("RoleArn"), "{}", invalid.body);
    // A valid request for an action berth has not built names it.
    let body =
        b"Action=AssumeRole&Version=2011-06-15&RoleArn=arn:aws:iam::123456789012:role/app&RoleSessionName=session";
    let other = berth.raw("POST", "/", &form, body).await;
    assert_eq!(other.status, 400);
    assert!(other.body.contains("<Code>InvalidAction</Code>"), "{}", other.body);
    assert!(other.body.contains("AssumeRole"), "{}", other.body);
    // An action no service on the endpoint has.
    let unknown = berth.raw("POST", "/", &form, b"Action=NoSuchThing&Version=2011-06-15").await;
    assert_eq!(unknown.status, 400);
    assert!(unknown.body.contains("<Code>InvalidAction</Code>"), "{}", unknown.body);
}
