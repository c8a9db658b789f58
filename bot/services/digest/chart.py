"""The digest's picture: the funnel now, and 12 weeks of initiatives per stage. matplotlib, Agg, PNG bytes.

Made for someone who looks at it for ten seconds: one title that says what and when, big numbers on the bars,
the change since last week beside them, and a colour per stage that is the same in both panels and readable
by colour-blind viewers (Okabe-Ito palette).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.services.digest.report import DigestReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
PAUSED_COLOUR = "#BBBBBB"
INK, MUTED = "#222222", "#666666"


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


def _figure(report: DigestReport, plt) -> Figure:  # type: ignore[no-untyped-def]
    figure, (funnel_axes, trend_axes) = plt.subplots(
        1, 2, figsize=(12, 5.2), gridspec_kw={"width_ratios": [1, 1.35]})
    # Fixed margins rather than a layout engine: it would draw the figure several times (~2x render time).
    figure.subplots_adjust(left=0.09, right=0.845, top=0.8, bottom=0.15, wspace=0.28)
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


def _conversion(report: DigestReport) -> str:
    rate = report.conversion.rate
    if rate is None:
        return "n/a (nothing entered Pilot this year)"
    return f"{rate:.0%} ({report.conversion.converted} of {report.conversion.cohort}, last 365 days)"


def _draw_funnel(axes, report: DigestReport, colours: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    rows = list(report.funnel)
    names = [row.stage_name for row in rows]
    positions = list(range(len(rows)))[::-1]  # first stage on top
    active = [row.active for row in rows]
    paused = [row.paused for row in rows]
    axes.barh(positions, active, color=[colours[n] for n in names], height=0.62)
    axes.barh(positions, paused, left=active, color=PAUSED_COLOUR, height=0.62, hatch="//", edgecolor="white",
              label="paused")
    widest = max([a + p for a, p in zip(active, paused, strict=True)] + [1])
    for y, row in zip(positions, rows, strict=True):
        change = f"+{row.change}" if row.change > 0 else f"{row.change}" if row.change < 0 else "±0"
        label = f"{row.active}  ({change} vs last week)"
        if row.paused:
            label += f"  · {row.paused} paused"
        axes.text(row.active + row.paused + widest * 0.02, y, label, va="center", fontsize=11, color=INK)
    axes.set_yticks(positions, names, fontsize=12, color=INK)
    axes.set_xlim(0, widest * 1.75)
    axes.set_title("Active initiatives by stage, now", loc="left", fontsize=13, color=INK)
    axes.set_xlabel("initiatives", color=MUTED)
    axes.tick_params(axis="x", colors=MUTED)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if any(paused):
        axes.legend(loc="lower right", frameon=False, fontsize=10)


def _draw_trend(axes, report: DigestReport, colours: dict[str, str], zone: ZoneInfo) -> None:  # type: ignore[no-untyped-def]
    points = [point.astimezone(zone) for point in report.trend.points]
    x = list(range(len(points)))
    seen_ends: dict[int, int] = {}
    for name, series in report.trend.series.items():
        axes.plot(x, series, marker="o", markersize=4, linewidth=2.4, color=colours.get(name, INK), label=name)
        # Lines ending on the same count get their end labels side by side instead of on top of each other.
        shift = seen_ends.get(series[-1], 0)
        seen_ends[series[-1]] = shift + 1
        axes.annotate(f"{series[-1]}", (x[-1], series[-1]), xytext=(8 + 16 * shift, 0), textcoords="offset points",
                      va="center", fontsize=11, fontweight="bold", color=colours.get(name, INK))
    axes.set_xticks(x, [f"{p:%d %b}" for p in points], rotation=45, ha="right", fontsize=9, color=MUTED)
    axes.set_title("Active initiatives per stage, last 12 weeks", loc="left", fontsize=13, color=INK)
    axes.set_ylabel("initiatives", color=MUTED)
    axes.set_ylim(bottom=0)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.grid(axis="y", color="#E5E5E5")
    axes.tick_params(axis="y", colors=MUTED)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    axes.legend(loc="upper left", bbox_to_anchor=(1.1, 1), frameon=False, fontsize=10, title="stage")
