"""``bbops plan`` / ``bbops apply`` for the infrastructure: the plan's desired state, what the providers
have, the pure diff between them, applying it, and rendering it for people and machines."""
