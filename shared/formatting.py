"""Numbers, percentages, money and dates the way the reader's locale writes them (CLDR, via Babel).

Every figure a person reads — in the terminal, the dashboard, the drift report, the model card,
an alert — goes through here, so one page never mixes "3.979" with "2,000". Spanish pages use
Ecuador's conventions (es_EC: 1.234,5 and "12.000"; four-digit numbers are not grouped in
Spanish, as CLDR says), English pages en_US. Times are shown in the deployment's time zone
(``DROPSCORE_TIMEZONE``, default America/Guayaquil: the zone Cloud Scheduler fires in), with
the zone named, never silently in UTC.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_datetime, get_timezone_name
from babel.numbers import format_currency, format_decimal, format_percent, format_scientific

DEFAULT_TIMEZONE = "America/Guayaquil"
LOCALES = {"es": "es_EC", "en": "en_US"}
MISSING = "–"


def locale_of(language: str) -> str:
    return LOCALES.get(language, LOCALES["es"])


@lru_cache(maxsize=8)
def _locale(language: str) -> Locale:
    return Locale.parse(locale_of(language))


def _finite(value: object) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def integer(value: object, language: str) -> str:
    """12000 -> "12.000" (es) / "12,000" (en); 3979 -> "3979" (es: CLDR groups from five digits)."""
    number = _finite(value)
    return MISSING if number is None else format_decimal(round(number), format="#,##0", locale=_locale(language))


def decimal(value: object, language: str, digits: int = 2) -> str:
    """0.834 -> "0,83" (es) / "0.83" (en), with exactly ``digits`` decimals."""
    number = _finite(value)
    if number is None:
        return MISSING
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(number, format=pattern, locale=_locale(language), decimal_quantization=True)


def number(value: object, language: str, max_digits: int = 3) -> str:
    """As few decimals as the value needs, at most ``max_digits``: 0 -> "0", 0.5 -> "0,5", 1200 -> "1200"."""
    number_value = _finite(value)
    if number_value is None:
        return MISSING
    if number_value == int(number_value):
        return integer(number_value, language)
    pattern = "#,##0." + "#" * max_digits
    return format_decimal(number_value, format=pattern, locale=_locale(language))


def percent(value: object, language: str, digits: int = 1) -> str:
    """0.0834 -> "8,3 %" (es) / "8.3%" (en)."""
    number_value = _finite(value)
    if number_value is None:
        return MISSING
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "") + "%"
    return format_percent(number_value, format=pattern, locale=_locale(language), decimal_quantization=True)


def money(amount: object, language: str, currency: str = "USD", digits: int = 2) -> str:
    """Ecuador's currency is the US dollar: 1234.5 -> "1.234,50 US$"-style per CLDR ("$1,234.50" in English)."""
    number_value = _finite(amount)
    if number_value is None:
        return MISSING
    pattern = None if digits == 2 else "¤#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_currency(number_value, currency, format=pattern, locale=_locale(language), currency_digits=digits == 2)


def probability(value: object, language: str) -> str:
    """A p-value people can read: "< 0,0001" for the astronomically small ones, else 4 decimals."""
    number_value = _finite(value)
    if number_value is None:
        return MISSING
    if number_value < 0.0001:
        return "< " + decimal(0.0001, language, 4)
    return decimal(number_value, language, 4)


def scientific(value: object, language: str) -> str:
    number_value = _finite(value)
    return MISSING if number_value is None else format_scientific(number_value, format="0.0E0", locale=_locale(language))


def timezone(name: str | None = None) -> ZoneInfo:
    try:
        return ZoneInfo(name or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def when(moment: datetime | None, language: str, zone: str | None = None, *, with_zone: bool = False) -> str:
    """A moment in the deployment's zone: "05/12/2026 09:37" (es) / "12/5/2026, 9:37 AM" (en)."""
    if moment is None:
        return MISSING
    local = _aware(moment).astimezone(timezone(zone))
    text = format_datetime(local, format="short", locale=_locale(language))
    if with_zone:
        text += f" ({zone_label(zone, language)})"
    return text


def day(moment: date | datetime | None, language: str, zone: str | None = None) -> str:
    """A calendar day: "5 dic 2026" (es) / "Dec 5, 2026" (en)."""
    if moment is None:
        return MISSING
    if isinstance(moment, datetime):
        moment = _aware(moment).astimezone(timezone(zone)).date()
    return format_date(moment, format="medium", locale=_locale(language))


def short_day(moment: date | datetime | None, language: str, zone: str | None = None) -> str:
    """A compact day for chart axes: "5 dic" (es) / "Dec 5" (en)."""
    if moment is None:
        return MISSING
    if isinstance(moment, datetime):
        moment = _aware(moment).astimezone(timezone(zone)).date()
    return format_date(moment, format="d MMM" if language == "es" else "MMM d", locale=_locale(language))


def short_time(moment: datetime | None, language: str, zone: str | None = None) -> str:
    """Day and time for chart axes when several checks share a day: "5 dic 09:37"."""
    if moment is None:
        return MISSING
    local = _aware(moment).astimezone(timezone(zone))
    return short_day(local, language) + " " + local.strftime("%H:%M")


def zone_label(zone: str | None, language: str) -> str:
    """"hora de Ecuador" / "Ecuador Time", falling back to the IANA name."""
    try:
        # Named at the current moment: without one Babel may pick a summer-time name Ecuador never uses.
        return get_timezone_name(datetime.now(timezone(zone)), width="long", locale=_locale(language))
    except (LookupError, ValueError):
        return str(zone or DEFAULT_TIMEZONE)


_GATE_FAILURE = re.compile(r"^(?P<metric>[a-z_0-9]+) (?P<value>-?[\d.]+) (?P<op>[<>]) (?P<limit>-?[\d.]+)$")


def gate_failures_text(failures: list[str], language: str) -> str:
    """Recorded gate failures ("precision 0.552 < 0.60") in the reader's words and numbers ("precisión 0,552 < 0,60")."""
    from shared.i18n.monitoring import metric_name

    shown = []
    for failure in failures:
        match = _GATE_FAILURE.match(failure.strip())
        if match:
            shown.append(f"{metric_name(match['metric'], language)} {decimal(match['value'], language, 3)} {match['op']} {decimal(match['limit'], language, 2)}")
        else:
            shown.append(failure)
    return "; ".join(shown) or ("sin detalle" if language == "es" else "no detail")
