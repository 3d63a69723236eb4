#!/usr/bin/env bash
# aws-cli against berth, once with --endpoint-url and once with AWS_ENDPOINT_URL_ECS alone.
# Usage: bash tests/smoke/cli_smoke.sh http://127.0.0.1:PORT   (exits non-zero on failure)
set -euo pipefail
url=$1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

arn=$(aws --endpoint-url "$url" ecs create-cluster --cluster-name cli --query cluster.clusterArn --output text)
[ "$arn" = "arn:aws:ecs:us-east-1:000000000000:cluster/cli" ] || { echo "unexpected ARN $arn"; exit 1; }

cat > "$tmp/td.json" <<'JSON'
{
  "family": "cli-web",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "256",
  "memory": "512",
  "containerDefinitions": [
    {"name": "web", "image": "busybox", "portMappings": [{"containerPort": 8080}],
     "healthCheck": {"command": ["CMD-SHELL", "true"]}}
  ]
}
JSON
rev=$(aws --endpoint-url "$url" ecs register-task-definition --cli-input-json "file://$tmp/td.json" \
  --query taskDefinition.revision --output text)
[ "$rev" = "1" ] || { echo "unexpected revision $rev"; exit 1; }

# AWS_ENDPOINT_URL_ECS alone points the CLI at berth.
host_port=$(AWS_ENDPOINT_URL_ECS="$url" aws ecs describe-task-definition --task-definition cli-web \
  --query 'taskDefinition.containerDefinitions[0].portMappings[0].hostPort' --output text)
[ "$host_port" = "8080" ] || { echo "unexpected hostPort $host_port"; exit 1; }
interval=$(AWS_ENDPOINT_URL_ECS="$url" aws ecs describe-task-definition --task-definition cli-web:1 \
  --query 'taskDefinition.containerDefinitions[0].healthCheck.interval' --output text)
[ "$interval" = "30" ] || { echo "unexpected health check interval $interval"; exit 1; }

count=$(AWS_ENDPOINT_URL_ECS="$url" aws ecs list-clusters --query 'length(clusterArns)' --output text)
[ "$count" = "1" ] || { echo "unexpected cluster count $count"; exit 1; }

# A modelled error comes back as the CLI shows AWS's.
if out=$(aws --endpoint-url "$url" ecs delete-cluster --cluster missing 2>&1); then
  echo "delete of a missing cluster succeeded"; exit 1
fi
grep -q "ClusterNotFoundException" <<<"$out" || { echo "unexpected error: $out"; exit 1; }

aws --endpoint-url "$url" ecs deregister-task-definition --task-definition cli-web:1 >/dev/null
status=$(aws --endpoint-url "$url" ecs delete-task-definitions --task-definitions cli-web:1 \
  --query 'taskDefinitions[0].status' --output text)
[ "$status" = "DELETE_IN_PROGRESS" ] || { echo "unexpected status $status"; exit 1; }
aws --endpoint-url "$url" ecs delete-cluster --cluster cli >/dev/null
echo "aws-cli smoke: ok"
