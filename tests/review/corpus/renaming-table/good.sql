CREATE TABLE IF NOT EXISTS "line_items" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
	"order_id" bigint NOT NULL,
	"sku" text
);
