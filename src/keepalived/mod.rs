//! keepalived.conf: lexer, parser with spans, effective model, lint checks.
