"""Requests in, answers out: codecs, a bundle's handlers and the local HTTP server; runs alone inside a bundle."""
