SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
TRUNCATE "order_items", "orders";
