"""The online cutover: copy while the old database keeps taking writes, switch in seconds, stream back.

Follow mode takes a logical replication slot on the source, copies every row with the bulk copy engine
from the slot's exported snapshot, then lets PostgreSQL's own logical replication (a subscription on the
target attached to that slot, ``copy_data = false``) apply every change after the snapshot. The switch
freezes the source, waits for a marker row written after the freeze to arrive, brings sequences forward
and verifies; the reverse stream then carries writes made on the new database back to the old one, so a
rollback loses nothing. Every slot, publication and subscription bbops makes is named ``bbops_*``.
"""
