"""The demo survey's vocabulary: its answers, how often each is given, and which features may drift.

What an EMICRON-style survey of Ecuadorian micro-businesses asks and how its answers are spread
(province shares from the 2022 census, sector shares by area, schooling cut points, the share of
blank answers), plus the fixed target model's calibration. shared.local.survey_simulation draws
batches from these; shared.local.synthetic is the generator's interface.
"""

from __future__ import annotations

import numpy as np

# Features it makes sense to shift in the demo, most important first.
NUMERIC_DRIFT_FEATURES: tuple[str, ...] = (
    "ventas_mensuales",
    "num_empleados",
    "costos_mensuales",
    "horas_semana",
    "edad_propietario",
    "anios_operacion",
    "valor_activos",
    "gasto_servicios_basicos",
    "num_clientes_semana",
    "distancia_mercado_km",
)
CATEGORICAL_DRIFT_FEATURES: tuple[str, ...] = (
    "tiene_ruc",
    "lleva_contabilidad",
    "escolaridad_propietario",
    "sector",
    "tipo_local",
    "area",
    "provincia",
    "tiene_cuenta_bancaria",
    "usa_internet",
    "sexo_propietario",
)

# How a numeric drift of k standard deviations is applied. "additive": value + k * sd(value) on
# the natural scale (roughly symmetric features). "log": log1p(value) + k * sd(log1p(value)), i.e.
# a multiplicative shift for skewed money/count features, where adding dollars would be
# unnatural; the two-sample KS statistic of a 1-sd shift is then about 0.38 whatever the skew.
NUMERIC_DRIFT_SCALE: dict[str, str] = {
    "ventas_mensuales": "log",
    "num_empleados": "additive",
    "costos_mensuales": "log",
    "horas_semana": "additive",
    "edad_propietario": "additive",
    "anios_operacion": "log",
    "valor_activos": "log",
    "gasto_servicios_basicos": "log",
    "num_clientes_semana": "log",
    "distancia_mercado_km": "log",
}

SI_NO: tuple[str, str] = ("no", "si")  # code 0 = "no", code 1 = "si"; the target is one of them too

PROVINCIAS: tuple[str, ...] = (
    "Guayas", "Pichincha", "Manabí", "Los Ríos", "Azuay", "El Oro", "Esmeraldas", "Tungurahua",
    "Chimborazo", "Loja", "Santo Domingo de los Tsáchilas", "Cotopaxi", "Imbabura", "Santa Elena",
    "Cañar", "Sucumbíos", "Bolívar", "Morona Santiago", "Orellana", "Carchi", "Napo",
    "Zamora Chinchipe", "Pastaza", "Galápagos",
)  # fmt: skip
# Roughly the provinces' shares of Ecuador's population (INEC census 2022), rounded.
PROVINCIA_SHARES = np.array([
    0.258, 0.175, 0.088, 0.054, 0.050, 0.042, 0.031, 0.032, 0.029, 0.029, 0.027, 0.028, 0.027,
    0.023, 0.017, 0.013, 0.012, 0.012, 0.010, 0.010, 0.008, 0.007, 0.007, 0.002,
])  # fmt: skip
REGION_OF_PROVINCIA: dict[str, str] = {
    "Guayas": "costa", "Pichincha": "sierra", "Manabí": "costa", "Los Ríos": "costa",
    "Azuay": "sierra", "El Oro": "costa", "Esmeraldas": "costa", "Tungurahua": "sierra",
    "Chimborazo": "sierra", "Loja": "sierra", "Santo Domingo de los Tsáchilas": "costa",
    "Cotopaxi": "sierra", "Imbabura": "sierra", "Santa Elena": "costa", "Cañar": "sierra",
    "Sucumbíos": "amazonia", "Bolívar": "sierra", "Morona Santiago": "amazonia",
    "Orellana": "amazonia", "Carchi": "sierra", "Napo": "amazonia", "Zamora Chinchipe": "amazonia",
    "Pastaza": "amazonia", "Galápagos": "insular",
}  # fmt: skip
REGIONES: tuple[str, ...] = ("costa", "sierra", "amazonia", "insular")
RURAL_SHARE_BY_REGION = np.array([0.30, 0.36, 0.55, 0.15])
BIG_CITY_PROVINCIAS = ("Guayas", "Pichincha", "Azuay")

