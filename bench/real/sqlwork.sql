-- sqlwork.sql - a fixed sqlite3 workload for bench/run:
--   sqlite3 -bail :memory: < sqlwork.sql
-- Deterministic (no random(): rows come from an integer hash), exercises
-- inserts, indexes, joins, GROUP BY, sorting, string building, updates and
-- deletes.  The output (a few aggregate lines) is compared between
-- allocators by bench/run; the last line checks an invariant and reads
-- "ok" when it holds.
PRAGMA cache_size = -65536;
CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT, city INTEGER, age INTEGER, score REAL);
CREATE TABLE orders(id INTEGER PRIMARY KEY, person INTEGER, item TEXT, qty INTEGER, price REAL);
CREATE TABLE cities(id INTEGER PRIMARY KEY, name TEXT);

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
INSERT INTO cities SELECT i, 'city_' || hex(i * 2654435761 % 4294967296) FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 60000)
INSERT INTO people
SELECT i,
       'p' || substr('abcdefghijklmnopqrstuvwxyz', (i * 7) % 26 + 1, 1 + i % 5) || i,
       1 + (i * 2654435761 % 4294967296) % 500,
       18 + (i * 40503 % 65536) % 70,
       ((i * 1103515245 + 12345) % 2147483648) / 2147483648.0 * 100
FROM n;

WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 150000)
INSERT INTO orders
SELECT i,
       1 + (i * 2246822519 % 4294967296) % 60000,
       'item-' || printf('%05d', (i * 3266489917 % 4294967296) % 20000),
       1 + i % 9,
       ((i * 69069 + 1) % 1000003) / 100.0
FROM n;

CREATE INDEX people_city ON people(city);
CREATE INDEX orders_person ON orders(person);
CREATE INDEX orders_item ON orders(item, qty);

SELECT 'cities', c.name, count(*), round(avg(p.age), 3), round(sum(p.score), 3)
FROM people p JOIN cities c ON c.id = p.city
GROUP BY c.id ORDER BY count(*) DESC, c.name LIMIT 3;

SELECT 'top', p.name, count(o.id), round(sum(o.qty * o.price), 2)
FROM people p JOIN orders o ON o.person = p.id
GROUP BY p.id ORDER BY sum(o.qty * o.price) DESC, p.id LIMIT 3;

SELECT 'items', (SELECT count(DISTINCT item) FROM orders), max(l)
FROM (SELECT length(group_concat(item, ',')) AS l FROM orders GROUP BY person % 7);

UPDATE people SET name = name || '_' || (age * 3), score = score * 1.5 WHERE age % 3 = 0;
DELETE FROM orders WHERE qty = 4 OR price < 50;
UPDATE orders SET item = upper(item) || '/' || qty WHERE id % 5 = 0;

CREATE TABLE summary AS
SELECT p.city AS city, o.item AS item, sum(o.qty) AS q, group_concat(p.name, '|') AS who
FROM orders o JOIN people p ON p.id = o.person
GROUP BY p.city, o.item;

SELECT 'summary', count(*), sum(q), sum(length(who)) FROM summary;

SELECT 'window', sum(r) FROM (
  SELECT row_number() OVER (PARTITION BY city ORDER BY score DESC, id) AS r
  FROM people WHERE age > 40) WHERE r <= 3;

DROP INDEX orders_item;
DELETE FROM people WHERE id % 4 = 1;
SELECT 'left', count(*), sum(age) FROM people;

SELECT CASE WHEN (SELECT sum(q) FROM summary) = (SELECT sum(qty) FROM orders)
            THEN 'ok' ELSE 'CORRUPT: summary total differs from orders' END;
