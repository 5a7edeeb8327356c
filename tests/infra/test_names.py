"""Physical names: inside each cloud's rules for any valid request, the same on every run, distinct per request."""

from __future__ import annotations

import dataclasses
import re
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.model import names
from infra.model.platform import ENV_PATTERN, ORG_PATTERN, PlatformConfig
from infra.model.request import DOMAIN_PATTERN, PRODUCT_PATTERN, DataProductRequest
from infra.model.spec import AwsNames, GcpNames, GrantSpec, ProductSpec, resolve


@dataclass
class Case:
    reason: str
    given: Any
    want: Any


# Which rule of `names.RULES` each resolved name must satisfy. A new name field must be
# added here (or to NOT_NAMES), so no name escapes the check.
AWS_RULES = {
    "bucket": "s3_bucket",
    "log_bucket": "s3_bucket",
    "kms_alias": "kms_alias",
    "producer_role": "iam_role",
    "boundary_policy": "iam_policy",
    "glue_database": "glue",
    "athena_workgroup": "athena_workgroup",
    "glue_job": "glue_job",
    "glue_trigger": "glue_job",
    "topic": "sns_topic",
    "failure_rule": "eventbridge_rule",
}
GCP_RULES = {
    "bucket": "gcs_bucket",
    "log_bucket": "gcs_bucket",
    "dataset": "bigquery_dataset",
    "key_ring": "gcp_key_ring",
    "crypto_key": "gcp_key_ring",  # Cloud KMS keys follow the key ring rule
    "producer_service_account": "gcp_service_account",
    "topic": "pubsub_topic",
}
GRANT_RULES = {
    "aws_role": "iam_role",
    "athena_workgroup": "athena_workgroup",
    "gcp_service_account": "gcp_service_account",
}
NOT_NAMES = {
    AwsNames: {"account", "region", "partition", "endpoints", "role_path"},
    GcpNames: {"project", "region"},
    GrantSpec: {"domain", "ports", "aws_principals", "gcp_members"},
}
LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")


def named(spec: ProductSpec) -> list[tuple[str, str, str]]:
    """(where, rule, name) for every physical name of `spec`."""
    out = [("stack", "pulumi_stack", spec.stack)]
    if spec.aws is not None:
        out += [(f"aws.{f}", rule, getattr(spec.aws, f)) for f, rule in AWS_RULES.items()]
    if spec.gcp is not None:
        out += [(f"gcp.{f}", rule, getattr(spec.gcp, f)) for f, rule in GCP_RULES.items()]
    for grant in spec.grants:  # both clouds' names are computed for every grant, so both are checked
        out += [(f"grants[{grant.domain}].{f}", rule, getattr(grant, f)) for f, rule in GRANT_RULES.items()]
    out += [
        (f"ports[{p.name}].table", "glue" if spec.cloud == "aws" else "bigquery_dataset", p.table)
        for p in spec.ports
    ]
    out += [(f"labels[{k}]", "gcp_label", v) for k, v in spec.labels.items()]
    return out


def broken_names(spec: ProductSpec) -> list[str]:
    """Every name of `spec` that breaks its cloud's rule, described for an assertion message."""
    broken = [
        f"{where} = {name!r} ({len(name)} chars) breaks the {names.RULES[rule].kind} rule"
        for where, rule, name in named(spec)
        if not names.RULES[rule].check(name)
    ]
    broken += [f"label key {k!r}" for k in spec.labels if not LABEL_KEY.fullmatch(k)]
    return broken


def platform(*, organization: str, environment: str, domains: list[str]) -> PlatformConfig:
    return PlatformConfig.model_validate(
        {
            "apiVersion": "mesh/v1",
            "kind": "Platform",
            "organization": organization,
            "domains": {d: {"owners": ["team@example.com"], "costCenter": "CC-1"} for d in domains},
            "environments": {
                environment: {
                    "aws": {"account": "111122223333", "region": "eu-west-1"},
                    "gcp": {"project": "acme-data", "region": "europe-west1"},
                }
            },
        }
    )


def request(
    *, domain: str, product: str, cloud: str, port: str = "records", consumers: tuple[str, ...] = ()
) -> DataProductRequest:
    return DataProductRequest.model_validate(
        {
            "apiVersion": "mesh/v1",
            "kind": "DataProduct",
            "metadata": {"domain": domain, "name": product, "owner": "team@example.com", "description": "d"},
            "spec": {
                "cloud": cloud,
                "classification": "internal",
                "retentionDays": 1,
                "outputPorts": [{"name": port, "schema": [{"name": "id", "type": "string"}]}],
                "access": {"consumers": [{"domain": c, "ports": [port]} for c in consumers]},
            },
        }
    )


