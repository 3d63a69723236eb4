"""CloudWatch Logs on berth, driven by boto3: every operation berth implements, their validation
errors and paging, filter patterns of each kind, and retention that really expires events.
Usage: logs.py <endpoint-url>. Prints "logs: ok" when every check holds."""

import json
import sys
import time
import uuid

import boto3
import botocore.config
from botocore.exceptions import ClientError

URL = sys.argv[1]
RUN = uuid.uuid4().hex[:8]
ACCOUNT = "000000000000"
DAY_MS = 86_400_000

logs = boto3.session.Session(
    aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
).client("logs", endpoint_url=URL, config=botocore.config.Config(retries={"max_attempts": 1}))


def error_of(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", "")
    raise AssertionError(f"{call.__name__} {kwargs} succeeded; an error was expected")


def now_ms():
    return int(time.time() * 1000)


def check_groups():
    name = f"/berth/{RUN}/groups"
    logs.create_log_group(logGroupName=name, tags={"team": "berth"}, kmsKeyId="alias/k",
                          logGroupClass="INFREQUENT_ACCESS")
    assert error_of(logs.create_log_group, logGroupName=name)[0] == "ResourceAlreadyExistsException"
    code, message = error_of(logs.create_log_group, logGroupName="bad name!")
    assert code == "InvalidParameterException" and "logGroupName" in message, (code, message)
    group = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]
    assert group["kmsKeyId"] == "alias/k" and group["logGroupClass"] == "INFREQUENT_ACCESS", group
    assert group["logGroupArn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{name}", group
    assert group["storedBytes"] == 0 and group["metricFilterCount"] == 0, group
    # Class filter, identifiers, pattern (case-insensitive), and their exclusivity.
    assert logs.describe_log_groups(logGroupClass="STANDARD", logGroupNamePrefix=name)["logGroups"] == []
    by_id = logs.describe_log_groups(logGroupIdentifiers=[group["logGroupArn"]])["logGroups"]
    assert [g["logGroupName"] for g in by_id] == [name], by_id
    by_pattern = logs.describe_log_groups(logGroupNamePattern=f"{RUN.upper()}/GROUPS")["logGroups"]
    assert [g["logGroupName"] for g in by_pattern] == [name], by_pattern
    code, _ = error_of(logs.describe_log_groups, logGroupNamePrefix=name, logGroupNamePattern="x")
    assert code == "InvalidParameterException", code

    # Tags, both generations of the API.
    arn = group["logGroupArn"]
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "berth"}
    logs.tag_resource(resourceArn=arn, tags={"env": "ci"})
    logs.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "ci"}
    logs.tag_log_group(logGroupName=name, tags={"old": "api"})
    logs.untag_log_group(logGroupName=name, tags=["env"])
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {"old": "api"}
    missing = f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/berth/{RUN}/none"
    assert error_of(logs.list_tags_for_resource, resourceArn=missing)[0] == "ResourceNotFoundException"
    assert error_of(logs.list_tags_log_group, logGroupName=f"/berth/{RUN}/none")[0] == "ResourceNotFoundException"
    too_many = {f"k{i}": "v" for i in range(50)}
    assert error_of(logs.tag_resource, resourceArn=arn, tags=too_many)[0] == "TooManyTagsException"

    # Deletion protection refuses the delete until it is turned off.
    logs.put_log_group_deletion_protection(logGroupIdentifier=name, deletionProtectionEnabled=True)
    code, message = error_of(logs.delete_log_group, logGroupName=name)
    assert code == "ValidationException" and "deletion protection" in message, (code, message)
    logs.put_log_group_deletion_protection(logGroupIdentifier=name, deletionProtectionEnabled=False)
    logs.delete_log_group(logGroupName=name)
    assert error_of(logs.delete_log_group, logGroupName=name)[0] == "ResourceNotFoundException"
    # A group created again under the name starts without the old one's tags.
    logs.create_log_group(logGroupName=name)
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {}
    logs.delete_log_group(logGroupName=name)


