-- SQLite has no TRUNCATE: a `DELETE FROM mandates` without WHERE still fires the row triggers of
-- 2026-11-22-000001 (a table with a DELETE trigger never takes the truncate shortcut). This
-- migration exists so both trees keep the same folders (see the PostgreSQL one).
SELECT 1;
