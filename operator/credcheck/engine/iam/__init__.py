"""IAM knowledge that needs no AWS: the action catalog, ARNs and a local policy evaluator."""
