"""The page scripts, one per page of the registry (:data:`procmine.dashboard.registry.PAGES`):
title, widgets, calls to ``procmine.dashboard.data`` or the facade, charts. Nothing else lives
here."""
