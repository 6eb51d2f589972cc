"""Prefect flows, one module per DVC stage; `flows.cli` is the `infopipe` command.

Importing this package sets infopipe's Prefect defaults (a per-project PREFECT_HOME, no
telemetry) before Prefect itself is imported; explicit environment variables win.
"""

from flows.runtime import configure

configure()
