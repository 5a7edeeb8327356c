"""ProductAccess: the permissions boundary, the producer and consumer roles, and the bucket
and key policies that grant exactly what those roles' identity policies grant."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.aws import policies
from components.json_document import json_document
from infra.model.spec import ProductSpec


@dataclass
class ProductAccessArgs:
    """The spec, and the storage this access governs."""

    spec: ProductSpec
    bucket: pulumi.Resource  # names come from the spec; the bucket is what to wait for
    key_id: pulumi.Input[str]
    key_arn: pulumi.Input[str]


class ProductAccess(pulumi.ComponentResource):
    """Roles confined by a boundary: the producer reads and writes; each consumer domain reads
    only its granted ports. Trust comes from the principals in the platform config."""

    producer_role: aws.iam.Role
    consumer_roles: dict[str, aws.iam.Role]

    def __init__(
        self, name: str, args: ProductAccessArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mesh:aws:ProductAccess", name, None, opts)
        spec = args.spec
        names = spec.require_aws()
        tags = dict(spec.tags)
        child = pulumi.ResourceOptions(parent=self)

        self.boundary = aws.iam.Policy(
            f"{name}-boundary",
            name=names.boundary_policy,
            path=names.role_path,
            description=f"Permissions boundary of every role of {spec.domain}/{spec.product}",
            policy=json.dumps(policies.boundary_policy(spec)),
            tags=tags,
            opts=child,
        )

        self.producer_role = self._role(
            f"{name}-producer",
            spec=spec,
            role_name=names.producer_role,
            trust=policies.trust_policy(
                spec.producer_aws_principals, services=policies.producer_services(spec)
            ),
            policy=policies.producer_policy(spec, args.key_arn),
            description=f"Producer of {spec.domain}/{spec.product}: reads and writes its data",
        )
        self.consumer_roles = {
            grant.domain: self._role(
                f"{name}-consumer-{grant.domain}",
                spec=spec,
                role_name=grant.aws_role,
                trust=policies.trust_policy(grant.aws_principals),
                policy=policies.consumer_policy(spec, grant, args.key_arn),
                description=f"Domain {grant.domain} reads {', '.join(grant.ports)} of {spec.domain}/{spec.product}",
            )
            for grant in spec.grants
        }
        roles = [self.producer_role, *self.consumer_roles.values()]

        # The identity running the deployment, as `aws:PrincipalArn` sees it (a role's ARN,
        # not its session's): the perimeter spares it outside the data prefixes only.
        caller = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        deployer = aws.iam.get_session_context_output(
            arn=caller.arn, opts=pulumi.InvokeOutputOptions(parent=self)
        ).issuer_arn

        # Bucket and key policies name the roles, and AWS checks that named principals exist.
        after_roles = pulumi.ResourceOptions(parent=self, depends_on=roles)
        self.bucket_policy = aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=names.bucket,
            policy=json_document(policies.bucket_policy(spec, args.key_arn, deployer)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*roles, args.bucket]),
        )
        self.key_policy = aws.kms.KeyPolicy(
            f"{name}-key-policy",
            key_id=args.key_id,
            policy=json.dumps(policies.key_policy(spec)),
            bypass_policy_lockout_safety_check=False,
            opts=after_roles,
        )

        self.producer_role_arn = self.producer_role.arn
        self.register_outputs(
            {
                "producerRoleArn": self.producer_role.arn,
                "consumerRoleArns": {d: r.arn for d, r in self.consumer_roles.items()},
            }
        )

    def _role(
        self,
        logical: str,
        *,
        spec: ProductSpec,
        role_name: str,
        trust: dict[str, object],
        policy: dict[str, object],
        description: str,
    ) -> aws.iam.Role:
        names = spec.require_aws()
        role = aws.iam.Role(
            logical,
            name=role_name,
            path=names.role_path,
            description=description,
            assume_role_policy=json.dumps(trust),
            permissions_boundary=self.boundary.arn,
            max_session_duration=3600,
            tags=dict(spec.tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{logical}-policy",
            role=role_name,
            name="data-access",
            policy=json_document(policy),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[role]),
        )
        return role
