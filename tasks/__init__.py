"""infopipe's units of work: plain typed functions grouped by concern, callable without Prefect."""
