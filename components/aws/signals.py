"""ProductSignals: the product's notification topic, its owner's subscription, and the rule that
sends the transform's failed runs to it."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws.policies import topic_policy
from infra.model.spec import ProductSpec

# Glue's EventBridge event for a job run that ended; the states that mean the data did not land.
GLUE_JOB_STATE_CHANGE = "Glue Job State Change"
FAILED_STATES = ("FAILED", "TIMEOUT")
OWNER_PROTOCOL = "email"  # the owner confirms the subscription from the email SNS sends
TARGET_ID = "owner-topic"


def failed_runs_pattern(job: str) -> str:
    """The EventBridge pattern matching a failed or timed-out run of Glue job `job`."""
    return json.dumps(
        {
            "source": ["aws.glue"],
            "detail-type": [GLUE_JOB_STATE_CHANGE],
            "detail": {"jobName": [job], "state": list(FAILED_STATES)},
        },
        sort_keys=True,
    )


@dataclass
class ProductSignalsArgs:
    """The spec and the product key the topic is encrypted with."""

    spec: ProductSpec
    key_arn: pulumi.Input[str]


class ProductSignals(pulumi.ComponentResource):
    """An SNS topic encrypted with the product key, the owner subscribed by email, a TLS-only
    topic policy, and, with a transform, an EventBridge rule for its failed runs whose events
    only that rule may publish to the topic."""

    topic: aws.sns.Topic
    rule: aws.cloudwatch.EventRule | None

    def __init__(
        self, name: str, args: ProductSignalsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mesh:aws:ProductSignals", name, None, opts)
        spec = args.spec
        names = spec.require_aws()
        tags = dict(spec.tags)
        child = pulumi.ResourceOptions(parent=self)

        self.topic = aws.sns.Topic(
            f"{name}-topic",
            name=names.topic,
            display_name=f"mesh {spec.domain}/{spec.product}"[:100],
            kms_master_key_id=args.key_arn,
            tags=tags,
            opts=child,
        )
        on_topic = pulumi.ResourceOptions(parent=self, depends_on=[self.topic])
        self.policy = aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=self.topic.arn,
            policy=json.dumps(topic_policy(spec)),
            opts=on_topic,
        )
        self.owner_subscription = aws.sns.TopicSubscription(
            f"{name}-owner",
            topic=self.topic.arn,
            protocol=OWNER_PROTOCOL,
            endpoint=spec.owner,
            opts=on_topic,
        )
        self.rule = None
        if spec.transform is not None:
            self.rule = aws.cloudwatch.EventRule(
                f"{name}-failed-runs",
                name=names.failure_rule,
                description=f"Failed runs of {names.glue_job} ({spec.domain}/{spec.product})",
                event_pattern=failed_runs_pattern(names.glue_job),
                state="ENABLED",
                tags=tags,
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{name}-failed-runs-target",
                rule=self.rule.name,
                target_id=TARGET_ID,
                arn=self.topic.arn,
                input_transformer={
                    "input_paths": {
                        "job": "$.detail.jobName",
                        "run": "$.detail.jobRunId",
                        "state": "$.detail.state",
                        "message": "$.detail.message",
                        "time": "$.time",
                    },
                    "input_template": (
                        f'"{spec.domain}/{spec.product} ({spec.environment}): Glue job <job> run <run> '
                        'ended <state> at <time>: <message>"'
                    ),
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.rule, self.policy]),
            )

        self.topic_arn = self.topic.arn
        self.register_outputs({"topicArn": self.topic.arn})
