"""Stack output keys, shared by the programs, the engine and the tests.

Each cloud exports what its resources are: an AWS product its role ARNs and Glue
database, a GCP product its producer service account's email and BigQuery dataset.
"""

BUCKET = "bucket"
BUCKET_ARN = "bucketArn"
KMS_KEY_ARN = "kmsKeyArn"
PRODUCER_ROLE_ARN = "producerRoleArn"
CONSUMER_ROLE_ARNS = "consumerRoleArns"
CATALOG_DATABASE = "catalogDatabase"
CATALOG_TABLES = "catalogTables"
QUERY_WORKGROUPS = "queryWorkgroups"
DATASET = "dataset"
PRODUCER_SERVICE_ACCOUNT = "producerServiceAccount"
PRODUCT = "product"
SIGNALS_TOPIC = "signalsTopic"  # the SNS topic ARN (AWS) or Pub/Sub topic id (GCP)

AWS = (
    BUCKET,
    BUCKET_ARN,
    KMS_KEY_ARN,
    PRODUCER_ROLE_ARN,
    CONSUMER_ROLE_ARNS,
    CATALOG_DATABASE,
    CATALOG_TABLES,
    QUERY_WORKGROUPS,
    PRODUCT,
    SIGNALS_TOPIC,
)
GCP = (BUCKET, DATASET, PRODUCER_SERVICE_ACCOUNT, PRODUCT, SIGNALS_TOPIC)
ALL = (*AWS, DATASET, PRODUCER_SERVICE_ACCOUNT)
