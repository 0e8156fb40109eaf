"""What a scan names: a GTIN, an in-store code under one of the tenant's layouts, or a GS1
element string, resolved once to the item it names, priced for the store, with what the scan
carried (a label price, a weight, a lot, an expiry). A scan that fails a check digit or carries
an impossible value is refused with its reason; one whose barcode no item has is not found,
naming the normalised code. Never guessed: a code is read one way, by its form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from gen.kugel.item.v1 import (
    Item,
    Measure,
    NotFoundDetail,
    NotFoundReason,
    RoundingMethod,
    ScannedItem,
    ScanProblem,
    ScanRejectedDetail,
    ScanResult,
    ScanSource,
    WeightUnit,
)
from services.common.currencies import in_minor_units
from services.common.element_strings import Decimal, is_element_string, parse
from services.common.gtin import BadCode, gtin14, upc_e_to_upc_a
from services.common.instore_codes import Embedded, matching, read

from .catalog import MAX_BATCH_SIZE, ItemCatalog
from .errors import CatalogError, ErrorCode
from .records import ScanLayout

UPC_E_IDENTIFIER: Final = "]E0"  # EAN/UPC symbology: 8 digits after it are a UPC-E
EAN_IDENTIFIERS: Final = ("]E0", "]E4", "]E3")  # EAN-13/UPC-A/UPC-E, EAN-8, with add-on
MAX_SCAN_LENGTH: Final = 200
_PROBLEMS: Final = {
    "format": ScanProblem.FORMAT,
    "check_digit": ScanProblem.CHECK_DIGIT,
    "value": ScanProblem.VALUE,
}
_UNITS: Final = {"g": WeightUnit.GRAM, "kg": WeightUnit.KILOGRAM}


@dataclass(frozen=True, slots=True)
class _Read:
    """A scan read by its form: the barcode to look up and what it carried."""

    barcode: str
    source: ScanSource
    layout_id: str = ""
    ais: tuple[str, ...] = ()
    label_price: Decimal | None = None  # in minor units (in-store) or major units (392n)
    price_in_major_units: bool = False
    net_weight: Measure | None = None
    lot: str = ""
    expiry: str = ""


def read_scan(scan: str, layouts: Sequence[ScanLayout]) -> _Read:
    """The scan read by its form; BadCode when it is none a till reads or breaks a rule."""
    text = scan.strip(" \r\n\t")
    if not text or len(text) > MAX_SCAN_LENGTH:
        raise BadCode("format", f"a scan has 1 to {MAX_SCAN_LENGTH} characters")
    if is_element_string(text):
        found = parse(text)
        kg = found.net_weight_kg
        weighed = (
            None
            if kg is None
            else Measure(value=kg.digits, decimals=kg.places, unit=WeightUnit.KILOGRAM)
        )
        return _Read(
            found.gtin,
            ScanSource.ELEMENT_STRING,
            ais=found.ais,
            label_price=found.price,
            price_in_major_units=True,
            net_weight=weighed,
            lot=found.lot or "",
            expiry="" if found.expiry is None else found.expiry.isoformat(),
        )
    identifier = next((i for i in EAN_IDENTIFIERS if text.startswith(i)), "")
    digits = text[len(identifier) :]
    if identifier == UPC_E_IDENTIFIER and len(digits) == 8:
        digits = upc_e_to_upc_a(digits)
    layout = matching([kept.layout() for kept in layouts], digits)
    if layout is None:
        return _Read(gtin14(digits), ScanSource.GTIN)
    code = read(layout, digits)
    value = Decimal(code.value, code.decimals)
    if code.embedded is Embedded.PRICE:
        return _Read(gtin14(code.item_key), ScanSource.IN_STORE, layout.layout_id,
                     label_price=value)  # fmt: skip
    unit = _UNITS[code.unit.value if code.unit is not None else "g"]
    weighed_label = Measure(value=code.value, decimals=code.decimals, unit=unit)
    return _Read(
        gtin14(code.item_key), ScanSource.IN_STORE, layout.layout_id, net_weight=weighed_label
    )


class ScanResolver:
    """Resolves scans against one catalog (its read caches: barcodes, layouts, items)."""

    def __init__(self, catalog: ItemCatalog) -> None:
        self._catalog = catalog

    async def resolve(
        self, tenant_id: str, store_code: str, scans: Sequence[str]
    ) -> list[ScanResult]:
        """One result per scan, in order; CatalogError for no scans, too many, or an unknown
        tenant or store."""
        if not scans:
            raise CatalogError(ErrorCode.INVALID_ARGUMENT, "scans must not be empty")
        if len(scans) > MAX_BATCH_SIZE:
            raise CatalogError(
                ErrorCode.INVALID_ARGUMENT,
                f"at most {MAX_BATCH_SIZE} scans per batch, got {len(scans)}",
            )
        context = await self._catalog.store_context(tenant_id, store_code)
        layouts = await self._catalog.scan_layouts(tenant_id)
        reads: list[_Read | ScanRejectedDetail] = []
        for scan in scans:
            try:
                reads.append(read_scan(scan, layouts))
            except BadCode as bad:
                reads.append(_rejected(bad))
        barcodes = list(dict.fromkeys(r.barcode for r in reads if isinstance(r, _Read)))
        owners = await self._catalog.barcode_items(tenant_id, barcodes) if barcodes else {}
        codes = list(dict.fromkeys(owners.values()))
        items: dict[str, Item] = {}
        if codes:
            found, _ = await self._catalog.get_items(tenant_id, store_code, codes)
            items = {item.item_code: item for item in found}
        rounding = RoundingMethod[context.weighed_rounding]
        return [
            _result(
                scan,
                got,
                owners=owners,
                items=items,
                currency_code=context.currency_code,
                rounding=rounding,
            )
            for scan, got in zip(scans, reads, strict=True)
        ]


def _rejected(bad: BadCode) -> ScanRejectedDetail:
    return ScanRejectedDetail(field="scan", description=str(bad), problem=_PROBLEMS[bad.reason])


def _result(
    scan: str,
    got: _Read | ScanRejectedDetail,
    *,
    owners: dict[str, str],
    items: dict[str, Item],
    currency_code: str,
    rounding: RoundingMethod,
) -> ScanResult:
    if isinstance(got, ScanRejectedDetail):
        return ScanResult(scan=scan, rejected=got)
    item = items.get(owners.get(got.barcode, ""))
    if item is None:  # no item has the barcode (or its item went between the two reads)
        return ScanResult(
            scan=scan, not_found=NotFoundDetail(reason=NotFoundReason.BARCODE, code=got.barcode)
        )
    label_price = None
    if got.label_price is not None:
        price = got.label_price
        # 392n is in major units with n decimals; a layout's price in minor units with its own
        # (JPY: a currency whose minor unit is its major one)
        minor_of = currency_code if got.price_in_major_units else "JPY"
        label_price = in_minor_units(price.digits, price.places, minor_of)
        if label_price is None:
            return ScanResult(scan=scan, rejected=_rejected(BadCode(
                "value", f"a label price of {price.digits}e-{price.places} is no whole number of"
                f" {currency_code} minor units",
            )))  # fmt: skip
    return ScanResult(
        scan=scan,
        scanned=ScannedItem(
            item=item,
            barcode=got.barcode,
            source=got.source,
            layout_id=got.layout_id,
            application_identifiers=list(got.ais),
            label_price=label_price,
            net_weight=got.net_weight,
            lot=got.lot,
            expiry_date=got.expiry,
            weighed_rounding=rounding,
        ),
    )
