SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
DROP TABLE "order_items"; -- expect: ban-drop-table
