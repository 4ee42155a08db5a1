"""Excel and HTML exports: the analyses' results as documents to hand out or print.

- :mod:`procmine.reports.league`: the monthly teller announcement as a formatted workbook and a
  printable HTML page;
- :mod:`procmine.reports.matrix`: the teller x business type matrix as a workbook, one sheet per
  branch.
"""
