SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
ALTER TABLE "orders" ADD COLUMN "public_id" uuid;
--> statement-breakpoint
ALTER TABLE "orders" ALTER COLUMN "public_id" SET DEFAULT gen_random_uuid();
--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "placed_at" timestamp with time zone DEFAULT now();
--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "channel" text DEFAULT lower('WEB');
