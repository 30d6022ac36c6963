SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
ALTER TABLE "order_items" RENAME TO "line_items"; -- expect: renaming-table
