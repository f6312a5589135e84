"""Background work: RQ job functions (`jobs`), the worker process (`queues`) and the one
scheduler process (`schedule`).  Workers import the service; the service never imports
workers (it enqueues by dotted name)."""
