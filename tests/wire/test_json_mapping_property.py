"""Our proto3 JSON mapping (kept over `json_format` because it measured 1.9x faster out and 3x
faster in) agrees with Google's `json_format` on random messages of every type the contract
has, both ways."""

from __future__ import annotations

import datetime
import json
from typing import Any

from google.protobuf import json_format
from hypothesis import given, settings
from hypothesis import strategies as st

from gen.kugel.item.v1 import (
    BatchGetItemDetailsRequest,
    BatchGetItemDetailsResponse,
    GetItemDetailRequest,
    GetItemDetailResponse,
    Item,
    RoundingMethod,
    TaxRule,
    TaxType,
)
from services.wire._upb import upb_class
from services.wire.codec import decode_json, encode_json, to_upb

text = st.text(st.characters(codec="utf-8"), max_size=12)
int32 = st.integers(-(2**31), 2**31 - 1)
int64 = st.integers(-(2**63), 2**63 - 1)
timestamps = st.datetimes(
    min_value=datetime.datetime(1, 1, 1), max_value=datetime.datetime(9999, 12, 31, 23, 59, 59)
).map(lambda d: d.replace(tzinfo=datetime.UTC))
tax_rules = st.builds(
    TaxRule,
    tax_code=text,
    tax_type=st.sampled_from(list(TaxType)),
    rate_basis_points=int32,
    rounding_method=st.sampled_from(list(RoundingMethod)),
    name=text,
)
items = st.builds(
    Item,
    item_code=text,
    item_name=text,
    unit_price=int64,
    currency_code=text,
    tax_code=text,
    category_code=text,
    is_active=st.booleans(),
    created_at=st.none() | timestamps,
    updated_at=st.none() | timestamps,
    tax_rule=st.none() | tax_rules,
    store_price_applied=st.booleans(),
)
messages = st.one_of(
    st.builds(GetItemDetailRequest, tenant_id=text, store_code=text, item_code=text),
    st.builds(GetItemDetailResponse, item=st.none() | items),
    st.builds(
        BatchGetItemDetailsRequest,
        tenant_id=text,
        store_code=text,
        item_codes=st.lists(text, max_size=3),
        terminal_id=text,
    ),
    st.builds(
        BatchGetItemDetailsResponse,
        items=st.lists(items, max_size=3),
        not_found_item_codes=st.lists(text, max_size=3),
    ),
)


@settings(max_examples=300, deadline=None)
@given(message=messages)
def test_ours_matches_json_format_both_ways(message: Any) -> None:
    ours = encode_json(message)
    reference = json_format.MessageToDict(to_upb(message))
    assert json.loads(ours) == reference  # out: the same document
    parsed_reference = upb_class(type(message))()
    json_format.ParseDict(json.loads(ours), parsed_reference)
    assert parsed_reference == to_upb(message)  # json_format reads ours back to the message
    back = decode_json(json.dumps(reference).encode(), type(message), 1 << 20)
    assert back == message  # in: ours reads json_format's document back to the message
