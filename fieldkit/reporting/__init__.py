"""Reporting: what the numbers are and where they go.

- indicators: the Đề án 06 indicators, counted approved / pending, and the tallies kept for them
- dashboards: a village's and a commune's overview (weeks, volunteers, funnels)
- targets: commune and province targets and progress against them
- province: the province's view of its communes (numbers only)
- exports: XLSX/CSV files sent upward (formula-safe)
- charts: the SVG charts the pages draw
"""
