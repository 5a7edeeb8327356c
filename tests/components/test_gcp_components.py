"""The GCP components under Pulumi mocks: lockdown, labels, and grants exactly as requested.

Two products are synthesized once each: the marketing example, and a variant of it (more
ports, another consumer granted many ports, another retention) written next to a copy of
examples/mesh.yaml, so that what the tests see is shown to follow the request.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.gcp.access import PORTS_PER_CONDITION
from components.gcp.catalog import schema_field, time_partitioning
from infra import synth
from infra.model.graph import Resource, ResourceGraph
from infra.model.spec import REQUIRED_TAGS, ColumnSpec, ProductSpec
from infra.validation import load_spec
from stacks.product import product_program

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_REQUEST = EXAMPLES / "products" / "marketing-campaigns.yaml"
REQUIRED_LABELS = tuple(t.replace(":", "-") for t in REQUIRED_TAGS)

BUCKET = "gcp:storage/bucket:Bucket"
BUCKET_IAM = "gcp:storage/bucketIAMMember:BucketIAMMember"
KEY_RING = "gcp:kms/keyRing:KeyRing"
CRYPTO_KEY = "gcp:kms/cryptoKey:CryptoKey"
KEY_IAM = "gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember"
DATASET = "gcp:bigquery/dataset:Dataset"
DATASET_IAM = "gcp:bigquery/datasetIamMember:DatasetIamMember"
TABLE = "gcp:bigquery/table:Table"
TABLE_IAM = "gcp:bigquery/iamMember:IamMember"
ACCOUNT = "gcp:serviceaccount/account:Account"
ACCOUNT_IAM = "gcp:serviceaccount/iAMMember:IAMMember"
TOPIC = "gcp:pubsub/topic:Topic"
SERVICE_IDENTITY = "gcp:projects/serviceIdentity:ServiceIdentity"
LABELED = {BUCKET, CRYPTO_KEY, DATASET, TABLE, TOPIC}
UNLABELABLE = {KEY_RING, ACCOUNT, BUCKET_IAM, KEY_IAM, DATASET_IAM, TABLE_IAM, ACCOUNT_IAM, SERVICE_IDENTITY}
IAM_MEMBERS = {BUCKET_IAM, KEY_IAM, DATASET_IAM, TABLE_IAM, ACCOUNT_IAM}
CONSUMER_ROLES = {
    "roles/storage.objectViewer",
    "roles/bigquery.dataViewer",
    "roles/cloudkms.cryptoKeyDecrypter",
}

# Stand-in answers for the service-agent look-ups, used only while infra.synth's mocks
# answer these tokens with {} (then the agents' grants have no member); inert once they do.
_AGENTS = {
    "gcp:storage/getProjectServiceAccount:getProjectServiceAccount": (
        "emailAddress",
        "service-000000000000@gs-project-accounts.iam.gserviceaccount.com",
    ),
    "gcp:bigquery/getDefaultServiceAccount:getDefaultServiceAccount": (
        "email",
        "bq-000000000000@bigquery-encryption.iam.gserviceaccount.com",
    ),
}

# The variant: eight ports (one consumer is granted all of them, more than one IAM
# condition can hold), a port with personal data and nested types, another retention.
EXTRA_PORTS = ["clicks", "sessions", "audiences", "creatives", "budgets", "bids"]
CHANNEL_PORT: dict[str, Any] = {
    "name": "channel_daily",
    "description": "Spend per channel and day.",
    "partitionedBy": ["ts"],
    "schema": [
        {"name": "channel", "type": "STRING(20)", "required": True},
        {"name": "ts", "type": "TIMESTAMP", "required": True},
        {"name": "contact_email", "type": "STRING", "pii": True, "description": "Who to call."},
        {"name": "cost", "type": "NUMERIC(12,2)"},
        {"name": "tags", "type": "ARRAY<STRING>"},
        {"name": "geo", "type": "STRUCT<country STRING, cities ARRAY<STRING>, share FLOAT64>"},
    ],
}


@dataclass(frozen=True)
class Product:
    """One synthesized request: the raw request, its resolved spec and its graph."""

    request: dict[str, Any]
    spec: ProductSpec
    graph: ResourceGraph


@pytest.fixture(scope="module")
def service_agent_answers() -> Iterator[None]:
    """Answer the two service-agent invokes while infra.synth's mocks do not."""
    original = synth._Mocks.call

    def call(self: Any, args: Any) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        answer, failures = original(self, args)
        if not answer and args.token in _AGENTS:
            key, email = _AGENTS[args.token]
            answer = {key: email, "member": f"serviceAccount:{email}", "id": email}
        return answer, list(failures or [])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(synth._Mocks, "call", call)
        yield


