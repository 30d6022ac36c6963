-- The storefront's hot queries, for `bbops doctor --queries plans/bb-prodx/queries.sql`: each is EXPLAINed
-- (never run) and a sequential scan over a large table is reported. `$n` parameters are planned generically
-- on Postgres 16+; on older servers write a representative literal instead.

-- name: product-search
SELECT id, name, slug, price FROM products
WHERE is_active AND to_tsvector('english', coalesce(name, '') || ' ' || coalesce(description, ''))
      @@ plainto_tsquery('english', 'magnesium sleep')
LIMIT 24;

-- name: products-by-category
SELECT id, name, slug, price FROM products
WHERE category_id = 2 AND is_active AND stock > 0 ORDER BY price LIMIT 24;

-- name: featured-products
SELECT id, name, slug, price FROM products WHERE featured = true ORDER BY created_at DESC LIMIT 8;

-- name: order-history
SELECT id, status, total, created_at FROM orders
WHERE user_id = '00000000-0000-0000-0000-000000000001' ORDER BY created_at DESC LIMIT 20;

-- name: recent-orders
SELECT id, status, total, created_at FROM orders ORDER BY created_at DESC LIMIT 50;

-- name: product-reviews
SELECT r.rating, r.title, r.body, u.name FROM reviews r JOIN users u ON u.id = r.user_id
WHERE r.product_id = 7 ORDER BY r.created_at DESC LIMIT 20;
