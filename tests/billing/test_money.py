"""One money module: amounts are int or Decimal cents everywhere, never floats, and the
gateway's answers write cents with the same function as the Admin API."""

from decimal import Decimal

import pytest

from billing import charts, money
from billing.enforcement import wire


@pytest.mark.parametrize(
    "write",
    [money.dollars, money.usd, money.dollars_text, money.cents_text],
)
def test_a_float_is_refused(write):
    with pytest.raises(TypeError):
        write(0.5)
    with pytest.raises(TypeError):
        money.axis_label(0.5, Decimal(100))
    with pytest.raises(TypeError):
        money.axis_label(Decimal(1), 100.0)


def test_writing_cents():
    assert money.usd(123456) == "$1,234.56"
    assert money.usd(Decimal("0.5")) == "$0.01"
    assert money.dollars(Decimal("0.125")) == Decimal("0.00")
    assert money.cents_text(Decimal("12.50")) == "12.5"
    assert money.cents_text(Decimal("0E-8")) == "0"
    assert money.micro_cents_text(12_500_000) == "12.5"
    assert money.micro_cents_text(1) == "0.000001"
    assert money.axis_label(Decimal("12.5"), Decimal(50)) == "12.5¢"
    assert money.axis_label(Decimal(120000), Decimal(200000)) == "$1,200"


def test_the_gateway_writes_cents_with_the_money_module():
    assert wire.cents_text is money.cents_text
    settled = wire.Settlement("res_x", Decimal("0.82800000")).to_json()
    assert settled["cost"] == {"amount": "0.828", "currency": "USD", "unit": "cents"}


def test_a_cost_chart_scale_is_exact():
    """The axis of a cost chart is computed in Decimal and labelled from Decimals."""
    seen = []

    def label(value, top):
        seen.append((value, top))
        return money.axis_label(value, top)

    costs = {"a": Decimal("0.1"), "b": Decimal("0.2")}
    chart = charts.stacked_bars(
        ["day"],
        list(costs),
        lambda _bucket, name: costs[name],
        label=str,
        fmt=money.usd,
        y_axis_label=label,
        x_title="Day",
        y_title="Cost",
        title="Cost",
    )
    assert all(isinstance(v, Decimal) and isinstance(t, Decimal) for v, t in seen)
    assert [text for _y, text in chart.y_ticks] == ["0¢", "0.13¢", "0.25¢", "0.38¢", "0.5¢"]
    assert seen[-1] == (Decimal("0.5"), Decimal("0.5"))


@pytest.mark.parametrize(
    ("value", "top"),
    [
        (0, Decimal(1)),
        (Decimal("0.3"), Decimal("0.5")),
        (7, Decimal(10)),
        (Decimal(101), Decimal(200)),
        (240, Decimal(250)),
        (Decimal("1000"), Decimal(1000)),
    ],
)
def test_nice_ceiling(value, top):
    assert charts.nice_ceiling(value) == top


def test_token_axis_numbers():
    assert [charts.compact(v) for v in (Decimal("62.5"), 1_200, Decimal("3400000"), 0)] == [
        "62.5",
        "1.2k",
        "3.4M",
        "0",
    ]
