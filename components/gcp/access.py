"""ProductAccess: the producer and consumer service accounts, what each may do on the
product's bucket, dataset, tables and key, and who may act as each of them.

Every grant is an additive `*IamMember`: authoritative policies or bindings would
remove what other stacks or the platform granted on the same resource.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.model.spec import GrantSpec, ProductSpec

STORAGE_PRODUCER = "roles/storage.objectAdmin"
STORAGE_CONSUMER = "roles/storage.objectViewer"
BIGQUERY_PRODUCER = "roles/bigquery.dataEditor"
BIGQUERY_CONSUMER = "roles/bigquery.dataViewer"
KMS_PRODUCER = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
KMS_CONSUMER = "roles/cloudkms.cryptoKeyDecrypter"
IMPERSONATE = "roles/iam.serviceAccountTokenCreator"

# IAM allows 12 logical operators per condition; each port adds two clauses (read and
# list), so one condition covers at most 6 ports and larger grants get several bindings.
PORTS_PER_CONDITION = 6
LIST_PREFIX = 'api.getAttribute("storage.googleapis.com/objectListPrefix", "")'


@dataclass
class ProductAccessArgs:
    """The spec, and the resources this access governs (names come from the spec; the
    resources are what the grants wait for)."""

    spec: ProductSpec
    bucket: pulumi.Resource
    dataset: pulumi.Resource
    tables: Mapping[str, pulumi.Resource]  # port name → its table
    key_id: pulumi.Input[str]


def service_account_email(project: str, account_id: str) -> str:
    """The email GCP gives a user-managed service account: `<id>@<project>.iam.gserviceaccount.com`.

    Known before apply, so a plan shows exactly who is granted what.
    """
    return f"{account_id}@{project}.iam.gserviceaccount.com"


def port_read_condition(bucket: str, prefixes: Sequence[str]) -> str:
    """A CEL expression true for objects under `prefixes`, and for listing them.

    Reads name the object (`projects/_/buckets/<bucket>/objects/<key>`); a list request
    names the bucket, and its prefix is in the `objectListPrefix` attribute (empty on
    any other request, so that clause never matches one).
    """
    reads = [f'resource.name.startsWith("projects/_/buckets/{bucket}/objects/{p}")' for p in prefixes]
    lists = [f'{LIST_PREFIX}.startsWith("{p}")' for p in prefixes]
    return " || ".join(reads + lists)


def _chunks(items: Sequence[str], size: int) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class ProductAccess(pulumi.ComponentResource):
    """A producer service account that reads and writes the product, and one per consumer
    domain that reads only its granted ports (objects under their prefixes, their tables)
    and decrypts only. The domains' members from the platform config may impersonate
    their own service account; nothing is granted to `allUsers` or `allAuthenticatedUsers`."""

    producer: gcp.serviceaccount.Account
    consumers: dict[str, gcp.serviceaccount.Account]
    producer_email: pulumi.Output[str]

    def __init__(
        self, name: str, args: ProductAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mesh:gcp:ProductAccess", name, None, opts)
        spec = args.spec
        names = spec.require_gcp()

        self.producer = self._account(
            f"{name}-producer",
            spec,
            account_id=names.producer_service_account,
            display_name=f"mesh producer of {spec.domain}/{spec.product}",
            description=f"Reads and writes {spec.domain}/{spec.product} in {spec.environment}",
            impersonators=spec.producer_gcp_members,
        )
        producer = f"serviceAccount:{service_account_email(names.project, names.producer_service_account)}"
        gcp.storage.BucketIAMMember(
            f"{name}-producer-storage",
            bucket=names.bucket,
            role=STORAGE_PRODUCER,
            member=producer,
            opts=self._after(self.producer, args.bucket),
        )
        gcp.bigquery.DatasetIamMember(
            f"{name}-producer-dataset",
            project=names.project,
            dataset_id=names.dataset,
            role=BIGQUERY_PRODUCER,
            member=producer,
            opts=self._after(self.producer, args.dataset),
        )
        gcp.kms.CryptoKeyIAMMember(
            f"{name}-producer-key",
            crypto_key_id=args.key_id,
            role=KMS_PRODUCER,
            member=producer,
            opts=self._after(self.producer),
        )

        self.consumers = {
            grant.domain: self._consumer(f"{name}-consumer-{grant.domain}", spec, grant, args)
            for grant in spec.grants
        }

        self.producer_email = self.producer.email
        self.register_outputs(
            {
                "producerEmail": self.producer.email,
                "consumerEmails": {d: sa.email for d, sa in self.consumers.items()},
            }
        )

    def _after(self, *resources: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=list(resources))

    def _account(
        self,
        logical: str,
        spec: ProductSpec,
        *,
        account_id: str,
        display_name: str,
        description: str,
        impersonators: Sequence[str],
    ) -> gcp.serviceaccount.Account:
        """A service account, and the people and groups who may mint tokens for it."""
        project = spec.require_gcp().project
        account = gcp.serviceaccount.Account(
            logical,
            account_id=account_id,
            project=project,
            display_name=display_name,
            description=description,
            opts=pulumi.ResourceOptions(parent=self),
        )
        resource_name = f"projects/{project}/serviceAccounts/{service_account_email(project, account_id)}"
        for who in impersonators:
            gcp.serviceaccount.IAMMember(
                f"{logical}-impersonation-{who.replace(':', '-')}",
                service_account_id=resource_name,
                role=IMPERSONATE,
                member=who,
                opts=self._after(account),
            )
        return account

    def _consumer(
        self, logical: str, spec: ProductSpec, grant: GrantSpec, args: ProductAccessArgs
    ) -> gcp.serviceaccount.Account:
        names = spec.require_gcp()
        account = self._account(
            logical,
            spec,
            account_id=grant.gcp_service_account,
            display_name=f"mesh consumer {grant.domain} of {spec.domain}/{spec.product}",
            description=f"Domain {grant.domain} reads {', '.join(grant.ports)} of {spec.domain}/{spec.product} in {spec.environment}",
            impersonators=grant.gcp_members,
        )
        member = f"serviceAccount:{service_account_email(names.project, grant.gcp_service_account)}"
        for index, ports in enumerate(_chunks(grant.ports, PORTS_PER_CONDITION)):
            suffix = "" if index == 0 else f"-{index + 1}"
            gcp.storage.BucketIAMMember(
                f"{logical}-storage{suffix}",
                bucket=names.bucket,
                role=STORAGE_CONSUMER,
                member=member,
                condition={
                    "title": f"mesh-read-ports{suffix}",
                    "description": f"Objects of ports {', '.join(ports)}",
                    "expression": port_read_condition(names.bucket, [spec.port(p).prefix for p in ports]),
                },
                opts=self._after(account, args.bucket),
            )
        for port in grant.ports:
            gcp.bigquery.IamMember(
                f"{logical}-table-{port}",
                project=names.project,
                dataset_id=names.dataset,
                table_id=spec.port(port).table,
                role=BIGQUERY_CONSUMER,
                member=member,
                opts=self._after(account, args.tables[port]),
            )
        gcp.kms.CryptoKeyIAMMember(
            f"{logical}-key",
            crypto_key_id=args.key_id,
            role=KMS_CONSUMER,
            member=member,
            opts=self._after(account),
        )
        return account
