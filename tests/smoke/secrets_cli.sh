#!/usr/bin/env bash
# aws-cli v1 against berth's Secrets Manager: a secret created, read, given a new value (the old
# one AWSPREVIOUS), listed by the CLI's own paginator, deleted with a recovery window, restored
# and force-deleted, and AWS's errors for a missing secret.
# Usage: bash tests/smoke/secrets_cli.sh http://127.0.0.1:PORT   (prints "secrets-cli: ok")
set -euo pipefail
url=$1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
sm() { aws --endpoint-url "$url" secretsmanager "$@"; }
fail() { echo "secrets-cli: $*"; exit 1; }

name=berth/cli/$RANDOM
arn=$(sm create-secret --name "$name" --secret-string '{"user":"app","password":"one"}' --query ARN --output text)
case $arn in arn:aws:secretsmanager:us-east-1:000000000000:secret:$name-??????) ;; *) fail "ARN $arn" ;; esac
[ "$(sm get-secret-value --secret-id "$name" --query SecretString --output text)" = '{"user":"app","password":"one"}' ] \
  || fail "get-secret-value"
sm put-secret-value --secret-id "$arn" --secret-string two >/dev/null
[ "$(sm get-secret-value --secret-id "$name" --query SecretString --output text)" = two ] || fail "new value"
[ "$(sm get-secret-value --secret-id "$name" --version-stage AWSPREVIOUS --query SecretString --output text)" = '{"user":"app","password":"one"}' ] \
  || fail "AWSPREVIOUS"
for i in 1 2 3; do sm create-secret --name "$name-list/$i" --secret-string "v$i" >/dev/null; done
# The CLI pages ListSecrets itself: one secret per page, every one once.
[ "$(sm list-secrets --filters Key=name,Values="$name-list/" --page-size 1 --query 'length(SecretList)' --output json)" = 3 ] \
  || fail "list-secrets paging"
sm delete-secret --secret-id "$name" --recovery-window-in-days 7 >/dev/null
err=$(sm get-secret-value --secret-id "$name" 2>&1 >/dev/null || true)
case $err in *InvalidRequestException*"marked for deletion"*) ;; *) fail "read of a deleted secret: $err" ;; esac
sm restore-secret --secret-id "$name" >/dev/null
[ "$(sm get-secret-value --secret-id "$name" --query SecretString --output text)" = two ] || fail "restore"
sm delete-secret --secret-id "$name" --force-delete-without-recovery >/dev/null
err=$(sm describe-secret --secret-id "$name" 2>&1 >/dev/null || true)
case $err in *ResourceNotFoundException*"can't find the specified secret"*) ;; *) fail "forced delete: $err" ;; esac
echo "secrets-cli: ok"
