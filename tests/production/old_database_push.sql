-- The old BB-PRODX database as `drizzle-kit push` left it: the same tables and columns as the
-- migrations make, but never migrated (no `drizzle` schema), keys declared inline (so Postgres
-- names them: users_email_key, orders_user_id_fkey, ...) and the indexes named by hand.
-- One migration index (orders_open_created_at_idx) was never created here; the new database
-- gains it. Only the verification's by-definition comparison lets this database pass.
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded');
CREATE TYPE user_role AS ENUM ('customer', 'admin');

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
    name varchar(255),
    email varchar(255) NOT NULL UNIQUE,
    email_verified timestamp with time zone,
    phone varchar(32),
    image text,
    password_hash text,
    role user_role DEFAULT 'customer' NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
CREATE TABLE user_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash text NOT NULL UNIQUE,
    ip_address varchar(45),
    user_agent text,
    expires_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
CREATE TABLE accounts (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type text NOT NULL,
    provider text NOT NULL,
    provider_account_id text NOT NULL,
    refresh_token text,
    access_token text,
    expires_at integer,
    token_type text,
    scope text,
    id_token text,
    session_state text,
    PRIMARY KEY (provider, provider_account_id)
);
CREATE TABLE sessions (
    session_token text PRIMARY KEY NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires timestamp with time zone NOT NULL
);
CREATE TABLE verification_tokens (
    identifier text NOT NULL,
    token text NOT NULL,
    expires timestamp with time zone NOT NULL,
    PRIMARY KEY (identifier, token)
);
CREATE TABLE categories (
    id serial PRIMARY KEY NOT NULL,
    name varchar(100) NOT NULL,
    slug varchar(120) NOT NULL UNIQUE,
    description text,
    image_url text,
    sort_order integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
CREATE TABLE subcategories (
    id serial PRIMARY KEY NOT NULL,
    category_id integer NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    name varchar(100) NOT NULL,
    slug varchar(120) NOT NULL,
    sort_order integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    UNIQUE (category_id, slug)
);
CREATE TABLE products (
    id serial PRIMARY KEY NOT NULL,
    name varchar(200) NOT NULL,
    slug varchar(220) NOT NULL UNIQUE,
    description text,
    price numeric(10, 2) NOT NULL CHECK (price >= 0),
    compare_at_price numeric(10, 2),
    stock integer DEFAULT 0 NOT NULL CHECK (stock >= 0),
    featured boolean DEFAULT false NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    image_url text,
    category_id integer NOT NULL REFERENCES categories (id) ON DELETE RESTRICT,
    subcategory_id integer REFERENCES subcategories (id) ON DELETE SET NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
CREATE TABLE product_benefits (
    id serial PRIMARY KEY NOT NULL,
    product_id integer NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    benefit text NOT NULL,
    sort_order integer DEFAULT 0 NOT NULL
);
CREATE TABLE product_ingredients (
    id serial PRIMARY KEY NOT NULL,
    product_id integer NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    name varchar(150) NOT NULL,
    amount varchar(50),
    sort_order integer DEFAULT 0 NOT NULL
);
CREATE TABLE product_tags (
    product_id integer NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    tag varchar(50) NOT NULL,
    PRIMARY KEY (product_id, tag)
);
CREATE TABLE product_sizes (
    id serial PRIMARY KEY NOT NULL,
    product_id integer NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    label varchar(50) NOT NULL,
    sku varchar(64) NOT NULL UNIQUE,
    price numeric(10, 2) NOT NULL CHECK (price >= 0),
    stock integer DEFAULT 0 NOT NULL,
    UNIQUE (product_id, label)
);
CREATE TABLE orders (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
    user_id uuid REFERENCES users (id) ON DELETE SET NULL,
    status order_status DEFAULT 'pending' NOT NULL,
    subtotal numeric(10, 2) NOT NULL,
    shipping numeric(10, 2) DEFAULT '0' NOT NULL,
    total numeric(10, 2) NOT NULL CHECK (total >= 0),
    shipping_address jsonb,
    notes text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
CREATE TABLE order_items (
    id serial PRIMARY KEY NOT NULL,
    order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id integer NOT NULL REFERENCES products (id) ON DELETE RESTRICT,
    product_size_id integer REFERENCES product_sizes (id) ON DELETE SET NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    unit_price numeric(10, 2) NOT NULL
);
CREATE TABLE cart (
    id serial PRIMARY KEY NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    product_id integer NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    product_size_id integer REFERENCES product_sizes (id) ON DELETE SET NULL,
    quantity integer DEFAULT 1 NOT NULL CHECK (quantity > 0),
    added_at timestamp with time zone DEFAULT now() NOT NULL,
    UNIQUE (user_id, product_id)
);
CREATE TABLE wishlist (
    id serial PRIMARY KEY NOT NULL,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    product_id integer NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    UNIQUE (user_id, product_id)
);
CREATE TABLE reviews (
    id serial PRIMARY KEY NOT NULL,
    product_id integer NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    title varchar(200),
    body text,
    verified_purchase boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    UNIQUE (product_id, user_id)
);
CREATE TABLE review_votes (
    review_id integer NOT NULL REFERENCES reviews (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    helpful boolean NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    PRIMARY KEY (review_id, user_id)
);
CREATE TABLE instagram_posts (
    id serial PRIMARY KEY NOT NULL,
    instagram_id varchar(64) NOT NULL UNIQUE,
    caption text,
    media_url text NOT NULL,
    permalink text NOT NULL,
    product_id integer REFERENCES products (id) ON DELETE SET NULL,
    posted_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE INDEX idx_products_category ON products (category_id);
CREATE INDEX idx_products_subcategory ON products (subcategory_id);
CREATE INDEX idx_products_featured ON products (featured);
CREATE INDEX idx_products_fts ON products USING gin (to_tsvector('english', name || ' ' || coalesce(description, '')));
CREATE INDEX idx_orders_user ON orders (user_id);
CREATE INDEX idx_orders_status ON orders (status);
CREATE INDEX idx_orders_created ON orders (created_at DESC NULLS LAST);
CREATE INDEX idx_reviews_product ON reviews (product_id);
CREATE INDEX idx_reviews_rating ON reviews (rating);
CREATE INDEX idx_order_items_product ON order_items (product_id);
CREATE INDEX idx_order_items_order ON order_items (order_id);
CREATE INDEX idx_products_active_in_stock ON products (category_id, price) WHERE is_active AND stock > 0;
