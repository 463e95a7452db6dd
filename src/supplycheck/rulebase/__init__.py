"""The rule base: models, loading and linting."""

from .loader import RuleBase, default_rules_dir, load_rulebase

__all__ = ["RuleBase", "default_rules_dir", "load_rulebase"]
