"""Interfaces that backend plugins implement: tracking stores and artifact repositories."""
