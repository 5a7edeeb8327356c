"""A policy written by `json_document` is the text `pulumi.Output.json_dumps` writes, with the same dependencies."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.json_document import json_document
from infra.synth import CloudContext, synthesize

CLOUD = CloudContext(account="111122223333", region="eu-west-1")


def _policies(document: Any) -> dict[str, Any]:
    """Register one IAM policy per writer, both from `document(key)` (a key's Outputs inside)."""

    def program() -> None:
        key = aws.kms.Key("key", description="k")
        for writer, dumps in (("mine", json_document), ("sdk", pulumi.Output.json_dumps)):
            aws.iam.Policy(writer, name=writer, policy=dumps(document(key)))

    graph = synthesize(program, project="p", stack="s", cloud=CLOUD)
    return {r.name: r for r in graph.resources if r.name in ("mine", "sdk")}


def test_outputs_among_plain_values_give_the_sdks_text_and_dependencies() -> None:
    def document(key: aws.kms.Key) -> dict[str, Any]:
        return {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "A", "Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": [key.arn, "x"]},
                {"Sid": "B", "Effect": "Deny", "Action": "s3:*", "Condition": {"ArnLike": {"k": key.key_id}}},
                ("tuple", 1, None, True, 2.5),
            ],
        }

    policies = _policies(document)
    mine, sdk = policies["mine"], policies["sdk"]
    assert mine.inputs["policy"] == sdk.inputs["policy"]
    assert "arn:aws:kms:eu-west-1:111122223333:key/" in mine.inputs["policy"]
    assert mine.dependencies == sdk.dependencies
    assert any(d.endswith("::key") for d in mine.dependencies)


def test_a_document_without_outputs_is_plain_text() -> None:
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject"}]}
    text = json_document(document)
    assert isinstance(text, str)
    policies = _policies(lambda _key: document)
    assert policies["mine"].inputs["policy"] == policies["sdk"].inputs["policy"] == text
