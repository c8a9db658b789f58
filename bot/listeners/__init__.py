"""Thin Slack listeners: acknowledge, parse, make one service call, render. Each module has register(app, runtime)."""
