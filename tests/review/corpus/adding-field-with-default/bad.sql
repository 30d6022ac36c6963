SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
ALTER TABLE "orders" ADD COLUMN "public_id" uuid DEFAULT gen_random_uuid(); -- expect: adding-field-with-default
--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "number" bigint GENERATED ALWAYS AS IDENTITY; -- expect: adding-field-with-default
--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "token" text DEFAULT make_token(); -- expect: adding-field-with-default
--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "gross" numeric GENERATED ALWAYS AS ("total" * 1.2) STORED; -- expect: adding-field-with-default
