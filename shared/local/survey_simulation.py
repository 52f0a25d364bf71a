"""How one batch of the demo survey is drawn: a hidden capacity factor, each answer from it, the target last.

The draws follow shared.local.synthetic's design notes: one random stream for the answers and
one for drift (so a drifted batch equals the undrifted one upstream of the drifted feature),
drift applied where a feature is born, blanks punched in after the target is drawn.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Protocol

import numpy as np

from shared.local.survey_vocabulary import (
    AREAS,
    BIG_CITY_PROVINCIAS,
    CATEGORY_LABELS,
    CLIENTES,
    DIAS_ENTREVISTA,
    ENCUESTADORES,
    ESCOLARIDAD_CUTS,
    ESCOLARIDADES,
    ESTADOS_CIVILES,
    ETNIAS,
    EXPECTATIVAS,
    FUENTES_CREDITO,
    MEDIOS_PAGO,
    MISSING_SHARES,
    MOTIVOS_INICIO,
    NACIONALIDADES,
    NUMERIC_DRIFT_SCALE,
    PROBLEMAS,
    PROVINCIA_SHARES,
    PROVINCIAS,
    REGION_OF_PROVINCIA,
    REGIONES,
    REGISTROS_VENTAS,
    RURAL_SHARE_BY_REGION,
    SECTOR_SHARES_BY_AREA,
    SECTORES,
    SEXOS,
    SI_NO,
    TARGET_INTERCEPT,
    TARGET_SIGNAL,
    TIPOS_LOCAL,
)


class Drift(Protocol):
    """What a batch's drift says (shared.local.synthetic.DriftSpec): shifts by feature."""

    @property
    def numeric_shift_sd(self) -> Mapping[str, float]: ...

    @property
    def category_share_shift(self) -> Mapping[str, tuple[str, float]]: ...


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-values))


class _Sampler:
    """The batch's random streams plus the drift to apply at each feature's birth."""

    def __init__(self, n_rows: int, *, month: int, seed: int, drift: Drift, drift_scale: Callable[[str], float]) -> None:
        self.n_rows = n_rows
        # Independent streams: drift never changes the draws of the undrifted columns.
        self.rng = np.random.default_rng([seed, month, 0])
        self.drift_rng = np.random.default_rng([seed, month, 1])
        self.drift = drift
        self.drift_scale = drift_scale

    # -- draws ---------------------------------------------------------------------------------
    def normal(self, scale: float | np.ndarray = 1.0) -> np.ndarray:
        return self.rng.normal(0.0, scale, self.n_rows)

    def uniform(self) -> np.ndarray:
        return self.rng.random(self.n_rows)

    def bernoulli(self, logit: np.ndarray | float) -> np.ndarray:
        return self.uniform() < _sigmoid(np.asarray(logit, dtype=float))

    def fixed_shares(self, shares: np.ndarray) -> np.ndarray:
        """Category codes drawn with the same shares on every row."""
        cumulative = np.cumsum(shares) / np.sum(shares)
        codes = np.searchsorted(cumulative, self.uniform(), side="right")
        return np.minimum(codes, len(shares) - 1)

    def scored(self, scores: np.ndarray) -> np.ndarray:
        """Category codes from per-row log-odds scores (rows x categories), Gumbel-max trick."""
        return np.argmax(scores + self.rng.gumbel(size=scores.shape), axis=1)

    # -- drift ---------------------------------------------------------------------------------
    def numeric(
        self,
        name: str,
        values: np.ndarray,
        *,
        integer: bool = False,
        lower: float | None = None,
        upper: float | None = None,
    ) -> np.ndarray:
        shift = self.drift.numeric_shift_sd.get(name, 0.0)
        if shift == 0.0:
            return values
        scale = self.drift_scale(name)
        if NUMERIC_DRIFT_SCALE[name] == "log":
            shifted = np.expm1(np.log1p(values) + shift * scale)
        else:
            shifted = values + shift * scale
        if integer:
            shifted = np.rint(shifted)
        if lower is not None or upper is not None:
            shifted = np.clip(shifted, lower, upper)
        return shifted.astype(values.dtype) if integer else shifted

    def categorical(self, name: str, codes: np.ndarray) -> np.ndarray:
        if name not in self.drift.category_share_shift:
            return codes
        category, points = self.drift.category_share_shift[name]
        target_code = CATEGORY_LABELS[name].index(category)
        in_category = codes == target_code
        share = float(np.mean(in_category))
        draw = self.drift_rng.random(len(codes))
        codes = codes.copy()
        if points > 0:
            # Every other row moves in with the same chance: the rest shrink proportionally.
            move_in = (~in_category) & (draw < min(points / max(1.0 - share, 1e-12), 1.0))
            codes[move_in] = target_code
        elif points < 0 and share > 0:
            # Rows leaving the category land on the others in proportion to their shares.
            move_out = in_category & (draw < min(-points / share, 1.0))
            others = np.bincount(codes[~in_category], minlength=len(CATEGORY_LABELS[name])).astype(float)
            others[target_code] = 0.0
            if others.sum() == 0:
                others[:] = 1.0
                others[target_code] = 0.0
            cumulative = np.cumsum(others) / others.sum()
            landing = np.searchsorted(cumulative, self.drift_rng.random(int(move_out.sum())), side="right")
            codes[move_out] = np.minimum(landing, len(others) - 1)
        return codes

    def flag(self, name: str, flags: np.ndarray) -> np.ndarray:
        return self.categorical(name, flags.astype(np.int64)).astype(bool)


