"""The token bucket all Event writes about KKP Clusters go through (controller.cluster_events.Bucket): a credential
that 2,000 Clusters use costs the apiserver at most 5 writes a second after a burst of 25."""

from credcheck.controller.cluster_events import BURST, WRITES_PER_SECOND, Bucket


def test_two_thousand_events_take_the_bucket_at_least_the_time_the_rate_allows() -> None:
    now = [0.0]
    bucket = Bucket(WRITES_PER_SECOND, BURST, clock=lambda: now[0])
    for _ in range(2000):
        wait = bucket.wait_for_token()
        now[0] += wait  # what `take` sleeps
        assert bucket.wait_for_token() == 0.0
        bucket._tokens -= 1  # what `take` does once a token is there
    # 25 at once, then 5 a second: (2000 - 25) / 5 = 395 s, never faster
    assert 394.9 < now[0] < 395.1


def test_an_idle_bucket_refills_only_up_to_the_burst() -> None:
    now = [0.0]
    bucket = Bucket(5.0, 25, clock=lambda: now[0])
    now[0] = 3600.0
    for _ in range(25):
        assert bucket.wait_for_token() == 0.0
        bucket._tokens -= 1
    assert bucket.wait_for_token() > 0
