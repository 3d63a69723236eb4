#!/usr/bin/env bash
# `aws ecs wait services-stable` against berth: it returns for a service that is steady and keeps
# waiting for one that cannot be.
# Usage: bash tests/smoke/services_wait.sh http://127.0.0.1:PORT   (exits non-zero on failure)
set -euo pipefail
url=$1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
ecs() { aws --endpoint-url "$url" ecs "$@"; }
net='awsvpcConfiguration={subnets=[subnet-berth]}'

ecs create-cluster --cluster-name waits >/dev/null
ecs register-task-definition --family wait-web --requires-compatibilities FARGATE --network-mode awsvpc \
  --cpu 256 --memory 512 \
  --container-definitions '[{"name":"main","image":"berth-test/busybox:latest","command":["sh","-c","trap \"exit 0\" TERM; sleep 600 & wait"]}]' >/dev/null
ecs register-task-definition --family wait-broken --requires-compatibilities FARGATE --network-mode awsvpc \
  --cpu 256 --memory 512 --container-definitions '[{"name":"main","image":"berth-test/not-here:1"}]' >/dev/null
ecs create-service --cluster waits --service-name steady --task-definition wait-web --desired-count 1 \
  --launch-type FARGATE --network-configuration "$net" >/dev/null
ecs create-service --cluster waits --service-name broken --task-definition wait-broken --desired-count 1 \
  --launch-type FARGATE --network-configuration "$net" >/dev/null

# The waiter polls every 15 s, 40 times: a steady service ends it on the first poll that sees it.
ecs wait services-stable --cluster waits --services steady
running=$(ecs describe-services --cluster waits --services steady --query 'services[0].runningCount' --output text)
[ "$running" = "1" ] || { echo "services-stable returned with runningCount $running"; exit 1; }

# A service whose tasks cannot start is never stable: the waiter is still polling when cut off.
set +e
timeout 20 aws --endpoint-url "$url" ecs wait services-stable --cluster waits --services broken
status=$?
set -e
[ "$status" = "124" ] || { echo "services-stable ended ($status) for a service that cannot be stable"; exit 1; }

# Clean up: the tasks stop and their containers go before berth does.
task=$(ecs list-tasks --cluster waits --service-name steady --query 'taskArns[0]' --output text)
ecs delete-service --cluster waits --service steady --force >/dev/null
ecs delete-service --cluster waits --service broken --force >/dev/null
ecs wait tasks-stopped --cluster waits --tasks "$task"
echo "smoke: ok"
