"""The wire's limits without Twisted: unreadable arguments and error
descriptions fitted to one AMP value."""

import json
import zlib

import pytest

from provisioningserver.rpc import ampbox
from provisioningserver.rpc.ampbox import MAX_VALUE_LENGTH, BadArgument, fit_description


@pytest.mark.parametrize("box, reason", [
    ({b"v": b"0"}, "chunk count 0 out of range 1..4097"),
    ({b"v": b"9" * 30}, "chunk count 999999999999999999999999 out of range 1..4097"),
    ({b"v": b"1", b"v.0": zlib.compress(b"[" * 100_000)}, "nested too deeply to read"),
    ({b"v": b"1", b"v.0": zlib.compress(b"[1,")}, "not JSON"),
])
def test_an_unreadable_json_value_is_a_bad_argument_naming_it(box, reason):
    """A ValueError still (callers that catch that keep working), with the
    argument and the reason apart; a 30-digit count is quoted short."""
    with pytest.raises(BadArgument) as caught:
        ampbox.take_json(dict(box), b"v")
    assert caught.value.argument == "v" and caught.value.reason.startswith(reason)
    assert isinstance(caught.value, ValueError) and str(caught.value).startswith("argument v: ")


def test_a_description_that_fits_is_left_alone():
    """Under 64 KiB the description is sent as it is, byte for byte."""
    text = json.dumps({"kind": "invalid-document", "errors": [{"field": "a", "error": "b"}]})
    assert fit_description(text) is text


def test_field_errors_past_64_kib_keep_the_first_and_count_the_rest():
    """The most errors that fit, in order, and ``omitted``: the result is
    JSON, at most one AMP value, and loses no count."""
    errors = [{"field": f"hosts[{i}].ip", "error": "é not an address " * 3} for i in range(5000)]
    text = fit_description(json.dumps({"kind": "invalid-document", "errors": errors}))
    assert len(text.encode("utf-8")) <= MAX_VALUE_LENGTH
    value = json.loads(text)
    kept = len(value["errors"])
    assert value["errors"] == errors[:kept] and value["omitted"] == 5000 - kept
    one_more = json.dumps({"kind": "invalid-document", "errors": errors[:kept + 1],
                           "omitted": 5000 - kept - 1})
    assert len(one_more.encode("utf-8")) > MAX_VALUE_LENGTH  # as many as fit, not fewer


def test_a_long_text_field_is_cut_and_other_text_says_how_much_was_cut():
    """A JSON description's long text (dhcpd's output) is cut to
    `LONG_TEXT`; a description that is not JSON is cut and says its size."""
    value = json.loads(fit_description(json.dumps({"kind": "k", "output": "o" * 100_000})))
    assert value["output"] == "o" * ampbox.LONG_TEXT + "..."
    text = fit_description("x" * 100_000)
    assert len(text) <= MAX_VALUE_LENGTH and text.endswith("(100000 bytes in all)")


def test_a_description_that_cannot_be_shortened_enough_says_so_in_json():
    """Forty long fields of its own: the kind and a sentence, still JSON."""
    crowded = {"kind": "environment", **{f"f{i}": "z" * 4000 for i in range(40)}}
    value = json.loads(fit_description(json.dumps(crowded)))
    assert value["kind"] == "environment" and "does not fit one AMP value" in value["error"]
