-- bbops:ignore ban-drop-table contract step: nothing has read order_items since the line_items deploy
SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
DROP TABLE IF EXISTS "order_items";
