"""Configuration: bridge.toml and the environment, validated and frozen into Settings.

settings.py holds the frozen Settings; load.py reads the file and the
environment into them (ConfigError says what to fix); rules.py and schema.json
are what the file must satisfy; check.py is check-config's extra checks.
"""