def check_streams():
    group = f"/berth/{RUN}/streams"
    logs.create_log_group(logGroupName=group)
    code, message = error_of(logs.create_log_stream, logGroupName=f"{group}/none", logStreamName="s")
    assert (code, message) == ("ResourceNotFoundException", "The specified log group does not exist."), message
    for name in ["c", "a", "b"]:
        logs.create_log_stream(logGroupName=group, logStreamName=name)
    assert error_of(logs.create_log_stream, logGroupName=group, logStreamName="a")[0] == "ResourceAlreadyExistsException"
    assert error_of(logs.create_log_stream, logGroupName=group, logStreamName="x:y")[0] == "InvalidParameterException"
    base = now_ms() - 60_000
    logs.put_log_events(logGroupName=group, logStreamName="c", logEvents=[{"timestamp": base, "message": "c1"}])
    logs.put_log_events(logGroupName=group, logStreamName="a", logEvents=[{"timestamp": base + 2, "message": "a1"}])

    def names(**kw):
        return [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group, **kw)["logStreams"]]

    assert names() == ["a", "b", "c"]
    assert names(descending=True) == ["c", "b", "a"]
    assert names(orderBy="LastEventTime", descending=True)[0] == "a"
    assert names(logStreamNamePrefix="b") == ["b"]
    code, _ = error_of(logs.describe_log_streams, logGroupName=group, orderBy="LastEventTime", logStreamNamePrefix="a")
    assert code == "InvalidParameterException", code
    page = logs.describe_log_streams(logGroupName=group, limit=2)
    rest = logs.describe_log_streams(logGroupName=group, limit=2, nextToken=page["nextToken"])
    assert [s["logStreamName"] for s in page["logStreams"] + rest["logStreams"]] == ["a", "b", "c"]
    assert "nextToken" not in rest, rest
    by_arn = logs.describe_log_streams(logGroupIdentifier=f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}")
    stream = [s for s in by_arn["logStreams"] if s["logStreamName"] == "a"][0]
    assert stream["firstEventTimestamp"] == base + 2 == stream["lastEventTimestamp"], stream
    assert stream["lastIngestionTime"] >= base and stream["storedBytes"] == 0, stream
    assert stream["arn"] == f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}:log-stream:a", stream
    assert "firstEventTimestamp" not in [s for s in by_arn["logStreams"] if s["logStreamName"] == "b"][0]
    code, _ = error_of(logs.describe_log_streams, logGroupName=group, logGroupIdentifier=group)
    assert code == "InvalidParameterException", code
    # The group's storedBytes counts what its events hold; deleting a stream takes it away.
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["storedBytes"] == 4
    logs.delete_log_stream(logGroupName=group, logStreamName="c")
    assert error_of(logs.delete_log_stream, logGroupName=group, logStreamName="c")[0] == "ResourceNotFoundException"
    assert names() == ["a", "b"]
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["storedBytes"] == 2
    logs.delete_log_group(logGroupName=group)


