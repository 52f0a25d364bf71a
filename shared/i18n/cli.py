"""The sentences of the `dropscore` command and the demo: help, results, the local stack, progress bars. (es, en)

Besides ``CLI`` (code -> (es, en), merged into ``shared.i18n.MESSAGES``) this module holds the
command's tables that are not sentences of ours: argparse's own message ids in Spanish, the
names of column types, and the marks that tell a Spanish text from an English one.
"""

from __future__ import annotations

import re

CLI: dict[str, tuple[str, str]] = {
    # -- the command line's help (shared.local.cli_parser) -------------------------------------------
    "help_description": (
        "Suelte un CSV y reciba predicciones con sus motivos; control de deriva, reentrenamiento y vuelta atrás.",
        "Drop a CSV, get predictions with reasons; drift checks, retraining and rollback.",
    ),
    "help_epilog": (
        "Configuración: variables DROPSCORE_* (DROPSCORE_HOME, por defecto ./.dropscore; DROPSCORE_LANG; DROPSCORE_TIMEZONE).\nCódigos de salida:",
        "Settings: DROPSCORE_* environment variables (DROPSCORE_HOME, default ./.dropscore; DROPSCORE_LANG; DROPSCORE_TIMEZONE).\nExit codes:",
    ),
    "help_options": ("opciones", "options"),
    "help_metavar_command": ("COMANDO", "COMMAND"),
    "help_metavar_subcommand": ("SUBCOMANDO", "SUBCOMMAND"),
    "help_metavar_file": ("ARCHIVO", "FILE"),
    "help_metavar_version": ("VERSIÓN", "VERSION"),
    "help_lang": ("idioma de los mensajes (por defecto DROPSCORE_LANG o es)", "language of messages (default: DROPSCORE_LANG or es)"),
    "help_debug": ("mostrar el detalle técnico (traceback) de un error", "show the technical detail (traceback) of an error"),
    "help_verbose": ("mostrar los registros de dropscore y de las bibliotecas (MLflow, avisos)", "show dropscore's and the libraries' logs (MLflow, warnings)"),
    "help_version": ("muestra la versión y termina", "show the version and exit"),
    "help_commands": ("comandos", "commands"),
    "help_json": ("imprimir un solo objeto JSON en stdout y nada más", "print one JSON object on stdout and nothing else"),
    "help_demo": ("ejecutar toda la historia con datos sintéticos y la configuración integrada", "run the whole story on embedded defaults with synthetic data"),
    "help_demo_rows": ("filas por archivo mensual (por defecto 2000)", "rows per monthly file (default 2000)"),
    "help_demo_training_rows": ("filas del primer archivo de entrenamiento (por defecto 12000)", "rows in the first training file (default 12000)"),
    "help_seed": ("semilla aleatoria", "random seed"),
    "help_demo_workdir": ("dónde escribir los CSV de la demo (por defecto DROPSCORE_HOME/demo)", "where to write the demo's CSV files (default: DROPSCORE_HOME/demo)"),
    "help_contract": ("comandos del contrato de datos", "data contract commands"),
    "help_infer": ("proponer un contrato YAML editable a partir de un CSV de entrenamiento", "infer an editable YAML contract from a training CSV"),
    "help_infer_file": ("CSV o Excel con la columna objetivo", "CSV or Excel file holding the target column"),
    "help_infer_target": ("la columna a predecir", "the column to predict"),
    "help_infer_positive": (
        "el valor del objetivo que cuenta como positivo (por defecto sí/yes/1/true o la clase minoritaria)",
        "the target value that counts as positive (default: si/yes/1/true or the minority class)",
    ),
    "help_infer_id": ("la columna identificadora (por defecto ninguna: se generan ids de fila)", "the id column (default: none; row ids are generated)"),
    "help_infer_name": ("un nombre para el contrato (por defecto el del archivo)", "a name for the contract (default: the file name)"),
    "help_infer_output": ("escribir el contrato aquí (por defecto se imprime)", "write the contract here (default: print it)"),
    "help_infer_task": ("qué es el objetivo (por defecto binary)", "what the target is (default: binary)"),
    "help_train": (
        "entrenar un modelo con un CSV etiquetado, registrarlo y hacerlo campeón si supera los umbrales",
        "train a model on a labeled CSV, register it, make it champion if it passes the gates",
    ),
    "help_train_file": ("CSV o Excel etiquetado", "labeled CSV or Excel file"),
    "help_train_contract": ("contrato YAML (por defecto el del campeón)", "contract YAML (default: the champion's contract)"),
    "help_time_budget": (
        "segundos para la búsqueda de configuración (por defecto los del contrato, 60)",
        "seconds for the configuration search (default: the contract's, 60)",
    ),
    "help_drop": (
        "dejar un archivo en el bucket de entrada; en modo integrado, limpiarlo y puntuarlo enseguida",
        "drop a file into the raw bucket; in embedded mode run clean and score at once",
    ),
    "help_drop_file": ("el CSV o Excel a dejar", "the CSV or Excel file to drop"),
    "help_drop_kind": (
        "incoming: para puntuar; labels: resultados reales (id + objetivo); training: filas etiquetadas",
        "incoming: to score; labels: real outcomes (id + target); training: labeled rows",
    ),
    "help_score": ("limpiar y puntuar un archivo directamente, sin buckets ni almacén de datos", "clean and score a file directly, without buckets or warehouse"),
    "help_score_file": ("el CSV o Excel a puntuar", "the CSV or Excel file to score"),
    "help_score_output": ("el CSV de predicciones a escribir", "predictions CSV to write"),
    "help_drift": ("ejecutar ahora el control de deriva programado", "run the scheduled drift check now"),
    "help_drift_no_retrain": ("solo informar; no pedir reentrenamiento", "report only; do not request retraining"),
    "help_retrain": ("entrenar un retador con todos los datos etiquetados y promoverlo si gana", "train a challenger on all labeled data and promote it if it wins"),
    "help_reason": ("por qué (queda registrado)", "why (recorded)"),
    "help_reason_who": ("por qué (queda registrado con quién)", "why (recorded with who)"),
    "help_models": ("listar versiones del modelo, alias, métricas y umbrales", "list model versions, aliases, metrics and gates"),
    "help_promote": ("hacer campeona a una versión (la anterior queda como «previous»)", "make a version the champion (the old one becomes 'previous')"),
    "help_promote_version": ("número de versión: 3 o v3", "version number: 3 or v3"),
    "help_promote_force": ("promover aunque no supere sus umbrales", "promote even a version that failed its gates"),
    "help_rollback": ("volver al campeón anterior, de inmediato", "make the previous champion the champion again, at once"),
    "help_serve": (
        "ejecutar localmente la forma de la nube (emuladores, servidor MLflow, funciones, enrutador de eventos) hasta Ctrl-C; `serve tick drift|retrain` dispara un evento",
        "run the cloud's shape locally (emulators, MLflow server, function servers, event router) until Ctrl-C; `serve tick drift|retrain` fires a trigger",
    ),
    "help_serve_action": ("tick: disparar un evento programado o enviado de la pila en marcha", "tick: fire a scheduled or pushed trigger of the running stack"),
    "help_serve_target": ("con tick: drift (Cloud Scheduler) o retrain (Pub/Sub)", "with tick: drift (Cloud Scheduler) or retrain (Pub/Sub push)"),
    "help_serve_storage": (
        "gs: gcp-storage-emulator (por defecto); s3: moto (por defecto si DROPSCORE_STORAGE es s3://)",
        "gs: gcp-storage-emulator (default); s3: moto (default when DROPSCORE_STORAGE is s3://)",
    ),
    "help_serve_retry": (
        "cuánto reintenta el enrutador un evento que falla antes de apartarlo (por defecto 60)",
        "how long the router retries a failing event before dead-lettering it (default 60)",
    ),
    "help_serve_max_age": ("DROPSCORE_MAX_EVENT_AGE_SECONDS para las funciones", "DROPSCORE_MAX_EVENT_AGE_SECONDS for the functions"),
    "help_serve_reason": ("con tick retrain: por qué (queda registrado)", "with tick retrain: why (recorded)"),
    "help_report": (
        "construir el tablero de gestión (HTML estático; español por defecto, --lang en) e imprimir su ruta",
        "build the management dashboard (static HTML, Spanish by default; --lang en) and print its path",
    ),
    "help_env": (
        "imprimir (o escribir con -o) la configuración DROPSCORE_* del despliegue a partir de las salidas de Terraform, para un portátil",
        "print (or write with -o) the deployment's DROPSCORE_* settings from Terraform's outputs, for a laptop",
    ),
    "help_env_from_terraform": ("ejecutar `terraform output -json` en DIR (por defecto infra)", "run `terraform output -json` in DIR (default infra)"),
    "help_env_file": ("leer un `terraform output -json` guardado en vez de ejecutar terraform", "read a saved `terraform output -json` instead of running terraform"),
    "help_env_tracking_uri": (
        "URL de MLflow en lugar de la del servicio (la de `gcloud run services proxy`, p. ej. http://localhost:5000)",
        "MLflow URL to use instead of the service's (the `gcloud run services proxy` one, e.g. http://localhost:5000)",
    ),
    "help_env_output": ("escribir un archivo env para `source` en vez de imprimir las líneas export", "write an env file to source instead of printing the export lines"),
    "help_key": (
        "crear una clave nueva para el hash de datos personales (DROPSCORE_PII_KEY): `dropscore key new`",
        "create a new key for the keyed hash of personal data (DROPSCORE_PII_KEY): `dropscore key new`",
    ),
    "help_key_action": ("new: imprimir una clave aleatoria nueva", "new: print a new random key"),
    "cli_usage_help": (
        "{detail}\n{usage}\nAyuda: dropscore --help (o dropscore COMANDO --help).",
        "{detail}\n{usage}\nHelp: dropscore --help (or dropscore COMMAND --help).",
    ),
    # -- exit codes (shared.local.cli_errors.ExitCode; the --help epilog) -----------------------------
    "cli_exit_ok": ("todo bien", "ok"),
    "cli_exit_internal_error": ("error interno (un fallo de dropscore; repita con --debug e infórmelo)", "internal error (a dropscore bug; rerun with --debug and report it)"),
    "cli_exit_usage": (
        "error de uso: opción, argumento o variable DROPSCORE_* no válidos, archivo de entrada inexistente, columna desconocida",
        "usage error: invalid option, argument or DROPSCORE_* variable, input file not found, unknown column",
    ),
    "cli_exit_rows_quarantined": ("archivo procesado, pero algunas filas quedaron en cuarentena", "file processed, but some rows were quarantined"),
    "cli_exit_file_rejected": ("archivo rechazado: no se procesó; el informe dice por qué", "file rejected: not processed; the report says why"),
    "cli_exit_not_ready": (
        "no es posible ahora: sin campeón, versión inexistente, umbrales no superados, contrato inválido",
        "not possible now: no champion, no such version, gates not passed, invalid contract",
    ),
    "cli_exit_service_unavailable": (
        "un servicio no respondió (almacenamiento, MLflow, almacén de datos): reintente",
        "a service did not answer (storage, MLflow, warehouse): retry",
    ),
    "cli_exit_interrupted": ("interrumpido (Ctrl-C)", "interrupted (Ctrl-C)"),
    "cli_interrupted": ("Interrumpido.", "Interrupted."),
    # -- failures (shared.local.cli_errors): each says what happened and the next step ----------------
    "input_not_found": (
        "No existe el archivo «{path}». Revise la ruta (¿está en otra carpeta?) y vuelva a intentarlo.",
        "The file '{path}' does not exist. Check the path (is it in another folder?) and try again.",
    ),
    "input_is_folder": (
        "«{path}» es una carpeta, no un archivo. Indique el archivo CSV o Excel.",
        "'{path}' is a folder, not a file. Give the CSV or Excel file.",
    ),
    "unknown_column": (
        "La columna «{column}» ({option}) no está en el archivo.{suggestion} Columnas del archivo: {columns}.",
        "The column '{column}' ({option}) is not in the file.{suggestion} Columns in the file: {columns}.",
    ),
    "did_you_mean": (" ¿Quiso decir «{value}»?", " Did you mean '{value}'?"),
    "unknown_positive": (
        "«{value}» no es un valor de «{column}». Valores encontrados: {values}. Indique uno de ellos con --positive.",
        "'{value}' is not a value of '{column}'. Values found: {values}. Give one of them with --positive.",
    ),
    "no_contract_no_champion": (
        "No se indicó un contrato y todavía no hay un modelo campeón del que tomarlo. Cree uno primero: "
        "«dropscore contract infer ARCHIVO.csv --target COLUMNA -o contrato.yaml» y luego «dropscore train ARCHIVO.csv --contract contrato.yaml».",
        "No contract was given and there is no champion model to take it from yet. Create one first: "
        "'dropscore contract infer FILE.csv --target COLUMN -o contract.yaml', then 'dropscore train FILE.csv --contract contract.yaml'.",
    ),
    "not_promoted": (
        "No hay modelo campeón: v{version} existe pero no se promovió porque no superó los umbrales ({failures}). "
        "Promuévalo igualmente con «dropscore promote {version} --force», o cambie los umbrales (sección gates del contrato) y vuelva a entrenar.",
        "There is no champion model: v{version} exists but was not promoted because it failed its gates ({failures}). "
        "Promote it anyway with 'dropscore promote {version} --force', or change the gates (the contract's gates section) and train again.",
    ),
    "no_such_version": (
        "El modelo «{model}» no tiene la versión {version}. Versiones existentes: {versions}. Véalas con «dropscore models».",
        "The model '{model}' has no version {version}. Existing versions: {versions}. See them with 'dropscore models'.",
    ),
    "bad_version": (
        "«{value}» no es un número de versión (por ejemplo 3 o v3). Véalas con «dropscore models».",
        "'{value}' is not a version number (e.g. 3 or v3). See them with 'dropscore models'.",
    ),
    "gates_failed": (
        "v{version} no supera los umbrales ({failures}). Si aun así quiere usarla, «dropscore promote {version} --force».",
        "v{version} fails its gates ({failures}). To use it anyway: 'dropscore promote {version} --force'.",
    ),
    "no_previous": (
        "No hay un campeón anterior al que volver: solo se puede volver atrás después de una promoción.",
        "There is no previous champion to go back to: rollback is possible only after a promotion.",
    ),
    "no_labeled_data": (
        "No hay datos etiquetados para reentrenar. Suba resultados reales con «dropscore drop ARCHIVO.csv --kind labels» (o datos de entrenamiento con --kind training).",
        "There is no labeled data to retrain on. Upload real outcomes with 'dropscore drop FILE.csv --kind labels' (or training data with --kind training).",
    ),
    "serve_tick_target": (
        "Uso: «dropscore serve» para arrancar la pila local, o «dropscore serve tick drift|retrain» para disparar un evento.",
        "Usage: 'dropscore serve' to start the local stack, or 'dropscore serve tick drift|retrain' to fire a trigger.",
    ),
    "contract_invalid": ("El contrato no es válido: {detail}", "The contract is not valid: {detail}"),
    "service_unavailable": (
        "Un servicio no responde; vuelva a intentarlo cuando esté disponible. Detalle: {detail}",
        "A service is not answering; try again once it is available. Detail: {detail}",
    ),
    "transient": (
        "Un servicio no respondió ({detail}). Suele ser pasajero: vuelva a intentarlo en unos minutos.",
        "A service did not answer ({detail}). This usually passes: try again in a few minutes.",
    ),
    "internal_error": (
        "Error inesperado de dropscore ({detail}). Repita el comando con --debug para ver el detalle e infórmelo al equipo de datos.",
        "Unexpected dropscore error ({detail}). Rerun the command with --debug to see the details and report it to the data team.",
    ),
    # -- contract infer -------------------------------------------------------------------------------
    "cli_contract_written": (
        "Contrato escrito en {path}: {columns} columnas ({kinds}), objetivo «{target}» (positivo «{positive}»).",
        "Contract written to {path}: {columns} columns ({kinds}), target '{target}' (positive '{positive}').",
    ),
    "cli_personal_columns": (
        "Columnas marcadas como datos personales (se guardarán como hash con clave): {columns}.",
        "Columns marked as personal data (stored as a keyed hash): {columns}.",
    ),
    "cli_pii_key_not_set": (
        "Falta la clave DROPSCORE_PII_KEY: créela una vez con `dropscore key new`, guárdela como un secreto y expórtela antes de entrenar o puntuar.",
        "DROPSCORE_PII_KEY is not set: create it once with `dropscore key new`, keep it as a secret and export it before training or scoring.",
    ),
    # -- train / retrain --------------------------------------------------------------------------------
    "cli_metrics_with_threshold": ("{metrics} (umbral {threshold})", "{metrics} (threshold {threshold})"),
    "cli_trained_model": ("Modelo v{version}: {metrics}. {reason}", "Model v{version}: {metrics}. {reason}"),
    "cli_expected_value": (
        "  Valor esperado por {rows} filas puntuadas: {value} (datos reservados).",
        "  Expected value per {rows} scored rows: {value} (held-out data).",
    ),
    "cli_leakage_excluded": (
        "  Fuga de datos: «{column}» predice el objetivo casi a la perfección ({statistic} {value}); excluida.",
        "  Data leakage: '{column}' predicts the target almost perfectly ({statistic} {value}); excluded.",
    ),
    "cli_leakage_allowed": (
        "  Fuga de datos: «{column}» predice el objetivo casi a la perfección ({statistic} {value}); permitida por el contrato.",
        "  Data leakage: '{column}' predicts the target almost perfectly ({statistic} {value}); allowed by the contract.",
    ),
    "cli_fairness_flag": (
        "  Equidad: {column} = {group}: su {metric} es {ratio} veces la del grupo mejor tratado (el contrato pide al menos {minimum}).",
        "  Fairness: {column} = {group}: its {metric} is {ratio} times the best-treated group's (the contract asks for at least {minimum}).",
    ),
    "cli_model_card_at": ("  Ficha del modelo: {path}", "  Model card: {path}"),
    # -- drop / score -----------------------------------------------------------------------------------
    "cli_file_rejected": ("Archivo rechazado: {reason}", "File rejected: {reason}"),
    "cli_file_report_at": ("  Informe: {path}", "  Report: {path}"),
    "cli_file_uploaded": ("Archivo subido: {source}. Las funciones lo procesarán.", "File uploaded: {source}. The functions will process it."),
    "cli_rows_scored": (
        "Filas: {rows_in} recibidas, {rows_scored} puntuadas, {rows_quarantined} en cuarentena.",
        "Rows: {rows_in} in, {rows_scored} scored, {rows_quarantined} quarantined.",
    ),
    "cli_unknown_categories": (
        "  {count} valores de categoría desconocidos para el modelo se puntuaron como faltantes:",
        "  {count} category values the model does not know were scored as missing:",
    ),
    "cli_rows_kept_as_labels": (
        "Filas: {rows_in} recibidas, {kept} guardadas como resultados reales (etiquetas), {rows_quarantined} en cuarentena.",
        "Rows: {rows_in} in, {kept} kept as real outcomes (labels), {rows_quarantined} quarantined.",
    ),
    "cli_rows_kept_as_training": (
        "Filas: {rows_in} recibidas, {kept} guardadas como filas de entrenamiento, {rows_quarantined} en cuarentena.",
        "Rows: {rows_in} in, {kept} kept as training rows, {rows_quarantined} quarantined.",
    ),
    "cli_predictions_at": ("  Predicciones: {path}", "  Predictions: {path}"),
    "cli_kept_at": ("  Guardadas en: {path}", "  Kept at: {path}"),
    "cli_quarantine_at": ("  Cuarentena: {path}", "  Quarantine: {path}"),
    "cli_manifest_at": ("  Manifiesto: {path}", "  Manifest: {path}"),
    # -- drift / models / promote / rollback ------------------------------------------------------------
    "cli_drift_report_at": ("  Informe: {path}", "  Report: {path}"),
    "cli_drift_retraining": ("  Reentrenamiento: {reason}", "  Retraining: {reason}"),
    "cli_no_models_yet": ("Todavía no hay modelos registrados.", "No models registered yet."),
    "cli_models_value_per_1000": ("  valor/1000 {value}", "  value/1000 {value}"),
    "cli_models_threshold": ("  umbral {value}", "  threshold {value}"),
    "cli_models_gates_ok": ("umbrales ok", "gates ok"),
    "cli_models_gates_failed": ("NO supera: {failures}", "FAILS: {failures}"),
    "cli_models_code": ("código {version}  ({purpose})", "code {version}  ({purpose})"),
    "cli_models_excluded": ("excluidas por fuga: {columns}", "excluded as leakage: {columns}"),
    "cli_promote_unchanged": ("v{version} ya es el campeón: no se cambió nada.", "v{version} is already the champion: nothing changed."),
    "cli_promote_done": ("v{version} es ahora el campeón (antes: v{previous}).", "v{version} is now the champion (before: v{previous})."),
    "cli_promote_first": ("v{version} es ahora el campeón (no había uno antes).", "v{version} is now the champion (there was none before)."),
    "cli_rollback_done": (
        "Vuelta atrás: v{version} es de nuevo el campeón (v{previous} queda como «previous»).",
        "Rolled back: v{version} is the champion again (v{previous} is now 'previous').",
    ),
    # -- dropscore key new / dropscore env ----------------------------------------------------------------
    "cli_key_advice": (
        "Guarde esta clave donde guarda sus secretos (gestor de contraseñas; en la nube, Secret Manager). "
        "Use siempre la misma: con otra clave, los mismos datos personales dan otros tokens. No la comparta por correo.",
        "Keep this key where you keep secrets (a password manager; in the cloud, Secret Manager). "
        "Always use the same one: under another key the same personal data gives other tokens. Do not send it by e-mail.",
    ),
    "cli_env_written": ("Escrito {path} ({count} variables). Cárguelo con: source {path}", "Wrote {path} ({count} variables). Load it with: source {path}"),
    "cli_terraform_not_found": (
        "No se encontró el comando terraform: instálelo o pase --file con la salida de `terraform output -json`.",
        "terraform not found: install it or pass --file with the output of `terraform output -json`.",
    ),
    "cli_terraform_output_failed": ("`terraform output -json` falló en {directory}: {detail}", "`terraform output -json` failed in {directory}: {detail}"),
    "cli_terraform_outputs_missing_file": ("No existe el archivo {path}.", "The file {path} does not exist."),
    "cli_terraform_outputs_not_json": ("{path} no es JSON de `terraform output -json`: {detail}", "{path} is not `terraform output -json` JSON: {detail}"),
    "cli_terraform_no_environment": (
        "Las salidas de Terraform no tienen «{output}»: ¿es el directorio infra/ de dropscore y se hizo `terraform apply`?",
        "The Terraform outputs have no '{output}': is this dropscore's infra/ directory, and was it applied?",
    ),
    "cli_terraform_missing_variables": (
        "Faltan en «{output}»: {variables} (¿infra/ más antiguo que este dropscore? aplique de nuevo).",
        "Missing from '{output}': {variables} (infra/ older than this dropscore? apply again).",
    ),
    "cli_env_source_needed": ("Use --from-terraform [DIR] o --file OUTPUTS.json.", "Use --from-terraform [DIR] or --file OUTPUTS.json."),
    # -- dropscore serve (shared.local.stack.cli) ---------------------------------------------------------
    "cli_serve_starting": ("Arrancando la nube local (puede tardar un minuto)…", "Starting the local cloud (this can take a minute)…"),
    "cli_serve_state": (
        "Estado y registros en {folder}. Para usarla desde otra terminal: source {env_file}",
        "State and logs in {folder}. To use it from another shell: source {env_file}",
    ),
    "cli_serve_upload": (
        "Suba un CSV a {raw}/incoming/ (o `dropscore drop ARCHIVO.csv`); las predicciones aparecen en {predictions}/.",
        "Upload a CSV to {raw}/incoming/ (or `dropscore drop FILE.csv`); predictions appear in {predictions}/.",
    ),
    "cli_serve_ctrl_c": ("Ctrl-C lo detiene todo.\n", "Ctrl-C stops everything.\n"),
    "cli_serve_stopping": ("\nDeteniendo la nube local…", "\nStopping the local cloud…"),
    "cli_serve_stopped": ("Todo detenido.", "Everything stopped."),
    "cli_tick_drift": ("drift: {reason}\n  Informe: {report}", "drift: {reason}\n  Report: {report}"),
    "cli_tick_drift_failed": ("drift respondió {status}: {response}", "drift answered {status}: {response}"),
    "cli_tick_retrain_delivered": (
        "retrain: mensaje {message_id} entregado ({status}); vea `dropscore models`.",
        "retrain: message {message_id} delivered ({status}); see `dropscore models`.",
    ),
    "cli_tick_retrain_dead_letter": ("retrain: no se entregó ({status}); carta muerta en {path}", "retrain: not delivered ({status}); dead letter at {path}"),
    # -- the demo's story (shared.local.demo) ---------------------------------------------------------------
    "demo_title": ("\n=== dropscore: demostración completa ===", "\n=== dropscore: the whole story ==="),
    "demo_home": (
        "Todo vive en {home} (carpetas como buckets, MLflow en sqlite, DuckDB como almacén).",
        "Everything lives in {home} (folders as buckets, sqlite MLflow, DuckDB as the warehouse).",
    ),
    "demo_training_data": (
        "\n1) Datos de entrenamiento: {rows} micronegocios, {features} variables, {positive_rate} formalizados. "
        "Archivo de Excel en español (cp1252, ';', coma decimal): {file}",
        "\n1) Training data: {rows} micro-businesses, {features} features, {positive_rate} formalized. "
        "Spanish Excel file (cp1252, ';', decimal comma): {file}",
    ),
    "demo_contract": (
        "   Contrato inferido ({file}): {columns} columnas ({kinds}); umbrales: ROC-AUC ≥ {roc_auc}, precisión ≥ {precision}, sensibilidad ≥ {recall}.",
        "   Inferred contract ({file}): {columns} columns ({kinds}); gates: ROC-AUC ≥ {roc_auc}, precision ≥ {precision}, recall ≥ {recall}.",
    ),
    "demo_first_model": (
        "\n2) Modelo v{version} (LightGBM): ROC-AUC {roc_auc}, precisión {precision}, sensibilidad {recall} en datos reservados, umbral {threshold}. {reason}",
        "\n2) Model v{version} (LightGBM): ROC-AUC {roc_auc}, precision {precision}, recall {recall} on held-out data, threshold {threshold}. {reason}",
    ),
    "demo_no_champion": ("   Sin un campeón no se puede puntuar; la demostración termina aquí.", "   Without a champion nothing can be scored; the demo stops here."),
    "demo_monthly_files": ("\n3) Llegan los archivos mensuales:", "\n3) Monthly files arrive:"),
    "demo_month": (
        "   Mes {month}: {rows_in} filas → {rows_scored} puntuadas, {rows_quarantined} en cuarentena.",
        "   Month {month}: {rows_in} rows → {rows_scored} scored, {rows_quarantined} quarantined.",
    ),
    "demo_quarantine": ("      Cuarentena (con el motivo de cada fila): {path}", "      Quarantine (each row with its reason): {path}"),
    "demo_predictions": ("   Ejemplo de predicciones: {path}", "   Predictions, for example: {path}"),
    "demo_quiet_check": (
        "\n4) Control mensual de deriva ({rows} filas): {reason}\n   Informe: {report}",
        "\n4) Monthly drift check ({rows} rows): {reason}\n   Report: {report}",
    ),
    "demo_drifted_month": (
        "\n5) Mes {month}: el mercado cambia (ventas y empleados suben una desviación estándar; el comercio gana 20 puntos). {rows_in} filas → {rows_scored} puntuadas.",
        "\n5) Month {month}: the market moves (sales and employees up one standard deviation; retail gains 20 points). {rows_in} rows → {rows_scored} scored.",
    ),
    "demo_drift_check": ("\n6) Control de deriva ({rows} filas): {reason}\n   Informe: {report}", "\n6) Drift check ({rows} rows): {reason}\n   Report: {report}"),
    "demo_retraining": ("   Reentrenamiento: {reason}", "   Retraining: {reason}"),
    "demo_models": ("\n7) Modelos registrados:", "\n7) Registered models:"),
    "demo_rollback": (
        "\nVolver al modelo anterior es un comando: DROPSCORE_HOME={home} dropscore rollback",
        "\nGoing back to the previous model is one command: DROPSCORE_HOME={home} dropscore rollback",
    ),
    "demo_labels": (
        "   Llegan las etiquetas del mes {month}: {rows} resultados guardados para monitoreo y reentrenamiento.",
        "   Labels for month {month} arrive: {rows} outcomes kept for monitoring and retraining.",
    ),
    # -- progress bars on a terminal (shared.progress) ---------------------------------------------------------
    "progress_phase_read": ("Leyendo y validando filas", "Reading and validating rows"),
    "progress_phase_read_again": (
        "Leyendo otra vez: el archivo cambia de formato a mitad (decimales o fechas)",
        "Reading again: the file changes format part way (decimal marks or dates)",
    ),
    "progress_phase_search": ("Probando configuraciones del modelo", "Trying model configurations"),
    "progress_phase_fit": ("Entrenando el modelo final", "Training the final model"),
    "progress_phase_register": ("Registrando el modelo en MLflow", "Registering the model in MLflow"),
    "progress_phase_documents": ("Escribiendo la ficha del modelo", "Writing the model card"),
    "progress_phase_score": ("Puntuando filas", "Scoring rows"),
    "progress_phase_drift_window": ("Leyendo las predicciones del periodo", "Reading the period's predictions"),
    "progress_phase_drift_compare": ("Comparando variables con el entrenamiento", "Comparing features with training"),
    "progress_phase_drift_report": ("Escribiendo el informe de deriva y el tablero", "Writing the drift report and dashboard"),
    "progress_phase_dashboard": ("Construyendo el tablero", "Building the dashboard"),
    "progress_unit_rows": ("filas", "rows"),
    "progress_unit_configurations": ("configuraciones", "configurations"),
    "progress_unit_features": ("variables", "features"),
}

