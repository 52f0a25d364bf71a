"""The sentences about models and about what could not run: the error boundary's refusals (shared.handlers),
training, gates, leakage, promotion, shadow comparison and rollback. (es, en)"""

from __future__ import annotations

MODELS: dict[str, tuple[str, str]] = {
    # -- the error boundary (shared.handlers): a permanent failure, told where the user looks --------
    # A file's report (quarantine/<kind>/<name>.report.txt) starts "No se procesó el archivo." and goes on with these.
    "refused_contract": (
        "El contrato de datos del modelo en uso no se puede leer, así que no se sabe cómo validar el archivo. "
        "Avise al administrador. Detalle técnico: {detail}",
        "The data contract of the model in use cannot be read, so there is no telling how to validate the file. "
        "Tell the administrator. Technical detail: {detail}",
    ),
    "refused_model_integrity": (
        "Los archivos del modelo v{version} no coinciden con los registrados (posible manipulación). "
        "Se avisó al administrador; vuelva a subir el archivo cuando lo haya resuelto.",
        "Model v{version}'s files do not match the registered ones (possible tampering). "
        "The administrator was alerted; upload the file again once it is resolved.",
    ),
    "refused_pii_key": (
        "La clave de seudonimización (DROPSCORE_PII_KEY) no sirve, y sin ella no se guardan datos personales. "
        "Avise al administrador. Detalle técnico: {detail}",
        "The pseudonymization key (DROPSCORE_PII_KEY) is not usable, and without it no personal data is stored. "
        "Tell the administrator. Technical detail: {detail}",
    ),
    "refused_configuration": (
        "dropscore no tiene el permiso o la configuración que necesita para trabajar con este archivo "
        "(almacenamiento, registro de modelos o almacén de datos). Avise al administrador. Detalle técnico: {detail}",
        "dropscore lacks the permission or the configuration it needs to work on this file "
        "(storage, model registry or warehouse). Tell the administrator. Technical detail: {detail}",
    ),
    # The score step's report: the file was cleaned (its clean rows are kept), scoring was refused.
    "not_scored": (
        "El archivo se limpió pero no se puntuó. {reason}",
        "The file was cleaned but not scored. {reason}",
    ),
    # The administrator's alert when a scheduled check or a retrain request cannot run, ever, as things stand.
    "check_refused_title": (
        "La revisión mensual de deriva no se pudo hacer: {reason}",
        "The monthly drift check could not run: {reason}",
    ),
    "retrain_refused_title": (
        "El reentrenamiento pedido ({request}) no se pudo hacer: {reason}",
        "The requested retraining ({request}) could not run: {reason}",
    ),
    "refused_action": (
        "Corrija la causa (permisos, configuración o modelo); la próxima ejecución programada lo vuelve a intentar.",
        "Fix the cause (permissions, configuration or model); the next scheduled run tries again.",
    ),
    # -- shadow comparison and the watch after a promotion (shared.lifecycle.shadow) ------------------
    "review_refused_title": (
        "La revisión del modelo con los resultados recibidos no se pudo hacer: {reason}",
        "The model review on the outcomes received could not run: {reason}",
    ),
    "review_refused_action": (
        "Las etiquetas quedaron guardadas. Corrija la causa; la próxima entrega de resultados vuelve a revisar el modelo.",
        "The labels were kept. Fix the cause; the next outcomes file reviews the model again.",
    ),
}
