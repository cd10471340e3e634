"""AWS wire protocols driven by botocore's service models (the only package that knows botocore)."""
