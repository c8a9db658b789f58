"""The digest's picture: the funnel now, and 12 weeks of initiatives per stage; below them, when live initiatives
have KPIs with actuals, each KPI's latest actual against its target (up to CHARTED_KPIS). matplotlib, Agg, PNG
bytes.

Made for someone who looks at it for ten seconds: one title that says what and when, big numbers on the bars,
the change since last week beside them, and a colour per stage that is the same in both panels and readable
by colour-blind viewers (Okabe-Ito palette).
"""

from __future__ import annotations

import io
import textwrap
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.services.digest.report import DigestReport
from bot.services.kpis.service import OFF_TRACK, ON_TRACK, ValueRow, format_measure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
PAUSED_COLOUR = "#BBBBBB"
INK, MUTED = "#222222", "#666666"
CHARACTER_WIDTH = 0.0072  # of the figure's width, for a character of the stage names (12 pt)
NAME_WRAP, LABEL_MAX = 16, 16
CHARTED_KPIS = 10
STATUS_COLOURS = {ON_TRACK: "#009E73", OFF_TRACK: "#D55E00"}  # no data: PAUSED_COLOUR


def render_chart(report: DigestReport) -> bytes:
    """The PNG for the digest's thread."""
    # Imported here, not at module level: matplotlib and numpy add ~60 MB to every process that merely
    # imports the digest (serve, the CLI), and only the weekly post draws a chart.
    import matplotlib

    matplotlib.use("Agg")  # no display: the bot runs on servers
    import matplotlib.pyplot as plt

    figure = _figure(report, plt)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    plt.close(figure)
    return buffer.getvalue()


def charted_kpis(report: DigestReport) -> list[ValueRow]:
    """The KPIs the chart can place: a latest actual, and a baseline and target apart (at most CHARTED_KPIS)."""
    return [row for row in report.value if row.latest is not None and row.baseline is not None
            and row.target is not None and row.target != row.baseline][:CHARTED_KPIS]


def _figure(report: DigestReport, plt) -> Figure:  # type: ignore[no-untyped-def]
    kpis = charted_kpis(report)
    if not kpis:
        figure, (funnel_axes, trend_axes) = plt.subplots(
            1, 2, figsize=(12, 5.2), gridspec_kw={"width_ratios": [1, 1.35]})
    else:  # the same two panels on top, at the same size, and the KPIs below them
        height = 5.2 + 1.2 + 0.42 * len(kpis)
        figure = plt.figure(figsize=(12, height))
        grid = figure.add_gridspec(2, 2, width_ratios=[1, 1.35], height_ratios=[5.2, height - 5.2],
                                   top=1 - 0.2 * 5.2 / height, bottom=0.5 / height, hspace=0.9 * 5.2 / height)
        funnel_axes, trend_axes = figure.add_subplot(grid[0, 0]), figure.add_subplot(grid[0, 1])
        _draw_kpis(figure.add_subplot(grid[1, :]), kpis)
    # Fixed margins rather than a layout engine: it would draw the figure several times (~2x render time). The
    # left one fits the longest (wrapped) stage name; the right one the labels at the lines' ends.
    widest_name = max((len(line) for row in report.funnel for line in _wrapped(row.stage_name).splitlines()),
                      default=5)
    if kpis:
        figure.subplots_adjust(left=0.02 + widest_name * CHARACTER_WIDTH, right=0.84, wspace=0.28)
    else:
        figure.subplots_adjust(left=0.02 + widest_name * CHARACTER_WIDTH, right=0.84, top=0.8, bottom=0.15,
                               wspace=0.28)
    zone = ZoneInfo(report.timezone)
    as_of = report.as_of.astimezone(zone)
    scope = "" if report.scope == "all initiatives" else f" · {report.scope}"
    figure.suptitle(f"AI portfolio, week {report.week}{scope}", fontsize=17, fontweight="bold", color=INK,
                    x=0.01, y=0.985, ha="left")
    figure.text(0.01, 0.9, f"As of {as_of:%a %d %b %Y %H:%M} {as_of:%Z} · pilot → production conversion "
                f"{_conversion(report)}", fontsize=10.5, color=MUTED, ha="left", transform=figure.transFigure)
    colours = {row.stage_name: PALETTE[i % len(PALETTE)] for i, row in enumerate(report.funnel)}
    _draw_funnel(funnel_axes, report, colours)
    _draw_trend(trend_axes, report, colours, zone)
    return figure


def _draw_kpis(axes, kpis: list[ValueRow]) -> None:  # type: ignore[no-untyped-def]
    """One bar per KPI: how far its latest actual has come from the baseline (0%) to the target (100%)."""
    positions = list(range(len(kpis)))[::-1]
    progress = [max(-50.0, min(150.0, 100 * (row.latest - row.baseline) / (row.target - row.baseline)))  # type: ignore[operator]
                for row in kpis]
    axes.barh(positions, progress, color=[STATUS_COLOURS.get(row.status, PAUSED_COLOUR) for row in kpis],
              height=0.62)
    axes.axvline(100, color=INK, linewidth=1.2, linestyle="--")
    axes.axvline(0, color=MUTED, linewidth=0.8)
    for y, row, done in zip(positions, kpis, progress, strict=True):
        axes.text(max(done, 0) + 3, y, f"{format_measure(row.latest, row.unit)} (target "
                  f"{format_measure(row.target, row.unit)})", va="center", fontsize=10, color=INK)
    axes.set_yticks(positions, [f"{row.key} {_clipped(row.kpi_name)}" for row in kpis], fontsize=10.5, color=INK)
    axes.set_xlim(-50, 200)
    axes.set_title("KPIs in Production and later: latest actual, from baseline (0%) to target (100%)", loc="left",
                   fontsize=12, color=INK)
    axes.set_xlabel("% of the way from baseline to target", color=MUTED)
    axes.tick_params(axis="x", colors=MUTED)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _conversion(report: DigestReport) -> str:
    if report.conversion.rate is None:
        return "none (nothing entered Pilot in the last 365 days)"
    return f"{report.conversion.counted()} in the last 365 days"


