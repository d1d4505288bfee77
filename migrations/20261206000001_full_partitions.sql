-- Partitioned full passes: a full pass reads its key range as several keyset streams at once,
-- each with its own row `full:part:<n>` in sync_state (the producer's `partition` module). A
-- partition reads the keys after its cursor up to `cursor_until` (inclusive); NULL = no upper
-- bound (the last partition, and every other stream).
ALTER TABLE sync_state
    ADD COLUMN cursor_until BIGINT NULL AFTER cursor_key;
