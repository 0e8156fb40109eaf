"""Hypothesis strategies for hostile input."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
request_keys = st.sampled_from(
    ["tenantId", "storeCode", "itemCode", "itemCodes", "terminalId", "tenant_id", "item_code", "x"]
)
request_like = st.dictionaries(request_keys, json_values, max_size=5)
codes = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "ITEM0001",
            "ITEM0050",
            "' OR 1=1 --",
            "ITEM0001; DROP TABLE items",
            "商品",
            "\x00",
            "a" * 65,
        ]
    ),
)
