"""boto3 against berth: the control-plane lifecycle, a service and a task with real containers,
with paginators, waiters and modelled errors.

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

polled = ecs.discover_poll_endpoint()
assert polled["endpoint"] == "https://ecs-a-1.us-east-1.amazonaws.com/", polled

try:
    ecs.describe_express_gateway_service(serviceArn="arn:aws:ecs:us-east-1:000000000000:service/default/x")
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

# A service and a task with real containers, through boto3's waiters and paginators.
ecs.register_task_definition(
    family="boto-svc",
    requiresCompatibilities=["FARGATE"],
    networkMode="awsvpc",
    cpu="256",
    memory="512",
    containerDefinitions=[{
        "name": "main",
        "image": "berth-test/busybox:latest",
        "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 600 & wait"],
    }],
)
network = {"awsvpcConfiguration": {"subnets": ["subnet-boto"]}}
fast = {"Delay": 1, "MaxAttempts": 90}
ecs.create_service(cluster="boto", serviceName="svc", taskDefinition="boto-svc", desiredCount=2,
                   launchType="FARGATE", networkConfiguration=network)
ecs.get_waiter("services_stable").wait(cluster="boto", services=["svc"], WaiterConfig=fast)
service = ecs.describe_services(cluster="boto", services=["svc"])["services"][0]
assert service["runningCount"] == 2 and len(service["deployments"]) == 1, service
listed = [a for page in ecs.get_paginator("list_services").paginate(cluster="boto") for a in page["serviceArns"]]
assert listed == ["arn:aws:ecs:us-east-1:000000000000:service/boto/svc"], listed
service_tasks = [a for page in ecs.get_paginator("list_tasks").paginate(cluster="boto", serviceName="svc") for a in page["taskArns"]]
assert len(service_tasks) == 2, service_tasks

task = ecs.run_task(cluster="boto", taskDefinition="boto-svc", launchType="FARGATE",
                    networkConfiguration=network)["tasks"][0]["taskArn"]
ecs.get_waiter("tasks_running").wait(cluster="boto", tasks=[task], WaiterConfig=fast)
ecs.stop_task(cluster="boto", task=task)
ecs.get_waiter("tasks_stopped").wait(cluster="boto", tasks=[task], WaiterConfig=fast)

ecs.update_service(cluster="boto", service="svc", desiredCount=0)
ecs.delete_service(cluster="boto", service="svc")
ecs.get_waiter("services_inactive").wait(cluster="boto", services=["svc"], WaiterConfig=fast)
ecs.get_waiter("tasks_stopped").wait(cluster="boto", tasks=service_tasks, WaiterConfig=fast)

deleted = ecs.delete_cluster(cluster="boto")["cluster"]
assert deleted["status"] == "INACTIVE"
assert ecs.list_clusters()["clusterArns"] == []
print("boto3 smoke: ok")
