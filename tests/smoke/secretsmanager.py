"""Secrets Manager on berth, driven by boto3: every operation berth implements, their validation
errors, version stages (AWSCURRENT / AWSPREVIOUS), idempotent ClientRequestTokens, deletion
windows and restore, paging, tags, resource policies and GetRandomPassword.
Usage: secretsmanager.py <endpoint-url> <marker>. Every secret value holds <marker>, so that the
caller can check berth's log never shows one. Prints "secrets: ok" when every check holds."""

import base64
import json
import sys
import uuid

import boto3
import botocore.config
from botocore.exceptions import ClientError, ParamValidationError

URL, MARKER = sys.argv[1], sys.argv[2]
RUN = uuid.uuid4().hex[:8]
ACCOUNT = "000000000000"

sm = boto3.session.Session(
    aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
).client("secretsmanager", endpoint_url=URL, config=botocore.config.Config(retries={"max_attempts": 1}))


def error_of(call, **kwargs):
    try:
        call(**kwargs)
    except ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", "")
    raise AssertionError(f"{call.__name__} {kwargs} succeeded; an error was expected")


def value(n):
    return f"{MARKER}-{n}"


def check_create_and_read():
    name = f"berth/{RUN}/db"
    made = sm.create_secret(Name=name, SecretString=value(1), Description="The DB password",
                            Tags=[{"Key": "team", "Value": "payments"}])
    arn = made["ARN"]
    prefix = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:{name}-"
    assert arn.startswith(prefix) and len(arn) == len(prefix) + 6 and arn[-6:].isalnum(), arn
    assert made["Name"] == name and len(made["VersionId"]) == 36, made
    # By name, by ARN and by the ARN without its suffix.
    for secret_id in (name, arn, prefix[:-1]):
        got = sm.get_secret_value(SecretId=secret_id)
        assert got["SecretString"] == value(1) and got["VersionStages"] == ["AWSCURRENT"], got
        assert got["ARN"] == arn and got["VersionId"] == made["VersionId"], got
    described = sm.describe_secret(SecretId=name)
    assert described["Description"] == "The DB password" and described["Tags"] == [{"Key": "team", "Value": "payments"}]
    assert described["VersionIdsToStages"] == {made["VersionId"]: ["AWSCURRENT"]}, described
    assert "LastAccessedDate" in described and "CreatedDate" in described and "DeletedDate" not in described
    assert MARKER not in json.dumps(described, default=str), "DescribeSecret shows no value"

    # The same call again (same token, same value) is a retry; another token is a clash.
    token = str(uuid.uuid4())
    again_name = f"berth/{RUN}/retry"
    first = sm.create_secret(Name=again_name, SecretString=value(2), ClientRequestToken=token)
    retry = sm.create_secret(Name=again_name, SecretString=value(2), ClientRequestToken=token)
    assert retry["ARN"] == first["ARN"] and retry["VersionId"] == token, retry
    code, message = error_of(sm.create_secret, Name=again_name, SecretString=value(3))
    assert code == "ResourceExistsException" and again_name in message, (code, message)

    # A binary secret comes back as bytes; a secret without a value has no AWSCURRENT.
    blob = bytes(range(256))
    sm.create_secret(Name=f"berth/{RUN}/blob", SecretBinary=blob)
    got = sm.get_secret_value(SecretId=f"berth/{RUN}/blob")
    assert got["SecretBinary"] == blob and "SecretString" not in got, got
    empty = sm.create_secret(Name=f"berth/{RUN}/empty")
    assert "VersionId" not in empty, empty
    code, message = error_of(sm.get_secret_value, SecretId=f"berth/{RUN}/empty")
    assert code == "ResourceNotFoundException" and "AWSCURRENT" in message, (code, message)

    # Validation, in AWS's codes.
    code, _ = error_of(sm.create_secret, Name=f"berth/{RUN}/both", SecretString="a", SecretBinary=b"b")
    assert code == "InvalidParameterException", code
    assert error_of(sm.create_secret, Name="bad name!")[0] == "ValidationException"
    code, message = error_of(sm.get_secret_value, SecretId=f"berth/{RUN}/none")
    assert (code, message) == ("ResourceNotFoundException", "Secrets Manager can't find the specified secret."), message
    try:
        sm.get_secret_value(SecretId="")
        raise AssertionError("an empty SecretId was accepted")
    except (ClientError, ParamValidationError):
        pass


