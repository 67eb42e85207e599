"""Requirement profiles: which IAM actions on which resources KKP needs, as data."""
