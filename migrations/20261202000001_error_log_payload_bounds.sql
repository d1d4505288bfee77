-- error_log rows are bounded: the payload column keeps at most the first 64 KiB of a dead
-- letter's body (the whole body stays in the dead queue), with the body's full size and SHA-256
-- so an operator can tell the stored excerpt from the letter it came from.
ALTER TABLE error_log
    ADD COLUMN payload_bytes  BIGINT   NULL AFTER payload,
    ADD COLUMN payload_sha256 CHAR(64) NULL AFTER payload_bytes;
