"""Cloud stores: the conformance and reliability suites on emulated S3, GCS and Azure Blob."""
