"""The SVG charts' colours are classes the stylesheet fills for each theme."""

import re

from billing import charts


def _chart(series: list[str]) -> charts.Chart:
    return charts.stacked_bars(
        [1, 2],
        series,
        lambda bucket, name: bucket,
        label=str,
        x_title="Day",
        y_title="Tokens",
        title="Tokens by model",
    )


def test_bars_grid_and_axis_carry_theme_classes():
    chart = _chart(["a", "b"])
    svg = chart.svg
    assert svg.count('class="chart__bar chart__s0"') == 2
    assert svg.count('class="chart__bar chart__s1"') == 2
    assert svg.count('class="chart__grid"') == len(chart.y_ticks)
    assert svg.count('class="chart__axis"') == 1
    # The fills stay as the light theme's, for an SVG shown without the stylesheet.
    assert (
        f'fill="{charts.PALETTE[1]}" stroke="#ffffff" stroke-width="0.75" class="chart__bar chart__s1"'
        in svg
    )


def test_series_past_the_palette_start_it_again():
    names = [f"model {n}" for n in range(len(charts.PALETTE) + 1)]
    chart = _chart(names)
    assert [slot for _name, _color, slot in chart.legend] == [*range(len(charts.PALETTE)), 0]
    assert chart.legend[-1][1] == charts.PALETTE[0]
    assert re.search(r'class="chart__bar chart__s7"', chart.svg)
