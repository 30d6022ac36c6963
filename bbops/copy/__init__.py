"""The bulk copy engine (snapshot, parallel binary COPY, resumable), foreign-key load order, and the
verification that compares a source and a target."""
