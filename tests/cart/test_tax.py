"""Tax in integer minor units, hand-computed."""

from __future__ import annotations

import pytest

from services.cart.tax import Rounding, TaxRule, TaxType, divide, tax_of


@pytest.mark.parametrize(
    ("numerator", "denominator", "floor", "half_up", "ceiling"),
    [
        pytest.param(0, 7, 0, 0, 0, id="zero"),
        pytest.param(14, 7, 2, 2, 2, id="exact"),
        pytest.param(15, 10, 1, 2, 2, id="exactly half"),
        pytest.param(14999, 10000, 1, 1, 2, id="just under half"),
        pytest.param(15001, 10000, 1, 2, 2, id="just over half"),
        pytest.param(1, 10000, 0, 0, 1, id="tiny fraction"),
    ],
)
def test_divide_rounds_as_asked(
    numerator: int, denominator: int, floor: int, half_up: int, ceiling: int
) -> None:
    assert divide(numerator, denominator, Rounding.FLOOR) == floor
    assert divide(numerator, denominator, Rounding.HALF_UP) == half_up
    assert divide(numerator, denominator, Rounding.CEILING) == ceiling


def rule(tax_type: TaxType, rate: int, rounding: Rounding) -> TaxRule:
    return TaxRule("TX", tax_type, rate, rounding)


@pytest.mark.parametrize(
    ("amount", "tax_rule", "expected"),
    [
        # external 10 %: 1,234 -> 123.4
        pytest.param(1234, rule(TaxType.EXTERNAL, 1000, Rounding.FLOOR), 123, id="external floor"),
        pytest.param(
            1234, rule(TaxType.EXTERNAL, 1000, Rounding.CEILING), 124, id="external ceiling"
        ),
        pytest.param(
            1235, rule(TaxType.EXTERNAL, 1000, Rounding.HALF_UP), 124, id="external half-up at .5"
        ),
        pytest.param(
            1234,
            rule(TaxType.EXTERNAL, 1000, Rounding.HALF_UP),
            123,
            id="external half-up below .5",
        ),
        # internal 8 %: tax in 1,080 is 1,080 * 8 / 108 = 80 exactly
        pytest.param(1080, rule(TaxType.INTERNAL, 800, Rounding.FLOOR), 80, id="internal exact"),
        # internal 8 %: 1,210 * 800 / 10,800 = 89.629...
        pytest.param(1210, rule(TaxType.INTERNAL, 800, Rounding.FLOOR), 89, id="internal floor"),
        pytest.param(
            1210, rule(TaxType.INTERNAL, 800, Rounding.HALF_UP), 90, id="internal half-up"
        ),
        # internal 10 %: 55 * 1,000 / 11,000 = 5 exactly; 60 -> 5.4545...
        pytest.param(
            55, rule(TaxType.INTERNAL, 1000, Rounding.CEILING), 5, id="internal ceiling exact"
        ),
        pytest.param(60, rule(TaxType.INTERNAL, 1000, Rounding.CEILING), 6, id="internal ceiling"),
        # internal 8 %: 1,350 * 800 / 10,800 = 100 exactly
        pytest.param(1350, rule(TaxType.INTERNAL, 800, Rounding.HALF_UP), 100, id="internal whole"),
        pytest.param(9999, rule(TaxType.EXEMPT, 0, Rounding.FLOOR), 0, id="exempt"),
        pytest.param(0, rule(TaxType.EXTERNAL, 1000, Rounding.CEILING), 0, id="nothing to tax"),
        pytest.param(
            10**16,
            rule(TaxType.EXTERNAL, 1000, Rounding.FLOOR),
            10**15,
            id="huge amount stays exact",
        ),
    ],
)
def test_tax_of(amount: int, tax_rule: TaxRule, expected: int) -> None:
    assert tax_of(amount, tax_rule) == expected


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        divide(-1, 10, Rounding.FLOOR)
