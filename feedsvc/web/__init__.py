"""HTTP: views, pages, the fast path, negotiation, errors, security headers, health, metrics and logs."""
