"""Tests of studies/ (mirrors the package tree)."""
