-- bbops:no-transaction
-- What `bbops doctor` found on the app's schema, fixed without blocking writes (CONCURRENTLY cannot run in a
-- transaction, so bbops runs each statement on its own). The 12 foreign keys without an index: every delete of a
-- user or product scanned these tables to cascade.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "user_sessions_user_id_idx" ON "user_sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "accounts_user_id_idx" ON "accounts" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "sessions_user_id_idx" ON "sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "product_benefits_product_id_idx" ON "product_benefits" USING btree ("product_id");--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "product_ingredients_product_id_idx" ON "product_ingredients" USING btree ("product_id");--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "order_items_product_size_id_idx" ON "order_items" USING btree ("product_size_id");--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "cart_product_id_idx" ON "cart" USING btree ("product_id");--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "cart_product_size_id_idx" ON "cart" USING btree ("product_size_id");--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "wishlist_product_id_idx" ON "wishlist" USING btree ("product_id");--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "reviews_user_id_idx" ON "reviews" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "review_votes_user_id_idx" ON "review_votes" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX CONCURRENTLY IF NOT EXISTS "instagram_posts_product_id_idx" ON "instagram_posts" USING btree ("product_id");--> statement-breakpoint
-- `ORDER BY created_at DESC` sorts NULLS FIRST, so the DESC NULLS LAST index could not serve it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "orders_created_at_desc_idx" ON "orders" USING btree ("created_at" DESC);--> statement-breakpoint
-- The storefront's search expression (plans/bb-prodx/queries.sql), repeated exactly so the planner can match it.
CREATE INDEX CONCURRENTLY IF NOT EXISTS "products_search_text_idx" ON "products" USING gin (to_tsvector('english', coalesce("name", '') || ' ' || coalesce("description", '')));--> statement-breakpoint
-- Only the few featured products, newest first, instead of the whole boolean column.
-- The indexes these supersede stay until `bbops doctor` shows them unused in production (the old database has
-- them too, and a data-only copy is verified against its indexes).
CREATE INDEX CONCURRENTLY IF NOT EXISTS "products_featured_created_at_idx" ON "products" USING btree ("created_at" DESC) WHERE "products"."featured" = true;