def check_versions():
    name = f"berth/{RUN}/rotating"
    v1 = sm.create_secret(Name=name, SecretString=value("v1"))["VersionId"]
    put = sm.put_secret_value(SecretId=name, SecretString=value("v2"))
    v2 = put["VersionId"]
    assert put["VersionStages"] == ["AWSCURRENT"], put
    assert sm.get_secret_value(SecretId=name)["SecretString"] == value("v2")
    previous = sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")
    assert previous["SecretString"] == value("v1") and previous["VersionId"] == v1, previous
    assert sm.get_secret_value(SecretId=name, VersionId=v1)["SecretString"] == value("v1")
    code, _ = error_of(sm.get_secret_value, SecretId=name, VersionId=v1, VersionStage="AWSCURRENT")
    assert code == "InvalidRequestException", code
    code, message = error_of(sm.get_secret_value, SecretId=name, VersionId=str(uuid.uuid4()))
    assert code == "ResourceNotFoundException" and "VersionId" in message, message

    # A third version: v1 loses AWSPREVIOUS and is deprecated (listed only with IncludeDeprecated).
    v3 = sm.update_secret(SecretId=name, SecretString=value("v3"), Description="rotated")["VersionId"]
    stages = sm.describe_secret(SecretId=name)["VersionIdsToStages"]
    assert stages == {v3: ["AWSCURRENT"], v2: ["AWSPREVIOUS"]}, stages
    listed = sm.list_secret_version_ids(SecretId=name)
    assert {v["VersionId"] for v in listed["Versions"]} == {v2, v3}, listed
    assert all(v["KmsKeyIds"] == ["DefaultEncryptionKey"] for v in listed["Versions"])
    every = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    assert {v["VersionId"] for v in every} == {v1, v2, v3}
    page = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True, MaxResults=2)
    rest = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True, NextToken=page["NextToken"])
    assert len(page["Versions"]) == 2 and len(rest["Versions"]) == 1 and "NextToken" not in rest

    # A PutSecretValue retry with the same token changes nothing; another value under it is refused.
    token = str(uuid.uuid4())
    sm.put_secret_value(SecretId=name, SecretString=value("v4"), ClientRequestToken=token, VersionStages=["blue"])
    sm.put_secret_value(SecretId=name, SecretString=value("v4"), ClientRequestToken=token, VersionStages=["blue"])
    code, message = error_of(sm.put_secret_value, SecretId=name, SecretString=value("v5"), ClientRequestToken=token)
    assert code == "ResourceExistsException" and "existing version" in message, message
    assert sm.get_secret_value(SecretId=name, VersionStage="blue")["SecretString"] == value("v4")
    assert sm.get_secret_value(SecretId=name)["SecretString"] == value("v3"), "a custom label leaves AWSCURRENT"
    assert error_of(sm.put_secret_value, SecretId=name)[0] == "InvalidParameterException"

    # Rolling back with UpdateSecretVersionStage: AWSCURRENT to v2, v3 becomes AWSPREVIOUS.
    code, message = error_of(sm.update_secret_version_stage, SecretId=name, VersionStage="AWSCURRENT", MoveToVersionId=v2)
    assert code == "InvalidParameterException" and v3 in message, message
    sm.update_secret_version_stage(SecretId=name, VersionStage="AWSCURRENT", RemoveFromVersionId=v3, MoveToVersionId=v2)
    assert sm.get_secret_value(SecretId=name)["VersionId"] == v2
    assert sm.get_secret_value(SecretId=name, VersionStage="AWSPREVIOUS")["VersionId"] == v3
    sm.update_secret_version_stage(SecretId=name, VersionStage="blue", RemoveFromVersionId=token)
    assert error_of(sm.get_secret_value, SecretId=name, VersionStage="blue")[0] == "ResourceNotFoundException"
    code, _ = error_of(sm.update_secret_version_stage, SecretId=name, VersionStage="x", MoveToVersionId=str(uuid.uuid4()))
    assert code == "InvalidParameterException", code
    assert sm.describe_secret(SecretId=name)["Description"] == "rotated"


