"""The document fuzzer's short campaign: 2,000 seeded documents, 0 of each failure.

Every document is a seed (the examples and the tests' documents) with a few
mutations (tests/fuzz/mutate.py), taken through rackd's real entry points
(tests/fuzz/pipeline.py), and about 50 of the accepted ones through the
real ``dhcpd -t`` (tests/fuzz/campaign.py). The long campaign is
``python -m bench.fuzz_documents --count 100000``.
"""

import pytest

from tests.fuzz.campaign import Campaign

SEED = 20261204
COUNT = 2000
DHCPD_SAMPLE = 50


@pytest.mark.dhcpd
def test_fuzzed_documents_break_nothing():
    """2,000 mutated documents (strings full of dhcpd syntax, control and
    lone-surrogate characters, wrong types, missing, unknown and repeated
    keys, deep nesting, addresses of the other family or outside their
    subnet, broken bytes) give no unhandled exception, no config dhcpd -t
    refuses after the validator accepted it, no injection, no rejection
    without a field path, no round trip that comes back different, and no
    disagreement between rackctl check's read and the agent's."""
    campaign = Campaign(SEED, COUNT, DHCPD_SAMPLE).run()
    report = "\n".join(campaign.report())
    print(report)
    assert campaign.accepted > COUNT // 10, report  # enough reach the renderer and dhcpd
    assert campaign.dhcpd_checked >= 30, report
    assert campaign.failures() == dict.fromkeys(campaign.failures(), 0), report
