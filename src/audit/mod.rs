//! Host facts (gathered in one round trip), their parsers, and real-server/director checks.
