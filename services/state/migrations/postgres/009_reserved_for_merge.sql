-- A placeholder (branch h-floors): migration 009 belongs to another branch and the loader
-- demands numbers without a gap. The merge deletes this file; floors are 010.
SELECT 1;
