"""HTTP transport for the AWS APIs (Starlette)."""
