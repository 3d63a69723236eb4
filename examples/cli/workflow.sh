#!/usr/bin/env bash
# The everyday ECS workflow with aws-cli, against berth: a cluster, a task definition from JSON,
# a one-off task, a service that rolls to a new revision, queries, and clean-up. Every task is
# real containers on your Docker engine.
#
#   bash examples/cli/workflow.sh                          # every call gets --endpoint-url http://127.0.0.1:4566
#   bash examples/cli/workflow.sh http://127.0.0.1:4567    # ... or this endpoint
#   AWS_ENDPOINT_URL_ECS=http://127.0.0.1:4566 bash examples/cli/workflow.sh   # no flag: aws-cli reads the variable
#
# It needs berth running, aws-cli, curl, and the image busybox:latest on the engine (berth never
# pulls: `docker pull busybox:latest` once). It stops at the first step that fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

# Any credentials and region work: berth reads the region from the request's signature.
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_DEFAULT_REGION=${AWS_DEFAULT_REGION:-us-east-1} AWS_PAGER=""
if [ -n "${1:-}" ] || [ -z "${AWS_ENDPOINT_URL_ECS:-}" ]; then
  endpoint=(--endpoint-url "${1:-http://127.0.0.1:4566}")
else
  endpoint=()
fi
ecs() { aws ${endpoint[@]+"${endpoint[@]}"} ecs "$@"; }   # (an empty array is "unbound" to bash 3)
step() { printf '\n== %s\n' "$*"; }
expect() { # expect WHAT ACTUAL WANTED
  [ "$2" = "$3" ] || { echo "unexpected $1: '$2' (expected '$3')" >&2; exit 1; }
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

step "a cluster"
ecs create-cluster --cluster-name demo --query 'cluster.[clusterName,status]' --output text

step "a task definition from JSON (revision 1)"
ecs register-task-definition --cli-input-json "file://$here/web.json" \
  --query 'taskDefinition.taskDefinitionArn' --output text

step "a one-off task: run it, wait until it runs, ask it for its page, stop it"
network='awsvpcConfiguration={subnets=[subnet-local],assignPublicIp=DISABLED}'
task=$(ecs run-task --cluster demo --task-definition web --launch-type FARGATE \
  --network-configuration "$network" --query 'tasks[0].taskArn' --output text)
echo "$task"
ecs wait tasks-running --cluster demo --tasks "$task"
# Fargate-like tasks publish each containerPort on 127.0.0.1 with a free host port.
port=$(ecs describe-tasks --cluster demo --tasks "$task" \
  --query 'tasks[0].containers[0].networkBindings[0].hostPort' --output text)
# RUNNING comes a moment before httpd listens, so curl may need to ask again.
page=$(curl -fsS --retry 5 --retry-all-errors --retry-delay 1 "http://127.0.0.1:$port/")
echo "GET http://127.0.0.1:$port/ -> $page"
expect page "$page" "hello from berth, version 1"
ecs stop-task --cluster demo --task "$task" --reason "done with it" --query 'task.desiredStatus' --output text
ecs wait tasks-stopped --cluster demo --tasks "$task"
expect "stop code" "$(ecs describe-tasks --cluster demo --tasks "$task" --query 'tasks[0].stopCode' --output text)" UserInitiated

step "a service of two, stable"
ecs create-service --cluster demo --service-name web --task-definition web:1 --desired-count 2 \
  --launch-type FARGATE --network-configuration "$network" \
  --deployment-configuration 'minimumHealthyPercent=100,maximumPercent=200' \
  --query 'service.[serviceName,status,desiredCount]' --output text
ecs wait services-stable --cluster demo --services web
expect "running tasks" "$(ecs describe-services --cluster demo --services web --query 'services[0].runningCount' --output text)" 2

step "revision 2, rolled out by update-service"
sed 's/version 1/version 2/' "$here/web.json" >"$work/web-v2.json"
ecs register-task-definition --cli-input-json "file://$work/web-v2.json" --query 'taskDefinition.revision' --output text
ecs update-service --cluster demo --service web --task-definition web \
  --query 'service.deployments[].[status,taskDefinition,rolloutState]' --output text
ecs wait services-stable --cluster demo --services web
ecs describe-services --cluster demo --services web \
  --query 'services[0].{running:runningCount,taskDefinition:taskDefinition,deployments:length(deployments)}'
expect "task definition" "$(ecs describe-services --cluster demo --services web --query 'services[0].taskDefinition' --output text)" \
  "$(ecs describe-task-definition --task-definition web:2 --query 'taskDefinition.taskDefinitionArn' --output text)"

step "what runs now: list, describe, query"
listed=$(ecs list-tasks --cluster demo --service-name web --desired-status RUNNING --query 'taskArns' --output text)
read -ra tasks <<<"$listed"
expect "tasks listed" "${#tasks[@]}" 2
ecs describe-tasks --cluster demo --tasks "${tasks[@]}" \
  --query 'tasks[].[taskDefinitionArn,lastStatus,healthStatus,containers[0].networkBindings[0].hostPort]' --output table
ports=$(ecs describe-tasks --cluster demo --tasks "${tasks[@]}" \
  --query 'tasks[].containers[0].networkBindings[0].hostPort' --output text)
for port in $ports; do
  expect page "$(curl -fsS --retry 5 --retry-all-errors --retry-delay 1 "http://127.0.0.1:$port/")" "hello from berth, version 2"
done
ecs list-task-definitions --family-prefix web --query 'taskDefinitionArns' --output text
ecs describe-services --cluster demo --services web --query 'services[0].events[0:4].message'

step "clean up: the service, the task definitions, the cluster"
ecs delete-service --cluster demo --service web --force --query 'service.status' --output text
ecs wait services-inactive --cluster demo --services web
for revision in 1 2; do
  ecs deregister-task-definition --task-definition "web:$revision" --query 'taskDefinition.status' --output text
done
ecs delete-task-definitions --task-definitions web:1 web:2 --query 'taskDefinitions[].status' --output text
ecs delete-cluster --cluster demo --query 'cluster.status' --output text
echo
echo "workflow: ok"
