"""ProductKey: the product's Cloud KMS key ring and key, usable by the GCS and BigQuery service agents."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.model.spec import ProductSpec

ROTATION_PERIOD = "7776000s"  # 90 days
ENCRYPTER_DECRYPTER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"


@dataclass
class ProductKeyArgs:
    """What the key of one product needs: its resolved spec."""

    spec: ProductSpec


class ProductKey(pulumi.ComponentResource):
    """A customer-managed encryption key (CMEK) with 90-day rotation in the product's region.

    With CMEK, Google's per-project service agents do the encryption for GCS and BigQuery,
    so both are granted the key here. Their emails come from the provider's
    `gcp:storage/getProjectServiceAccount` and `gcp:bigquery/getDefaultServiceAccount`
    invokes (the project number they contain is only known online). `key_id` resolves
    only after those grants exist: a bucket or dataset that takes it as its default key
    is created after the agents may use the key, as GCS and BigQuery require.
    """

    key_ring: gcp.kms.KeyRing
    crypto_key: gcp.kms.CryptoKey
    service_agent_grants: list[gcp.kms.CryptoKeyIAMMember]
    key_id: pulumi.Output[str]

    def __init__(self, name: str, args: ProductKeyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("mesh:gcp:ProductKey", name, None, opts)
        spec = args.spec
        names = spec.require_gcp()
        child = pulumi.ResourceOptions(parent=self)

        # Key rings and keys cannot be deleted in GCP; destroying them only schedules the
        # key versions' destruction (after the provider's 30-day default).
        self.key_ring = gcp.kms.KeyRing(
            f"{name}-key-ring",
            name=names.key_ring,
            location=names.region,
            project=names.project,
            opts=child,
        )
        self.crypto_key = gcp.kms.CryptoKey(
            f"{name}-key",
            name=names.crypto_key,
            key_ring=self.key_ring.id,
            purpose="ENCRYPT_DECRYPT",
            rotation_period=ROTATION_PERIOD,
            labels=dict(spec.labels),
            opts=child,
        )

        invoke = pulumi.InvokeOutputOptions(parent=self)
        storage_agent = gcp.storage.get_project_service_account_output(project=names.project, opts=invoke)
        bigquery_agent = gcp.bigquery.get_default_service_account_output(project=names.project, opts=invoke)
        self.service_agent_grants = [
            gcp.kms.CryptoKeyIAMMember(
                f"{name}-{service}-agent",
                crypto_key_id=self.crypto_key.id,
                role=ENCRYPTER_DECRYPTER,
                member=member,
                opts=child,
            )
            for service, member in (("storage", storage_agent.member), ("bigquery", bigquery_agent.member))
        ]
        self.key_id = pulumi.Output.all(self.crypto_key.id, *(g.id for g in self.service_agent_grants)).apply(
            lambda ids: ids[0]
        )
        self.register_outputs({"keyId": self.crypto_key.id, "keyRing": self.key_ring.id})
