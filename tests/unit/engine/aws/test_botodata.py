"""botocore's data shared by credcheck's sessions, endpoints.json kept only for the services credcheck calls: every
endpoint botocore resolves for those services is what it resolves from the whole file."""

import tracemalloc

import botocore.session
import pytest
from botocore.loaders import Loader
from botocore.regions import EndpointResolver

from credcheck.engine.aws import botodata, session


def test_the_endpoints_kept_resolve_as_the_whole_file_does() -> None:
    full = Loader().load_data("endpoints")
    kept = botodata._loader({}, None).load_data("endpoints")
    assert [p["partition"] for p in kept["partitions"]] == [p["partition"] for p in full["partitions"]]
    assert all(set(p["services"]) <= botodata.SERVICES for p in kept["partitions"])
    whole, part = EndpointResolver(full, uses_builtin_data=True), EndpointResolver(kept, uses_builtin_data=True)

    def resolve(resolver: EndpointResolver, *args: object, **kwargs: object) -> object:
        try:
            return resolver.construct_endpoint(*args, **kwargs)
        except Exception as err:  # a variant a partition does not have: the same refusal
            return f"{type(err).__name__}: {err}"

    regions = [r for p in full["partitions"] for r in p["regions"]] + ["aws-global", "eu-central-9", "cn-north-9"]
    assert len(regions) > 40
    for service in sorted(botodata.SERVICES):
        for region in regions:
            for fips in (False, True):
                for dualstack in (False, True):
                    assert resolve(part, service, region, use_fips_endpoint=fips, use_dualstack_endpoint=dualstack) \
                        == resolve(whole, service, region, use_fips_endpoint=fips, use_dualstack_endpoint=dualstack), \
                        (service, region, fips, dualstack)
        for partition in part.get_available_partitions():
            assert part.get_available_endpoints(service, partition) == \
                whole.get_available_endpoints(service, partition)


@pytest.mark.parametrize("region", ["us-east-1", "eu-central-1", "cn-north-1", "us-gov-west-1", "us-iso-east-1"])
@pytest.mark.parametrize("service", sorted(botodata.SERVICES))
def test_clients_go_where_plain_botocore_sends_them(service: str, region: str) -> None:
    plain = botocore.session.get_session().create_client(service, region_name=region, aws_access_key_id="a",
                                                         aws_secret_access_key="b")
    shared = botodata.share_data(botocore.session.get_session(), {}).create_client(
        service, region_name=region, aws_access_key_id="a", aws_secret_access_key="b")
    assert shared.meta.endpoint_url == plain.meta.endpoint_url
    assert shared.meta.region_name == plain.meta.region_name
    assert shared.meta.partition == plain.meta.partition


def test_sessions_share_one_loader_and_keep_a_small_part_of_the_endpoints() -> None:
    clients = session.AWSClients(honour_configured_endpoints=False)
    one, other = (botodata.share_data(botocore.session.get_session(), clients._loaders) for _ in range(2))
    assert one.get_component("data_loader") is other.get_component("data_loader")
    assert clients.ambient_session("us-east-1").client("sts").meta.endpoint_url  # the auditor's boto3 session too
    assert clients._profiles[None]._session.get_component("data_loader") is one.get_component("data_loader")
    loader = botodata._Loader()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        loader.load_data("endpoints")  # parses the file, keeps the part
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 1 * 2**20, f"endpoints.json kept {kept / 2**20:.1f} MiB (the whole file: ~6.7 MiB)"
