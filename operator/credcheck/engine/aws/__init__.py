"""Talking to AWS: sessions, principal resolution, the simulator, and errors made safe to show."""