def _synthesize(path: Path) -> Product:
    spec, _, _ = load_spec(path, platform_path=None, environment=None)
    graph = synth.synthesize(product_program(spec), project=spec.project, stack=spec.stack)
    return Product(yaml.safe_load(path.read_text(encoding="utf-8")), spec, graph)


@pytest.fixture(scope="module")
def example(service_agent_answers: None) -> Product:
    return _synthesize(EXAMPLE_REQUEST)


@pytest.fixture(scope="module")
def variant(service_agent_answers: None, tmp_path_factory: pytest.TempPathFactory) -> Product:
    folder = tmp_path_factory.mktemp("gcp-variant")
    shutil.copy(EXAMPLES / "mesh.yaml", folder / "mesh.yaml")
    request = yaml.safe_load(EXAMPLE_REQUEST.read_text(encoding="utf-8"))
    first = request["spec"]["outputPorts"][0]
    extra = [{**first, "name": name} for name in EXTRA_PORTS]
    request["spec"]["outputPorts"] += [CHANNEL_PORT, *extra]
    request["spec"]["retentionDays"] = 90
    all_ports = [p["name"] for p in request["spec"]["outputPorts"]]
    request["spec"]["access"]["consumers"] = [
        {"domain": "sales", "ports": ["channel_daily"]},
        {"domain": "finance", "ports": all_ports},
    ]
    path = folder / "variant.yaml"
    path.write_text(yaml.safe_dump(request, sort_keys=False), encoding="utf-8")
    return _synthesize(path)


@pytest.fixture(params=["example", "variant"])
def product(request: pytest.FixtureRequest) -> Product:
    found: Product = request.getfixturevalue(request.param)
    return found


def one(graph: ResourceGraph, type_: str) -> Resource:
    found = graph.of_type(type_)
    assert len(found) == 1, f"expected one {type_}, found {[r.urn for r in found]}"
    return found[0]


def email(project: str, account_id: str) -> str:
    return f"serviceAccount:{account_id}@{project}.iam.gserviceaccount.com"


def grants_to(graph: ResourceGraph, member: str) -> list[Resource]:
    return [r for r in graph.of_type(*IAM_MEMBERS) if r.inputs.get("member") == member]


def depends_on(resource: Resource, *others: Resource) -> bool:
    return all(o.urn in resource.dependencies for o in others)


def test_bucket_is_locked_down_and_encrypted_with_the_product_key(product: Product) -> None:
    names = product.spec.require_gcp()
    bucket = one(product.graph, BUCKET)
    key = one(product.graph, CRYPTO_KEY)
    u = bucket.urn
    assert bucket.inputs["name"] == names.bucket, u
    assert bucket.inputs["location"] == names.region, u
    assert bucket.inputs["uniformBucketLevelAccess"] is True, u
    assert bucket.inputs["publicAccessPrevention"] == "enforced", u
    assert bucket.input("versioning", "enabled") is True, u
    assert bucket.inputs["forceDestroy"] is False, u
    assert bucket.input("logging", "logBucket") == names.log_bucket, u
    assert bucket.input("encryption", "defaultKmsKeyName"), f"{u}: no default KMS key"
    # GCS checks at creation that its service agent may use the key.
    agents = [g for g in product.graph.of_type(KEY_IAM) if g.name.endswith("-agent")]
    assert len(agents) == 2, f"{key.urn}: service-agent grants {[a.urn for a in agents]}"
    assert depends_on(bucket, key, *agents), f"{u}: created before its key is usable"


