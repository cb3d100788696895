"""Canonical customs message schemas (XSD), shipped as package data."""
