from botocore.exceptions import ClientError, EndpointConnectionError

from credcheck.engine.aws.errors import describe, sanitize


def client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "SimulatePrincipalPolicy")


def test_sanitize_strips_ids_keys_and_secrets() -> None:
    text = ("Credential=AKIAIOSFODNN7EXAMPLE/20261127/us-east-1/iam/aws4_request, request id: "
            "1b2c3d4e-1111-2222-3333-444455556666 secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY "
            "key ASIAIOSFODNN7EXAMPLE")
    clean = sanitize(text)
    for leaked in ("AKIAIOSFODNN7EXAMPLE", "1b2c3d4e-1111", "wJalrXUtnFEMI", "ASIAIOSFODNN7EXAMPLE"):
        assert leaked not in clean
    assert "Credential=(hidden)" in clean


def test_reasons() -> None:
    assert describe(client_error("SignatureDoesNotMatch", "x"), "call").reason == "InvalidCredentials"
    assert describe(client_error("InvalidClientTokenId", "x"), "call").reason == "InvalidCredentials"
    assert describe(client_error("ExpiredToken", "x"), "call").reason == "ExpiredToken"
    assert describe(client_error("Throttling", "Rate exceeded"), "call").reason == "Throttled"
    assert describe(client_error("AccessDenied", "no"), "call").reason == "AccessDenied"
    assert describe(EndpointConnectionError(endpoint_url="http://x"), "call").reason == "AWSUnreachable"


def test_encoded_authorization_message_is_dropped() -> None:
    failure = describe(client_error("UnauthorizedOperation",
                                    "You are not authorized. Encoded authorization failure message: AbCdEf123"), "x")
    assert "AbCdEf123" not in failure.message
