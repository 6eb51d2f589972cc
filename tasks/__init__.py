"""infopipe's units of work: plain typed functions grouped by concern, callable without Prefect.

Importing this package pins torch's CPU kernels to one instruction set (tasks/numerics.py), so
that the same params give the same numbers on every x86 machine."""

from tasks.numerics import pin

pin()
