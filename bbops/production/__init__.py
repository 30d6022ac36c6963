"""Production steps on merge (``apply``), restore points and ``rollback``.

``run.apply_production`` runs the plan's pending steps once each, in order,
recorded in ``history`` on the production database; ``rollback.rollback``
puts data, env vars and the deployment back to a restore point.
"""
