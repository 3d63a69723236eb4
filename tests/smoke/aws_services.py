"""The services beside ECS on berth's one endpoint, driven by boto3 in each one's own protocol:
CloudWatch Logs (awsJson 1.1), CloudWatch (Smithy RPCv2 CBOR, which botocore 1.43 speaks first,
and its awsJson 1.0 and query forms), STS (query). Usage: aws_services.py <endpoint-url>.
Prints "services: ok" when every check holds."""

import datetime
import sys
import uuid

import boto3
import botocore.config
import botocore.model
from botocore.exceptions import ClientError

URL = sys.argv[1]
RUN = uuid.uuid4().hex[:8]


def client(service, protocol=None):
    """A boto3 client of berth; `protocol` makes it speak that one of the service's protocols
    (botocore speaks the first it supports, and caches the choice when the client is made)."""
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    config = botocore.config.Config(retries={"max_attempts": 1})
    preferred = botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS
    if protocol:
        botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = (protocol,)
    try:
        c = session.client(service, endpoint_url=URL, config=config)
        assert c.meta.service_model.resolved_protocol == (protocol or c.meta.service_model.resolved_protocol)
    finally:
        botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = preferred
    return c


def error_of(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"].get("Message", "")
    raise AssertionError(f"{call.__name__} {kwargs} succeeded; an error was expected")


def check_logs():
    logs = client("logs")
    name = f"/berth/smoke/{RUN}"
    logs.create_log_group(logGroupName=name, tags={"team": "berth"})
    code, status, message = error_of(logs.create_log_group, logGroupName=name)
    assert (code, status) == ("ResourceAlreadyExistsException", 400), (code, status)
    assert name in message or "exists" in message, message

    logs.put_retention_policy(logGroupName=name, retentionInDays=7)
    code, _, _ = error_of(logs.put_retention_policy, logGroupName=name, retentionInDays=8)
    assert code == "InvalidParameterException", code

    groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert [g["logGroupName"] for g in groups] == [name], groups
    group = groups[0]
    assert group["retentionInDays"] == 7, group
    assert group["arn"] == f"arn:aws:logs:us-east-1:000000000000:log-group:{name}:*", group["arn"]
    assert isinstance(group["creationTime"], int) and group["creationTime"] > 0, group

    # Paging: three groups under one prefix, a page of two, then the rest.
    for i in range(2):
        logs.create_log_group(logGroupName=f"{name}/page-{i}")
    first = logs.describe_log_groups(logGroupNamePrefix=name, limit=2)
    assert len(first["logGroups"]) == 2 and "nextToken" in first, first
    rest = logs.describe_log_groups(logGroupNamePrefix=name, nextToken=first["nextToken"])
    assert len(rest["logGroups"]) == 1 and "nextToken" not in rest, rest
    seen = [g["logGroupName"] for g in first["logGroups"] + rest["logGroups"]]
    assert seen == sorted(seen) and len(set(seen)) == 3, seen

    logs.delete_retention_policy(logGroupName=name)
    group = logs.describe_log_groups(logGroupNamePrefix=name, limit=1)["logGroups"][0]
    assert "retentionInDays" not in group, group

    for i in range(2):
        logs.delete_log_group(logGroupName=f"{name}/page-{i}")
    logs.delete_log_group(logGroupName=name)
    code, status, _ = error_of(logs.delete_log_group, logGroupName=name)
    assert (code, status) == ("ResourceNotFoundException", 400), (code, status)
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []

    # A name too short for AWS's constraint, sent past botocore's own check, is a client error in
    # Logs' own shape.
    unchecked = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client("logs", endpoint_url=URL, config=botocore.config.Config(parameter_validation=False))
    code, status, _ = error_of(unchecked.create_log_group, logGroupName="")
    assert status == 400 and code in ("InvalidParameterException", "ValidationException"), code


def check_cloudwatch(protocol):
    cw = client("cloudwatch", protocol)
    namespace = f"Berth/Smoke/{RUN}/{protocol}"
    now = datetime.datetime.now(datetime.timezone.utc)
    cw.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": "Requests",
                "Dimensions": [{"Name": "Service", "Value": "web"}, {"Name": "Cluster", "Value": "dev"}],
                "Timestamp": now,
                "Value": 3.0,
                "Unit": "Count",
            },
            {"MetricName": "Latency", "Values": [1.5, 2.5], "Counts": [2, 1], "Unit": "Milliseconds"},
        ],
    )
    metrics = cw.list_metrics(Namespace=namespace)["Metrics"]
    names = sorted(m["MetricName"] for m in metrics)
    assert names == ["Latency", "Requests"], metrics
    requests = next(m for m in metrics if m["MetricName"] == "Requests")
    assert sorted(requests["Dimensions"], key=lambda d: d["Name"]) == [
        {"Name": "Cluster", "Value": "dev"},
        {"Name": "Service", "Value": "web"},
    ], requests

    filtered = cw.list_metrics(Namespace=namespace, Dimensions=[{"Name": "Service", "Value": "web"}])["Metrics"]
    assert [m["MetricName"] for m in filtered] == ["Requests"], filtered
    by_name = cw.list_metrics(Namespace=namespace, MetricName="Latency")["Metrics"]
    assert [m["MetricName"] for m in by_name] == ["Latency"], by_name

    # AWS's own rule: Value and Values together are refused, in CloudWatch's error shape.
    code, status, message = error_of(
        cw.put_metric_data,
        Namespace=namespace,
        MetricData=[{"MetricName": "Bad", "Value": 1.0, "Values": [1.0]}],
    )
    assert (code, status) == ("InvalidParameterCombination", 400), (code, status, message)
    code, status, _ = error_of(cw.put_metric_data, Namespace="AWS/ECS", MetricData=[{"MetricName": "X", "Value": 1.0}])
    assert (code, status) == ("InvalidParameterValue", 400), (code, status)


def check_sts():
    identity = client("sts").get_caller_identity()
    assert identity["Account"] == "000000000000", identity
    assert identity["Arn"].startswith("arn:aws:"), identity
    assert identity["UserId"], identity


check_logs()
for protocol in ("smithy-rpc-v2-cbor", "json", "query"):
    check_cloudwatch(protocol)
check_sts()
print("services: ok")
