"""The application room: what a running procmine keeps about its users, beside the domains.

- :mod:`~procmine.app.appdb`: the app database (SQLAlchemy; SQLite in the workspace, or
  PostgreSQL by ``PROCMINE_DB_URL``) and its audit trail;
- :mod:`~procmine.app.auth`: users, roles, argon2id passwords and who may open what;
- :mod:`~procmine.app.i18n` and ``locales/``: the message catalogues (zh-CN first, en).
"""