def _labels(codes: np.ndarray, labels: tuple[str, ...]) -> np.ndarray:
    return np.asarray(labels, dtype=object)[codes]


def _si_no(flags: np.ndarray) -> np.ndarray:
    return _labels(flags.astype(np.intp), SI_NO)


def _money(values: np.ndarray) -> np.ndarray:
    return np.round(values, 2)


def _lognormal(sampler: _Sampler, log_median: np.ndarray | float, sigma: float) -> np.ndarray:
    return np.exp(log_median + sampler.normal(sigma))


def _survey_date(month: int) -> dt.date:
    """Mid-month interview date: month 1 is January 2024, month 0 December 2023."""
    months_since_2024 = month - 1
    year = 2024 + months_since_2024 // 12
    return dt.date(year, months_since_2024 % 12 + 1, 15)


def simulate(
    n_rows: int, *, month: int, seed: int, drift: Drift, drift_scale: Callable[[str], float]
) -> tuple[dict[str, object], np.ndarray, np.ndarray]:
    """All feature columns (in output order), the target flags and their true probabilities.

    ``drift_scale(feature)`` is the feature's standard deviation in the reference month, on the
    scale it drifts on (asked only for features that drift).
    """
    s = _Sampler(n_rows, month=month, seed=seed, drift=drift, drift_scale=drift_scale)
    n = n_rows
    columns: dict[str, object] = {}

    # ---- where ---------------------------------------------------------------------------------
    provincia = s.categorical("provincia", s.fixed_shares(PROVINCIA_SHARES))
    provincia_names = np.asarray(PROVINCIAS, dtype=object)
    region_of_code = np.array([REGIONES.index(REGION_OF_PROVINCIA[name]) for name in PROVINCIAS])
    region = region_of_code[provincia]
    big_city = np.isin(provincia_names[provincia], BIG_CITY_PROVINCIAS)
    rural_share = np.where(big_city, 0.14, RURAL_SHARE_BY_REGION[region])
    rural = s.flag("area", s.uniform() < rural_share)  # code 1 = "rural"
    urban = ~rural

    capacity = 0.9 * s.normal() + 0.35 * urban + 0.2 * big_city - 0.30  # hidden, never output

    sector = s.categorical("sector", s.scored(np.log(SECTOR_SHARES_BY_AREA[rural.astype(int)])))
    is_sector = {name: sector == code for code, name in enumerate(SECTORES)}

    # ---- owner ---------------------------------------------------------------------------------
    woman_share = np.array([0.58, 0.55, 0.45, 0.33, 0.06, 0.04, 0.64, 0.10])[sector]
    mujer = s.flag("sexo_propietario", s.uniform() < woman_share)
    edad = np.clip(np.rint(44.0 + 2.5 * is_sector["agricultura"] + s.normal(12.5)), 18, 88).astype(np.int64)
    edad = s.numeric("edad_propietario", edad, integer=True, lower=18, upper=95)

    schooling_score = 0.75 * capacity - 0.018 * (edad - 44) + 0.25 * urban + s.normal(0.75)
    escolaridad = s.categorical(
        "escolaridad_propietario", np.searchsorted(ESCOLARIDAD_CUTS, schooling_score)
    )
    school_level = escolaridad.astype(float)  # 0 ninguna .. 4 posgrado

    estado_civil = s.fixed_shares(np.array([0.38, 0.27, 0.22, 0.08, 0.05]))
    ethnic_scores = np.log(np.array([0.80, 0.07, 0.04, 0.05, 0.03, 0.01]))[None, :].repeat(n, axis=0)
    ethnic_scores[:, 1] += np.where(region == 0, 0.6, -2.0)  # montubio: coast
    ethnic_scores[:, 2] += np.where(region == 1, 1.0, np.where(region == 2, 1.8, -1.0))  # indigena
    ethnic_scores[:, 3] += np.where(provincia_names[provincia] == "Esmeraldas", 2.0, 0.0)
    etnia = s.scored(ethnic_scores)
    nacionalidad = s.fixed_shares(np.array([0.94, 0.04, 0.015, 0.005]))
    lengua_indigena = s.uniform() < np.where(etnia == 2, 0.6, 0.004)
    discapacidad = s.uniform() < 0.035
    jefe_hogar = s.bernoulli(0.5 + 0.9 * ~mujer + 0.02 * (edad - 44))
    miembros_hogar = 1 + s.rng.poisson(2.6, n)
    hijos_menores = s.rng.binomial(miembros_hogar - 1, np.where(edad < 50, 0.45, 0.10))
    experiencia_previa = np.minimum(np.floor(s.rng.exponential(4.0, n)), edad - 18).astype(np.int64)
    motivo_scores = np.log(np.array([0.55, 0.25, 0.12, 0.08]))[None, :] + np.outer(
        capacity, [0.0, 0.6, 0.2, 0.0]
    )
    motivo = s.scored(motivo_scores)

    # ---- the business ---------------------------------------------------------------------------
    local_scores = np.zeros((n, len(TIPOS_LOCAL)))
    local_scores[:, 1] = -0.3 + 0.8 * capacity + 0.4 * urban
    local_scores[:, 2] = -1.2 + 0.6 * is_sector["comercio"]
    local_scores[:, 3] = -1.3 - 0.7 * capacity + 0.7 * is_sector["comercio"] - 2.0 * is_sector["manufactura"]
    local_scores[:, 4] = -5.0 + 7.0 * is_sector["transporte"]
    local_scores[:, 5] = -6.0 + 7.5 * (is_sector["agricultura"] | is_sector["pesca"])
    local_scores[:, 6] = -2.8
    tipo_local = s.categorical("tipo_local", s.scored(local_scores))
    is_local = {name: tipo_local == code for code, name in enumerate(TIPOS_LOCAL)}
    numero_locales = (1 + s.bernoulli(-3.0 + 0.8 * capacity) + s.bernoulli(-5.0 + 0.8 * capacity)).astype(
        np.int64
    )
    numero_locales = np.where(is_local["ambulante"], 1, numero_locales)

    ownership_logit = (
        np.array([0.9, -0.6, -1.4, -9.0, 1.2, 1.1, -0.5])[tipo_local] + 0.4 * capacity + 0.02 * (edad - 44)
    )
    local_propio = s.bernoulli(ownership_logit)

    anios = np.floor(s.rng.exponential(1.0, n) * np.exp(2.0 + 0.15 * capacity + 0.02 * (edad - 44)))
    anios = np.minimum(anios, edad - 14).astype(np.int64)
    anios = s.numeric("anios_operacion", anios, integer=True, lower=0)
    anios = np.minimum(anios, edad - 14)
    survey_day = np.datetime64(_survey_date(month), "D")
    days_open = np.floor((anios + 0.999 * s.uniform()) * 365.25).astype("timedelta64[D]")
    fecha_inicio = survey_day - days_open

    seasonal = is_sector["agricultura"] | is_sector["turismo"] | is_sector["pesca"]
    meses_actividad = 12 - s.rng.binomial(np.where(seasonal, 8, 2), np.where(seasonal, 0.35, 0.05))
    dias_semana = np.clip(np.rint(5.8 + s.normal(0.9)), 1, 7).astype(np.int64)
    horas = np.clip(np.rint(44.0 + 3.0 * capacity - 4.0 * is_local["ambulante"] + s.normal(13.0)), 4, 98)
    horas = s.numeric("horas_semana", horas.astype(np.int64), integer=True, lower=1, upper=112)

    sector_workers = np.array([0.0, 0.05, 0.35, 0.1, -0.3, 0.45, 0.3, 0.2])[sector]
    empleados = 1 + np.minimum(s.rng.poisson(np.exp(-1.0 + 0.6 * capacity + sector_workers)), 8)
    empleados = s.numeric("num_empleados", empleados.astype(np.int64), integer=True, lower=1)
    remunerados = s.rng.binomial(empleados - 1, _sigmoid(-0.3 + 0.8 * capacity))
    familiares = empleados - 1 - remunerados

    # ---- money -----------------------------------------------------------------------------------
    sector_sales = np.array([0.1, -0.05, 0.15, -0.3, 0.1, 0.3, 0.05, -0.1])[sector]
    ventas = np.exp(
        np.log(520.0)
        + 0.72 * capacity
        + 0.20 * (np.minimum(empleados, 10) - 1)
        + 0.008 * (horas - 44)
        - 0.35 * is_local["ambulante"]
        + sector_sales
        + s.normal(0.55)
    )
    ventas = _money(s.numeric("ventas_mensuales", ventas, lower=1.0))
    cost_ratio = np.clip(np.exp(np.log(0.62) + s.normal(0.22)), 0.05, 1.6)
    costos = _money(s.numeric("costos_mensuales", ventas * cost_ratio, lower=0.0))
    ganancia = _money(ventas - costos)
    log_sales = np.log(np.maximum(ventas, 1.0) / 520.0)

    pays_rent = (is_local["local_independiente"] | is_local["mercado"]) & ~local_propio
    arriendo = np.where(
        pays_rent,
        _lognormal(s, np.log(np.where(is_local["mercado"], 60.0, 190.0)) + 0.35 * capacity, 0.5),
        0.0,
    )
    servicios_basicos = _lognormal(s, np.log(28.0) + 0.35 * capacity + 0.08 * (empleados - 1), 0.5)
    servicios_basicos = s.numeric("gasto_servicios_basicos", servicios_basicos, lower=0.0)
    transporte = np.where(s.uniform() < 0.7, _lognormal(s, np.log(35.0) + 0.3 * capacity, 0.8), 0.0)
    valor_activos = _lognormal(s, np.log(2800.0) + 0.9 * capacity + 0.4 * is_sector["transporte"], 0.9)
    valor_activos = s.numeric("valor_activos", valor_activos, lower=0.0)
    invirtio = s.bernoulli(-0.5 + 0.6 * capacity)
    inversion = np.where(invirtio, _lognormal(s, np.log(600.0) + 0.6 * capacity, 1.0), 0.0)
    inventory_level = np.where(
        is_sector["comercio"],
        np.log(1100.0),
        np.where(is_sector["manufactura"], np.log(700.0), np.log(120.0)),
    )
    inventario = np.where(
        s.uniform() < np.where(is_sector["comercio"] | is_sector["manufactura"], 0.95, 0.4),
        _lognormal(s, inventory_level + 0.8 * capacity, 0.8),
        0.0,
    )
    energia = np.round(_lognormal(s, np.log(110.0) + 0.3 * capacity + 0.5 * is_sector["manufactura"], 0.5), 1)
    sells_on_credit = s.uniform() < 0.45
    porcentaje_credito = np.where(sells_on_credit, np.rint(100 * s.rng.beta(1.5, 5.0, n)), 0).astype(np.int64)
    ahorro = np.where(
        s.uniform() < _sigmoid(-0.3 + 0.6 * capacity), np.maximum(ganancia, 0) * s.rng.beta(2, 6, n), 0.0
    )
    otros_ingresos = np.where(s.uniform() < 0.6, _lognormal(s, np.log(380.0), 0.7), 0.0)
    unica_fuente = np.where(otros_ingresos > 0, s.uniform() < 0.08, s.uniform() < 0.9)

    # ---- formality -------------------------------------------------------------------------------
    ruc = s.flag(
        "tiene_ruc",
        s.bernoulli(
            -1.35
            + 0.8 * capacity
            + 0.45 * log_sales
            + 0.35 * (empleados - 1)
            + 0.3 * (school_level - 2)
            + 0.35 * urban
            + 0.5 * is_local["local_independiente"]
            - 0.8 * is_local["ambulante"]
        ),
    )
    emite_facturas = np.where(ruc, s.bernoulli(0.8 + 0.8 * capacity + 0.3 * log_sales), s.uniform() < 0.03)
    contabilidad = s.flag(
        "lleva_contabilidad",
        s.bernoulli(-1.6 + 0.7 * capacity + 0.45 * (school_level - 2) + 0.9 * ruc + 0.3 * (empleados - 1)),
    )
    record_scores = np.zeros((n, len(REGISTROS_VENTAS)))
    record_scores[:, 0] = np.where(contabilidad, -4.0, 0.2 - 0.5 * capacity)
    record_scores[:, 1] = np.where(contabilidad, -0.3, 0.0)
    record_scores[:, 2] = np.where(contabilidad, 0.5 + 0.3 * capacity, -3.0)
    record_scores[:, 3] = np.where(contabilidad, -0.2 + 0.6 * capacity, -5.0)
    registro_ventas = s.scored(record_scores)
    afiliado_iess = s.bernoulli(-1.7 + 0.9 * ruc + 0.5 * capacity + 0.2 * (school_level - 2))
    permiso_municipal = s.bernoulli(
        -1.1
        + 1.2 * ruc
        + 0.4 * capacity
        + 0.6 * is_local["local_independiente"]
        - 1.0 * is_local["ambulante"]
        + 0.3 * urban
    )
    permiso_bomberos = s.bernoulli(-2.2 + 1.6 * permiso_municipal + 0.3 * capacity)
    compra_con_factura = s.bernoulli(-1.0 + 1.2 * ruc + 0.5 * capacity)
    seguro_negocio = s.bernoulli(-3.2 + 0.6 * capacity + 0.7 * ruc)

    # ---- finance --------------------------------------------------------------------------------
    cuenta_bancaria = s.flag(
        "tiene_cuenta_bancaria",
        s.bernoulli(0.1 + 0.7 * capacity + 0.35 * (school_level - 2) + 0.3 * urban + 0.5 * ruc),
    )
    acceso_credito = s.bernoulli(-1.1 + 0.4 * capacity + 0.7 * cuenta_bancaria)
    lender_scores = np.zeros((n, len(FUENTES_CREDITO)))
    lender_scores[:, 0] = -np.inf  # "ninguno" only for businesses without credit
    lender_scores[:, 1] = -0.4 + 0.6 * capacity + 0.5 * ruc + 0.6 * cuenta_bancaria
    lender_scores[:, 2] = 0.2 + 0.4 * cuenta_bancaria
    lender_scores[:, 3] = -0.8 + 0.6 * rural
    lender_scores[:, 4] = -1.3 - 0.5 * capacity - 0.8 * cuenta_bancaria
    lender_scores[:, 5] = -0.7
    fuente_credito = np.where(acceso_credito, s.scored(lender_scores), 0)
    monto_credito = np.where(
        acceso_credito,
        _lognormal(
            s,
            np.log(2500.0) + 0.7 * capacity + 0.4 * (fuente_credito == 1) - 1.0 * (fuente_credito >= 4),
            0.8,
        ),
        0.0,
    )
    informal_debt = s.uniform() < 0.12
    deuda = np.where(
        acceso_credito,
        monto_credito * s.rng.uniform(0.05, 0.95, n),
        np.where(informal_debt, _lognormal(s, np.log(200.0), 0.8), 0.0),
    )
    recibio_bono = s.bernoulli(-2.0 - 0.8 * capacity + 0.6 * rural + 0.4 * mujer)

    # ---- technology and market -----------------------------------------------------------------------
    internet = s.flag(
        "usa_internet",
        s.bernoulli(0.6 + 0.8 * capacity - 0.045 * (edad - 44) + 0.6 * urban + 0.3 * (school_level - 2)),
    )
    redes_sociales = internet & s.bernoulli(0.6 + 0.5 * capacity - 0.03 * (edad - 44))
    vende_en_linea = redes_sociales & s.bernoulli(-1.3 + 0.4 * capacity)
    computadora = s.bernoulli(-1.4 + 0.9 * capacity + 0.4 * (school_level - 2) + 0.8 * internet)
    pagos_digitales = s.bernoulli(-2.2 + 0.6 * capacity + 1.6 * cuenta_bancaria + 0.8 * internet)
    payment_scores = np.zeros((n, len(MEDIOS_PAGO)))
    payment_scores[:, 1] = np.where(pagos_digitales, -0.6 + 0.3 * capacity, -np.inf)
    payment_scores[:, 2] = np.where(pagos_digitales, -2.3 + 0.5 * capacity, -np.inf)
    payment_scores[:, 3] = np.where(pagos_digitales, -0.2, -3.0)
    medio_pago = s.scored(payment_scores)
    hace_publicidad = s.bernoulli(-1.9 + 0.7 * capacity + 0.7 * redes_sociales)
    publicidad = np.where(hace_publicidad, _lognormal(s, np.log(30.0) + 0.4 * capacity, 0.8), 0.0)
    tourist_or_shop = is_sector["comercio"] | is_sector["turismo"]
    clientes = np.rint(_lognormal(s, np.log(55.0) + 0.4 * capacity + 0.3 * tourist_or_shop, 0.7))
    clientes = s.numeric(
        "num_clientes_semana", np.maximum(clientes, 1).astype(np.int64), integer=True, lower=1
    )
    client_scores = np.log(np.array([0.78, 0.10, 0.07, 0.04, 0.01]))[None, :].repeat(n, axis=0)
    client_scores[:, 1] += 0.6 * capacity + 0.8 * (is_sector["manufactura"] | is_sector["construccion"])
    client_scores[:, 2] += 1.3 * (is_sector["agricultura"] | is_sector["pesca"])
    client_scores[:, 3] += 2.2 * is_sector["turismo"]
    client_scores[:, 4] += 0.8 * capacity + 1.0 * ruc
    principal_cliente = s.scored(client_scores)
    proveedores = s.rng.poisson(np.exp(0.9 + 0.3 * capacity)).astype(np.int64)
    otras_provincias = s.bernoulli(
        -2.5 + 0.7 * capacity + 0.6 * is_sector["manufactura"] + 0.5 * is_sector["agricultura"]
    )
    distancia = _lognormal(s, np.where(rural, np.log(7.5), np.log(1.4)), 0.8)
    distancia = np.round(s.numeric("distancia_mercado_km", distancia, lower=0.0), 2)
    tiempo_traslado = np.maximum(np.rint(2.5 * distancia + 5.0 + s.normal(3.0)), 1).astype(np.int64)

    # ---- organisation and outlook (weak signals) ---------------------------------------------------
    asociacion = s.bernoulli(
        -2.4 + 0.3 * capacity + 0.5 * is_sector["agricultura"] + 0.4 * is_sector["transporte"]
    )
    capacitacion = s.bernoulli(-1.9 + 0.4 * capacity + 0.2 * (school_level - 2) + 0.5 * asociacion)
    planea_expandirse = s.bernoulli(-0.5 + 0.25 * capacity - 0.02 * (edad - 44))
    satisfaccion = np.clip(np.rint(3.3 + 0.3 * capacity + s.normal(0.95)), 1, 5).astype(np.int64)
    outlook_scores = np.zeros((n, len(EXPECTATIVAS)))
    outlook_scores[:, 0] = 0.2 * capacity - 0.1
    outlook_scores[:, 2] = -0.2 * capacity - 1.0
    expectativa = s.scored(outlook_scores)
    problem_scores = np.log(np.array([0.30, 0.25, 0.18, 0.14, 0.06, 0.07]))[None, :].repeat(n, axis=0)
    problem_scores[:, 2] -= 0.2 * capacity
    principal_problema = s.scored(problem_scores)
    vivienda_propia = s.bernoulli(0.3 + 0.3 * capacity + 0.03 * (edad - 44))
    tiene_vehiculo = s.bernoulli(-0.9 + 0.7 * capacity + 4.0 * is_sector["transporte"])

    # ---- survey metadata: pure noise ------------------------------------------------------------------
    encuestador = s.rng.integers(0, len(ENCUESTADORES), n)
    factor_expansion = np.round(_lognormal(s, np.log(45.0), 0.6), 4)
    dia_entrevista = s.fixed_shares(np.array([0.17, 0.18, 0.18, 0.17, 0.17, 0.13]))
    orden_visita = s.rng.integers(1, 31, n)
    duracion_entrevista = np.clip(np.rint(35.0 + s.normal(8.0)), 10, 90).astype(np.int64)

    # ---- the target: fixed function of observed features only ------------------------------------------
    ruc_f = ruc.astype(float)
    conta_f = contabilidad.astype(float)
    sales_step = _sigmoid(2.5 * (np.log(np.maximum(ventas, 1.0)) - np.log(1500.0)))
    workers = np.minimum(empleados - 1, 5).astype(float)
    logit = TARGET_INTERCEPT + TARGET_SIGNAL * (
        2.6 * ruc_f
        + 1.9 * conta_f
        + 1.0 * ruc_f * conta_f
        + 1.8 * sales_step
        + 0.45 * workers
        + 0.9 * (empleados >= 3) * ruc_f
        + 0.55 * school_level
        + 0.5 * (school_level >= 3)
        + 1.0 * afiliado_iess
        + 0.7 * permiso_municipal
        + 0.5 * cuenta_bancaria
        + 0.4 * internet
        + 0.5 * emite_facturas
        - 1.2 * is_local["ambulante"]
        + 0.5 * is_local["local_independiente"]
        - 0.5 * rural
        + np.array([0.0, 0.2, 0.3, -0.6, 0.2, 0.1, 0.3, -0.4])[sector]
        + 0.4 * (anios >= 3)
        - 0.3 * ((edad - 45) / 15.0) ** 2
        + 0.3 * (horas > 40)
    )
    probability = _sigmoid(logit)
    formalizado = s.uniform() < probability

    columns.update(
        {
            "provincia": provincia_names[provincia],
            "region": _labels(region, REGIONES),
            "area": _labels(rural.astype(np.int64), AREAS),
            "sector": _labels(sector, SECTORES),
            "tipo_local": _labels(tipo_local, TIPOS_LOCAL),
            "numero_locales": numero_locales,
            "local_propio": _si_no(local_propio),
            "anios_operacion": anios,
            "fecha_inicio": fecha_inicio,
            "meses_actividad_anio": meses_actividad.astype(np.int64),
            "dias_semana": dias_semana,
            "horas_semana": horas,
            "num_empleados": empleados,
            "num_trabajadores_remunerados": remunerados.astype(np.int64),
            "num_familiares_no_remunerados": familiares.astype(np.int64),
            "edad_propietario": edad,
            "sexo_propietario": _labels(mujer.astype(np.int64), SEXOS),
            "escolaridad_propietario": _labels(escolaridad, ESCOLARIDADES),
            "estado_civil_propietario": _labels(estado_civil, ESTADOS_CIVILES),
            "etnia_propietario": _labels(etnia, ETNIAS),
            "nacionalidad_propietario": _labels(nacionalidad, NACIONALIDADES),
            "habla_lengua_indigena": _si_no(lengua_indigena),
            "discapacidad_propietario": _si_no(discapacidad),
            "jefe_hogar": _si_no(jefe_hogar),
            "num_miembros_hogar": miembros_hogar.astype(np.int64),
            "hijos_menores": hijos_menores.astype(np.int64),
            "experiencia_previa_anios": experiencia_previa,
            "motivo_inicio": _labels(motivo, MOTIVOS_INICIO),
            "ventas_mensuales": ventas,
            "costos_mensuales": costos,
            "ganancia_mensual": ganancia,
            "gasto_arriendo": _money(arriendo),
            "gasto_servicios_basicos": _money(servicios_basicos),
            "gasto_transporte": _money(transporte),
            "gasto_publicidad": _money(publicidad),
            "valor_activos": _money(valor_activos),
            "inversion_ultimo_anio": _money(inversion),
            "valor_inventario": _money(inventario),
            "consumo_energia_kwh": energia,
            "porcentaje_ventas_credito": porcentaje_credito,
            "ahorro_mensual": _money(ahorro),
            "ingreso_otros_hogar": _money(otros_ingresos),
            "es_unica_fuente_ingreso": _si_no(unica_fuente),
            "tiene_ruc": _si_no(ruc),
            "emite_facturas": _si_no(emite_facturas),
            "lleva_contabilidad": _si_no(contabilidad),
            "registro_ventas": _labels(registro_ventas, REGISTROS_VENTAS),
            "afiliado_iess": _si_no(afiliado_iess),
            "tiene_permiso_municipal": _si_no(permiso_municipal),
            "tiene_permiso_bomberos": _si_no(permiso_bomberos),
            "compra_con_factura": _si_no(compra_con_factura),
            "tiene_seguro_negocio": _si_no(seguro_negocio),
            "tiene_cuenta_bancaria": _si_no(cuenta_bancaria),
            "acceso_credito": _si_no(acceso_credito),
            "fuente_credito": _labels(fuente_credito, FUENTES_CREDITO),
            "monto_credito": _money(monto_credito),
            "deuda_pendiente": _money(deuda),
            "recibio_bono": _si_no(recibio_bono),
            "usa_internet": _si_no(internet),
            "usa_redes_sociales": _si_no(redes_sociales),
            "vende_en_linea": _si_no(vende_en_linea),
            "tiene_computadora": _si_no(computadora),
            "acepta_pagos_digitales": _si_no(pagos_digitales),
            "medio_pago_principal": _labels(medio_pago, MEDIOS_PAGO),
            "hace_publicidad": _si_no(hace_publicidad),
            "num_clientes_semana": clientes,
            "principal_cliente": _labels(principal_cliente, CLIENTES),
            "num_proveedores": proveedores,
            "vende_otras_provincias": _si_no(otras_provincias),
            "distancia_mercado_km": distancia,
            "tiempo_traslado_min": tiempo_traslado,
            "pertenece_asociacion": _si_no(asociacion),
            "recibio_capacitacion": _si_no(capacitacion),
            "planea_expandirse": _si_no(planea_expandirse),
            "satisfaccion_negocio": satisfaccion,
            "expectativa_ventas": _labels(expectativa, EXPECTATIVAS),
            "principal_problema": _labels(principal_problema, PROBLEMAS),
            "vivienda_propia": _si_no(vivienda_propia),
            "tiene_vehiculo": _si_no(tiene_vehiculo),
            "codigo_encuestador": _labels(encuestador, ENCUESTADORES),
            "factor_expansion": factor_expansion,
            "dia_entrevista": _labels(dia_entrevista, DIAS_ENTREVISTA),
            "orden_visita": orden_visita.astype(np.int64),
            "duracion_entrevista_min": duracion_entrevista,
        }
    )

    # Blank answers, completely at random, after the target is drawn.
    for name, missing_share in MISSING_SHARES.items():
        blank = s.uniform() < missing_share
        values = columns[name]
        if values.dtype == object:
            values = values.copy()
            values[blank] = None
        else:
            values = np.where(blank, np.nan, values.astype(float))
        columns[name] = values
    return columns, formalizado, probability