def check_put_and_get():
    group, stream = f"/berth/{RUN}/events", "app/web/1"
    logs.create_log_group(logGroupName=group)
    code, message = error_of(logs.put_log_events, logGroupName=group, logStreamName=stream,
                             logEvents=[{"timestamp": now_ms(), "message": "x"}])
    assert (code, message) == ("ResourceNotFoundException", "The specified log stream does not exist."), message
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    base = now_ms() - 3_600_000
    events = [{"timestamp": base + i, "message": f"line {i}"} for i in range(25)]
    put = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events,
                              sequenceToken="ignored-as-on-aws")
    assert "rejectedLogEventsInfo" not in put and put["nextSequenceToken"], put

    # Batch rules: order, size, count, 24 h span; old and new events are rejected, not failed.
    out_of_order = [{"timestamp": base + 5, "message": "b"}, {"timestamp": base, "message": "a"}]
    code, message = error_of(logs.put_log_events, logGroupName=group, logStreamName=stream, logEvents=out_of_order)
    assert code == "InvalidParameterException" and "chronological" in message, message
    big = [{"timestamp": base, "message": "x" * (1_048_576 - 26)}, {"timestamp": base, "message": "y"}]
    code, message = error_of(logs.put_log_events, logGroupName=group, logStreamName=stream, logEvents=big)
    assert code == "InvalidParameterException" and "1048576" in message, message
    many = [{"timestamp": base, "message": "m"}] * 10_001
    assert error_of(logs.put_log_events, logGroupName=group, logStreamName=stream, logEvents=many)[0] == "InvalidParameterException"
    span = [{"timestamp": base - 2 * DAY_MS, "message": "a"}, {"timestamp": base, "message": "b"}]
    code, message = error_of(logs.put_log_events, logGroupName=group, logStreamName=stream, logEvents=span)
    assert code == "InvalidParameterException" and "24 hours" in message, message
    edges = [{"timestamp": now_ms() - 15 * DAY_MS, "message": "too old"},
             {"timestamp": base + 100, "message": "kept"},
             {"timestamp": now_ms() + 3 * 3_600_000, "message": "too new"}]
    put = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=edges)
    assert put["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 2}, put

    def get(**kw):
        return logs.get_log_events(logGroupName=group, logStreamName=stream, **kw)

    everything = get(startFromHead=True)
    messages = [e["message"] for e in everything["events"]]
    assert messages == [f"line {i}" for i in range(25)] + ["kept"], messages
    assert all(e["ingestionTime"] >= e["timestamp"] for e in everything["events"])
    # Forward paging from the head, a page of ten at a time, then the end: the same token back.
    seen, token = [], None
    for _ in range(10):
        page = get(startFromHead=True, limit=10, **({"nextToken": token} if token else {}))
        if page["nextForwardToken"] == token:
            assert page["events"] == [], page
            break
        seen += [e["message"] for e in page["events"]]
        token = page["nextForwardToken"]
    assert seen == messages, seen
    # A new event shows up on the token that had reached the end.
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": base + 200, "message": "later"}])
    assert [e["message"] for e in get(nextToken=token)["events"]] == ["later"]
    # Without startFromHead: the last events; the backward token pages towards the head.
    tail = get(limit=3)
    assert [e["message"] for e in tail["events"]] == ["line 24", "kept", "later"], tail
    before = get(limit=3, nextToken=tail["nextBackwardToken"])
    assert [e["message"] for e in before["events"]] == ["line 21", "line 22", "line 23"], before
    # Time range: startTime inclusive, endTime exclusive.
    window = get(startTime=base + 3, endTime=base + 6, startFromHead=True)
    assert [e["message"] for e in window["events"]] == ["line 3", "line 4", "line 5"], window
    by_arn = logs.get_log_events(logGroupIdentifier=f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{group}",
                                 logStreamName=stream, limit=1)
    assert [e["message"] for e in by_arn["events"]] == ["later"], by_arn
    assert error_of(logs.get_log_events, logGroupName=group, logStreamName=stream, nextToken="f/bad")[0] == "InvalidParameterException"
    assert error_of(logs.get_log_events, logGroupName=group, logStreamName="none")[0] == "ResourceNotFoundException"
    assert error_of(logs.get_log_events, logGroupName=group, logStreamName=stream, limit=10_001)[0] == "InvalidParameterException"
    logs.delete_log_group(logGroupName=group)


def check_filter():
    group = f"/berth/{RUN}/filter"
    logs.create_log_group(logGroupName=group)
    base = now_ms() - 60_000
    lines = {
        "web/1": ["GET /index 200 12", "ERROR timeout talking to db", '{"level": "error", "latency": 900, "user": {"id": 7}}',
                  "127.0.0.1 frank [10/Oct/2000:13:55:36 -0700] \"GET /a.gif HTTP/1.0\" 404 2326"],
        "web/2": ["WARN slow request", "ERROR Exiting now", '{"level": "info", "latency": 20, "user": {"id": 8}}',
                  "10.0.0.2 bob [10/Oct/2000:13:56:00 -0700] \"GET /b.gif HTTP/1.0\" 200 512"],
        "worker/1": ["Failed to connect", "all good", "retry? [*] 50%_done"],
    }
    for stream, messages in lines.items():
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        offset = {"web/1": 0, "web/2": 1, "worker/1": 2}[stream]
        events = [{"timestamp": base + 10 * i + offset, "message": m} for i, m in enumerate(messages)]
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)

    def found(pattern="", **kw):
        out = logs.filter_log_events(logGroupName=group, filterPattern=pattern, **kw)
        assert out["searchedLogStreams"] == [], out
        return [e["message"] for e in out["events"]]

    assert len(found()) == 11
    assert found("ERROR") == ["ERROR timeout talking to db", "ERROR Exiting now"]
    assert found("ERROR -Exiting") == ["ERROR timeout talking to db"]
    assert found("?WARN ?Failed") == ["WARN slow request", "Failed to connect"]
    assert found('"Failed to"') == ["Failed to connect"]
    assert found("Timeout") == []  # case-sensitive
    # Characters that mean something to SQL's LIKE and GLOB are only themselves here.
    assert found('"? [*] 50%_"') == ["retry? [*] 50%_done"]
    assert found('"[10/Oct/2000:13:55"') == [lines["web/1"][3]]
    assert found('"a*b"') == [] and found('"r?y"') == []
    assert found("%ERROR|WARN%") == ["WARN slow request", "ERROR timeout talking to db", "ERROR Exiting now"]
    assert found('{ $.level = "error" }') == [lines["web/1"][2]]
    assert found("{ $.latency > 100 }") == [lines["web/1"][2]]
    assert found("{ ($.latency < 100) && ($.user.id = 8) }") == [lines["web/2"][2]]
    assert found('{ $.level = "err*" || $.level = "info" }') == [lines["web/1"][2], lines["web/2"][2]]
    assert found("[ip, user, timestamp, request, status_code = 404, bytes]") == [lines["web/1"][3]]
    assert found("[ip, user, ..., bytes > 1000]") == [lines["web/1"][3]]
    assert found("[..., status_code = 2*, bytes]") == [lines["web/1"][0], lines["web/2"][3]]
    # Streams by name or prefix, and a time range.
    assert found("ERROR", logStreamNames=["web/2"]) == ["ERROR Exiting now"]
    assert found(logStreamNamePrefix="worker/") == lines["worker/1"]
    assert found(startTime=base + 10, endTime=base + 12) == [lines["web/1"][1], lines["web/2"][1]]
    events = logs.filter_log_events(logGroupName=group, filterPattern="ERROR")["events"]
    assert [e["logStreamName"] for e in events] == ["web/1", "web/2"], events
    assert all(len(e["eventId"]) == 56 and e["ingestionTime"] > 0 for e in events), events
    # Paging with nextToken until it stops.
    seen, token = [], None
    while True:
        page = logs.filter_log_events(logGroupName=group, limit=3, **({"nextToken": token} if token else {}))
        seen += [e["message"] for e in page["events"]]
        token = page.get("nextToken")
        if not token:
            break
    assert seen == found(), seen
    # boto3's paginator walks the same pages.
    pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, PaginationConfig={"PageSize": 4})
    assert [e["message"] for p in pages for e in p["events"]] == seen
    for bad in ['"unbalanced', "{ $.a = ", "[a, b", "bad-term!"]:
        code, message = error_of(logs.filter_log_events, logGroupName=group, filterPattern=bad)
        assert code == "InvalidParameterException" and ("filter pattern" in message.lower() or "term" in message), (bad, message)
    code, _ = error_of(logs.filter_log_events, logGroupName=group, logStreamNames=["a"], logStreamNamePrefix="a")
    assert code == "InvalidParameterException", code
    assert error_of(logs.filter_log_events, logGroupName=f"{group}/none")[0] == "ResourceNotFoundException"

    # Metric filters are stored and described; subscription filters answer empty.
    transformation = {"metricName": "Errors", "metricNamespace": "App", "metricValue": "1", "defaultValue": 0.0}
    logs.put_metric_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                           metricTransformations=[transformation])
    logs.put_metric_filter(logGroupName=group, filterName="slow", filterPattern="{ $.latency > 500 }",
                           metricTransformations=[{**transformation, "metricName": "Slow"}])
    described = logs.describe_metric_filters(logGroupName=group)["metricFilters"]
    assert [f["filterName"] for f in described] == ["errors", "slow"], described
    assert described[0]["metricTransformations"] == [transformation] and described[0]["logGroupName"] == group
    assert [f["filterName"] for f in logs.describe_metric_filters(metricName="Slow", metricNamespace="App")["metricFilters"]] == ["slow"]
    assert [f["filterName"] for f in logs.describe_metric_filters(logGroupName=group, filterNamePrefix="er")["metricFilters"]] == ["errors"]
    assert error_of(logs.describe_metric_filters, filterNamePrefix="er")[0] == "InvalidParameterException"
    assert error_of(logs.describe_metric_filters, metricName="Slow")[0] == "InvalidParameterException"
    code, _ = error_of(logs.put_metric_filter, logGroupName=group, filterName="bad", filterPattern='{ $.a = ',
                       metricTransformations=[transformation])
    assert code == "InvalidParameterException", code
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["metricFilterCount"] == 2
    logs.delete_metric_filter(logGroupName=group, filterName="slow")
    assert error_of(logs.delete_metric_filter, logGroupName=group, filterName="slow")[0] == "ResourceNotFoundException"
    assert logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"] == []
    assert error_of(logs.describe_subscription_filters, logGroupName=f"{group}/none")[0] == "ResourceNotFoundException"
    logs.delete_log_group(logGroupName=group)


