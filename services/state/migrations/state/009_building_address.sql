-- A building's postal address ("宝安区西乡街道…"), optional: shown to responders in an offer
-- (docs/PROTOCOL.md: an offer's building is {id, name, floor?, address?}) and in the console.
ALTER TABLE buildings ADD COLUMN address TEXT;