# What a contract's column types are called in a sentence ("36 numéricas, 48 categóricas"). Not
# sentences of ours, and some are the same word in both languages (cédula, RUC), so not in CLI.
COLUMN_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "numeric": ("numéricas", "numeric"),
    "categorical": ("categóricas", "categorical"),
    "date": ("de fecha", "date"),
    "identifier": ("identificador", "identifier"),
    "text": ("de texto", "text"),
    "cedula": ("cédula", "cédula"),
    "ruc": ("RUC", "RUC"),
}

# Python 3.11's argparse message ids -> Spanish (no Spanish catalogue ships with Python;
# shared.local.cli_argparse installs these while a Spanish parser is built and used).
ARGPARSE_SPANISH: dict[str, str] = {
    "usage: ": "uso: ",
    "argument %(argument_name)s: %(message)s": "argumento %(argument_name)s: %(message)s",
    "positional arguments": "argumentos posicionales",
    "options": "opciones",
    "show this help message and exit": "muestra esta ayuda y termina",
    "show program's version number and exit": "muestra la versión y termina",
    "unrecognized arguments: %s": "argumentos no reconocidos: %s",
    "not allowed with argument %s": "no se permite junto con el argumento %s",
    "ignored explicit argument %r": "se ignoró el argumento explícito %r",
    "the following arguments are required: %s": "faltan estos argumentos obligatorios: %s",
    "one of the arguments %s is required": "se necesita uno de los argumentos %s",
    "expected one argument": "se esperaba un valor",
    "expected at most one argument": "se esperaba como mucho un valor",
    "expected at least one argument": "se esperaba al menos un valor",
    "ambiguous option: %(option)s could match %(matches)s": "opción ambigua: %(option)s puede ser %(matches)s",
    "unexpected option string: %s": "opción inesperada: %s",
    "invalid %(type)s value: %(value)r": "valor %(type)s no válido: %(value)r",
    "invalid choice: %(value)r (choose from %(choices)s)": "opción no válida: %(value)r (elija entre %(choices)s)",
    "%(prog)s: error: %(message)s\n": "%(prog)s: error: %(message)s\n",
    "expected %s argument": "se esperaba %s valor",
    "expected %s arguments": "se esperaban %s valores",
}

# Older exception texts hold both languages in one string, "english / español" or the other way
# round; these marks say which half is the Spanish one (shared.local.cli_errors).
SPANISH_MARKS = re.compile(r"[áéíóúñ¿¡«»]|\b(no hay|sin|el|la|los|las|de|que|ejecute|use)\b", re.IGNORECASE)