def test_lifecycle_follows_retention(product: Product) -> None:
    bucket = one(product.graph, BUCKET)
    rules = [(r["action"]["type"], r["condition"]) for r in bucket.inputs["lifecycleRules"]]
    expire = [c for t, c in rules if t == "Delete" and "age" in c]
    noncurrent = [c for t, c in rules if t == "Delete" and "daysSinceNoncurrentTime" in c]
    assert expire == [{"age": product.spec.retention_days, "withState": "LIVE"}], bucket.urn
    assert noncurrent == [{"daysSinceNoncurrentTime": 30, "withState": "ARCHIVED"}], bucket.urn


def test_retention_comes_from_the_request(example: Product, variant: Product) -> None:
    for product in (example, variant):
        bucket = one(product.graph, BUCKET)
        ages = [
            r["condition"]["age"]
            for r in bucket.inputs["lifecycleRules"]
            if r["action"]["type"] == "Delete" and "age" in r["condition"]
        ]
        assert ages == [product.request["spec"]["retentionDays"]], bucket.urn
    assert example.spec.retention_days != variant.spec.retention_days


def test_key_rotates_and_the_service_agents_may_use_it(product: Product) -> None:
    names = product.spec.require_gcp()
    ring, key = one(product.graph, KEY_RING), one(product.graph, CRYPTO_KEY)
    assert (ring.inputs["name"], ring.inputs["location"]) == (names.key_ring, names.region), ring.urn
    assert key.inputs["name"] == names.crypto_key, key.urn
    assert key.inputs["rotationPeriod"] == "7776000s", key.urn
    assert key.inputs["purpose"] == "ENCRYPT_DECRYPT", key.urn
    agents = {
        g.name.rsplit("-", 2)[-2]: g for g in product.graph.of_type(KEY_IAM) if g.name.endswith("-agent")
    }
    assert set(agents) == {"storage", "bigquery"}, key.urn
    for service, domain in (("storage", "@gs-project-accounts."), ("bigquery", "@bigquery-encryption.")):
        grant = agents[service]
        assert grant.inputs["role"] == "roles/cloudkms.cryptoKeyEncrypterDecrypter", grant.urn
        assert domain in grant.inputs["member"], grant.urn


def test_every_labelable_resource_carries_the_mesh_labels(product: Product) -> None:
    for resource in product.graph.cloud_resources():
        assert resource.type in LABELED | UNLABELABLE, (
            f"{resource.urn}: decide whether {resource.type} takes labels"
        )
        if resource.type not in LABELED:
            continue
        labels = resource.inputs.get("labels") or {}
        for label in REQUIRED_LABELS:
            assert labels.get(label) == product.spec.labels[label], f"{resource.urn}: label {label}"
        for value in labels.values():
            assert re.fullmatch(r"[a-z0-9_-]{0,63}", value), f"{resource.urn}: label value {value!r}"


def test_grants_are_additive_and_never_public(product: Product) -> None:
    for resource in product.graph.cloud_resources():
        assert not re.search(r"(Policy|Binding)$", resource.type, re.IGNORECASE), (
            f"{resource.urn}: authoritative IAM"
        )
        assert "accesses" not in resource.inputs, f"{resource.urn}: authoritative dataset access"
    for grant in product.graph.of_type(*IAM_MEMBERS):
        member = grant.inputs.get("member")
        assert member, f"{grant.urn}: no member"
        assert member not in ("allUsers", "allAuthenticatedUsers"), f"{grant.urn}: public member {member}"
        assert member.split(":", 1)[0] in ("serviceAccount", "group", "user"), f"{grant.urn}: {member}"