def check_list_and_batch():
    names = [f"berth/{RUN}/list/{i}" for i in range(5)]
    for i, name in enumerate(names):
        sm.create_secret(Name=name, SecretString=value(f"list{i}"), Description=f"List Entry {i}",
                         Tags=[{"Key": "env", "Value": "prod" if i % 2 == 0 else "dev"}])

    def listed(**kw):
        out, token = [], None
        while True:
            page = sm.list_secrets(**kw, **({"NextToken": token} if token else {}))
            out += [s["Name"] for s in page["SecretList"]]
            token = page.get("NextToken")
            if not token:
                return out

    prefix = [{"Key": "name", "Values": [f"berth/{RUN}/list/"]}]
    assert listed(Filters=prefix) == names
    assert listed(Filters=prefix, MaxResults=2) == names, "paging walks every secret once"
    assert listed(Filters=prefix, SortOrder="desc") == names[::-1]
    assert listed(Filters=prefix + [{"Key": "tag-value", "Values": ["prod"]}]) == names[0::2]
    assert listed(Filters=prefix + [{"Key": "tag-value", "Values": ["!prod"]}]) == names[1::2]
    assert listed(Filters=prefix + [{"Key": "description", "Values": ["list entry 3"]}]) == [names[3]]
    assert listed(Filters=[{"Key": "all", "Values": [f"{RUN} entry"]}]) == names
    entry = sm.list_secrets(Filters=[{"Key": "name", "Values": [names[0]]}])["SecretList"][0]
    assert list(entry["SecretVersionsToStages"].values()) == [["AWSCURRENT"]], entry
    assert MARKER not in json.dumps(entry, default=str)
    assert error_of(sm.list_secrets, NextToken="not-a-token")[0] == "InvalidNextTokenException"

    batch = sm.batch_get_secret_value(SecretIdList=[names[0], names[1], f"berth/{RUN}/missing"])
    assert [v["SecretString"] for v in batch["SecretValues"]] == [value("list0"), value("list1")], batch
    assert [(e["SecretId"], e["ErrorCode"]) for e in batch["Errors"]] == [(f"berth/{RUN}/missing", "ResourceNotFoundException")]
    by_filter = sm.batch_get_secret_value(Filters=prefix, MaxResults=3)
    rest = sm.batch_get_secret_value(Filters=prefix, MaxResults=3, NextToken=by_filter["NextToken"])
    got = [v["Name"] for v in by_filter["SecretValues"] + rest["SecretValues"]]
    assert got == names, got
    assert error_of(sm.batch_get_secret_value, SecretIdList=[names[0]], Filters=prefix)[0] == "InvalidParameterException"
    assert error_of(sm.batch_get_secret_value)[0] == "InvalidParameterException"


def check_delete_and_restore():
    name = f"berth/{RUN}/doomed"
    arn = sm.create_secret(Name=name, SecretString=value("doomed"))["ARN"]
    code, _ = error_of(sm.delete_secret, SecretId=name, RecoveryWindowInDays=6)
    assert code == "InvalidParameterException", code
    code, _ = error_of(sm.delete_secret, SecretId=name, RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    assert code == "InvalidParameterException", code
    gone = sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    described = sm.describe_secret(SecretId=name)
    window = gone["DeletionDate"] - described["CreatedDate"]
    assert gone["ARN"] == arn and abs(window.total_seconds() - 7 * 86400) < 60, (gone, described)
    assert described["DeletedDate"] == gone["DeletionDate"], described
    # Scheduled for deletion: reads and changes are refused, ListSecrets hides it unless asked.
    code, message = error_of(sm.get_secret_value, SecretId=name)
    assert code == "InvalidRequestException" and "marked for deletion" in message, message
    assert error_of(sm.put_secret_value, SecretId=name, SecretString="x")[0] == "InvalidRequestException"
    assert error_of(sm.delete_secret, SecretId=name)[0] == "InvalidRequestException"
    code, _ = error_of(sm.create_secret, Name=name, SecretString="x")
    assert code == "InvalidRequestException", code
    plain = [s["Name"] for s in sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}])["SecretList"]]
    planned = sm.list_secrets(Filters=[{"Key": "name", "Values": [name]}], IncludePlannedDeletion=True)["SecretList"]
    assert plain == [] and [s["Name"] for s in planned] == [name], (plain, planned)
    # Restored, it reads again.
    assert sm.restore_secret(SecretId=name)["ARN"] == arn
    assert sm.get_secret_value(SecretId=name)["SecretString"] == value("doomed")
    assert "DeletedDate" not in sm.describe_secret(SecretId=name)
    # Forced, it is gone at once and its name is free.
    sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    assert error_of(sm.describe_secret, SecretId=name)[0] == "ResourceNotFoundException"
    assert sm.create_secret(Name=name, SecretString=value("again"))["ARN"] != arn
    sm.delete_secret(SecretId=f"berth/{RUN}/never-was", ForceDeleteWithoutRecovery=True)  # AWS answers it as done
    assert error_of(sm.restore_secret, SecretId=f"berth/{RUN}/never-was")[0] == "ResourceNotFoundException"


