"""The agent UI: server-rendered pages, one small script for live updates."""
