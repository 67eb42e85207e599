"""The engine's count of its AWS calls: Prometheus counters in no registry (the operator registers them with its
own, the CLI never serves them) and a plain total the re-check scheduler reads per round."""

import threading

from prometheus_client import Counter

# the AWS service is `aws_service`: a ServiceMonitor's scrape sets a target label `service` (the Kubernetes Service)
AWS_CALLS = Counter("credcheck_aws_api_calls_total", "AWS API calls by AWS service, operation and outcome",
                    ["aws_service", "operation", "outcome"], registry=None)
AWS_THROTTLED = Counter("credcheck_aws_throttled_total", "AWS calls that failed throttled after retries",
                        ["aws_service"], registry=None)
AWS_REQUESTS = Counter("credcheck_aws_requests_total", "AWS HTTP requests made, every retry included",
                       registry=None)
COLLECTORS = (AWS_CALLS, AWS_THROTTLED, AWS_REQUESTS)


def record_aws_call(service: str, operation: str, outcome: str) -> None:
    AWS_CALLS.labels(service, operation, outcome).inc()
    if outcome == "throttled":
        AWS_THROTTLED.labels(service).inc()


_REQUESTS = [0.0]
_REQUESTS_LOCK = threading.Lock()


def count_aws_request() -> None:
    """One AWS HTTP request (a retry included): the counter, and the plain total the scheduler's rounds read."""
    AWS_REQUESTS.inc()
    with _REQUESTS_LOCK:
        _REQUESTS[0] += 1


def aws_requests() -> float:
    with _REQUESTS_LOCK:
        return _REQUESTS[0]
