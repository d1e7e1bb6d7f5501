//! Repair plans: commands and file diffs, applied atomically under a rollback guard.