def check_tags_policies_and_the_rest():
    name = f"berth/{RUN}/tagged"
    sm.create_secret(Name=name, SecretString=value("tagged"), Tags=[{"Key": "a", "Value": "1"}])
    sm.tag_resource(SecretId=name, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}]
    sm.untag_resource(SecretId=name, TagKeys=["a", "nope"])
    assert sm.describe_secret(SecretId=name)["Tags"] == [{"Key": "b", "Value": "2"}]
    too_many = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    assert error_of(sm.tag_resource, SecretId=name, Tags=too_many)[0] == "ValidationException"
    assert error_of(sm.tag_resource, SecretId=f"berth/{RUN}/none", Tags=[{"Key": "a", "Value": "b"}])[0] == "ResourceNotFoundException"

    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                                              "Action": "secretsmanager:GetSecretValue", "Resource": "*"}]})
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)
    sm.put_resource_policy(SecretId=name, ResourcePolicy=policy)
    assert json.loads(sm.get_resource_policy(SecretId=name)["ResourcePolicy"]) == json.loads(policy)
    assert sm.validate_resource_policy(SecretId=name, ResourcePolicy=policy)["PolicyValidationPassed"] is True
    code, _ = error_of(sm.put_resource_policy, SecretId=name, ResourcePolicy="{not json")
    assert code == "MalformedPolicyDocumentException", code
    sm.delete_resource_policy(SecretId=name)
    assert "ResourcePolicy" not in sm.get_resource_policy(SecretId=name)

    # Rotation needs a Lambda, which berth does not run.
    code, message = error_of(sm.rotate_secret, SecretId=name)
    assert code == "InvalidRequestException" and "Lambda" in message, message
    lambda_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:rotate"
    code, message = error_of(sm.rotate_secret, SecretId=name, RotationLambdaARN=lambda_arn)
    assert code == "ResourceNotFoundException" and lambda_arn in message, message
    assert error_of(sm.cancel_rotate_secret, SecretId=name)[0] == "InvalidRequestException"
    code, message = error_of(sm.replicate_secret_to_regions, SecretId=name, AddReplicaRegions=[{"Region": "eu-west-1"}])
    assert code == "InvalidRequestException" and "ReplicateSecretToRegions" in message, message

    password = sm.get_random_password()["RandomPassword"]
    assert len(password) == 32 and any(c.isdigit() for c in password) and any(c.isupper() for c in password)
    short = sm.get_random_password(PasswordLength=12, ExcludePunctuation=True, ExcludeCharacters="abc")["RandomPassword"]
    assert len(short) == 12 and short.isalnum() and not set("abc") & set(short), short
    spaced = sm.get_random_password(PasswordLength=50, IncludeSpace=True, RequireEachIncludedType=True)["RandomPassword"]
    assert " " in spaced, spaced
    assert error_of(sm.get_random_password, PasswordLength=3)[0] == "InvalidParameterException"
    assert error_of(sm.get_random_password, PasswordLength=4097)[0] == "ValidationException"


check_create_and_read()
check_versions()
check_list_and_batch()
check_delete_and_restore()
check_tags_policies_and_the_rest()
print("secrets: ok")
