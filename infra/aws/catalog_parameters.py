"""The names under which an AWS product's metadata lives in the Glue Data Catalog.

`components/aws/catalog.py` writes them on the product's database and tables;
`infra/catalog.py` reads them back for `mesh catalog search / show`.
"""

# Database parameters: the product's metadata.
P_DOMAIN = "mesh:domain"
P_PRODUCT = "mesh:product"
P_OWNER = "mesh:owner"
P_VERSION = "mesh:version"
P_CLASSIFICATION = "mesh:classification"
P_ENVIRONMENT = "mesh:environment"
P_RETENTION = "mesh:retention-days"
P_PORTS = "mesh:ports"
P_CONSUMERS = "mesh:consumers"
P_INPUTS = "mesh:inputs"
P_FRESHNESS = "mesh:slo-freshness-hours"
# Table parameters: the port behind a table.
P_PORT = "mesh:port"
P_FORMAT = "mesh:format"
P_PII = "mesh:pii-columns"
PII_MARK = "[pii]"  # the start of a PII column's comment
