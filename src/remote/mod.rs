//! Transports that run commands on a host: local and SSH.
