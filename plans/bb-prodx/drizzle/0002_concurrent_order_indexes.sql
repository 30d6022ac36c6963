-- bbops:no-transaction
-- CREATE INDEX CONCURRENTLY cannot run inside a transaction block, so bbops runs each statement below on its own.
-- These tables are the busiest in production, so the indexes are built without blocking writes.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "order_items_product_id_idx" ON "order_items" USING btree ("product_id");--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "order_items_order_id_idx" ON "order_items" USING btree ("order_id");--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_open_created_at_idx" ON "orders" USING btree ("created_at" DESC NULLS LAST) WHERE "orders"."status" IN ('pending', 'paid');--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "products_active_in_stock_idx" ON "products" USING btree ("category_id", "price") WHERE "products"."is_active" AND "products"."stock" > 0;