def resolved(
    org: str, env: str, domain: str, product: str, *, cloud: str = "aws", consumers: tuple[str, ...] = ()
) -> ProductSpec:
    config = platform(organization=org, environment=env, domains=[domain, *consumers])
    return resolve(
        request(domain=domain, product=product, cloud=cloud, consumers=consumers),
        config,
        env,
        request_dir=Path(),
    )


# Valid parts of a name, up to the longest each pattern allows.
def _word(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    tail = st.text(string.ascii_lowercase + string.digits, min_size=min_size - 1, max_size=max_size - 1)
    return st.builds(str.__add__, st.sampled_from(string.ascii_lowercase), tail)


organizations = _word(2, 12).filter(lambda o: o != "sthree" and not o.startswith("goog"))
environments = _word(1, 12)
domains = _word(2, 20).filter(lambda d: d != "platform")


@st.composite
def products(draw: st.DrawFn) -> str:
    """2–40 characters, single hyphens anywhere but the ends."""
    chars = list(draw(_word(2, 40)))
    hyphens = draw(st.sets(st.integers(1, len(chars) - 2))) if len(chars) > 2 else set()
    for i in sorted(hyphens):
        if chars[i - 1] != "-":
            chars[i] = "-"
    return "".join(chars)


def test_the_strategies_make_valid_parts() -> None:
    """The property tests below are only as good as the parts they draw."""

    @given(organizations, environments, domains, products())
    def check(org: str, env: str, domain: str, product: str) -> None:
        assert re.fullmatch(ORG_PATTERN, org) and re.fullmatch(ENV_PATTERN, env)
        assert re.fullmatch(DOMAIN_PATTERN, domain)
        assert re.fullmatch(PRODUCT_PATTERN, product) and 2 <= len(product) <= 40

    check()


@given(
    org=organizations,
    env=environments,
    domain=domains,
    product=products(),
    consumer=domains,
    cloud=st.sampled_from(["aws", "gcp"]),
)
def test_property_resolved_names_follow_each_clouds_rules(
    org: str, env: str, domain: str, product: str, consumer: str, cloud: str
) -> None:
    consumers = (consumer,) if consumer != domain else ()

    spec = resolved(org, env, domain, product, cloud=cloud, consumers=consumers)

    assert broken_names(spec) == []


@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_the_longest_parts_still_fit(cloud: str) -> None:
    spec = resolved("o" * 12, "e" * 12, "d" * 20, "p-" * 19 + "pp", cloud=cloud, consumers=("c" * 20,))

    assert broken_names(spec) == []
    assert len(spec.grants) == 1


@pytest.mark.parametrize("kind", [AwsNames, GcpNames, GrantSpec], ids=lambda k: k.__name__)
def test_every_name_field_is_checked(kind: type) -> None:
    rules = {AwsNames: AWS_RULES, GcpNames: GCP_RULES, GrantSpec: GRANT_RULES}[kind]

    fields = {f.name for f in dataclasses.fields(kind)}

    assert fields - set(rules) - NOT_NAMES[kind] == set(), "add the new field to the rules of this test"


# Pinned: changing any of these renames live resources, which must be a deliberate decision.
@pytest.mark.parametrize(
    "case",
    [
        Case(
            "a short AWS product keeps its parts",
            ("acme", "dev", "sales", "orders", "aws", ("marketing",)),
            {
                "stack": "sales.orders.dev",
                "aws.bucket": "acme-dev-sales-orders",
                "aws.log_bucket": "acme-dev-platform-access-logs",
                "aws.kms_alias": "alias/mesh/acme-dev-sales-orders",
                "aws.producer_role": "acme-dev-sales-orders-producer",
                "aws.boundary_policy": "acme-dev-sales-orders-boundary",
                "aws.glue_database": "acme_dev_sales_orders",
                "grants[marketing].aws_role": "acme-dev-sales-orders-marketing-consumer",
            },
        ),
        Case(
            "a long product is cut and hashed where a cloud needs it",
            (
                "acmecorp",
                "preview",
                "marketing",
                "campaign-performance-by-channel-and-week",
                "aws",
                ("sales",),
            ),
            {
                "stack": "marketing.campaign-performance-by-channel-and-week.preview",
                "aws.bucket": "acmecorp-preview-marketing-campaign-performance-by-cha-ea7e5441",
                "aws.producer_role": "acmecorp-preview-marketing-campaign-performanc-db73405e-producer",
                "aws.glue_database": "acmecorp_preview_marketing_campaign_performance_by_channel_and_week",
                "grants[sales].aws_role": "acmecorp-preview-marketing-campaign-perf-8a3ec7c7-sales-consumer",
            },
        ),
        Case(
            "a GCP product",
            ("acme", "dev", "marketing", "campaign-performance", "gcp", ("sales",)),
            {
                "gcp.bucket": "acme-dev-marketing-campaign-performance",
                "gcp.dataset": "acme_dev_marketing_campaign_performance",
                "gcp.key_ring": "acme-dev-marketing-campaign-performance",
                "gcp.producer_service_account": "dev-marketing-campaig-bf546a-p",
                "grants[sales].gcp_service_account": "dev-marketing-c-65f2a6-sales-c",
            },
        ),
        Case(
            "the longest consumer domain cuts the service account suffix too",
            ("acme", "dev", "sales", "orders", "gcp", ("c" * 20,)),
            {"grants[cccccccccccccccccccc].gcp_service_account": "dev-sales-orders-cccccc-73c1d6"},
        ),
    ],
    ids=lambda c: c.reason,
)
def test_names_are_stable(case: Case) -> None:
    org, env, domain, product, cloud, consumers = case.given

    got = {
        where: name
        for where, _, name in named(resolved(org, env, domain, product, cloud=cloud, consumers=consumers))
    }

    assert {k: got[k] for k in case.want} == case.want, case.reason


@given(
    first=st.tuples(environments, domains, products()),
    second=st.tuples(environments, domains, products()),
    cloud=st.sampled_from(["aws", "gcp"]),
)
def test_property_different_requests_get_different_names(
    first: tuple[str, str, str], second: tuple[str, str, str], cloud: str
) -> None:
    """Within one organisation every per-product name differs (the log bucket is shared per environment)."""
    if first == second:
        return
    a = {
        w: n
        for w, _, n in named(resolved("acme", *first, cloud=cloud))
        if w.startswith(("stack", "aws.", "gcp."))
    }
    b = {
        w: n
        for w, _, n in named(resolved("acme", *second, cloud=cloud))
        if w.startswith(("stack", "aws.", "gcp."))
    }
    shared = (
        {"aws.log_bucket", "gcp.log_bucket", "gcp.crypto_key"}
        if first[0] == second[0]
        else {"gcp.crypto_key"}
    )

    same = {w for w in a if a[w] == b[w] and w not in shared}

    assert same == set(), f"{first} and {second} share {same}"


@given(first=organizations, second=organizations)
def test_property_organisations_never_share_a_bucket(first: str, second: str) -> None:
    """S3 and GCS bucket names are global: two organisations must never collide."""
    if first == second:
        return
    for cloud in ("aws", "gcp"):
        a, b = (
            resolved(first, "dev", "sales", "orders", cloud=cloud),
            resolved(second, "dev", "sales", "orders", cloud=cloud),
        )
        buckets_a = {n for w, _, n in named(a) if w.endswith("bucket")}
        buckets_b = {n for w, _, n in named(b) if w.endswith("bucket")}
        assert buckets_a.isdisjoint(buckets_b), (first, second, cloud)


def test_a_consumer_role_never_equals_another_products_producer_role() -> None:
    # Consumer roles end "-<domain>-consumer" and producer roles "-producer": a domain named
    # "producer" cannot make one product's consumer role another product's producer role.
    consumer_side = resolved("acme", "dev", "sales", "orders", consumers=("producer",))
    producer_side = resolved("acme", "dev", "sales", "orders-consumer")

    assert consumer_side.grants[0].aws_role != producer_side.require_aws().producer_role


@pytest.mark.parametrize(
    "case",
    [
        Case("fits: unchanged", ("acme-dev-sales-orders", 63, ""), "acme-dev-sales-orders"),
        Case(
            "fits with its suffix",
            ("acme-dev-sales-orders", 64, "-producer"),
            "acme-dev-sales-orders-producer",
        ),
        Case("too long: cut, hashed, suffix kept", ("a" * 70, 63, ""), "a" * 54 + "-6bd5e503"),
        Case(
            "too long with a suffix",
            ("b" * 70, 30, "-x"),
            "b" * 19 + "-" + names.stable_hash("b" * 70 + "-x") + "-x",
        ),
        Case(
            "a cut never leaves a dangling separator",
            ("abc-" * 20, 21, ""),  # the cut "abc-abc-abc-" loses its hyphen before the hash's
            "abc-abc-abc-" + names.stable_hash("abc-" * 20),
        ),
    ],
    ids=lambda c: c.reason,
)
def test_fit(case: Case) -> None:
    base, limit, suffix = case.given

    name = names.fit(base, limit, suffix=suffix)

    assert name == case.want, case.reason
    assert len(name) <= limit, case.reason


def test_fit_refuses_a_suffix_that_leaves_no_room() -> None:
    with pytest.raises(ValueError, match="leaves no room in a 20-character name"):
        names.fit("x" * 30, 20, suffix="-a-very-long-suffix")


def test_stable_hash_is_pinned() -> None:
    assert names.stable_hash("acme") == "822b33ad"
    assert names.stable_hash("acme", 6) == "822b33"


@pytest.mark.parametrize(
    "case",
    [
        Case(
            "a reserved suffix is hashed away",
            "acme-dev-sales-s3alias",
            "acme-dev-sales-s3alias-" + names.stable_hash("acme-dev-sales-s3alias"),
        ),
        Case("an ordinary name is kept", "acme-dev-sales-orders", "acme-dev-sales-orders"),
    ],
    ids=lambda c: c.reason,
)
def test_s3_bucket(case: Case) -> None:
    bucket = names.s3_bucket(case.given)

    assert bucket == case.want, case.reason
    assert names.RULES["s3_bucket"].check(bucket), case.reason


def test_s3_bucket_refuses_a_reserved_prefix() -> None:
    with pytest.raises(ValueError, match="starts with a prefix S3 reserves"):
        names.s3_bucket("sthree-dev-sales-orders")


@pytest.mark.parametrize(
    "case",
    [
        Case("an email", "Sales-Data@Example.com", "sales-data_example_com"),
        Case("a stack name", "sales.orders.dev", "sales_orders_dev"),
        Case("a long value is cut with a hash", "x" * 70, "x" * 54 + "_" + names.stable_hash("x" * 70)),
    ],
    ids=lambda c: c.reason,
)
def test_gcp_label_value(case: Case) -> None:
    assert names.gcp_label_value(case.given) == case.want, case.reason


@pytest.mark.parametrize(
    "case",
    [
        Case("s3_bucket", "acme-dev-sales-orders", True),
        Case("s3_bucket", "Acme-dev", False),
        Case("s3_bucket", "ab", False),
        Case("s3_bucket", "x" * 64, False),
        Case("s3_bucket", "acme-", False),
        Case("s3_bucket", "xn--acme", False),
        Case("s3_bucket", "acme-s3alias", False),
        Case("iam_role", "a" * 64, True),
        Case("iam_role", "a" * 65, False),
        Case("iam_role", "role with space", False),
        Case("glue", "acme_dev_sales_orders", True),
        Case("glue", "acme-dev", False),
        Case("kms_alias", "alias/mesh/acme", True),
        Case("kms_alias", "alias/aws/s3", False),
        Case("gcs_bucket", "google-data", False),
        Case("gcs_bucket", "acme_dev-data", True),
        Case("gcp_service_account", "dev-sales-orders-p", True),
        Case("gcp_service_account", "short", False),
        Case("gcp_service_account", "1dev-sales-orders", False),
        Case("gcp_service_account", "x" * 31, False),
        Case("gcp_label", "", True),
        Case("gcp_label", "UPPER", False),
        Case("pulumi_stack", "sales.orders.dev", True),
        Case("pulumi_stack", "sales/orders", False),
    ],
    ids=lambda c: f"{c.reason}: {c.given[:20]!r}",
)
def test_rules(case: Case) -> None:
    assert names.RULES[case.reason].check(case.given) is case.want, (case.reason, case.given)


def test_catalog_identifier_turns_hyphens_into_underscores() -> None:
    assert (
        names.catalog_identifier("acme", "dev", "marketing", "campaign-performance")
        == "acme_dev_marketing_campaign_performance"
    )


@pytest.mark.parametrize(
    "case",
    [
        Case("fits", ("dev-sales-orders", "-p"), "dev-sales-orders-p"),
        Case("too short gets a suffix", ("a", "-p"), "a-p-sa"),
        Case(
            "too long is cut with a 6-character hash",
            ("dev-marketing-campaign-performance", "-p"),
            "dev-marketing-campaig-bf546a-p",
        ),
    ],
    ids=lambda c: c.reason,
)
def test_gcp_service_account_id(case: Case) -> None:
    account = names.gcp_service_account_id(*case.given)

    assert account == case.want, case.reason
    assert names.RULES["gcp_service_account"].check(account), case.reason