AREAS: tuple[str, ...] = ("urbana", "rural")
SECTORES: tuple[str, ...] = (
    "comercio", "servicios", "manufactura", "agricultura", "transporte", "construccion", "turismo",
    "pesca",
)  # fmt: skip
# Sector shares given the area (rows: urbana, rural).
SECTOR_SHARES_BY_AREA = np.array([
    [0.44, 0.22, 0.10, 0.02, 0.08, 0.05, 0.08, 0.01],
    [0.30, 0.12, 0.08, 0.30, 0.06, 0.05, 0.04, 0.05],
])  # fmt: skip
ESCOLARIDADES: tuple[str, ...] = ("ninguna", "primaria", "secundaria", "superior", "posgrado")
# Cut points of the latent schooling score; give about 5/33/40/19/3 % overall.
ESCOLARIDAD_CUTS = np.array([-1.53, -0.10, 1.05, 2.21])
SEXOS: tuple[str, ...] = ("hombre", "mujer")
ESTADOS_CIVILES: tuple[str, ...] = ("casado", "union_libre", "soltero", "separado", "viudo")
ETNIAS: tuple[str, ...] = ("mestizo", "montubio", "indigena", "afroecuatoriano", "blanco", "otro")
NACIONALIDADES: tuple[str, ...] = ("ecuatoriana", "venezolana", "colombiana", "otra")
MOTIVOS_INICIO: tuple[str, ...] = ("necesidad", "oportunidad", "tradicion_familiar", "otro")
TIPOS_LOCAL: tuple[str, ...] = (
    "vivienda", "local_independiente", "mercado", "ambulante", "vehiculo", "finca", "otro",
)  # fmt: skip
REGISTROS_VENTAS: tuple[str, ...] = ("ninguno", "cuaderno", "hoja_calculo", "software_contable")
FUENTES_CREDITO: tuple[str, ...] = (
    "ninguno", "banco", "cooperativa", "banecuador", "prestamista", "familiar",
)  # fmt: skip
MEDIOS_PAGO: tuple[str, ...] = ("efectivo", "transferencia", "tarjeta", "mixto")
CLIENTES: tuple[str, ...] = ("hogares", "empresas", "intermediarios", "turistas", "gobierno")
EXPECTATIVAS: tuple[str, ...] = ("aumentar", "mantener", "disminuir")
PROBLEMAS: tuple[str, ...] = (
    "falta_clientes", "competencia", "financiamiento", "inseguridad", "tramites", "otro",
)  # fmt: skip
DIAS_ENTREVISTA: tuple[str, ...] = ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado")
ENCUESTADORES: tuple[str, ...] = tuple(f"ENC-{number:02d}" for number in range(1, 21))

# Share of answers left blank, completely at random, per column.
MISSING_SHARES: dict[str, float] = {
    "ventas_mensuales": 0.03,
    "costos_mensuales": 0.05,
    "valor_activos": 0.06,
    "ingreso_otros_hogar": 0.09,
    "distancia_mercado_km": 0.07,
    "escolaridad_propietario": 0.03,
    "estado_civil_propietario": 0.02,
    "etnia_propietario": 0.04,
    "principal_problema": 0.05,
}

# Target model: intercept calibrated on 400 000 undrifted rows for ~10 % positives; the signal
# factor scales all feature effects so a default LightGBM lands near ROC-AUC 0.96 (not a
# suspicious 0.99), like the real EMICRON model.
TARGET_SIGNAL = 0.94
TARGET_INTERCEPT = -10.79

CATEGORY_LABELS: dict[str, tuple[str, ...]] = {
    "tiene_ruc": SI_NO,
    "lleva_contabilidad": SI_NO,
    "escolaridad_propietario": ESCOLARIDADES,
    "sector": SECTORES,
    "tipo_local": TIPOS_LOCAL,
    "area": AREAS,
    "provincia": PROVINCIAS,
    "tiene_cuenta_bancaria": SI_NO,
    "usa_internet": SI_NO,
    "sexo_propietario": SEXOS,
}
