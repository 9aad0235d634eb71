"""Pure data and rules: programs (TOML), their validation, progression and safety rules."""
