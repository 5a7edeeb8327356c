"""The resolved spec: one request in one environment with every name, tag, grant and schedule decided."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.model.platform import PlatformConfig
from infra.model.request import DataProductRequest
from infra.model.spec import REQUIRED_TAGS, ProductSpec, resolve
from infra.validation import load_platform, load_spec


@dataclass
class Case:
    reason: str
    given: Any
    want: Any


def example(examples_dir: Path, name: str, environment: str | None = None) -> ProductSpec:
    spec, _, _ = load_spec(
        examples_dir / "products" / name, platform_path=examples_dir / "mesh.yaml", environment=environment
    )
    return spec


def test_aws_product(examples_dir: Path) -> None:
    spec = example(examples_dir, "sales-orders.yaml", "dev")

    assert (spec.organization, spec.domain, spec.product, spec.environment, spec.cloud) == (
        "acme",
        "sales",
        "orders",
        "dev",
        "aws",
    )
    assert (spec.stack, spec.project, spec.version) == ("sales.orders.dev", "mesh-acme", "1.2.0")
    assert (spec.classification, spec.retention_days, spec.cost_center) == ("confidential", 365, "CC-1001")
    assert spec.query_limit_bytes == 50 * 1024**3
    assert spec.freshness_hours == 24
    assert spec.inputs == ("support/tickets:tickets",)
    assert spec.gcp is None
    assert spec.producer_aws_principals == ("arn:aws:iam::111122223333:role/sales-engineers",)


def test_tags_and_labels(examples_dir: Path) -> None:
    spec = example(examples_dir, "sales-orders.yaml", "dev")

    assert set(REQUIRED_TAGS) <= set(spec.tags)
    assert spec.tags == {
        "mesh:domain": "sales",
        "mesh:product": "orders",
        "mesh:environment": "dev",
        "mesh:owner": "sales-data@example.com",
        "mesh:managed-by": "mesh",
        "mesh:cost-center": "CC-1001",
        "mesh:classification": "confidential",
        "mesh:stack": "sales.orders.dev",
    }
    assert spec.labels["mesh-owner"] == "sales-data_example_com"
    assert spec.labels["mesh-cost-center"] == "cc-1001"
    assert spec.labels["mesh-stack"] == "sales_orders_dev"


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "AWS keeps partition keys apart from the columns, as Glue does",
            ("sales-orders.yaml", "order_lines"),
            (
                ["order_id", "line_no", "sku", "quantity", "amount", "customer_email"],
                ["order_date"],
                "data/order_lines/",
                "order_date",
            ),
        ),
        Case(
            "a port without partitions",
            ("sales-orders.yaml", "daily_revenue"),
            (["day", "revenue", "orders"], [], "data/daily_revenue/", None),
        ),
        Case(
            "two partition keys keep their declared order",
            ("finance-payroll.yaml", "payslips"),
            (
                ["employee_id", "gross", "net", "iban", "allowances"],
                ["pay_month", "country"],
                "data/payslips/",
                "pay_month",
            ),
        ),
        Case(
            "GCP keeps every column in the schema and names its partition column, as BigQuery does",
            ("marketing-campaigns.yaml", "campaign_daily"),
            (
                ["campaign_id", "day", "spend", "impressions", "conversions", "channels"],
                [],
                "data/campaign_daily/",
                "day",
            ),
        ),
    ],
    ids=lambda c: c.reason,
)
def test_ports(examples_dir: Path, case: Case) -> None:
    file, port_name = case.given

    port = example(examples_dir, file).port(port_name)

    columns, keys, prefix, partition_column = case.want
    assert ([c.name for c in port.columns], [k.name for k in port.partition_keys], port.prefix) == (
        columns,
        keys,
        prefix,
    ), case.reason
    assert port.partition_column == partition_column, case.reason
    assert port.table == port_name
    assert [c.name for c in port.all_columns] == columns + keys


def test_column_details_survive(examples_dir: Path) -> None:
    port = example(examples_dir, "sales-orders.yaml").port("order_lines")

    by_name = {c.name: c for c in port.all_columns}
    assert (by_name["order_id"].required, by_name["order_id"].description) == (True, "Order number.")
    assert (by_name["customer_email"].pii, by_name["amount"].type) == (True, "decimal(12,2)")
    assert (by_name["order_date"].type, by_name["order_date"].required) == ("date", True)


def test_grants(examples_dir: Path) -> None:
    spec = example(examples_dir, "sales-orders.yaml", "prod")

    assert [(g.domain, g.ports, g.aws_role, g.aws_principals) for g in spec.grants] == [
        (
            "marketing",
            ("order_lines",),
            "acme-prod-sales-orders-marketing-consumer",
            ("arn:aws:iam::444455556666:role/marketing-analysts",),
        ),
        (
            "finance",
            ("order_lines", "daily_revenue"),
            "acme-prod-sales-orders-finance-consumer",
            ("arn:aws:iam::444455556666:role/finance-engineers",),
        ),
    ]


def _resolve(examples_dir: Path, edit: dict[str, Any], environment: str = "dev") -> ProductSpec:
    """The sales/orders example with some of its spec replaced, resolved against examples/mesh.yaml."""
    document = yaml.safe_load((examples_dir / "products" / "sales-orders.yaml").read_text(encoding="utf-8"))
    document["spec"].update(edit)
    platform = load_platform(examples_dir / "mesh.yaml").config
    return resolve(
        DataProductRequest.model_validate(document),
        platform,
        environment,
        request_dir=examples_dir / "products",
    )


def test_a_domain_without_principals_is_trusted_through_its_account(examples_dir: Path) -> None:
    spec = _resolve(
        examples_dir, {"access": {"consumers": [{"domain": "support", "ports": ["order_lines"]}]}}
    )

    (grant,) = spec.grants
    assert grant.aws_principals == ("arn:aws:iam::111122223333:root",)
    assert grant.gcp_members == ()


def test_ports_granted_twice_are_granted_once(examples_dir: Path) -> None:
    consumers = [{"domain": "finance", "ports": ["order_lines", "daily_revenue", "order_lines"]}]

    (grant,) = _resolve(examples_dir, {"access": {"consumers": consumers}}).grants

    assert grant.ports == ("order_lines", "daily_revenue")


def test_a_gcp_product_has_no_aws_principals(examples_dir: Path) -> None:
    spec = example(examples_dir, "marketing-campaigns.yaml", "dev")

    assert spec.aws is None
    assert spec.producer_aws_principals == ()
    assert spec.producer_gcp_members == ("group:marketing-analytics@example.com",)
    assert [(g.domain, g.aws_principals, g.gcp_members) for g in spec.grants] == [
        ("sales", (), ("group:sales-data@example.com",))
    ]


def test_transform(examples_dir: Path) -> None:
    spec = example(examples_dir, "sales-orders.yaml")

    assert spec.transform is not None
    assert spec.transform.schedule == "0 2 * * *"
    assert spec.transform.aws_schedule == "cron(0 2 * * ? *)"
    assert spec.transform.entrypoint == (examples_dir / "products" / "jobs" / "orders.py").resolve()
    assert spec.transform.entrypoint.is_absolute()
    assert spec.transform.script_key == "scripts/orders.py"


def test_no_transform_no_slo(examples_dir: Path) -> None:
    spec = _resolve(examples_dir, {"compute": {}, "slo": None})

    assert spec.transform is None
    assert spec.freshness_hours is None
    assert spec.query_limit_bytes == 10 * 1024**3


def test_environment_details(examples_dir: Path) -> None:
    spec = example(examples_dir, "finance-payroll.yaml", "local")

    aws = spec.require_aws()
    assert (aws.account, aws.region, aws.partition) == ("000000000000", "us-east-1", "aws")
    assert aws.endpoints["s3"] == "http://127.0.0.1:4566"
    assert spec.grants == ()


def test_aws_arns(examples_dir: Path) -> None:
    aws = example(examples_dir, "sales-orders.yaml", "dev").require_aws()

    assert aws.bucket_arn == "arn:aws:s3:::acme-dev-sales-orders"
    assert (
        aws.role_arn(aws.producer_role)
        == "arn:aws:iam::111122223333:role/mesh/acme-dev-sales-orders-producer"
    )
    assert aws.policy_arn("p") == "arn:aws:iam::111122223333:policy/mesh/p"
    assert aws.glue_catalog_arn == "arn:aws:glue:eu-west-1:111122223333:catalog"
    assert aws.glue_database_arn == "arn:aws:glue:eu-west-1:111122223333:database/acme_dev_sales_orders"
    assert aws.glue_table_arn("t") == "arn:aws:glue:eu-west-1:111122223333:table/acme_dev_sales_orders/t"
    assert (
        aws.athena_workgroup_arn == f"arn:aws:athena:eu-west-1:111122223333:workgroup/{aws.athena_workgroup}"
    )
    assert aws.account_root == "arn:aws:iam::111122223333:root"


@pytest.mark.parametrize(
    "case",
    [
        Case("a commercial region", "eu-west-1", "aws"),
        Case("GovCloud", "us-gov-west-1", "aws-us-gov"),
        Case("China", "cn-north-1", "aws-cn"),
    ],
    ids=lambda c: c.reason,
)
def test_partition_follows_the_region(examples_dir: Path, case: Case) -> None:
    data = yaml.safe_load((examples_dir / "mesh.yaml").read_text(encoding="utf-8"))
    data["environments"]["dev"]["aws"]["region"] = case.given
    platform = PlatformConfig.model_validate(data)
    document = yaml.safe_load((examples_dir / "products" / "sales-orders.yaml").read_text(encoding="utf-8"))

    spec = resolve(DataProductRequest.model_validate(document), platform, "dev", request_dir=examples_dir)

    aws = spec.require_aws()
    assert aws.partition == case.want, case.reason
    assert aws.bucket_arn == f"arn:{case.want}:s3:::acme-dev-sales-orders", case.reason


def test_gcp_product(examples_dir: Path) -> None:
    spec = example(examples_dir, "marketing-campaigns.yaml")

    gcp = spec.require_gcp()
    assert (spec.environment, gcp.project, gcp.region) == ("dev", "acme-data-dev", "europe-west1")
    assert gcp.dataset == "acme_dev_marketing_campaign_performance"
    # GCP implements no per-product query limit, so the example asks for none (the default stays).
    assert spec.query_limit_bytes == 10 * 1024**3


def test_programming_errors_are_plain_exceptions(examples_dir: Path) -> None:
    aws_spec = example(examples_dir, "sales-orders.yaml")
    gcp_spec = example(examples_dir, "marketing-campaigns.yaml")

    with pytest.raises(ValueError, match=r"sales\.orders\.dev is not a GCP product"):
        aws_spec.require_gcp()
    with pytest.raises(ValueError, match=r"marketing\.campaign-performance\.dev is not an AWS product"):
        gcp_spec.require_aws()
    with pytest.raises(KeyError):
        aws_spec.port("nope")


def test_resolving_twice_gives_equal_specs(examples_dir: Path) -> None:
    assert example(examples_dir, "sales-orders.yaml", "prod") == example(
        examples_dir, "sales-orders.yaml", "prod"
    )
