"""The codecs agree with the reference runtimes and refuse what they must."""

from __future__ import annotations

import datetime
import json
import types

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, json_format
from google.protobuf.descriptor import FieldDescriptor

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
from services.wire.codec import (
    EncodedForms,
    MalformedMessage,
    MessageTooLarge,
    UnsupportedField,
    check_supported,
    decode_binary,
    decode_json,
    encode_binary,
    encode_json,
    to_upb,
)

UTC = datetime.UTC


def item(code: str = "ITEM0001", **changes: object) -> Item:
    fields: dict[str, object] = {
        "item_code": code,
        "item_name": "Grüner Tee 緑茶",
        "unit_price": 2**63 - 1,
        "currency_code": "JPY",
        "tax_code": "TX10",
        "category_code": "DRINK",
        "is_active": True,
        "created_at": datetime.datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
        "updated_at": datetime.datetime(2026, 2, 3, 4, 5, 6, 7000, tzinfo=UTC),
        "tax_rule": TaxRule(
            tax_code="TX10",
            tax_type=TaxType.INTERNAL,
            rate_basis_points=800,
            rounding_method=RoundingMethod.CEILING,
            name="Reduced",
        ),
        "store_price_applied": True,
    }
    fields.update(changes)
    return Item(**fields)  # type: ignore[arg-type]


MESSAGES = [
    pytest.param(
        GetItemDetailRequest(tenant_id="T1", store_code="S1", item_code="A"), id="request"
    ),
    pytest.param(GetItemDetailRequest(), id="empty request"),
    pytest.param(GetItemDetailResponse(item=item()), id="item"),
    pytest.param(
        GetItemDetailResponse(item=item(unit_price=-5, is_active=False, tax_rule=None)),
        id="negative, no rule",
    ),
    pytest.param(GetItemDetailResponse(item=Item()), id="empty item"),
    pytest.param(
        GetItemDetailResponse(item=Item(created_at=datetime.datetime(1970, 1, 1, tzinfo=UTC))),
        id="epoch timestamp",
    ),
    pytest.param(
        BatchGetItemDetailsResponse(items=[item("A"), item("B")], not_found_item_codes=["X", "Y"]),
        id="batch",
    ),
    pytest.param(
        BatchGetItemDetailsRequest(item_codes=["A", "B"], tenant_id="T"), id="batch request"
    ),
]


@pytest.mark.parametrize("message", MESSAGES)
def test_binary_matches_betterproto2_both_ways(message: object) -> None:
    wire = encode_binary(message)  # type: ignore[arg-type]
    assert wire == bytes(message)  # type: ignore[call-overload]
    assert decode_binary(wire, type(message), 1 << 20) == message  # type: ignore[arg-type]


@pytest.mark.parametrize("message", MESSAGES)
def test_json_matches_the_official_mapping_both_ways(message: object) -> None:
    ours = json.loads(encode_json(message))  # type: ignore[arg-type]
    reference = json_format.MessageToDict(to_upb(message))  # type: ignore[arg-type]
    assert ours == reference
    assert decode_json(encode_json(message), type(message), 1 << 20) == message  # type: ignore[arg-type]


