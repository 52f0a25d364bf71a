"""The cloud's shape on one machine: emulators, an MLflow server, one HTTP server per function.

``dropscore serve`` puts these together (:mod:`shared.local.stack.local_stack`); each module here
starts or talks to one kind of service. Nothing in this package is imported by the
functions themselves, and the test-only services (gcp-storage-emulator, moto) are imported
lazily, so the package costs a deployed function nothing.
"""
