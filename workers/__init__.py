"""Background work (RQ jobs and the one scheduler) arrives with the workers issue.

The web process will enqueue jobs here by dotted name; nothing in `service` imports
this package.
"""