def test_json_accepts_proto_names_strings_for_ints_and_nulls() -> None:
    body = b'{"tenant_id": "T1", "storeCode": null, "itemCode": "A", "unknownField": 1}'
    assert decode_json(body, GetItemDetailRequest, 1024) == GetItemDetailRequest(
        tenant_id="T1", item_code="A"
    )
    response = decode_json(
        b'{"item": {"unitPrice": "12", "taxRule": {"rateBasisPoints": 800.0, "taxType": 2},'
        b' "createdAt": "2026-01-02T03:04:05.123456789+09:00"}}',
        GetItemDetailResponse,
        1024,
    )
    assert response.item is not None
    assert response.item.unit_price == 12
    assert response.item.tax_rule is not None
    assert response.item.tax_rule.tax_type == TaxType.INTERNAL
    assert response.item.created_at == datetime.datetime(2026, 1, 1, 18, 4, 5, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param(b"[1]", "JSON object", id="array"),
        pytest.param(b'{"tenantId": 5}', "tenantId", id="number for string"),
        pytest.param(b'{"tenantId": "\\ud800"}', "UTF-8", id="lone surrogate"),
        pytest.param(b'{"itemCodes": "A"}', "itemCodes", id="string for list"),
        pytest.param(b'{"itemCodes": ["A", 1]}', "itemCodes[1]", id="bad list element"),
        pytest.param(b'{"tenantId": "a", "tenant_id": "b"}', "twice", id="field twice"),
        pytest.param(b"{", "invalid JSON", id="truncated"),
        pytest.param(b"\xff\xfe", "invalid JSON", id="not utf-8"),
        pytest.param(b"[" * 100_000, "", id="deep nesting"),
    ],
)
def test_bad_json_requests_are_refused(body: bytes, named: str) -> None:
    message_type = BatchGetItemDetailsRequest if b"itemCodes" in body else GetItemDetailRequest
    with pytest.raises(MalformedMessage) as raised:
        decode_json(body, message_type, 1 << 20)
    assert named in str(raised.value)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param(b'{"item": {"unitPrice": 1.5}}', "item.unitPrice", id="fraction"),
        pytest.param(
            b'{"item": {"unitPrice": "9223372036854775808"}}', "out of range", id="int64 overflow"
        ),
        pytest.param(b'{"item": {"unitPrice": true}}', "item.unitPrice", id="bool for int"),
        pytest.param(b'{"item": {"isActive": "yes"}}', "item.isActive", id="string for bool"),
        pytest.param(
            b'{"item": {"taxRule": {"taxType": "VAT"}}}', "item.taxRule.taxType", id="unknown enum"
        ),
        pytest.param(b'{"item": {"createdAt": "yesterday"}}', "item.createdAt", id="bad timestamp"),
        pytest.param(
            b'{"item": {"createdAt": "2026-01-02T03:04:05"}}', "offset", id="timestamp without zone"
        ),
        pytest.param(b'{"item": 3}', "item", id="number for message"),
    ],
)
def test_bad_json_values_name_the_field(body: bytes, named: str) -> None:
    with pytest.raises(MalformedMessage) as raised:
        decode_json(body, GetItemDetailResponse, 1 << 20)
    assert named in str(raised.value)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\x0a\x09T0", id="truncated string"),
        pytest.param(b"\x0b", id="group start"),
        pytest.param(b"\x00\x01", id="field zero"),
        pytest.param(b"\x0f", id="wire type 7"),
        pytest.param(b"\x0a\x02\xff\xfe", id="invalid utf-8"),
        pytest.param(b"\x08" + b"\xff" * 11, id="varint too long"),
    ],
)
def test_malformed_binary_is_refused(data: bytes) -> None:
    # betterproto2's own parser accepts most of these silently.
    with pytest.raises(MalformedMessage):
        decode_binary(data, GetItemDetailRequest, 1024)


def test_wrong_wire_type_is_dropped_not_misread() -> None:
    # betterproto2 would read this varint as tenant_id=5, an int in a str field.
    assert decode_binary(b"\x08\x05", GetItemDetailRequest, 1024) == GetItemDetailRequest()


def test_size_limit() -> None:
    with pytest.raises(MessageTooLarge):
        decode_binary(b"\x0a\x05T0001", GetItemDetailRequest, 4)
    with pytest.raises(MessageTooLarge):
        decode_json(b'{"tenantId": "T0001"}', GetItemDetailRequest, 4)


def _message_with_a_map() -> type:
    """A stand-in for a generated message with a map field: its descriptor and field table."""
    fdp = descriptor_pb2.FileDescriptorProto(name="with_map.proto", package="t", syntax="proto3")
    message = fdp.message_type.add(name="WithMap")
    entry = message.nested_type.add(name="LabelsEntry")
    entry.options.map_entry = True
    for number, name in ((1, "key"), (2, "value")):
        entry.field.add(name=name, number=number, type=FieldDescriptor.TYPE_STRING, label=1)
    message.field.add(
        name="labels",
        number=1,
        type=FieldDescriptor.TYPE_MESSAGE,
        label=FieldDescriptor.LABEL_REPEATED,
        type_name=".t.WithMap.LabelsEntry",
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return type(
        "WithMap",
        (),
        {
            "DESCRIPTOR": pool.FindMessageTypeByName("t.WithMap"),
            "_betterproto": types.SimpleNamespace(cls_by_field={"labels": dict}),
        },
    )


def test_a_field_shape_the_codecs_lack_fails_at_start_not_per_call() -> None:
    check_supported([GetItemDetailResponse, BatchGetItemDetailsResponse])  # the contract is fine
    with pytest.raises(UnsupportedField, match=r"map field t\.WithMap\.labels"):
        check_supported([_message_with_a_map()])


def test_ready_forms_encode_exactly_as_a_fresh_conversion() -> None:
    known = EncodedForms(max_size=1)
    first, second = item("A"), item("B")
    known.remember(first)
    known.remember(second)  # lets `first` go: it is converted again, still correctly
    reply = BatchGetItemDetailsResponse(items=[first, second], not_found_item_codes=["X"])
    plain = BatchGetItemDetailsResponse(items=[item("A"), item("B")], not_found_item_codes=["X"])
    assert encode_binary(reply, known) == encode_binary(plain)
    assert encode_json(reply, known) == encode_json(plain)
    assert known.get(second) is not None
    assert known.get(item("B")) is None  # equal is not enough: only that very object
