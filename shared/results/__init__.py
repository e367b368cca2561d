"""What the pipeline answers: result documents and their schemas, the audit log, result tables."""
