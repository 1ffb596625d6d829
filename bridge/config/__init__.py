"""Configuration: bridge.toml and the environment, validated, frozen into Settings; check-config."""
