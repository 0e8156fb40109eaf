"""Driving the real services: start them on free ports, run checkouts, report the figures."""