def _draw_funnel(axes, report: DigestReport, colours: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.ticker import MaxNLocator

    rows = list(report.funnel)
    names = [row.stage_name for row in rows]
    positions = list(range(len(rows)))[::-1]  # first stage on top
    active = [row.active for row in rows]
    paused = [row.paused for row in rows]
    axes.barh(positions, active, color=[colours[n] for n in names], height=0.62)
    axes.barh(positions, paused, left=active, color=PAUSED_COLOUR, height=0.62, hatch="//", edgecolor="white")
    widest = max([a + p for a, p in zip(active, paused, strict=True)] + [1])
    for y, row in zip(positions, rows, strict=True):
        # Short labels, so that the widest bar's still ends inside this panel: the title says what (+1) means.
        label = f"{row.active} ({_change(row.change)})" + (f" · {row.paused} paused" if row.paused else "")
        axes.text(row.active + row.paused + widest * 0.02, y, label, va="center", fontsize=11, color=INK)
    wrapped = [_wrapped(name) for name in names]
    two_lines = any("\n" in name for name in wrapped)  # smaller, so that two lines stay clear of the next row
    axes.set_yticks(positions, wrapped, fontsize=10.5 if two_lines else 12, color=INK)
    axes.set_xlim(0, widest * 1.6)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # initiatives are counted, never 0.25 of one
    axes.set_title("Active now, by stage (change this week)", loc="left", fontsize=12, color=INK)
    axes.set_xlabel("initiatives", color=MUTED)
    axes.tick_params(axis="x", colors=MUTED)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _wrapped(name: str) -> str:
    """A stage name on at most two lines of NAME_WRAP characters, cut with an ellipsis beyond."""
    lines = textwrap.wrap(name, NAME_WRAP) or [""]
    return "\n".join(lines[:2]) if len(lines) <= 2 else lines[0] + "\n" + lines[1][:NAME_WRAP - 1] + "…"


def _clipped(name: str) -> str:
    return name if len(name) <= LABEL_MAX else name[:LABEL_MAX - 1].rstrip() + "…"


def _change(change: int) -> str:
    return f"+{change}" if change > 0 else f"{change}" if change < 0 else "±0"


def _draw_trend(axes, report: DigestReport, colours: dict[str, str], zone: ZoneInfo) -> None:  # type: ignore[no-untyped-def]
    from matplotlib.ticker import MaxNLocator

    points = [point.astimezone(zone) for point in report.trend.points]
    x = list(range(len(points)))
    series = list(report.trend.series.items())
    top = max([max(values, default=0) for _, values in series] + [1])
    axes.set_ylim(-top * 0.03, top * 1.12)
    # Stages often share a count (1 each, week after week), and a line drawn over another hides it: each line is
    # drawn a few pixels above the one before (a fixed share of the axis; never below zero), so lines on the same
    # counts run side by side. The labels at their ends give the exact counts.
    dodge = top * min(0.016, 0.05 / max(len(series) - 1, 1))  # at most 5% of the axis between first and last
    for order, (name, values) in enumerate(series):
        axes.plot(x, [v + order * dodge for v in values], marker="o", markersize=3.5, linewidth=2.2,
                  color=colours.get(name, INK), label=name, zorder=2 + order)
    # Each line is named at its end, in its colour, in the order of the ends. Where ends are close the names
    # are spread apart, within the panel.
    ends = sorted(((values[-1], order, name) for order, (name, values) in enumerate(series)),
                  key=lambda end: end[0] + end[1] * dodge)
    placed = _spread([value + order * dodge for value, order, _ in ends], gap=(top * 1.15) * 0.068,
                     low=axes.get_ylim()[0], high=axes.get_ylim()[1])
    for (value, order, name), y in zip(ends, placed, strict=True):
        axes.annotate(f"{_clipped(name)} {value}", xy=(x[-1], value + order * dodge), xytext=(x[-1] + 0.3, y),
                      textcoords="data", va="center", fontsize=10.5, fontweight="bold", color=colours.get(name, INK),
                      annotation_clip=False)
    axes.set_xlim(-0.3, x[-1] + 0.3)
    axes.set_xticks(x, [f"{p:%d %b}" for p in points], rotation=45, ha="right", fontsize=9, color=MUTED)
    axes.set_title("Active initiatives per stage, last 12 weeks", loc="left", fontsize=12, color=INK)
    axes.set_ylabel("initiatives", color=MUTED)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="y", color="#E5E5E5", zorder=0)
    axes.tick_params(axis="y", colors=MUTED)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _spread(wanted: list[float], *, gap: float, low: float, high: float) -> list[float]:
    """Positions as near `wanted` (ascending) as can be with at least `gap` between neighbours, within
    [low, high] when they fit there."""
    placed: list[float] = []
    for value in wanted:
        placed.append(max(value, placed[-1] + gap) if placed else max(value, low))
    if placed and placed[-1] > high:  # pushed past the top: settle them downwards from there
        placed[-1] = high
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - gap)
    return placed
