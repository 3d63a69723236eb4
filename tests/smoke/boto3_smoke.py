"""boto3 against berth: the control-plane lifecycle, with paginators and modelled errors.

Usage: python3 tests/smoke/boto3_smoke.py http://127.0.0.1:PORT   (exits non-zero on failure)
"""
import sys

import boto3
import botocore.exceptions

url = sys.argv[1]
ecs = boto3.client(
    "ecs",
    endpoint_url=url,
    region_name="us-east-1",
    aws_access_key_id="test",
    aws_secret_access_key="test",
)

cluster = ecs.create_cluster(clusterName="boto", tags=[{"key": "via", "value": "boto3"}])["cluster"]
assert cluster["clusterArn"] == "arn:aws:ecs:us-east-1:000000000000:cluster/boto", cluster
assert cluster["status"] == "ACTIVE"

for i in range(12):
    ecs.register_task_definition(
        family="boto-web",
        containerDefinitions=[{"name": "web", "image": "busybox", "memory": 32, "environment": [{"name": "I", "value": str(i)}]}],
    )
td = ecs.describe_task_definition(taskDefinition="boto-web", include=["TAGS"])["taskDefinition"]
assert td["revision"] == 12, td
assert td["containerDefinitions"][0]["environment"] == [{"name": "I", "value": "11"}]
assert hasattr(td["registeredAt"], "year"), "registeredAt parses as a datetime"

arns = [a for page in ecs.get_paginator("list_task_definitions").paginate(PaginationConfig={"PageSize": 5}) for a in page["taskDefinitionArns"]]
assert len(arns) == 12 and len(set(arns)) == 12, arns
families = [f for page in ecs.get_paginator("list_task_definition_families").paginate() for f in page["families"]]
assert families == ["boto-web"], families

try:
    ecs.describe_task_definition(taskDefinition="missing")
    raise AssertionError("expected ClientException")
except ecs.exceptions.ClientException as e:
    assert e.response["Error"]["Message"] == "Unable to describe task definition."

try:
    ecs.delete_cluster(cluster="nope")
    raise AssertionError("expected ClusterNotFoundException")
except ecs.exceptions.ClusterNotFoundException:
    pass

try:
    ecs.get_task_protection(cluster="default")
    raise AssertionError("expected an error for an operation berth does not implement")
except botocore.exceptions.ClientError as e:
    assert "not implemented by berth" in e.response["Error"]["Message"], e.response

tags = ecs.list_tags_for_resource(resourceArn=cluster["clusterArn"])["tags"]
assert tags == [{"key": "via", "value": "boto3"}], tags
ecs.tag_resource(resourceArn=cluster["clusterArn"], tags=[{"key": "more", "value": "x"}])
ecs.untag_resource(resourceArn=cluster["clusterArn"], tagKeys=["via"])
assert ecs.list_tags_for_resource(resourceArn=cluster["clusterArn"])["tags"] == [{"key": "more", "value": "x"}]

settings = ecs.list_account_settings(effectiveSettings=True)["settings"]
assert {s["name"] for s in settings} >= {"containerInsights", "taskLongArnFormat"}, settings

deleted = ecs.delete_cluster(cluster="boto")["cluster"]
assert deleted["status"] == "INACTIVE"
assert ecs.list_clusters()["clusterArns"] == []
print("boto3 smoke: ok")
