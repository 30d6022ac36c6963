SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
CREATE INDEX IF NOT EXISTS "items_sku_idx" ON "order_items" ("sku") WHERE false; -- expect: require-concurrent-index-creation
--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_user_id_idx" ON "orders" ("user_id"); -- expect: ban-concurrent-index-creation-in-transaction
