"""SNS topic rules: messages encrypted with a customer-managed key, and no topic open to everyone."""

from __future__ import annotations

from collections.abc import Iterable

from infra.aws import types
from infra.aws.guardrails.documents import public_statements
from infra.model.graph import ResourceGraph
from infra.rule import Finding, Guardrail, Severity, label

SNS_TOPIC = types.SNS_TOPIC.token
SNS_TOPIC_POLICY = types.SNS_TOPIC_POLICY.token
# AWS-managed SNS key: encrypts, but any principal of the account that may publish can use it.
SNS_MANAGED_KEY = "alias/aws/sns"


def check_topic_encryption(graph: ResourceGraph) -> Iterable[Finding]:
    """Every SNS topic encrypts its messages with a customer-managed KMS key (the product's)."""
    for topic in graph.of_type(SNS_TOPIC):
        key = topic.inputs.get("kmsMasterKeyId")
        if not key:
            yield Finding(
                topic.urn, False, f"{label(topic)} sets no kmsMasterKeyId, so messages rest unencrypted"
            )
        elif str(key).endswith(SNS_MANAGED_KEY):
            yield Finding(topic.urn, False, f"{label(topic)} uses the AWS-managed key {SNS_MANAGED_KEY}")
        else:
            yield Finding(topic.urn, True, f"{label(topic)} encrypts with {key}")


SNS_KMS_ENCRYPTION_RULE = Guardrail(
    id="MESH-SNS-KMS-ENCRYPTION",
    title="SNS topics encrypt messages with a customer-managed KMS key",
    severity=Severity.MANDATORY,
    control=None,  # AWS Config managed rule sns-encrypted-kms checks the same
    fix="set kmsMasterKeyId on the aws.sns.Topic to the product's key ARN",
    check=check_topic_encryption,
    examines=(SNS_TOPIC,),
)

SNS_PUBLIC_POLICY_RULE = Guardrail(
    id="MESH-SNS-PUBLIC-POLICY",
    title="Topic policies grant nothing to everyone unconditionally",
    severity=Severity.MANDATORY,
    control=None,
    fix="name the principal (events.amazonaws.com, a role ARN) in the Allow statement and restrict it with aws:SourceArn",
    check=public_statements("topic policy", "no Allow reaches a wildcard principal without a Condition"),
    examines=(SNS_TOPIC, SNS_TOPIC_POLICY),
)
