"""perftrack: budget performance targets tracked through the year.

Deliberately empty, so that importing `service.domain` (pure rules) loads nothing else.
The web application is built by `service.app.create_app`; the layers are described in
docs/decisions.md ("Layers").
"""
