#!/usr/bin/env bash
# aws-cli v1 against berth's CloudWatch Logs: a group with retention and tags, a stream, events
# put and read back forward and filtered, paging by the CLI's own paginator, and errors.
# Usage: bash tests/smoke/logs_cli.sh http://127.0.0.1:PORT   (prints "logs-cli: ok")
set -euo pipefail
url=$1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
logs() { aws --endpoint-url "$url" logs "$@"; }
fail() { echo "logs-cli: $*"; exit 1; }

group=/berth/cli/$RANDOM
logs create-log-group --log-group-name "$group" --tags team=berth
logs put-retention-policy --log-group-name "$group" --retention-in-days 30
[ "$(logs describe-log-groups --log-group-name-prefix "$group" --query 'logGroups[0].retentionInDays' --output text)" = 30 ] \
  || fail "retention not set"
[ "$(logs list-tags-log-group --log-group-name "$group" --query tags.team --output text)" = berth ] || fail "tags"
logs create-log-stream --log-group-name "$group" --log-stream-name web/1

now=$(($(date +%s) * 1000))
events="[{\"timestamp\": $((now - 3)), \"message\": \"GET / 200\"}, {\"timestamp\": $((now - 2)), \"message\": \"ERROR boom\"}, {\"timestamp\": $((now - 1)), \"message\": \"{\\\"level\\\": \\\"warn\\\"}\"}]"
logs put-log-events --log-group-name "$group" --log-stream-name web/1 --log-events "$events" >/dev/null
got=$(logs get-log-events --log-group-name "$group" --log-stream-name web/1 --start-from-head \
  --query 'events[].message' --output text)
[ "$got" = "$(printf 'GET / 200\tERROR boom\t{"level": "warn"}')" ] || fail "get-log-events gave: $got"
[ "$(logs filter-log-events --log-group-name "$group" --filter-pattern ERROR --query 'events[0].message' --output text)" = "ERROR boom" ] \
  || fail "term filter"
[ "$(logs filter-log-events --log-group-name "$group" --filter-pattern '{ $.level = "warn" }' --query 'length(events)' --output text)" = 1 ] \
  || fail "JSON filter"
# The CLI pages FilterLogEvents itself: one event per page, every event once.
[ "$(logs filter-log-events --log-group-name "$group" --page-size 1 --query 'length(events)' --output json)" = 3 ] \
  || fail "paged filter"
[ "$(logs describe-log-streams --log-group-name "$group" --query 'logStreams[0].lastEventTimestamp' --output text)" = $((now - 1)) ] \
  || fail "lastEventTimestamp"

err=$(logs put-retention-policy --log-group-name "$group" --retention-in-days 2 2>&1) && fail "retention 2 accepted"
grep -q InvalidParameterException <<<"$err" || fail "retention 2: $err"
err=$(logs get-log-events --log-group-name "$group" --log-stream-name none 2>&1) && fail "missing stream read"
grep -q ResourceNotFoundException <<<"$err" || fail "missing stream: $err"

logs delete-log-group --log-group-name "$group"
err=$(logs describe-log-streams --log-group-name "$group" 2>&1) && fail "deleted group still there"
grep -q ResourceNotFoundException <<<"$err" || fail "deleted group: $err"
echo "logs-cli: ok"
