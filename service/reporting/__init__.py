"""Quarterly reports: saving actuals and spend, the review workflow, and the ways in (form, workbook, CSV, API)."""