def test_each_consumer_reads_exactly_its_granted_prefixes(product: Product) -> None:
    spec, names = product.spec, product.spec.require_gcp()
    objects = re.escape(f'resource.name.startsWith("projects/_/buckets/{names.bucket}/objects/')
    listing = re.escape('api.getAttribute("storage.googleapis.com/objectListPrefix", "").startsWith("')
    for grant in spec.grants:
        member = email(names.project, grant.gcp_service_account)
        bindings = [b for b in grants_to(product.graph, member) if b.type == BUCKET_IAM]
        assert bindings, f"no bucket binding for {member}"
        granted: list[str] = []
        for binding in bindings:
            u = binding.urn
            assert binding.inputs["bucket"] == names.bucket, u
            assert binding.inputs["role"] == "roles/storage.objectViewer", u
            expression = binding.input("condition", "expression")
            reads = re.findall(objects + r'([^"]+)"\)', expression)
            lists = re.findall(listing + r'([^"]+)"\)', expression)
            assert reads == lists, f"{u}: read and list prefixes differ"
            clauses = expression.split(" || ")
            assert len(clauses) == len(reads) + len(lists), f"{u}: unexpected clause in {expression}"
            assert len(clauses) - 1 <= 12, f"{u}: more logical operators than IAM allows"
            granted += reads
        assert sorted(granted) == sorted(spec.port(p).prefix for p in grant.ports), bindings[0].urn
        assert len(bindings) == -(-len(grant.ports) // PORTS_PER_CONDITION), bindings[0].urn


def test_consumers_only_read_and_decrypt(product: Product) -> None:
    spec, names = product.spec, product.spec.require_gcp()
    tables = {t.inputs["tableId"]: t for t in product.graph.of_type(TABLE)}
    for grant in spec.grants:
        member = email(names.project, grant.gcp_service_account)
        account = next(
            a for a in product.graph.of_type(ACCOUNT) if a.inputs["accountId"] == grant.gcp_service_account
        )
        held = grants_to(product.graph, member)
        for resource in held:
            assert resource.inputs["role"] in CONSUMER_ROLES, f"{resource.urn}: {resource.inputs['role']}"
            assert depends_on(resource, account), f"{resource.urn}: may run before {account.urn} exists"
        assert not [r for r in held if r.type == DATASET_IAM], f"{account.urn}: dataset-wide access"
        table_grants = [r for r in held if r.type == TABLE_IAM]
        want = sorted(spec.port(p).table for p in grant.ports)
        assert sorted(r.inputs["tableId"] for r in table_grants) == want, account.urn
        for resource in table_grants:
            assert resource.inputs["datasetId"] == names.dataset, resource.urn
            assert depends_on(resource, tables[resource.inputs["tableId"]]), resource.urn
        assert [r.inputs["role"] for r in held if r.type == KEY_IAM] == [
            "roles/cloudkms.cryptoKeyDecrypter"
        ], account.urn


def test_producer_writes_its_own_product(product: Product) -> None:
    names = product.spec.require_gcp()
    member = email(names.project, names.producer_service_account)
    roles = {(r.type, r.inputs["role"]) for r in grants_to(product.graph, member)}
    assert roles == {
        (BUCKET_IAM, "roles/storage.objectAdmin"),
        (DATASET_IAM, "roles/bigquery.dataEditor"),
        (KEY_IAM, "roles/cloudkms.cryptoKeyEncrypterDecrypter"),
    }, one(product.graph, BUCKET).urn
    for grant in grants_to(product.graph, member):
        assert "condition" not in grant.inputs, grant.urn
        assert grant.inputs.get("bucket", names.bucket) == names.bucket, grant.urn
        assert grant.inputs.get("datasetId", names.dataset) == names.dataset, grant.urn


def test_only_each_domains_members_impersonate_its_service_account(product: Product) -> None:
    spec, names = product.spec, product.spec.require_gcp()
    want = {names.producer_service_account: set(spec.producer_gcp_members)}
    want |= {g.gcp_service_account: set(g.gcp_members) for g in spec.grants}
    found: dict[str, set[str]] = {account_id: set() for account_id in want}
    for grant in product.graph.of_type(ACCOUNT_IAM):
        assert grant.inputs["role"] == "roles/iam.serviceAccountTokenCreator", grant.urn
        target = grant.inputs["serviceAccountId"]
        account_id = target.rsplit("/", 1)[-1].split("@", 1)[0]
        assert (
            target
            == f"projects/{names.project}/serviceAccounts/{email(names.project, account_id).split(':')[1]}"
        ), grant.urn
        assert account_id in found, f"{grant.urn}: unknown service account {target}"
        found[account_id].add(grant.inputs["member"])
    assert found == want, product.graph.of_type(ACCOUNT)[0].urn


def test_grants_follow_the_request(example: Product, variant: Product) -> None:
    for product in (example, variant):
        names = product.spec.require_gcp()
        consumers = {c["domain"]: c["ports"] for c in product.request["spec"]["access"]["consumers"]}
        accounts = {g.domain: g.gcp_service_account for g in product.spec.grants}
        assert sorted(accounts) == sorted(consumers)
        found = sorted(a.inputs["accountId"] for a in product.graph.of_type(ACCOUNT))
        assert found == sorted([names.producer_service_account, *accounts.values()]), one(
            product.graph, BUCKET
        ).urn
        for domain, ports in consumers.items():
            held = grants_to(product.graph, email(names.project, accounts[domain]))
            tables = sorted(r.inputs["tableId"] for r in held if r.type == TABLE_IAM)
            assert tables == sorted(ports), f"{held[0].urn}: tables of {domain}"
    assert {c["domain"] for c in variant.request["spec"]["access"]["consumers"]} == {"sales", "finance"}


def test_dataset_is_the_discovery_index(product: Product) -> None:
    spec, names = product.spec, product.spec.require_gcp()
    dataset = one(product.graph, DATASET)
    u = dataset.urn
    assert dataset.inputs["datasetId"] == names.dataset, u
    assert dataset.inputs["location"] == names.region, u
    assert dataset.inputs["description"] == spec.description, u
    assert dataset.inputs["deleteContentsOnDestroy"] is False, u
    assert dataset.input("defaultEncryptionConfiguration", "kmsKeyName"), f"{u}: no CMEK"
    labels = dataset.inputs["labels"]
    assert labels["mesh-classification"] == spec.classification, u
    assert labels["mesh-version"] == spec.version.replace(".", "_"), u
    assert labels["mesh-freshness-hours"] == str(spec.freshness_hours), u
    agents = [g for g in product.graph.of_type(KEY_IAM) if g.name.endswith("-bigquery-agent")]
    assert depends_on(dataset, *agents), f"{u}: created before BigQuery may use the key"


def test_one_protected_table_per_port_with_the_requested_schema(product: Product) -> None:

    names = product.spec.require_gcp()
    ports = {p["name"]: p for p in product.request["spec"]["outputPorts"]}
    tables = {t.inputs["tableId"]: t for t in product.graph.of_type(TABLE)}
    assert sorted(tables) == sorted(ports), one(product.graph, DATASET).urn
    for name, table in tables.items():
        u = table.urn
        assert table.inputs["datasetId"] == names.dataset, u
        assert table.inputs["deletionProtection"] is True, u
        assert table.input("encryptionConfiguration", "kmsKeyName"), f"{u}: no CMEK"
        assert table.input("labels", "mesh-port") == name, u
        schema = json.loads(table.inputs["schema"])
        columns = ports[name]["schema"]
        assert [f["name"] for f in schema] == [c["name"] for c in columns], u
        for field, column in zip(schema, columns, strict=True):
            if column["type"].upper().startswith("ARRAY<"):
                mode = "REPEATED"
            else:
                mode = "REQUIRED" if column.get("required") else "NULLABLE"
            assert field["mode"] == mode, f"{u}: {field['name']} mode"
            element = column["type"].upper().removeprefix("ARRAY<")
            head = re.split(r"[<(>]", element)[0]
            want = {"INT64": "INTEGER", "FLOAT64": "FLOAT", "STRUCT": "RECORD"}.get(head, head)
            assert field["type"] == want, f"{u}: {field['name']} type"
            if column.get("pii"):
                assert field["description"].startswith("[pii]"), f"{u}: {field['name']} not marked pii"
            else:
                assert "[pii]" not in field.get("description", ""), f"{u}: {field['name']}"


def test_components_own_their_resources(product: Product) -> None:
    components = {r.urn: r for r in product.graph if not r.custom}
    assert sorted(r.type for r in components.values()) == sorted(
        [
            "mesh:gcp:DataProduct",
            "mesh:gcp:ProductKey",
            "mesh:gcp:ProductStorage",
            "mesh:gcp:ProductCatalog",
            "mesh:gcp:ProductAccess",
            "mesh:gcp:ProductSignals",
        ]
    )
    for resource in product.graph.cloud_resources():
        assert resource.parent in components, f"{resource.urn}: not inside a mesh component"
        assert resource.name.startswith(components[resource.parent].name + "-"), resource.urn


@dataclass(frozen=True)
class Case:
    reason: str
    given: ColumnSpec
    want: dict[str, Any]


SCHEMA_CASES = [
    Case(
        "canonical type name, required",
        ColumnSpec("n", "INT64", required=True),
        {"name": "n", "type": "INTEGER", "mode": "REQUIRED"},
    ),
    Case(
        "string length",
        ColumnSpec("s", "STRING(20)"),
        {"name": "s", "type": "STRING", "maxLength": "20", "mode": "NULLABLE"},
    ),
    Case(
        "precision and scale",
        ColumnSpec("x", "NUMERIC(12,2)"),
        {"name": "x", "type": "NUMERIC", "precision": "12", "scale": "2", "mode": "NULLABLE"},
    ),
    Case(
        "arrays repeat, even when required",
        ColumnSpec("a", "ARRAY<STRING>", required=True),
        {"name": "a", "type": "STRING", "mode": "REPEATED"},
    ),
    Case(
        "structs are records with nested fields",
        ColumnSpec("g", "STRUCT<c STRING, l ARRAY<INT64>>"),
        {
            "name": "g",
            "type": "RECORD",
            "mode": "NULLABLE",
            "fields": [
                {"name": "c", "type": "STRING", "mode": "NULLABLE"},
                {"name": "l", "type": "INTEGER", "mode": "REPEATED"},
            ],
        },
    ),
    Case(
        "pii is marked",
        ColumnSpec("e", "STRING", pii=True, description="Email."),
        {"name": "e", "type": "STRING", "mode": "NULLABLE", "description": "[pii] Email."},
    ),
    Case(
        "pii without description",
        ColumnSpec("e", "STRING", pii=True),
        {"name": "e", "type": "STRING", "mode": "NULLABLE", "description": "[pii]"},
    ),
]


@pytest.mark.parametrize("case", SCHEMA_CASES, ids=lambda c: c.reason)
def test_schema_field(case: Case) -> None:
    assert schema_field(case.given) == case.want, case.reason


@pytest.mark.parametrize(
    ("column", "want"),
    [
        (None, None),
        (ColumnSpec("day", "DATE"), {"type": "DAY", "field": "day"}),
        (ColumnSpec("ts", "timestamp"), {"type": "DAY", "field": "ts"}),
        (ColumnSpec("n", "INT64"), None),
    ],
)
def test_time_partitioning(column: ColumnSpec | None, want: dict[str, str] | None) -> None:
    assert time_partitioning(column) == want


def test_signals_topic_is_encrypted_with_the_product_key_after_pubsub_may_use_it(product: Product) -> None:
    (topic,) = product.graph.of_type(TOPIC)
    names = product.spec.require_gcp()
    assert topic.inputs["name"] == names.topic, topic.urn
    assert topic.inputs["kmsKeyName"].endswith(f"/keyRings/{names.key_ring}/cryptoKeys/{names.crypto_key}"), (
        f"{topic.urn}: not the product key"
    )
    (agent,) = product.graph.of_type(SERVICE_IDENTITY)
    assert agent.inputs["service"] == "pubsub.googleapis.com", agent.urn
    grants = [
        g
        for g in product.graph.of_type(KEY_IAM)
        if g.inputs.get("member", "").endswith("@gcp-sa-pubsub.iam.gserviceaccount.com")
    ]
    assert [g.inputs["role"] for g in grants] == ["roles/cloudkms.cryptoKeyEncrypterDecrypter"], topic.urn
    assert grants[0].urn in topic.dependencies, f"{topic.urn}: created before Pub/Sub may use the key"
