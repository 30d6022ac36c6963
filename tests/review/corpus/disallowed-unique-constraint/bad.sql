SET LOCAL lock_timeout = '2s';
SET LOCAL statement_timeout = '30s';
ALTER TABLE "users" ADD CONSTRAINT "users_email_unique" UNIQUE("email"); -- expect: disallowed-unique-constraint
--> statement-breakpoint
ALTER TABLE "order_items" ADD COLUMN "code" text UNIQUE; -- expect: disallowed-unique-constraint
