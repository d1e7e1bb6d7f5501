//! Packet capture: sources (live, file), frame decoding, flow table, analyzers for `detect`.
