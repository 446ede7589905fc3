"""Gymnasium environments whose agent is a teacher (one module per environment structure)."""