def check_retention():
    group, stream = f"/berth/{RUN}/retention", "s"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    three_days_ago = now_ms() - 3 * DAY_MS
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": three_days_ago, "message": "old"}, {"timestamp": three_days_ago + 1, "message": "old too"}])
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now_ms(), "message": "new"}])
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["storedBytes"] == 13
    logs.put_retention_policy(logGroupName=group, retentionInDays=1)
    # Expired events are gone from every read at once...
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    assert [e["message"] for e in got] == ["new"], got
    assert [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]] == ["new"]
    # ...and deleted from the store soon after (storedBytes counts what is left).
    deadline = time.time() + 30
    while logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["storedBytes"] != 3:
        assert time.time() < deadline, "expired events were never deleted"
        time.sleep(0.2)
    # An event put from before the retention is rejected as expired.
    put = logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[
        {"timestamp": three_days_ago, "message": "expired"}, {"timestamp": now_ms(), "message": "fine"}])
    assert put["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 1}, put
    # Taking the policy away keeps what is left, and nothing comes back.
    logs.delete_retention_policy(logGroupName=group)
    got = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    assert [e["message"] for e in got] == ["new", "fine"], got
    logs.delete_log_group(logGroupName=group)


def check_not_built():
    code, message = error_of(logs.start_query, logGroupName="g", startTime=0, endTime=1, queryString="fields @message")
    assert code == "InvalidOperationException" and "StartQuery" in message, (code, message)


check_groups()
check_streams()
check_put_and_get()
check_filter()
check_retention()
check_not_built()
print("logs: ok")
