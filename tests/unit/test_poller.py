"""Reading a partial batch response as the SQS event source mapping does."""

from queuefirst.local.eventsource.poller import _reported_failures

BATCH = {"m1", "m2", "m3"}


def test_listed_failures_are_the_ones_kept() -> None:
    assert _reported_failures({"batchItemFailures": [{"itemIdentifier": "m2"}]}, BATCH) == {"m2"}
    assert _reported_failures({"batchItemFailures": []}, BATCH) == set()
    assert _reported_failures(None, BATCH) == set()  # a handler returning nothing: all succeeded


def test_a_null_failure_list_is_complete_success_as_on_aws() -> None:
    """AWS's event source mapping reads `{"batchItemFailures": null}` (and a response
    without the key) as no failures: every message of the batch is deleted."""
    assert _reported_failures({"batchItemFailures": None}, BATCH) == set()
    assert _reported_failures({}, BATCH) == set()


def test_a_malformed_response_fails_the_whole_batch() -> None:
    for payload in (
        {"batchItemFailures": [{"itemIdentifier": "elsewhere"}]},
        {"batchItemFailures": [{"itemIdentifier": None}]},
        {"batchItemFailures": [{}]},
        {"batchItemFailures": "m1"},
        ["m1"],
    ):
        assert _reported_failures(payload, BATCH) is None, payload
