SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
ALTER TABLE "orders" ADD CONSTRAINT "orders_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action; -- expect: constraint-missing-not-valid
--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_total_check" CHECK ("total" >= 0); -- expect: constraint-missing-not-valid
--> statement-breakpoint
ALTER TABLE "order_items" ADD CONSTRAINT "items_order_fk" FOREIGN KEY ("order_id") REFERENCES "orders"("id") NOT VALID;
--> statement-breakpoint
ALTER TABLE "order_items" VALIDATE CONSTRAINT "items_order_fk"; -- expect: constraint-missing-not-valid
