"""The engine on AWS's wire format: XML responses (tests/data/aws) parsed by botocore's own parser, then fed to
credcheck's simulator and error mapping — what credcheck meets from AWS, not from the test ground's renderer."""

from pathlib import Path
from typing import Any, cast

import botocore.session
import pytest
from botocore.exceptions import ClientError
from botocore.parsers import create_parser
from fakes import FakeClients

from credcheck.engine.aws.errors import describe
from credcheck.engine.aws.simulator import simulate_batch
from credcheck.engine.batches import SimulationBatch
from credcheck.engine.model import OPERATING, Outcome
from credcheck.engine.verdict import classify

DATA = Path(__file__).resolve().parents[3] / "data" / "aws"
SESSION = botocore.session.get_session()
ROLE = "arn:aws:iam::123456789012:role/kubernetes-abc"


def parse(service: str, operation: str, name: str, status: int = 200) -> dict[str, Any]:
    model = SESSION.get_service_model(service).operation_model(operation)
    response = {"body": (DATA / name).read_bytes(), "headers": {}, "status_code": status}
    return dict(create_parser("query").parse(response, model.output_shape))


class Pages:
    """An IAM client whose SimulatePrincipalPolicy answers with the fixture pages, recording each request."""

    def __init__(self, *pages: dict[str, Any]) -> None:
        self.pages, self.requests = list(pages), []  # type: ignore[var-annotated]

    def simulate_principal_policy(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(kwargs)
        return self.pages.pop(0)


def test_simulation_pages_with_every_detail() -> None:
    iam = Pages(parse("iam", "SimulatePrincipalPolicy", "simulate-page1.xml"),
                parse("iam", "SimulatePrincipalPolicy", "simulate-page2.xml"))
    actions = ("ec2:DescribeVpcs", "iam:PassRole", "ec2:RunInstances", "iam:CreateRole", "ec2:NoSuchAction")
    star = SimulationBatch(OPERATING, ("*",), actions, (("aws:RequestedRegion", ("eu-central-1",)),),
                           tuple((OPERATING, a, "*", ()) for a in actions))
    results = simulate_batch(FakeClients(iam=iam), "arn:aws:iam::123456789012:user/kkp", star)
    assert iam.requests[1]["Marker"] == "AAEAAWV4YW1wbGUtbWFya2Vy", "the second page is asked with the Marker"
    outcome = {key[1]: classify(result) for key, result in results.items()}
    assert outcome == {"ec2:DescribeVpcs": Outcome.ALLOWED, "iam:PassRole": Outcome.MISSING_CONTEXT,
                       "ec2:RunInstances": Outcome.DENIED_BY_SCP, "iam:CreateRole": Outcome.DENIED_BY_BOUNDARY,
                       "ec2:NoSuchAction": Outcome.IMPLICIT_DENY}
    first = results[(OPERATING, "ec2:DescribeVpcs", "*", ())]
    assert first.matched_statements == ("kkp-policy (IAM Policy)",)
    assert results[(OPERATING, "iam:PassRole", "*", ())].missing_context == ("aws:SourceVpc",)


def test_resource_specific_results_decide_per_resource() -> None:
    page = parse("iam", "SimulatePrincipalPolicy", "simulate-page2.xml")
    resources = (f"{ROLE}-control-plane", f"{ROLE}-worker")
    batch = SimulationBatch(OPERATING, resources, ("iam:GetRole",), (),
                            tuple((OPERATING, "iam:GetRole", r, ()) for r in resources))
    results = simulate_batch(FakeClients(iam=Pages(page)), "arn:aws:iam::123456789012:user/kkp", batch)
    assert results[(OPERATING, "iam:GetRole", f"{ROLE}-control-plane", ())].decision == "allowed"
    assert results[(OPERATING, "iam:GetRole", f"{ROLE}-worker", ())].decision == "implicitDeny"


@pytest.mark.parametrize(("fixture", "service", "operation", "status", "reason"), [
    ("sts-InvalidClientTokenId.xml", "sts", "GetCallerIdentity", 403, "InvalidCredentials"),
    ("sts-SignatureDoesNotMatch.xml", "sts", "GetCallerIdentity", 403, "InvalidCredentials"),
    ("sts-ExpiredToken.xml", "sts", "GetCallerIdentity", 400, "ExpiredToken"),
    ("sts-RequestExpired.xml", "sts", "GetCallerIdentity", 400, "ExpiredToken"),
    ("iam-AccessDenied.xml", "iam", "SimulatePrincipalPolicy", 403, "AccessDenied"),
    ("iam-Throttling.xml", "iam", "SimulatePrincipalPolicy", 400, "Throttled"),
])
def test_error_bodies_map_to_reasons(fixture: str, service: str, operation: str, status: int, reason: str) -> None:
    parsed = parse(service, operation, fixture, status)
    failure = describe(ClientError(cast(Any, parsed), operation), f"{service}:{operation}")
    assert failure.reason == reason
    assert "0f3b2e6e" not in failure.message, "request ids never reach a status"
