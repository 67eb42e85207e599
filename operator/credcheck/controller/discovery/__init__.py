"""Discovery: which AWSCredentialChecks KKP's objects call for, and keeping them so.

`kkp` reads what Clusters, ExternalClusters, Seeds, Secrets and Presets say; `desired` turns that into the check a
credential should have; `apply` writes it (optimistic concurrency); `queue` runs it level-triggered, one key at a
time, with retries and a periodic resync.
"""
