"""The SVG charts' colours are classes the stylesheet fills for each theme."""

import itertools
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


def _days(count: int, href=lambda bucket: f"?day={bucket}", value=lambda b, s: 1) -> charts.Chart:
    return charts.stacked_bars(
        list(range(count)),
        ["a"],
        value,
        label=lambda bucket: f"Day {bucket}",
        href=href,
        x_title="Day (UTC)",
        y_title="Tokens",
        title="Tokens by model",
    )


def test_first_and_last_buckets_are_always_labelled_without_overlap():
    for count in (1, 2, 7, 12, 13, 28, 29, 30, 31, 32, 90, 91, 397):
        chart = _days(count)
        shown = [i for i, column in enumerate(chart.columns) if column.show_label]
        assert shown[0] == 0 and shown[-1] == count - 1, count
        every = max(1, -(-count // charts.MAX_X_LABELS))
        assert all(b - a >= every for a, b in itertools.pairwise(shown)), count
        assert len(shown) <= charts.MAX_X_LABELS + 1, count
        assert chart.svg.count('class="chart__xlabel"') == len(shown)


def test_empty_buckets_do_not_link():
    chart = _days(4, value=lambda bucket, series: bucket % 2)  # 0 and 2 are empty
    assert [column.href for column in chart.columns] == [None, "?day=1", None, "?day=3"]
    svg = chart.svg
    assert svg.count("<a ") == 2 and "?day=0" not in svg and "?day=2" not in svg


def test_a_chart_with_links_is_a_group_and_one_without_an_image():
    linked = _days(3).svg
    assert linked.startswith('<svg viewBox="0 0 760 260" role="group"')
    assert re.findall(r'aria-label="([^"]*)">', linked) == [
        "Day 0: 1 in all. Show in detail",
        "Day 1: 1 in all. Show in detail",
        "Day 2: 1 in all. Show in detail",
    ]
    # Everything but the links is hidden from assistive technology.
    outside_links = re.sub(r"<a .*?</a>", "", linked, flags=re.S)
    assert outside_links.count('<g aria-hidden="true">') == 2
    plain = _days(3, href=lambda bucket: None).svg
    assert 'role="img" aria-label="Tokens by model"' in plain and "<a " not in plain
