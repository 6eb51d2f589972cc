"""Stage `report`: one page over every job's committed results.

page      gathers each job's metrics, summary, plots, key table and MLflow run into a `Page`
table     previews a parquet table (head, row count) without reading all of it
markdown  renders a `Page` as reports/index.md (plots linked)
html      renders a `Page` as one self-contained reports/index.html (plots embedded, no scripts)
"""
