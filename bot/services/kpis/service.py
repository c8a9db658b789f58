"""KPIs: the kpis domain's public face.

Internals: `definitions` (an initiative's measures of value), `actuals` (the values recorded over time and how
each stands against its target) and `value` (the value delivered across the portfolio). Reminders to record them
are in `scheduled`."""

from bot.services.kpis.actuals import (
    NO_DATA,
    OFF_TRACK,
    ON_TRACK,
    Recorded,
    Standing,
    export_actuals,
    record_actual,
    standings,
)
from bot.services.kpis.definitions import (
    FIRST_KPI_FIELDS,
    clean_first_kpi_texts,
    define_kpi,
    find_kpi,
    first_kpi_rows,
    first_kpi_texts,
    format_measure,
    kpis_of,
    require_recorder,
    set_first_kpi,
)
from bot.services.kpis.value import ValueRow, ValueTotal, live_value, totals

__all__ = [
    "FIRST_KPI_FIELDS", "NO_DATA", "OFF_TRACK", "ON_TRACK", "Recorded", "Standing", "ValueRow", "ValueTotal",
    "clean_first_kpi_texts", "define_kpi", "export_actuals", "find_kpi", "first_kpi_rows", "first_kpi_texts",
    "format_measure", "kpis_of", "live_value", "record_actual", "require_recorder", "set_first_kpi", "standings",
    "totals"
]
