"""Domain rules, once: plain functions over a session, called by HTML, JSON and WebSocket routes."""
