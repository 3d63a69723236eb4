"""Use berth from a Python test suite: boto3 with only its endpoint changed, real containers on
your Docker engine, and AWS's waiters and paginators.

    python3 -m unittest -v examples/python/test_web_service.py       # berth on 127.0.0.1:4566
    BERTH_URL=http://127.0.0.1:4567 python3 -m unittest -v examples/python/test_web_service.py

Needs boto3, a running berth, and busybox:latest on the Docker engine (berth never pulls).
"""
import os
import time
import unittest
import urllib.request
import uuid

import boto3

BERTH_URL = os.environ.get("BERTH_URL", "http://127.0.0.1:4566")
NETWORK = {"awsvpcConfiguration": {"subnets": ["subnet-local"]}}
# berth answers in milliseconds; poll it faster than AWS's defaults (6 s and 15 s).
FAST = {"Delay": 1, "MaxAttempts": 120}


def web(message):
    """A Fargate task definition: busybox httpd serving `message` on port 8080."""
    return dict(
        family="py-web",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{
            "name": "web",
            "image": "busybox:latest",
            "environment": [{"name": "MESSAGE", "value": message}],
            "command": ["sh", "-c", 'mkdir -p /www && echo "$MESSAGE" > /www/index.html && exec httpd -f -p 8080 -h /www'],
            "portMappings": [{"containerPort": 8080}],
        }],
    )


class WebService(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Any credentials work; the region is the one the resources live in.
        cls.ecs = boto3.client("ecs", endpoint_url=BERTH_URL, region_name="us-east-1",
                               aws_access_key_id="test", aws_secret_access_key="test")

    def setUp(self):
        # A cluster per test keeps tests apart on one berth.
        self.cluster = "py-" + uuid.uuid4().hex[:8]
        self.ecs.create_cluster(clusterName=self.cluster)

    def tearDown(self):
        ecs, cluster = self.ecs, self.cluster
        services = [s for page in ecs.get_paginator("list_services").paginate(cluster=cluster) for s in page["serviceArns"]]
        for service in services:
            ecs.delete_service(cluster=cluster, service=service, force=True)
        if services:
            ecs.get_waiter("services_inactive").wait(cluster=cluster, services=services, WaiterConfig=FAST)
        tasks = [t for page in ecs.get_paginator("list_tasks").paginate(cluster=cluster) for t in page["taskArns"]]
        for task in tasks:
            ecs.stop_task(cluster=cluster, task=task)
        if tasks:
            ecs.get_waiter("tasks_stopped").wait(cluster=cluster, tasks=tasks, WaiterConfig=FAST)
        ecs.delete_cluster(cluster=cluster)

    def page_of(self, task):
        """GET / of a task's web container, through the port berth published on 127.0.0.1."""
        described = self.ecs.describe_tasks(cluster=self.cluster, tasks=[task])["tasks"][0]
        port = described["containers"][0]["networkBindings"][0]["hostPort"]
        # RUNNING comes a moment before httpd listens: ask again for a few seconds.
        for attempt in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    return response.read().decode().strip()
            except OSError:
                if attempt == 49:
                    raise
                time.sleep(0.1)

    def test_a_task_serves_its_page_and_stops(self):
        self.ecs.register_task_definition(**web("hello from a task"))
        task = self.ecs.run_task(cluster=self.cluster, taskDefinition="py-web", launchType="FARGATE",
                                 networkConfiguration=NETWORK)["tasks"][0]["taskArn"]
        self.ecs.get_waiter("tasks_running").wait(cluster=self.cluster, tasks=[task], WaiterConfig=FAST)
        self.assertEqual(self.page_of(task), "hello from a task")

        self.ecs.stop_task(cluster=self.cluster, task=task, reason="test over")
        self.ecs.get_waiter("tasks_stopped").wait(cluster=self.cluster, tasks=[task], WaiterConfig=FAST)
        stopped = self.ecs.describe_tasks(cluster=self.cluster, tasks=[task])["tasks"][0]
        self.assertEqual(stopped["stopCode"], "UserInitiated")
        self.assertEqual(stopped["stoppedReason"], "test over")

    def test_a_service_rolls_to_a_new_revision(self):
        first = self.ecs.register_task_definition(**web("version 1"))["taskDefinition"]["taskDefinitionArn"]
        self.ecs.create_service(cluster=self.cluster, serviceName="web", taskDefinition=first, desiredCount=2,
                                launchType="FARGATE", networkConfiguration=NETWORK)
        self.ecs.get_waiter("services_stable").wait(cluster=self.cluster, services=["web"], WaiterConfig=FAST)

        second = self.ecs.register_task_definition(**web("version 2"))["taskDefinition"]["taskDefinitionArn"]
        self.ecs.update_service(cluster=self.cluster, service="web", taskDefinition=second)
        self.ecs.get_waiter("services_stable").wait(cluster=self.cluster, services=["web"], WaiterConfig=FAST)

        service = self.ecs.describe_services(cluster=self.cluster, services=["web"])["services"][0]
        self.assertEqual((service["runningCount"], service["taskDefinition"]), (2, second))
        running = [t for page in self.ecs.get_paginator("list_tasks").paginate(
            cluster=self.cluster, serviceName="web", desiredStatus="RUNNING") for t in page["taskArns"]]
        self.assertEqual(len(running), 2)
        for task in running:
            self.assertEqual(self.page_of(task), "version 2")

    def test_mistakes_are_aws_errors(self):
        with self.assertRaises(self.ecs.exceptions.ClusterNotFoundException):
            self.ecs.describe_services(cluster="no-such-cluster", services=["web"])
        with self.assertRaises(self.ecs.exceptions.ClientException) as caught:
            self.ecs.run_task(cluster=self.cluster, taskDefinition="py-web-missing", launchType="FARGATE",
                              networkConfiguration=NETWORK)
        self.assertIn("TaskDefinition not found", str(caught.exception))


if __name__ == "__main__":
    unittest.main()
