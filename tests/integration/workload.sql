-- Workload for the 'sqlite' integration test. Debian's sqlite3 is built with
-- SYSTEM_MALLOC and without lookaside, so every allocation reaches malloc.
-- All data comes from arithmetic on row numbers (no random()): both runs must
-- print exactly the same. Every multi-row result has a total ORDER BY.
PRAGMA page_size = 4096;
-- A small page cache forces pages in and out of memory all the time.
PRAGMA cache_size = -1024;
-- Sorter worker threads: CREATE INDEX and big ORDER BYs sort on two threads.
PRAGMA threads = 2;

.print == tables
CREATE TABLE customer(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  city TEXT NOT NULL,
  tier INTEGER NOT NULL,
  note TEXT
);
CREATE TABLE product(
  id INTEGER PRIMARY KEY,
  title TEXT NOT NULL,
  price_cents INTEGER NOT NULL,
  tags TEXT
);
CREATE TABLE orders(
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customer(id),
  product_id INTEGER NOT NULL REFERENCES product(id),
  qty INTEGER NOT NULL,
  day INTEGER NOT NULL
);

BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
INSERT INTO customer
SELECT i,
       'customer-' || printf('%05d', i) || '-' || substr('abcdefghijklmnopqrstuvwxyz', 1 + (i * 7) % 26, 1 + (i % 11)),
       'city' || ((i * 7919) % 97),
       (i * 31) % 5,
       CASE WHEN i % 3 = 0 THEN NULL ELSE printf('%.*c', 1 + (i * 13) % 300, 'n') END
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
INSERT INTO product
SELECT i,
       upper(hex(i * 2654435761 % 4294967296)) || ' widget ' || (i % 17),
       100 + (i * 104729) % 99900,
       'tag' || (i % 7) || ',tag' || (i % 11) || ',tag' || (i % 13)
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
INSERT INTO orders
SELECT i,
       1 + (i * 2654435761 % 4294967296) / 4096 % 20000,
       1 + (i * 2246822519 % 4294967296) / 8192 % 3000,
       1 + (i * 3266489917 % 4294967296) / 65536 % 9,
       (i * 668265263 % 4294967296) / 1024 % 365
FROM n;
COMMIT;

SELECT 'customers', count(*), sum(length(name)), sum(length(note)) FROM customer;
SELECT 'products', count(*), sum(price_cents), max(length(title)) FROM product;
SELECT 'orders', count(*), sum(qty), count(DISTINCT customer_id) FROM orders;

.print == indexes
CREATE INDEX orders_customer ON orders(customer_id, day);
CREATE INDEX orders_product ON orders(product_id);
CREATE INDEX customer_city ON customer(city, tier);
CREATE UNIQUE INDEX customer_name ON customer(name);

.print == revenue by city (join, group by)
SELECT c.city, count(*) AS n, sum(o.qty * p.price_cents) AS revenue
FROM orders o JOIN customer c ON c.id = o.customer_id
              JOIN product p ON p.id = o.product_id
GROUP BY c.city
ORDER BY revenue DESC, c.city
LIMIT 25;

.print == best customers per tier (window functions)
SELECT tier, rk, name, total FROM (
  SELECT c.tier, c.name, sum(o.qty * p.price_cents) AS total,
         row_number() OVER (PARTITION BY c.tier ORDER BY sum(o.qty * p.price_cents) DESC, c.id) AS rk
  FROM customer c JOIN orders o ON o.customer_id = c.id JOIN product p ON p.id = o.product_id
  GROUP BY c.id
) WHERE rk <= 5
ORDER BY tier, rk;

.print == monthly running totals
SELECT day / 30 AS month, sum(qty) AS q,
       sum(sum(qty)) OVER (ORDER BY day / 30) AS running
FROM orders GROUP BY month ORDER BY month;

.print == text operations
SELECT id, upper(substr(name, 10)), replace(name, '-', '/'), instr(name, 'q'),
       length(coalesce(note, '')), trim(printf('%20s', city))
FROM customer WHERE id % 997 = 0 ORDER BY id;

SELECT city, group_concat(short, ';') FROM (
  SELECT city, substr(name, 10, 5) AS short FROM customer
  WHERE tier = 0 AND id % 50 = 0 ORDER BY city, id
) GROUP BY city ORDER BY city LIMIT 20;

SELECT count(*), sum(length(t)) FROM (
  SELECT p.title || ':' || group_concat(c.name, ',') AS t
  FROM orders o JOIN product p ON p.id = o.product_id JOIN customer c ON c.id = o.customer_id
  GROUP BY p.id
);

.print == tags split with a recursive CTE
WITH RECURSIVE split(pid, tag, rest) AS (
  SELECT id, '', tags || ',' FROM product
  UNION ALL
  SELECT pid, substr(rest, 1, instr(rest, ',') - 1), substr(rest, instr(rest, ',') + 1)
  FROM split WHERE rest <> ''
)
SELECT tag, count(*) FROM split WHERE tag <> '' GROUP BY tag ORDER BY count(*) DESC, tag;

.print == long strings grown step by step
WITH RECURSIVE grow(i, s) AS (
  SELECT 0, 'x'
  UNION ALL
  SELECT i + 1, s || printf('%d:%s|', i, substr(s, 1 + i % 7, 5)) || s FROM grow WHERE i < 14
)
SELECT i, length(s), substr(s, length(s) / 2, 20) FROM grow ORDER BY i;

.print == json
SELECT json_object('city', city, 'ids', json_group_array(id))
FROM (SELECT city, id FROM customer WHERE id <= 200 ORDER BY city, id)
GROUP BY city ORDER BY city LIMIT 10;
SELECT sum(json_array_length(j)) FROM (
  SELECT json_group_array(json_object('o', id, 'q', qty)) AS j FROM orders GROUP BY day
);

.print == full-text search
CREATE VIRTUAL TABLE doc USING fts5(body);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 8000)
INSERT INTO doc(rowid, body)
SELECT i, 'alpha' || (i % 13) || ' beta' || (i % 29) || ' gamma' || (i % 7) || ' ' || name
FROM n JOIN customer ON customer.id = n.i;
SELECT count(*) FROM doc WHERE doc MATCH 'alpha3 AND gamma2';
SELECT rowid, highlight(doc, 0, '[', ']') FROM doc WHERE doc MATCH 'beta7 NOT alpha1' ORDER BY rowid LIMIT 8;

.print == updates, deletes, big sort
UPDATE customer SET note = coalesce(note, '') || printf('%.*c', id % 64, 'u') WHERE tier IN (1, 3);
DELETE FROM orders WHERE (id * 13) % 10 = 0;
SELECT count(*), sum(qty) FROM orders;
SELECT sum(rk * qty) % 1000000007 FROM (
  SELECT qty, row_number() OVER (ORDER BY day DESC, customer_id, id) AS rk FROM orders
);
SELECT id, customer_id, day FROM orders ORDER BY day DESC, customer_id DESC, id LIMIT 10;

.print == temp tables and distinct
CREATE TEMP TABLE pairs AS
  SELECT DISTINCT o1.customer_id AS a, o2.customer_id AS b
  FROM orders o1 JOIN orders o2 ON o1.product_id = o2.product_id AND o1.customer_id < o2.customer_id
  WHERE o1.product_id % 50 = 0;
SELECT count(*), sum(a), sum(b) FROM pairs;

.print == vacuum
VACUUM;
PRAGMA integrity_check;
SELECT count(*) FROM customer;
SELECT count(*) FROM orders;
