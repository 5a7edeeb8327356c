"""ProductCompute: Athena workgroups with enforced settings, and the optional scheduled Glue job."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.model.spec import ProductSpec, results_prefix

GLUE_VERSION = "4.0"


@dataclass
class ProductComputeArgs:
    """The spec, the storage the queries and the job use, and the role the job runs as."""

    spec: ProductSpec
    bucket: pulumi.Resource  # names come from the spec; the bucket is what to wait for
    key_arn: pulumi.Input[str]
    producer_role_arn: pulumi.Input[str]


class ProductCompute(pulumi.ComponentResource):
    """One workgroup per reader (producer and each consumer domain), each with enforced
    configuration, KMS-encrypted results under its own prefix and the request's scan limit;
    and, when the request has a transform, its script, a Glue job and a scheduled trigger."""

    workgroups: dict[str, aws.athena.Workgroup]
    job: aws.glue.Job | None

    def __init__(
        self, name: str, args: ProductComputeArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("mesh:aws:ProductCompute", name, None, opts)
        spec = args.spec
        names = spec.require_aws()
        tags = dict(spec.tags)
        child = pulumi.ResourceOptions(parent=self)
        on_bucket = pulumi.ResourceOptions(parent=self, depends_on=[args.bucket])

        readers = {"producer": names.athena_workgroup} | {g.domain: g.athena_workgroup for g in spec.grants}
        self.workgroups = {
            who: aws.athena.Workgroup(
                f"{name}-workgroup-{who}",
                name=group,
                description=f"Queries on {spec.domain}/{spec.product} by {who}",
                state="ENABLED",
                force_destroy=False,
                configuration={
                    "enforce_workgroup_configuration": True,
                    "publish_cloudwatch_metrics_enabled": True,
                    "bytes_scanned_cutoff_per_query": spec.query_limit_bytes,
                    "result_configuration": {
                        "output_location": f"s3://{names.bucket}/{results_prefix(who)}",
                        "encryption_configuration": {
                            "encryption_option": "SSE_KMS",
                            "kms_key_arn": args.key_arn,
                        },
                    },
                },
                tags=tags,
                opts=on_bucket,
            )
            for who, group in readers.items()
        }

        self.job = None
        if spec.transform is not None:
            transform = spec.transform
            script = aws.s3.BucketObjectv2(
                f"{name}-job-script",
                bucket=names.bucket,
                key=transform.script_key,
                source=pulumi.FileAsset(str(transform.entrypoint)),
                content_type="text/x-python",
                # Job code, not data: the deployer uploads it and may not use the product key,
                # which only the product's roles use (the data perimeter).
                server_side_encryption="AES256",
                tags=tags,
                opts=on_bucket,
            )
            security = aws.glue.SecurityConfiguration(
                f"{name}-job-security",
                name=f"{names.glue_job}-security",
                encryption_configuration={
                    "s3_encryption": {"s3_encryption_mode": "SSE-KMS", "kms_key_arn": args.key_arn},
                    "job_bookmarks_encryption": {
                        "job_bookmarks_encryption_mode": "CSE-KMS",
                        "kms_key_arn": args.key_arn,
                    },
                    # Job logs can echo rows: they are encrypted with the product key too
                    # (the key policy lets CloudWatch Logs use it for /aws-glue/ log groups only).
                    "cloudwatch_encryption": {
                        "cloudwatch_encryption_mode": "SSE-KMS",
                        "kms_key_arn": args.key_arn,
                    },
                },
                opts=child,
            )
            self.job = aws.glue.Job(
                f"{name}-job",
                name=names.glue_job,
                role_arn=args.producer_role_arn,
                glue_version=GLUE_VERSION,
                command={
                    "name": "glueetl",
                    "python_version": "3",
                    "script_location": f"s3://{names.bucket}/{transform.script_key}",
                },
                default_arguments={
                    "--MESH_BUCKET": names.bucket,
                    "--MESH_DATABASE": names.glue_database,
                    "--job-language": "python",
                    "--enable-metrics": "true",
                },
                security_configuration=security.name,
                max_retries=1,
                timeout=120,
                worker_type="G.1X",
                number_of_workers=2,
                tags=tags,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[script]),
            )
            self.trigger = aws.glue.Trigger(
                f"{name}-schedule",
                name=names.glue_trigger,
                type="SCHEDULED",
                schedule=transform.aws_schedule,
                start_on_creation=True,
                actions=[{"job_name": self.job.name}],
                tags=tags,
                opts=child,
            )

        self.register_outputs({"workgroups": {who: wg.name for who, wg in self.workgroups.items()}})
