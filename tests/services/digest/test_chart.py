"""The chart a person glances at: whole-number ticks, every stage's line visible, no label over another. Drawn
with matplotlib (Agg) from a report made by hand, small and crowded."""

from __future__ import annotations

import itertools

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
from matplotlib.text import Text

from bot.services.digest.chart import _figure, render_chart
from tests.services.digest.reports import report

SMALL = report([("Idea", 1, 2, 1), ("Pilot", 3, 2, 0), ("Production", 1, 1, 0), ("Scaled", 1, 1, 0)],
               {"Idea": (0, 0, 1, 1, 2, 2, 1, 1, 1, 2, 1, 1), "Pilot": (1,) * 9 + (2, 2, 3),
                "Production": (1,) * 12, "Scaled": (1,) * 12})
FIRST = report([("Idea", 1, 0, 0), ("Pilot", 0, 0, 0)], {"Idea": (0,) * 11 + (1,), "Pilot": (0,) * 12})
CROWDED = report([(f"Stage {n} with a long name", 40 + n, 38, n * 3) for n in range(8)],
                 {f"Stage {n} with a long name": tuple(40 + (n % 3) + (w % 2) for w in range(12)) for n in range(8)})


@pytest.fixture
def drawn(request):  # type: ignore[no-untyped-def]
    figure = _figure(request.param, plt)
    figure.canvas.draw()
    yield figure
    plt.close(figure)


@pytest.mark.parametrize("drawn", [FIRST, SMALL, CROWDED], indirect=True, ids=["first", "small", "crowded"])
def test_count_axes_have_whole_number_ticks(drawn) -> None:  # type: ignore[no-untyped-def]
    funnel, trend = drawn.axes
    shown = [tick for tick in funnel.get_xticks() if funnel.get_xlim()[0] <= tick <= funnel.get_xlim()[1]]
    shown += [tick for tick in trend.get_yticks() if trend.get_ylim()[0] <= tick <= trend.get_ylim()[1]]
    assert shown and all(float(tick).is_integer() for tick in shown)


@pytest.mark.parametrize("drawn", [SMALL, CROWDED], indirect=True, ids=["small", "crowded"])
def test_no_line_is_drawn_over_another(drawn) -> None:  # type: ignore[no-untyped-def]
    lines = drawn.axes[1].get_lines()
    assert len(lines) >= 4
    for one, other in itertools.combinations(lines, 2):
        assert all(a != b for a, b in zip(one.get_ydata(), other.get_ydata(), strict=True)), (
            one.get_label(), other.get_label())


@pytest.mark.parametrize("drawn", [FIRST, SMALL, CROWDED], indirect=True, ids=["first", "small", "crowded"])
def test_no_label_overlaps_another(drawn) -> None:  # type: ignore[no-untyped-def]
    renderer = drawn.canvas.get_renderer()
    left_out = set(drawn.axes[1].get_xticklabels())  # the dates' boxes are tilted, so they would seem to overlap
    for axis in (drawn.axes[0].xaxis, drawn.axes[1].yaxis):  # ticks matplotlib keeps beyond the limits, undrawn
        low, high = sorted(axis.get_view_interval())
        left_out |= {tick.label1 for tick in axis.get_major_ticks() if not low <= tick.get_loc() <= high}
    texts = [t for t in drawn.findobj(Text) if t.get_visible() and t.get_text().strip() and t not in left_out]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    overlapping = [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if box_a.overlaps(box_b)]
    assert overlapping == []
    cut_off = [text for text, box in boxes if box.x0 < 0 or box.x1 > drawn.bbox.width]
    assert cut_off == []


def test_the_chart_is_a_png_that_says_the_conversion_plainly() -> None:
    figure = _figure(SMALL, plt)
    try:
        assert "2 of 5 (40%)" in " ".join(t.get_text() for t in figure.findobj(Text))
    finally:
        plt.close(figure)
    assert render_chart(SMALL).startswith(b"\x89PNG")
