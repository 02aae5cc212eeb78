"""HTTP plumbing shared by every noun: error mapping, OpenAPI error docs, pagination, request limits, /metrics."""
