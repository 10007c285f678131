"""The web application's plumbing: the app factory, authentication and guards, error pages, security headers,
form helpers. Each capability's pages and API handlers live in its own package."""
