"""ProductSignals (GCP): the product's Pub/Sub topic, encrypted with the product's key."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from components.gcp.encryption import ENCRYPTER_DECRYPTER
from infra.model.spec import ProductSpec

MESSAGE_RETENTION = "604800s"  # 7 days: an alert not read within a week is stale


@dataclass
class ProductSignalsArgs:
    """The spec and the product's Cloud KMS key (its id, `projects/…/cryptoKeys/…`)."""

    spec: ProductSpec
    key_id: pulumi.Input[str]


class ProductSignals(pulumi.ComponentResource):
    """A Pub/Sub topic for the product's alerts, encrypted with the product key (CMEK).

    Pub/Sub encrypts through its per-project service agent, which is granted the key
    first. What AWS has and Pub/Sub lacks is stated, not emulated: Pub/Sub delivers to
    subscriptions, not to email, so the owner is reached by a push subscription or a
    Cloud Monitoring notification channel the platform team adds (see the README); GCP
    products have no transform, so there is no failed-run rule.
    """

    topic: gcp.pubsub.Topic

    def __init__(
        self, name: str, args: ProductSignalsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mesh:gcp:ProductSignals", name, None, opts)
        spec = args.spec
        names = spec.require_gcp()
        child = pulumi.ResourceOptions(parent=self)

        agent = gcp.projects.ServiceIdentity(
            f"{name}-pubsub-agent", project=names.project, service="pubsub.googleapis.com", opts=child
        )
        grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-pubsub-agent-key",
            crypto_key_id=args.key_id,
            role=ENCRYPTER_DECRYPTER,
            member=agent.member,
            opts=child,
        )
        self.topic = gcp.pubsub.Topic(
            f"{name}-topic",
            name=names.topic,
            project=names.project,
            kms_key_name=args.key_id,
            message_retention_duration=MESSAGE_RETENTION,
            labels=dict(spec.labels),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[grant]),
        )
        self.topic_id = self.topic.id
        self.register_outputs({"topic": self.topic.id})
